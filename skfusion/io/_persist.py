"""``dump`` and ``load``: a fitted estimator in skops' format, plus what
skfusion adds (Keras models, bundled model files) and a header that says
which format and versions wrote the file."""

import importlib.metadata
import io
import json
import os
import warnings
import zipfile

from ..utils._optional import import_optional

#: the format this skfusion writes, and the newest it reads
FORMAT = 1
_HEADER = "skfusion.json"


class InconsistentVersionWarning(UserWarning):
    """A file written under another version of skfusion, scikit-learn or
    Keras than the one loading it; like scikit-learn's warning of the same
    name, it says that the estimator may fail or predict differently.

    Parameters
    ----------
    package : str
        ``"skfusion"``, ``"scikit-learn"`` or ``"keras"``.

    original_version : str
        The version that wrote the file.

    current_version : str or None
        The version installed now (None: not installed).

    See Also
    --------
    load : Warns with it.
    sklearn.exceptions.InconsistentVersionWarning : The warning scikit-learn gives for its own pickles.

    Examples
    --------
    >>> from skfusion.io import InconsistentVersionWarning
    >>> warning = InconsistentVersionWarning(
    ...     package="scikit-learn", original_version="1.6.1", current_version="1.7.0"
    ... )
    >>> warning.original_version
    '1.6.1'
    >>> print(warning)  # doctest: +ELLIPSIS
    skfusion.io.load: the file was written with scikit-learn 1.6.1, and scikit-learn 1.7.0 ...
    """

    def __init__(self, *, package, original_version, current_version):
        self.package = package
        self.original_version = original_version
        self.current_version = current_version
        super().__init__(str(self))

    def __str__(self):
        now = (f"{self.package} is not installed" if self.current_version is None
               else f"{self.package} {self.current_version} is installed")
        return (
            f"skfusion.io.load: the file was written with {self.package} "
            f"{self.original_version}, and {now}. The estimator may fail or predict "
            f"differently; use {self.package} {self.original_version}, or fit and dump it "
            "again under the current versions."
        )


class UntrustedTypesError(TypeError):
    """A file holding types that :func:`load` does not build unless told to.

    Parameters
    ----------
    message : str
        What is refused, and how to trust it.

    types : list of str
        The refused types' fully qualified names.

    Attributes
    ----------
    types : list of str
        Their fully qualified names.

    See Also
    --------
    get_untrusted_types : The same names, without loading.
    load : Raises it; its ``trusted`` builds the types named.

    Examples
    --------
    >>> import io, operator
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from skfusion.io import UntrustedTypesError, dump, load
    >>> file = io.BytesIO()
    >>> dump(FunctionTransformer(operator.neg).fit([[1.0]]), file)
    >>> _ = file.seek(0)
    >>> try:
    ...     load(file)
    ... except UntrustedTypesError as exc:
    ...     print(exc.types)
    ['_operator.neg']
    """

    def __init__(self, message, types):
        super().__init__(message)
        self.types = types


def dump(estimator, file, *, include_models=False):
    """Save a (fitted) estimator without pickle, for :func:`load`.

    The file is skops' format (a zip of JSON and arrays, never a pickle):
    scikit-learn and skfusion estimators as their attributes, Keras models as
    ``.keras`` members, and a header with the versions of skfusion,
    scikit-learn and Keras that wrote it.

    Parameters
    ----------
    estimator : object
        Usually a fitted estimator, a pipeline or a search.

    file : str, path-like or binary file object
        Where to write; the ``.skops`` suffix is the convention.

    include_models : bool, default=False
        Also store the files of each :class:`~skfusion.encoders.TextEncoder`'s
        model directory and :class:`~skfusion.encoders.ImageEncoder`'s weights
        file, so that the estimator runs where those paths do not exist. By
        default the file holds their paths (and the digest a fitted encoder
        records), and the loading machine needs the same files there. Models
        given by name (a hub name, ``weights="imagenet"``) stay names.
        Pickled weights (``pytorch_model.bin``) are refused.

    See Also
    --------
    load : Read the file back.

    Examples
    --------
    >>> import io
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skfusion import LateFusionClassifier
    >>> from skfusion.io import dump, load
    >>> fusion = LateFusionClassifier([("a", LogisticRegression(), [0]),
    ...                                ("b", LogisticRegression(), [1])])
    >>> fusion = fusion.fit([[0, 1], [1, 0], [1, 1], [0, 0]], [0, 1, 1, 0])
    >>> file = io.BytesIO()
    >>> dump(fusion, file)
    >>> _ = file.seek(0)
    >>> load(file).predict([[1, 0]])
    array([1])
    """
    skops = import_optional("skops.io", owner="skfusion.io.dump")
    from . import _nodes

    _nodes.register()
    with _nodes.active(_nodes.Dump(include_models)) as dumping:
        data = skops.dumps(estimator)
    versions = {"skfusion": _installed("skfusion"), "scikit-learn": _installed("scikit-learn")}
    if dumping.keras_version is not None:
        versions["keras"] = dumping.keras_version
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr(_HEADER, json.dumps({"format": FORMAT, "versions": versions}))
    if isinstance(file, (str, os.PathLike)):
        with open(file, "wb") as f:
            f.write(buffer.getbuffer())
    else:
        file.write(buffer.getbuffer())


def load(file, *, trusted=None, model_dir=None):
    """Read an estimator written by :func:`dump`, running no code from the file.

    The file's types are checked before anything is built: besides what
    skops trusts (scikit-learn's estimators, numpy and scipy), only skfusion's
    estimators and the parts they hold, checked one by one, are built. Any
    other type is refused, with its name, unless it is in ``trusted``. Keras
    models are read from ``.keras`` members with ``safe_mode=True``, which
    needs keras>=3.12.

    Parameters
    ----------
    file : str, path-like or binary file object
        A file written by :func:`dump`.

    trusted : list of str or type, default=None
        Further types to build, by fully qualified name (as the error lists
        them) or as types. Only name types you have checked: a type's own
        code runs when it is built and used.

    model_dir : str or path-like, default=None
        Where the model files bundled by ``include_models=True`` are
        unpacked (under a subdirectory named by their digest, reused by later
        loads). It must be the user's own, as a cache directory (created
        with mode 0700; one others can write is refused), since the encoders
        load those files later. None: ``skfusion.utils.user_cache_dir("models")``.

    Returns
    -------
    estimator : object
        The estimator as it was dumped.

    Raises
    ------
    UntrustedTypesError
        The file holds types outside the vetted ones and ``trusted``.

    Warns
    -----
    InconsistentVersionWarning
        The file was written under another version of skfusion,
        scikit-learn or Keras.

    See Also
    --------
    dump : Write the file.
    get_untrusted_types : The types a file holds that ``load`` would refuse.

    Examples
    --------
    >>> import io
    >>> from sklearn.linear_model import LinearRegression
    >>> from skfusion import LateFusionRegressor
    >>> from skfusion.io import dump, load
    >>> reg = LateFusionRegressor([("a", LinearRegression(), [0]), ("b", LinearRegression(), [1])])
    >>> reg = reg.fit([[0, 1], [1, 0], [2, 2], [3, 1]], [1.0, 1.0, 4.0, 4.0])
    >>> file = io.BytesIO()
    >>> dump(reg, file)
    >>> _ = file.seek(0)
    >>> load(file).predict([[1, 1]]).round(2).tolist()
    [2.2]
    """
    skops = import_optional("skops.io", owner="skfusion.io.load")
    from . import _nodes

    _nodes.register()
    name, source = _source(file)
    _check_header(source, name)
    allowed = _allowed(trusted)
    unsafe = [t for t in _untrusted(skops, source) if t not in allowed]
    if unsafe:
        raise UntrustedTypesError(
            f"skfusion.io.load: {name} holds types that skfusion.io does not build unless "
            f"told to: {unsafe}. Building one runs its code, with values from the file. "
            "If you know where the file comes from, check each type and pass those you "
            "trust: load(file, trusted=[...]).", unsafe)
    with _nodes.active(_nodes.Load(model_dir)):
        if isinstance(source, bytes):
            return skops.loads(source, trusted=allowed)
        return skops.load(source, trusted=allowed)


def get_untrusted_types(file):
    """The types in a file written by :func:`dump` that :func:`load` refuses
    unless they are passed as ``trusted``.

    Parameters
    ----------
    file : str, path-like or binary file object
        A file written by :func:`dump`.

    Returns
    -------
    types : list of str
        Fully qualified names, sorted; empty for a file ``load`` reads as is.

    See Also
    --------
    load : Builds the types named in its ``trusted``.
    dump : Write the file it reads.

    Examples
    --------
    >>> import io, operator
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from skfusion.io import dump, get_untrusted_types, load
    >>> file = io.BytesIO()
    >>> dump(FunctionTransformer(operator.neg, validate=True).fit([[1.0]]), file)
    >>> _ = file.seek(0)
    >>> types = get_untrusted_types(file)
    >>> types
    ['_operator.neg']
    >>> _ = file.seek(0)
    >>> load(file, trusted=["_operator.neg"]).transform([[2.0]]).tolist()
    [[-2.0]]
    """
    skops = import_optional("skops.io", owner="skfusion.io.get_untrusted_types")
    from . import _nodes

    _nodes.register()
    name, source = _source(file)
    _check_header(source, name)
    allowed = _allowed(None)
    return [t for t in _untrusted(skops, source) if t not in allowed]


def _source(file):
    """``(name for messages, path or bytes)``."""
    if isinstance(file, (str, os.PathLike)):
        return repr(os.fspath(file)), os.fspath(file)
    return repr(getattr(file, "name", "the file")), file.read()


def _archive(source):
    return zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)


def _check_header(source, name):
    """Refuse a file that dump did not write, or a newer format; warn about
    versions that differ from the installed ones."""
    try:
        with _archive(source) as archive:
            header = json.loads(archive.read(_HEADER))
    except (zipfile.BadZipFile, KeyError, ValueError):
        raise ValueError(
            f"skfusion.io.load: {name} was not written by skfusion.io.dump (it is no zip "
            f"archive with a {_HEADER}). A pickle or joblib file loads with pickle or "
            "joblib, which runs code from the file: only from a source you trust."
        ) from None
    form = header.get("format") if isinstance(header, dict) else None
    if isinstance(form, bool) or not isinstance(form, int) or form < 1:
        raise ValueError(f"skfusion.io.load: {name} has a damaged header ({header!r}).")
    versions = header.get("versions")
    versions = versions if isinstance(versions, dict) else {}
    if form > FORMAT:
        raise ValueError(
            f"skfusion.io.load: {name} is in format {form}, written by skfusion "
            f"{versions.get('skfusion', '(unknown)')}; skfusion {_installed('skfusion')} "
            f"reads formats up to {FORMAT}. Upgrade skfusion: pip install -U skfusion"
        )
    for package in ("skfusion", "scikit-learn", "keras"):
        original = versions.get(package)
        if isinstance(original, str) and original != _installed(package):
            warnings.warn(InconsistentVersionWarning(
                package=package, original_version=original,
                current_version=_installed(package)), stacklevel=3)


def _installed(package):
    if package == "skfusion":
        from .. import __version__

        return __version__
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _allowed(trusted):
    """The vetted types and the user's, by fully qualified name."""
    from ._compat import get_module
    from ._types import VETTED

    if trusted is None:
        trusted = []
    if not isinstance(trusted, (list, tuple)) or not all(isinstance(t, (str, type))
                                                         for t in trusted):
        raise TypeError(
            f"skfusion.io.load: trusted must be a list of type names or types, got "
            f"{trusted!r}; pass the names you checked, e.g. trusted=['mypackage.MyScaler']."
        )
    names = [t if isinstance(t, str) else f"{get_module(t)}.{t.__name__}" for t in trusted]
    return VETTED + names


def _untrusted(skops, source):
    if isinstance(source, bytes):
        return skops.get_untrusted_types(data=source)
    return skops.get_untrusted_types(file=source)
