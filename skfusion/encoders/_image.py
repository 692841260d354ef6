"""Image embeddings from a Keras 3 backbone, a user's Keras model or any
callable on pixel batches."""

import contextlib
import difflib
import io
import os
import random
import tempfile
from numbers import Integral, Real
from pathlib import Path

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..utils._cache import (CACHE_CONSTRAINT, ArrayCache, budgeted_array, cache_location,
                             file_digest, fingerprint)
from ..utils._optional import import_optional
from ..utils._sklearn_compat import Interval, StrOptions
from ..utils._columns import is_missing
from ._base import _BaseEncoder, register_encoder

# name -> (keras.applications submodule holding its preprocess_input,
# constructor, the file of ImageNet weights without the head that the
# constructor fetches with keras.utils.get_file; mobilenet_v2's is per size)
_BACKBONES = {
    "convnext_tiny": ("convnext", "ConvNeXtTiny", "convnext_tiny_notop.h5"),
    "efficientnet_b0": ("efficientnet", "EfficientNetB0", "efficientnetb0_notop.h5"),
    "efficientnet_b3": ("efficientnet", "EfficientNetB3", "efficientnetb3_notop.h5"),
    "efficientnet_v2_s": ("efficientnet_v2", "EfficientNetV2S", "efficientnetv2-s_notop.h5"),
    "mobilenet_v2": ("mobilenet_v2", "MobileNetV2",
                     "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{size}_no_top.h5"),
    "mobilenet_v3_large": ("mobilenet_v3", "MobileNetV3Large",
                           "weights_mobilenet_v3_large_224_1.0_float_no_top_v2.h5"),
    "mobilenet_v3_small": ("mobilenet_v3", "MobileNetV3Small",
                           "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5"),
    "resnet50": ("resnet50", "ResNet50", "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    "resnet101": ("resnet", "ResNet101", "resnet101_weights_tf_dim_ordering_tf_kernels_notop.h5"),
}

# the square sizes mobilenet_v2 has ImageNet weights for; Keras takes the
# 224 ones for any other image size
_MOBILENET_V2_SIZES = (96, 128, 160, 192, 224)

# what Pillow's decoders raise on a corrupt or truncated file
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError)


class ImageEncoder(_BaseEncoder):
    """Embed images with a frozen Keras 3 backbone.

    A scikit-learn transformer: one image column in, one ``float32`` embedding
    per row out, so it drops into a :class:`~sklearn.compose.ColumnTransformer`,
    a :class:`~sklearn.pipeline.Pipeline` or a fusion triple. ``fit`` learns
    nothing: it builds or loads the model (lazily, never in ``__init__``).

    Each image is decoded with Pillow, converted to RGB, resized to
    ``image_size`` (bilinear) and, for a named backbone, passed through that
    backbone's own ``preprocess_input``; batches of ``batch_size`` images go
    through the model in inference mode and spatial outputs are pooled.

    Parameters
    ----------
    model : str, keras.Model or callable, default="resnet50"
        A backbone from ``keras.applications``: ``"resnet50"``,
        ``"resnet101"``, ``"mobilenet_v2"``, ``"mobilenet_v3_small"``,
        ``"mobilenet_v3_large"``, ``"efficientnet_b0"``, ``"efficientnet_b3"``,
        ``"efficientnet_v2_s"`` or ``"convnext_tiny"``, built without its
        classification head. Or a user's ``keras.Model``, or any callable
        mapping a float32 batch ``(n, height, width, 3)`` to ``(n, dim)`` or
        ``(n, h, w, dim)``; these receive RGB pixels in ``[0, 255]``, unchanged,
        so their preprocessing must live inside them (e.g. a ``Rescaling``
        layer).

    weights : "imagenet", None or path-like, default="imagenet"
        For a named backbone only: a ``keras.Model`` or callable brings its
        own weights, so the default is then not used and a path is an error.
        ``"imagenet"``: the pretrained weights, as in ``keras.applications``.
        Keras downloads them once into ``$KERAS_HOME/models``, by default
        ``~/.keras/models``, as a file of its own naming per backbone (for
        ``"resnet50"``, ``resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5``);
        later fits read that file without the network. Offline (no network, or
        ``HF_HUB_OFFLINE=1``, which forbids the download) without the file
        there, ``fit`` raises an error naming the file and the directory:
        copy the file there, or pass weights saved from the backbone as
        ``weights=path``. None: a random initialisation drawn from a fixed
        seed, the same in every fit, clone and unpickled copy (for tests and
        timings; its features mean nothing). A ``.weights.h5`` file (from
        ``save_weights``) is loaded into the backbone. A ``.keras`` file (from
        ``model.save``) is a whole model that replaces the backbone: the name
        in ``model`` is then not used and, like a ``keras.Model`` passed as
        ``model``, it gets no preprocessing.

    image_size : tuple of (int, int), default=(224, 224)
        ``(height, width)`` every image is resized to.

    pooling : {"avg", "max"}, default="avg"
        How the spatial feature map becomes one vector: global average or
        global maximum.

    batch_size : int, default=32
        Images per forward pass.

    cache : str, joblib.Memory or None, default=None
        Directory for embeddings, keyed on the model (the backbone name and a
        hash of its weights file, a hash of a Keras model's weights, or a
        callable's qualified name), the parameters that change the output and
        a hash of each image's content, so a cross-validation or grid search
        encodes each distinct image once, across processes and runs. None
        uses the directory given to :func:`skfusion.distributed.setup_workers`,
        if any.

    progress : bool, default=False
        Show a tqdm progress bar while encoding.

    trainable : bool or int, default=False
        How much of the backbone trains when this encoder is a branch of
        :class:`~skfusion.keras.KerasFusionClassifier`,
        :class:`~skfusion.keras.KerasFusionRegressor` or
        :class:`~skfusion.multitask.MultiTaskKerasEstimator`: False keeps it
        frozen (the branch gets these features), True trains all of it, an
        int k its top k blocks (a Keras application's named blocks, such as
        ``conv5_block3``; any other layer with weights is a block of its
        own). Batch-normalisation layers stay frozen, in inference mode. A
        ``ColumnTransformer`` always gets frozen features. With an int k
        smaller than the backbone's blocks and no ``augment``, the frozen
        bottom runs outside the model, once per distinct image (see
        :meth:`bottom`), and the model holds the top k blocks only.

    learning_rate_multiplier : float, default=1.0
        The trainable backbone learns at the model's learning rate times this.

    augment : bool or list of keras.layers.Layer, default=False
        Data augmentation for a trainable branch, active only while the
        model trains (predictions never see it) and seeded by the model's
        ``random_state``. True: a default set, on the preprocessed pixels:
        horizontal flips, rotations of up to 5% of a turn, crops (a zoom into
        up to 10% of the image, resized back) and contrast changes of up to
        20%. Or a list of Keras preprocessing layers
        (``keras.layers.RandomFlip("horizontal")``, ...), applied in that
        order to the preprocessed pixels, each a fresh copy per fit (its
        seed, where given, as given). Augmentation changes the pixels below
        the frozen bottom, so with it on the model holds the whole backbone
        and computes the bottom again in every step (see ``trainable``).
        Needs ``trainable``.

    memory_budget : float, default=1024
        MiB of frozen-bottom activations a partly trainable branch
        keeps in memory (see ``trainable``): the most recently used images'
        (for all the ImageEncoders of the process), and, separately, the
        array the model reads, which beyond this many MiB is a
        memory-mapped temporary file. ResNet50's activations before
        ``conv5_block3`` take 392 KiB per 224x224 image, so the default holds
        2,674 images.

    Attributes
    ----------
    n_features_out_ : int
        Embedding width (the backbone's channel count).

    n_features_in_ : int
        Always 1: one image column.

    feature_names_in_ : ndarray of shape (1,)
        The column's name when fitted on a DataFrame.

    model_digest_ : str or None
        Digest of the weights file: the file ``weights`` names, or for
        ``"imagenet"`` the file Keras downloaded (None for ``None`` or a model
        object). A fitted copy that finds another file there raises an error
        naming both digests before it loads it.

    See Also
    --------
    TextEncoder : Text embeddings from a Hugging Face transformer.
    TabularEncoder : Scaling, imputation and one-hot for table columns.

    Notes
    -----
    A row may be a path to an image file (str or :class:`pathlib.Path`), the
    encoded bytes of one (PNG, JPEG, ...), a :class:`PIL.Image.Image` or an
    ``HxW`` / ``HxWxC`` numpy array with C in 1, 3 or 4 (grayscale and RGBA
    become RGB; alpha is dropped). A uint8 array is resized exactly as the
    same picture decoded from a file, so a path, its bytes and its pixel
    array give identical features; other numeric arrays are taken as pixel
    values in ``[0, 255]`` and resized in float32. A missing or unreadable
    image raises an error naming its row.

    A callable's cache key is its qualified name: with ``cache=``, give it a
    new name when its computation changes.

    Examples
    --------
    >>> import numpy as np
    >>> from skfusion.encoders import ImageEncoder
    >>> images = np.random.default_rng(0).integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
    >>> encoder = ImageEncoder("mobilenet_v2", weights=None, image_size=(64, 64))
    >>> encoder.fit_transform(list(images)).shape
    (2, 1280)

    With ImageNet weights, which Keras downloads once, ``ImageEncoder()``
    gives ResNet50's 2,048 features per image, from paths, bytes or arrays.
    """

    _modality = "image"
    # parameters that change the embeddings (not batch_size, cache, progress)
    _output_params = ("image_size", "pooling", "weights")
    _load_params = ("image_size", "pooling")

    _parameter_constraints: dict = {
        "model": [str, callable],
        "weights": [str, os.PathLike, None],
        "image_size": [tuple, list],
        "pooling": [StrOptions({"avg", "max"})],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "cache": CACHE_CONSTRAINT,
        "progress": ["boolean"],
        "trainable": ["boolean", Interval(Integral, 0, None, closed="left")],
        "learning_rate_multiplier": [Interval(Real, 0, None, closed="neither")],
        "augment": ["boolean", list],
        "memory_budget": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        model="resnet50",
        *,
        weights="imagenet",
        image_size=(224, 224),
        pooling="avg",
        batch_size=32,
        cache=None,
        progress=False,
        trainable=False,
        learning_rate_multiplier=1.0,
        augment=False,
        memory_budget=1024,
    ):
        self.model = model
        self.weights = weights
        self.image_size = image_size
        self.pooling = pooling
        self.batch_size = batch_size
        self.cache = cache
        self.progress = progress
        self.trainable = trainable
        self.learning_rate_multiplier = learning_rate_multiplier
        self.augment = augment
        self.memory_budget = memory_budget

    def _check_params(self):
        size = self.image_size
        if len(size) != 2 or not all(isinstance(s, Integral) and s > 0 for s in size):
            raise ValueError(
                f"ImageEncoder: image_size must be (height, width), two positive "
                f"integers, got {size!r}."
            )
        if isinstance(self.model, str):
            if self.model not in _BACKBONES:
                close = difflib.get_close_matches(self.model, _BACKBONES, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise ValueError(
                    f"ImageEncoder: model {self.model!r} is not a known backbone; {hint}"
                    f"choose one of {sorted(_BACKBONES)} or pass a keras.Model or a callable."
                )
        elif self.weights is not None and self.weights != "imagenet":
            raise ValueError(
                f"ImageEncoder: weights={self.weights!r} applies to a backbone name, but "
                f"model is a {type(self.model).__name__}, which brings its own weights; "
                "leave weights at its default, or save the model and pass the .keras file "
                "as weights."
            )
        if self.augment is not False and not self.trainable:
            raise ValueError(
                f"ImageEncoder: augment={self.augment!r} applies to a trainable branch, but "
                "trainable=False; set trainable (True or a number of blocks) or leave augment "
                "at False."
            )
        if isinstance(self.augment, list):
            keras = import_optional("keras", owner="ImageEncoder")
            for i, layer in enumerate(self.augment):
                if not isinstance(layer, keras.Layer):
                    raise ValueError(
                        f"ImageEncoder: augment[{i}] is a {type(layer).__name__} ({layer!r}), "
                        "not a Keras layer; augment must be True, False or a list of Keras "
                        "preprocessing layers such as keras.layers.RandomFlip('horizontal')."
                    )

    def _check_item(self, item, row):
        where = f"row {row} of X"
        if isinstance(item, (str, os.PathLike, bytes, bytearray)):
            # opening reads only the header: cheap, and it names the row of a
            # missing file or of bytes that are no image at all
            Image = _pil()
            try:
                with Image.open(_source(item)):
                    return
            except _DECODE_ERRORS + (Image.DecompressionBombError,) as exc:
                raise _unreadable(where, f"cannot be read as an image ({exc})") from exc
        if isinstance(item, np.ndarray):
            channels = item.shape[2] if item.ndim == 3 else 1
            if item.ndim in (2, 3) and channels in (1, 3, 4) and item.size and item.dtype.kind in "uif":
                return
            raise _unreadable(
                where, f"is an array of shape {item.shape} and dtype {item.dtype}, not a "
                "numeric HxW or HxWxC image with C in 1, 3 or 4"
            )
        if isinstance(item, _pil().Image):
            return
        raise _unreadable(where, "is missing (None/NaN)" if is_missing(item) else
                          f"is a {type(item).__name__}, not an image")

    def _item_digest(self, item):
        # content, not location: a path and its file's bytes share a key, as
        # they share features
        if isinstance(item, (str, os.PathLike)):
            with open(item, "rb") as f:
                return f.read()
        if isinstance(item, (bytes, bytearray)):
            return bytes(item)
        if isinstance(item, np.ndarray):
            meta = repr(("array", item.dtype.str, item.shape)).encode()
            return meta + np.ascontiguousarray(item).tobytes()
        palette = bytes(item.getpalette() or []) if item.mode in ("P", "PA") else b""
        return repr(("pil", item.mode, item.size)).encode() + palette + item.tobytes()

    def _model_key(self):
        # a user's model travels inside the encoder: nothing to share
        if not isinstance(self.model, str):
            return None
        self._weights_path()  # a missing weights file is named before it is hashed
        return super()._model_key()

    def _model_identity(self):
        if isinstance(self.model, str):
            digest = self._model_digest()
            if digest is None:
                return ("backbone", self.model, None)
            if _is_saved_model(self.weights):
                return ("saved model", digest)
            # Keras builds some backbones differently for ImageNet weights
            # (EfficientNet rescales its input once more)
            kind = "imagenet" if self.weights == "imagenet" else "weights file"
            return ("backbone", self.model, kind, digest)
        keras = import_optional("keras", owner="ImageEncoder")
        if isinstance(self.model, keras.Layer):
            weights = [w.numpy() for w in self.model.weights]
            return ("keras", _architecture(self.model), fingerprint(*weights))
        name = getattr(self.model, "__qualname__", type(self.model).__qualname__)
        return ("callable", getattr(self.model, "__module__", None), name)

    def _load(self):
        keras = import_optional("keras", owner="ImageEncoder")
        if callable(self.model):
            return self._probed(keras, self.model)
        path = self._weights_path()
        if path is not None and _is_saved_model(path):
            with _reading_weights(path):
                model = keras.saving.load_model(path, compile=False, safe_mode=True)
            return self._probed(keras, model)
        if self.weights == "imagenet":
            try:
                model = self._backbone(keras, "imagenet")
            except Exception as exc:  # keras reports a failed download as a bare Exception
                raise self._imagenet_error(
                    path, f"Keras could not load it ({exc}); delete it if it is damaged"
                ) from exc
        else:
            model = self._backbone(keras, None)
            if path is not None:
                with _reading_weights(path):
                    model.load_weights(path)
        preprocess = getattr(keras.applications, _BACKBONES[self.model][0]).preprocess_input
        return {"model": model, "preprocess": preprocess, "dim": int(model.output_shape[-1])}

    def _backbone(self, keras, weights):
        """The named backbone without its head, with ``weights`` as
        ``keras.applications`` takes them (None, or "imagenet")."""
        build = getattr(keras.applications, _BACKBONES[self.model][1])
        with _seeded_initialisers():
            return build(include_top=False, pooling=self.pooling, weights=weights,
                         input_shape=(*self.image_size, 3))

    def _model_digest(self):
        if not isinstance(self.model, str) or self.weights is None:
            return None
        return file_digest(self._weights_path())

    def model_files(self):
        """The weights file ``weights`` names.

        Returns
        -------
        files : tuple of ("weights", pathlib.Path, list of str) or None
            Its directory and its name; None for ``weights=None`` or
            ``"imagenet"`` (Keras' own download).

        See Also
        --------
        skfusion.io.dump : Bundles this file with ``include_models=True``.

        Examples
        --------
        >>> from skfusion.encoders import ImageEncoder
        >>> param, directory, files = ImageEncoder("resnet50", weights="tuned.weights.h5").model_files()
        >>> param, files
        ('weights', ['tuned.weights.h5'])
        >>> print(ImageEncoder("resnet50").model_files())
        None
        """
        if self.weights is None or (isinstance(self.weights, str) and self.weights == "imagenet"):
            return None
        path = Path(self.weights)
        return "weights", path.parent, [path.name]

    def _model_file_param(self):
        if self.weights == "imagenet":
            return "weights", self._imagenet_path()
        return "weights", os.fspath(self.weights)

    def _weights_path(self):
        """The weights file, checked readable: the one ``weights`` names or,
        for "imagenet", Keras' download; None for None."""
        if self.weights is None:
            return None
        if self.weights == "imagenet":
            return self._imagenet_file()
        path = os.fspath(self.weights)
        if not os.path.isfile(path) or not (path.endswith(".weights.h5") or _is_saved_model(path)):
            raise OSError(
                f"ImageEncoder: weights {path!r} is not a readable .keras or .weights.h5 "
                "file; expected None, 'imagenet', a model saved with model.save(...keras) "
                "or weights saved with save_weights(...weights.h5)."
            )
        return path

    def _imagenet_path(self):
        """Where Keras keeps the backbone's ImageNet weights, as
        ``keras.utils.get_file`` places its downloads: ``$KERAS_HOME/models``,
        by default ``~/.keras/models``, or ``/tmp/.keras/models`` where that
        is not writable."""
        if "KERAS_HOME" in os.environ:
            home = os.environ["KERAS_HOME"]
        else:
            home = os.path.join(os.path.expanduser("~"), ".keras")
        home = os.path.expanduser(home)
        if not os.access(home, os.W_OK):
            home = os.path.join("/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir(), ".keras")
        name = _BACKBONES[self.model][2]
        if self.model == "mobilenet_v2":
            height, width = self.image_size
            name = name.format(size=height if height == width and height in _MOBILENET_V2_SIZES else 224)
        return os.path.join(home, "models", name)

    def _imagenet_file(self):
        """The backbone's ImageNet weights file, downloaded by Keras unless
        it is on disk already or downloads are forbidden."""
        # Keras reads KERAS_HOME once, on import, and makes its directory
        keras = import_optional("keras", owner="ImageEncoder")
        path = self._imagenet_path()
        if os.path.isfile(path):
            return path
        if os.environ.get("HF_HUB_OFFLINE", "").upper() in {"1", "ON", "YES", "TRUE"}:
            raise self._imagenet_error(path, "it is not there and HF_HUB_OFFLINE forbids downloading it")
        try:
            # building the backbone has Keras fetch the file from the address,
            # and check it against the hash, that only Keras knows
            self._backbone(keras, "imagenet")
        except Exception as exc:  # keras reports a failed download as a bare Exception
            raise self._imagenet_error(path, f"it is not there and downloading it failed ({exc})") from exc
        if not os.path.isfile(path):
            raise self._imagenet_error(
                path, "Keras put its download elsewhere (it reads KERAS_HOME once, when it "
                "is imported: set KERAS_HOME before that)"
            )
        return path

    def _imagenet_error(self, path, problem):
        directory, name = os.path.split(path)
        return OSError(
            f"ImageEncoder: weights='imagenet' reads Keras' file {name!r} for backbone "
            f"{self.model!r} from {directory!r} (Keras' downloads: $KERAS_HOME/models, by "
            f"default ~/.keras/models), but {problem}. Fit once with network access, copy "
            "the file into that directory (or set KERAS_HOME to a directory whose models/ "
            "folder holds it), or pass weights= the path of a .weights.h5 or .keras file of "
            "this backbone (weights=None: untrained)."
        )

    def _probed(self, keras, model):
        """A user's model and its output width, found by encoding one blank image."""
        blank = np.zeros((1, *self.image_size, 3), dtype=np.float32)
        out = _forward(keras, model, blank)
        if out.ndim < 2 or out.shape[0] != 1:
            raise ValueError(
                f"ImageEncoder: model returned shape {out.shape} for a batch of shape "
                f"{blank.shape}; expected (n, dim) or (n, h, w, dim)."
            )
        return {"model": model, "preprocess": _unchanged, "dim": int(_pool(out, self.pooling).shape[1])}

    def backbone(self):
        """The Keras model (or callable) that computes the features, before
        pooling; loaded on first use.

        A trainable branch of a Keras model of skfusion trains a copy of it.

        Returns
        -------
        model : keras.Model or callable
            The model ``model`` names or gives, as the encoder runs it.

        See Also
        --------
        ImageEncoder.bottom : The backbone's activations up to one of its layers.
        ImageEncoder.keras_branch : The branch that trains a copy of it.

        Examples
        --------
        >>> import keras
        >>> import numpy as np
        >>> from skfusion.encoders import ImageEncoder
        >>> cnn = keras.Sequential([
        ...     keras.Input((8, 8, 3)),
        ...     keras.layers.Conv2D(4, 3, name="conv"),
        ...     keras.layers.GlobalAveragePooling2D(),
        ... ])
        >>> images = list(np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3), dtype=np.uint8))
        >>> encoder = ImageEncoder(cnn, image_size=(8, 8)).fit(images)
        >>> encoder.backbone() is cnn
        True
        """
        check_is_fitted(self, "n_features_out_")
        self._ensure_loaded()
        return self._loaded_model["model"]

    def keras_branch(self):
        """How this encoder enters a Keras model of skfusion: None (frozen,
        through ``transform``) unless ``trainable`` is set, then an
        :class:`~skfusion.keras.ImageBranch`, a copy of the backbone (or of
        its top, above a frozen bottom computed once per image) whose top
        ``trainable`` blocks train (see :class:`~skfusion.keras.KerasBranch`).

        Returns
        -------
        branch : ImageBranch or None
            None for a frozen encoder.

        See Also
        --------
        skfusion.keras.ImageBranch : The branch a trainable encoder returns.
        skfusion.keras.KerasFusionClassifier : Trains such branches with the rest of its model.

        Examples
        --------
        >>> from skfusion.encoders import ImageEncoder
        >>> print(ImageEncoder("mobilenet_v2").keras_branch())
        None
        >>> type(ImageEncoder("mobilenet_v2", trainable=2).keras_branch()).__name__
        'ImageBranch'
        """
        if not self.trainable:
            return None
        from ..keras import ImageBranch

        return ImageBranch(self)

    def bottom(self, X, layer):
        """X's images through the backbone up to ``layer``'s output: the
        frozen input of a branch that trains the layers above.

        Each distinct image's activations are computed once: the most
        recently used stay in memory, up to ``memory_budget`` MiB for
        all the ImageEncoders of the process, and with ``cache`` each is an
        entry there too (keyed on the model, ``image_size``, the layer and the
        image's content), so a refit, a cross-validation or a grid search
        reads them back instead.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or (n_samples, 1)
            One column of images, as in ``transform``.

        layer : str
            The name of a layer of :meth:`backbone` with one output.

        Returns
        -------
        activations : ndarray of shape (n_samples, ...), float32
            ``layer``'s output per image; in memory when it takes at most
            ``memory_budget`` MiB, else a :class:`numpy.memmap` over an
            anonymous temporary file (mode 0600) that goes with the array.

        See Also
        --------
        ImageEncoder.backbone : The model whose layers it runs.
        ImageEncoder.pixels : The backbone's input.

        Examples
        --------
        >>> import keras
        >>> import numpy as np
        >>> from skfusion.encoders import ImageEncoder
        >>> cnn = keras.Sequential([
        ...     keras.Input((8, 8, 3)),
        ...     keras.layers.Conv2D(4, 3, name="conv"),
        ...     keras.layers.GlobalAveragePooling2D(),
        ... ])
        >>> images = list(np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3), dtype=np.uint8))
        >>> encoder = ImageEncoder(cnn, image_size=(8, 8)).fit(images)
        >>> encoder.bottom(images, "conv").shape
        (4, 6, 6, 4)
        """
        check_is_fitted(self, "n_features_out_")
        images = self._items(X, reset=False)
        self._ensure_loaded()
        keras = import_optional("keras", owner="ImageEncoder")
        model = self._bottom_model(keras, layer)
        shape = tuple(int(d) for d in model.outputs[0].shape[1:])
        budget = int(self.memory_budget * 2**20)
        namespace = fingerprint("ImageEncoder.bottom", self._model_identity(),
                                tuple(self.image_size), layer)
        cache = ArrayCache(self._cache_dir(), namespace, shape, owner="ImageEncoder", budget=budget)
        out = budgeted_array((len(images), *shape), budget)
        keys = [self._item_key(item) for item in images]
        missing = {}  # key -> the rows of that image
        for row, key in enumerate(keys):
            found = cache.get(key)
            if found is None:
                missing.setdefault(key, []).append(row)
            else:
                out[row] = found
        firsts = np.asarray([rows[0] for rows in missing.values()], dtype=int)
        for batch in self._batches(firsts, desc="ImageEncoder bottom"):
            activations = _forward(keras, model, self._preprocessed(images, batch, rows_known=True))
            for row, activation in zip(batch, activations):
                cache.put(keys[row], activation)
                out[missing[keys[row]]] = activation
        return out

    def _bottom_model(self, keras, layer):
        """The backbone up to ``layer``'s output, built once per loaded model."""
        loaded = self._loaded_model
        if not isinstance(loaded["model"], keras.Model):
            raise ValueError(
                f"ImageEncoder: bottom needs a keras.Model backbone, but model is a "
                f"{type(loaded['model']).__name__}; pass a backbone name or a keras.Model."
            )
        bottoms = loaded.setdefault("bottoms", {})
        if layer not in bottoms:
            model = loaded["model"]
            try:
                if isinstance(model, keras.Sequential):
                    # a copied Sequential's layers keep the tensors of their
                    # first call, which its graph no longer holds: restack them
                    names = [each.name for each in model.layers]
                    stack = model.layers[:names.index(layer) + 1]
                    bottoms[layer] = keras.Sequential([keras.Input(model.inputs[0].shape[1:]), *stack])
                else:
                    bottoms[layer] = keras.Model(model.input, model.get_layer(layer).output)
            except (ValueError, AttributeError) as exc:
                raise ValueError(
                    f"ImageEncoder: bottom: layer {layer!r} is not a layer of the backbone "
                    f"with one output ({exc}); pass the name of one of its layers."
                ) from exc
        return bottoms[layer]

    def pixels(self, X):
        """X's images as the backbone takes them: decoded, RGB, resized to
        ``image_size`` and preprocessed as the backbone expects.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or (n_samples, 1)
            One column of images, as in ``transform``.

        Returns
        -------
        pixels : ndarray of shape (n_samples, height, width, 3), float32
            One image per row, ready for :meth:`backbone`.

        See Also
        --------
        ImageEncoder.transform : The backbone's pooled features of these pixels.
        ImageEncoder.bottom : The backbone's activations up to one of its layers.

        Examples
        --------
        >>> import numpy as np
        >>> from skfusion.encoders import ImageEncoder
        >>> def channel_means(batch):
        ...     return batch.mean(axis=(1, 2))
        >>> images = list(np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3), dtype=np.uint8))
        >>> encoder = ImageEncoder(channel_means, image_size=(8, 8)).fit(images)
        >>> pixels = encoder.pixels([np.zeros((16, 16), dtype=np.uint8)])
        >>> pixels.shape, pixels.dtype.name
        ((1, 8, 8, 3), 'float32')
        """
        check_is_fitted(self, "n_features_out_")
        images = self._items(X, reset=False)
        self._ensure_loaded()
        return self._preprocessed(images, np.arange(len(images)), rows_known=True)

    def _preprocessed(self, images, rows, *, rows_known):
        """``images[rows]`` as preprocessed float32 pixels; a clear error for
        an image that cannot be decoded (naming its row when ``rows_known``)."""
        pixels = np.empty((len(rows), *self.image_size, 3), dtype=np.float32)
        for j, i in enumerate(rows):
            try:
                pixels[j] = _pixels(images[i], tuple(self.image_size))
            except _DECODE_ERRORS as exc:
                where = f"row {i} of X" if rows_known else "an image of X"
                if isinstance(images[i], (str, os.PathLike)):
                    where += f" ({os.fspath(images[i])!r})"
                raise _unreadable(where, f"cannot be read as an image ({exc})") from exc
        return np.asarray(self._loaded_model["preprocess"](pixels), dtype=np.float32)

    def _encode(self, images):
        keras = import_optional("keras", owner="ImageEncoder")
        loaded = self._loaded_model
        # without a cache, images are X's rows in order; with one, only the
        # distinct uncached ones, whose positions are no row numbers
        rows_known = cache_location(self.cache) is None
        out = np.empty((len(images), loaded["dim"]), dtype=np.float32)
        for batch in self._batches(np.arange(len(images)), desc="ImageEncoder"):
            pixels = self._preprocessed(images, batch, rows_known=rows_known)
            out[batch] = _pool(_forward(keras, loaded["model"], pixels), self.pooling)
        return out


def _pil():
    return import_optional("PIL.Image", owner="ImageEncoder")


def _source(item):
    """What ``PIL.Image.open`` reads: a path, or a file object over bytes."""
    return io.BytesIO(item) if isinstance(item, (bytes, bytearray)) else item


def _pixels(item, size):
    """One image as RGB pixels of ``size`` (height, width), before preprocessing."""
    Image = _pil()
    height, width = size
    if isinstance(item, np.ndarray):
        rgb = _rgb_array(item)
        if rgb.shape[:2] == size:
            return rgb
        if rgb.dtype == np.uint8:
            return np.asarray(Image.fromarray(rgb).resize((width, height), Image.Resampling.BILINEAR))
        # Pillow resizes floats one channel at a time (mode "F")
        return np.stack([
            np.asarray(Image.fromarray(np.ascontiguousarray(rgb[..., c], dtype=np.float32))
                       .resize((width, height), Image.Resampling.BILINEAR))
            for c in range(3)
        ], axis=-1)
    if isinstance(item, Image.Image):
        rgb = item.convert("RGB")
    else:
        with Image.open(_source(item)) as image:
            rgb = image.convert("RGB")
    if rgb.size != (width, height):
        rgb = rgb.resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(rgb)


def _rgb_array(array):
    """Grayscale repeated into three channels, alpha dropped, as Pillow's
    ``convert("RGB")`` does, so an array matches its decoded file."""
    if array.ndim == 3 and array.shape[2] == 4:
        return array[..., :3]
    if array.ndim == 3 and array.shape[2] == 3:
        return array
    gray = array.reshape(array.shape[:2])
    return np.repeat(gray[..., None], 3, axis=2)


def _forward(keras, model, pixels):
    """The model on one batch, in inference mode, as a numpy array."""
    if isinstance(model, keras.Layer):
        # a direct call, not predict(): no per-call graph tracing or
        # dataset setup, which dominate for a single batch
        return keras.ops.convert_to_numpy(model(pixels, training=False))
    return keras.ops.convert_to_numpy(model(pixels))


def _pool(features, pooling):
    """``(n, ..., dim)`` features reduced over every spatial axis."""
    if features.ndim == 2:
        return features
    axes = tuple(range(1, features.ndim - 1))
    return features.mean(axis=axes) if pooling == "avg" else features.max(axis=axes)


def _unchanged(pixels):
    return pixels


def _unreadable(where, problem):
    return ValueError(
        f"ImageEncoder: {where} {problem}; every row must be a path to an image file, "
        "encoded image bytes, a PIL image or an HxWxC array. Fix or drop that row first, "
        "or fuse with LateFusionClassifier(missing='renormalize')."
    )


def _is_saved_model(path):
    return os.fspath(path).endswith(".keras")


@contextlib.contextmanager
def _reading_weights(path):
    """A failure to load ``path`` reported as an unreadable weights file."""
    try:
        yield
    except (OSError, ValueError, TypeError) as exc:
        raise OSError(
            f"ImageEncoder: cannot load weights {os.fspath(path)!r} ({exc}); expected a "
            "model saved with model.save(...keras) or weights of the same backbone at the "
            "same image_size saved with save_weights(...weights.h5)."
        ) from exc


@contextlib.contextmanager
def _seeded_initialisers():
    """Keras draws the seed of every unseeded initialiser from Python's
    ``random``: seed it for the build only, so that ``weights=None`` is one
    fixed model and the caller's random state is left as it was."""
    state = random.getstate()
    random.seed(0)
    try:
        yield
    finally:
        random.setstate(state)


def _architecture(model):
    """A Keras model's configuration, or its class for one that has none."""
    try:
        return model.to_json()
    except (NotImplementedError, TypeError):
        return type(model).__qualname__


register_encoder("image", ImageEncoder)
