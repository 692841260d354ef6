"""What skops cannot store by itself, stored without pickle: Keras models
as ``.keras`` members read back with ``safe_mode=True``, the estimators that
own one, the encoders with the files of their model, and pandas indexes.

Each kind is a function that gives skops the state of an object (active
only inside :func:`skfusion.io.dump`, so that plain ``skops.io.dump`` is
unchanged) and a loader (a skops ``Node``) that reads it back. A loader
trusts only its own types; what it builds runs no code from the file."""

import contextlib
import contextvars
import hashlib
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from ..utils._optional import import_optional
from ..utils._trust import CacheDir, user_cache_dir
from ._compat import (
    Node,
    default_state,
    get_module,
    get_state,
    get_tree,
    gettype,
    register_loader,
    register_state,
)
from ._types import ENCODERS, KERAS_ESTIMATORS, KERAS_MODELS, PANDAS

#: the first Keras release without the known ways around ``safe_mode``
#: (a crafted ``.keras`` file reading local files through a lookup layer's
#: vocabulary path, or running code through a legacy ``.h5``)
KERAS_FLOOR = "3.12"

# weights formats that are pickles (torch checkpoints, joblib, pickle):
# never bundled, never extracted
_PICKLED = {".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib"}

_ACTIVE = contextvars.ContextVar("skfusion.io", default=None)


class Dump:
    """What one :func:`skfusion.io.dump` asks for and finds."""

    def __init__(self, include_models):
        self.include_models = include_models
        self.keras_version = None  # set once a Keras model is stored


class Load:
    """Where one :func:`skfusion.io.load` puts the model files it unpacks."""

    def __init__(self, model_dir):
        self._model_dir = model_dir

    def model_dir(self):
        """The directory for bundled model files: the user's own (made with
        mode 0700, or checked as a cache directory is, since the files in it
        are loaded later), by default ``user_cache_dir("models")``, where
        each bundle is unpacked once under its digest."""
        location = user_cache_dir("models") if self._model_dir is None else self._model_dir
        return Path(CacheDir(location, owner="skfusion.io.load", param="model_dir").root)


@contextlib.contextmanager
def active(state):
    """Run a dump or a load with ``state`` (a :class:`Dump` or :class:`Load`)."""
    token = _ACTIVE.set(state)
    try:
        yield state
    finally:
        _ACTIVE.reset(token)


def _dumping():
    state = _ACTIVE.get()
    return state if isinstance(state, Dump) else None


def _loading():
    # plain skops.io.load of a file from dump: the default model directory
    state = _ACTIVE.get()
    return state if isinstance(state, Load) else Load(None)


def checked_keras(action):
    """Keras, at a release whose ``safe_mode`` has no known bypass."""
    from packaging.version import Version

    keras = import_optional("keras", owner="skfusion.io")
    if Version(keras.version()) < Version(KERAS_FLOOR):
        raise ImportError(
            f"skfusion.io {action} Keras models only with keras>={KERAS_FLOOR}: older "
            "releases have known ways around safe_mode, through which a crafted .keras "
            f"file reads local files or runs code; keras {keras.version()} is installed. "
            f'Upgrade it: pip install -U "keras>={KERAS_FLOOR}"'
        )
    return keras


def _register_skfusion_layers():
    """Import the modules of skfusion's Keras layers and loss, which
    registers them, so that ``safe_mode`` finds them."""
    from ..keras import _fusion_layers, _layers  # noqa: F401
    from ..multitask import _layers as _multitask_layers  # noqa: F401


def _damaged(problem):
    return ValueError(f"skfusion.io.load: {problem}; the file is damaged or was not written "
                      "by skfusion.io.dump.")


def _type_state(obj, loader):
    return {"__class__": type(obj).__name__, "__module__": get_module(type(obj)),
            "__loader__": loader}


# -- Keras models ---------------------------------------------------------

def _keras_model_state(model, save_context):
    dumping = _dumping()
    if dumping is None:
        return default_state(model, save_context)
    keras = checked_keras("saves")
    member = f"{id(model)}.keras"  # skops keeps every stored object alive: ids are unique
    if member not in save_context.zip_file.namelist():
        with tempfile.TemporaryDirectory(prefix="skfusion-io-") as folder:
            path = os.path.join(folder, "model.keras")
            model.save(path)
            save_context.zip_file.write(path, member)
    dumping.keras_version = keras.version()
    return {**_type_state(model, "SkfusionKerasModelNode"), "file": member}


class KerasModelNode(Node):
    """A Keras model, from its ``.keras`` member, with ``safe_mode=True``."""

    def __init__(self, state, load_context, trusted=None):
        super().__init__(state, load_context, trusted)
        self.trusted = self._get_trusted(trusted, KERAS_MODELS)
        member = state["file"]
        if not isinstance(member, str) or not member.endswith(".keras"):
            raise _damaged(f"a Keras model is stored as {member!r}, and skfusion.io reads Keras "
                           "models from .keras members only (never .h5, a torch .bin or a pickle)")
        self.member = member
        self.archive = load_context.src
        self.children = {}

    def _construct(self):
        keras = checked_keras("loads")
        _register_skfusion_layers()
        with tempfile.TemporaryDirectory(prefix="skfusion-io-") as folder:
            path = os.path.join(folder, "model.keras")
            with self.archive.open(self.member) as source, open(path, "wb") as target:
                shutil.copyfileobj(source, target)
            return keras.saving.load_model(path, safe_mode=True)


# -- estimators that own a Keras model --------------------------------------

def _keras_estimator_state(estimator, save_context):
    if _dumping() is None:
        return default_state(estimator, save_context)
    # what a pickle holds (BaseEstimator pickles a class outside
    # scikit-learn as its __dict__), except that model_ stays a Keras model,
    # stored by the function above, not the bytes the Keras base makes of it
    return {**_type_state(estimator, "SkfusionKerasEstimatorNode"),
            "content": get_state(dict(vars(estimator)), save_context)}


class KerasEstimatorNode(Node):
    """A Keras estimator, whose ``model_`` must come from a ``.keras`` member."""

    def __init__(self, state, load_context, trusted=None):
        super().__init__(state, load_context, trusted)
        self.trusted = self._get_trusted(trusted, KERAS_ESTIMATORS)
        self.attrs = get_tree(state["content"], load_context, trusted=trusted)
        self.children = {"attrs": self.attrs}

    def _construct(self):
        cls = gettype(self.module_name, self.class_name)
        attrs = self.attrs.construct()
        if "model_" in attrs and not isinstance(attrs["model_"], checked_keras("loads").Model):
            # the Keras base would read bytes as a model itself
            raise _damaged(f"the {self.class_name} in the file has a model_ of type "
                           f"{type(attrs['model_']).__name__}, not a Keras model read from a "
                           ".keras member")
        instance = cls.__new__(cls)
        instance.__setstate__(attrs)
        return instance


# -- encoders and their model files -----------------------------------------

def _encoder_state(encoder, save_context):
    dumping = _dumping()
    if dumping is None:
        return default_state(encoder, save_context)
    # the encoder's own state: its parameters (the model's path) and fitted
    # attributes, never the loaded model
    state = {**_type_state(encoder, "SkfusionEncoderNode"),
             "content": get_state(encoder.__getstate__(), save_context)}
    if dumping.include_models:
        bundle = _bundle(encoder, save_context.zip_file)
        if bundle is not None:
            state["bundle"] = bundle
    return state


def _bundle(encoder, archive):
    """Store the encoder's model files under ``models/<digest>/``; return
    what its loader needs to put them back."""
    found = encoder.model_files()
    if found is None:
        return None
    parameter, root, files = found
    pickled = [name for name in files if Path(name).suffix in _PICKLED]
    if pickled:
        raise ValueError(
            f"skfusion.io.dump: {type(encoder).__name__}'s model {os.fspath(root)!r} holds "
            f"{pickled}, pickled weights that include_models=True does not bundle: loading "
            "them could run code. Save the model with save_pretrained (safetensors) into a "
            "directory of its own and point the encoder there, or dump with "
            "include_models=False."
        )
    digest = _digest(root, files)
    stored = set(archive.namelist())
    for name in files:
        member = f"models/{digest}/{name}"
        if member not in stored:
            archive.write(root / name, member)
    return {"parameter": parameter, "digest": digest, "files": files}


def _digest(root, files):
    """BLAKE2b of the relative paths, sizes and bytes of ``files`` under ``root``."""
    digest = hashlib.blake2b(digest_size=20)
    for name in files:
        path = root / name
        digest.update(name.encode() + b"\0" + os.path.getsize(path).to_bytes(8, "little"))
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _checked_bundle(bundle):
    """A bundle's description, once it names only plain relative paths of
    files that are no pickles."""
    if bundle is None:
        return None

    def plain(name):
        parts = name.split("/")
        return ("\\" not in name and ":" not in parts[0] and "" not in parts
                and not {".", ".."} & set(parts) and Path(name).suffix not in _PICKLED)

    files = bundle.get("files") if isinstance(bundle, dict) else None
    if (not isinstance(files, list) or not files
            or not all(isinstance(f, str) and plain(f) for f in files)
            or bundle.get("parameter") not in ("model", "weights")
            or (bundle["parameter"] == "weights" and len(files) != 1)
            or not re.fullmatch(r"[0-9a-f]{40}", str(bundle.get("digest")))):
        raise _damaged(f"it bundles model files as {bundle!r}, where skfusion.io expects "
                       "plain relative paths of files that are no pickles")
    return bundle


def _unpack(archive, bundle, model_dir):
    """The directory holding the bundle's files, unpacked under
    ``model_dir/<digest>`` (or found there from an earlier load)."""
    digest, files = bundle["digest"], bundle["files"]
    target = model_dir / digest
    if not target.exists():
        staging = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=model_dir))
        for name in files:
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            with archive.open(f"models/{digest}/{name}") as source, \
                    open(staging / name, "wb") as out:
                shutil.copyfileobj(source, out)
        try:
            os.rename(staging, target)
        except OSError:  # another load unpacked it first: checked below
            shutil.rmtree(staging)
    present = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    if present != sorted(files) or _digest(target, files) != digest:
        raise ValueError(
            f"skfusion.io.load: {os.fspath(target)!r} does not hold the model files the file "
            f"bundles (digest {digest}); the file is damaged, or something else wrote that "
            "directory: remove it, or pass another model_dir."
        )
    return target


class EncoderNode(Node):
    """A text or image encoder; with bundled model files, pointed at their
    unpacked copy."""

    def __init__(self, state, load_context, trusted=None):
        super().__init__(state, load_context, trusted)
        self.trusted = self._get_trusted(trusted, ENCODERS)
        self.attrs = get_tree(state["content"], load_context, trusted=trusted)
        self.bundle = _checked_bundle(state.get("bundle"))
        self.archive = load_context.src
        self.children = {"attrs": self.attrs}

    def _construct(self):
        cls = gettype(self.module_name, self.class_name)
        instance = cls.__new__(cls)
        instance.__setstate__(self.attrs.construct())
        if self.bundle is not None:
            if self.bundle["parameter"] == "weights":
                # the encoder loads a bundled .keras file itself, later
                checked_keras("loads")
            folder = _unpack(self.archive, self.bundle, _loading().model_dir())
            if self.bundle["parameter"] == "weights":
                folder = folder / self.bundle["files"][0]
            setattr(instance, self.bundle["parameter"], os.fspath(folder))
        return instance


# -- pandas -------------------------------------------------------------------

def _index_state(index, save_context):
    if _dumping() is None:
        return default_state(index, save_context)
    # numpy dtypes travel with the values; pandas' own by name
    dtype = None if isinstance(index.dtype, np.dtype) else str(index.dtype)
    parts = {"values": index.to_numpy(), "name": index.name, "dtype": dtype}
    return {"__class__": "Index", "__module__": "pandas", "__loader__": "SkfusionPandasIndexNode",
            "content": get_state(parts, save_context)}


class PandasIndexNode(Node):
    """A ``pandas.Index`` from its values, name and dtype name."""

    def __init__(self, state, load_context, trusted=None):
        super().__init__(state, load_context, trusted)
        self.trusted = self._get_trusted(trusted, PANDAS)
        self.parts = get_tree(state["content"], load_context, trusted=trusted)
        self.children = {"parts": self.parts}

    def _construct(self):
        import pandas as pd

        parts = self.parts.construct()
        dtype = parts["dtype"]
        return pd.Index(parts["values"], name=parts["name"],
                        dtype=None if dtype is None else pd.api.types.pandas_dtype(dtype))


# -- registration ---------------------------------------------------------------

_registered = set()


def register():
    """Teach skops skfusion's types (once per process); Keras models once
    Keras is imported (before, no object can be one)."""
    if "skfusion" not in _registered:
        import pandas as pd

        from ..encoders import ImageEncoder, TextEncoder
        from ..keras import KerasMLPClassifier, KerasMLPRegressor
        from ..multitask import MultiTaskKerasEstimator

        for cls in (KerasMLPClassifier, KerasMLPRegressor, MultiTaskKerasEstimator):
            register_state(cls, _keras_estimator_state)
        for cls in (TextEncoder, ImageEncoder):
            register_state(cls, _encoder_state)
        register_state(pd.Index, _index_state)
        for name, node in [("SkfusionKerasModelNode", KerasModelNode),
                           ("SkfusionKerasEstimatorNode", KerasEstimatorNode),
                           ("SkfusionEncoderNode", EncoderNode),
                           ("SkfusionPandasIndexNode", PandasIndexNode)]:
            register_loader(name, node)
        _registered.add("skfusion")
    keras = sys.modules.get("keras")
    if keras is not None and "keras" not in _registered:
        register_state(keras.Model, _keras_model_state)
        _registered.add("keras")
