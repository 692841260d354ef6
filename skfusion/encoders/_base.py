"""What every modality encoder shares: one input column, a lazily loaded
frozen model, an embedding cache keyed per input, batching with a progress
bar, and feature names prefixed by the modality."""

import hashlib

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._registry import Registry
from ..utils._cache import EmbeddingCache, cache_location, fingerprint
from ..utils._columns import one_column
from ..utils._doc_link import DocLinkMixin
from ..utils._optional import import_optional
from ..utils._runtime import process_default, shared_model

_ENCODERS = Registry("encoder", "skfusion.encoders")

def register_encoder(name, factory, *, overwrite=False):
    """Register an encoder factory under ``name`` for :func:`make_encoder`.

    Parameters
    ----------
    name : str
        The name users pass to :func:`make_encoder`.

    factory : callable
        Called with the keyword arguments given to :func:`make_encoder`;
        returns a scikit-learn transformer (usually the encoder class itself).

    overwrite : bool, default=False
        Replace an existing entry of the same name.

    Returns
    -------
    factory : callable
        ``factory`` itself.

    See Also
    --------
    make_encoder : Build a registered encoder by name.
    available_encoders : The names registered so far.

    Examples
    --------
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skfusion.encoders import make_encoder, register_encoder
    >>> _ = register_encoder("doc-scaler", StandardScaler)
    >>> make_encoder("doc-scaler", with_mean=False)
    StandardScaler(with_mean=False)
    """
    return _ENCODERS.register(name, factory, overwrite=overwrite)


def make_encoder(name, **params):
    """Build the encoder registered as ``name`` (built-in or plugin).

    Third-party packages register theirs through the ``skfusion.encoders``
    entry-point group.

    Parameters
    ----------
    name : str
        ``"text"``, ``"image"``, ``"tabular"`` or any registered name.

    **params : dict
        Passed to the encoder's constructor.

    Returns
    -------
    encoder : transformer
        A new, unfitted encoder.

    See Also
    --------
    register_encoder : Add a name it builds.
    available_encoders : The names it accepts.

    Examples
    --------
    >>> from skfusion.encoders import make_encoder
    >>> make_encoder("tabular", max_categories=10)
    TabularEncoder(max_categories=10)
    """
    return _ENCODERS.get(name)(**params)


def available_encoders():
    """Names of every registered encoder, plugins included.

    Returns
    -------
    names : list of str
        Sorted; each one :func:`make_encoder` builds.

    See Also
    --------
    make_encoder : Build one of them by name.
    register_encoder : Add a name to this list.

    Examples
    --------
    >>> from skfusion.encoders import available_encoders
    >>> {"image", "tabular", "text"} <= set(available_encoders())
    True
    """
    return _ENCODERS.names()


class _BaseEncoder(DocLinkMixin, TransformerMixin, BaseEstimator):
    """One column in, a float32 embedding per row out.

    Subclasses set ``_modality`` (the feature-name prefix) and implement
    ``_load()`` (build the frozen model, return its output width),
    ``_check_item(item, row)`` (validate one input, raise naming the row),
    ``_item_digest(item)`` (bytes identifying one input), ``_model_identity()``
    (what identifies the weights) and ``_encode(items)`` (the model on a list
    of inputs, batched, returning ``(n, dim)`` float32); those whose model is
    read from files implement ``_model_digest()``, recorded at fit as
    ``model_digest_`` and checked before a fitted copy loads its model.
    """

    _modality = "feature"
    # parameters that change the loaded model itself (device, precision, input shape)
    _load_params = ()

    def fit(self, X, y=None):
        """Load the model (nothing is learned from X).

        Parameters
        ----------
        X : array-like of shape (n_samples,) or (n_samples, 1)
            One column of inputs; checked, not learned from.

        y : None
            Ignored.

        Returns
        -------
        self : object
            The encoder, its model loaded.

        See Also
        --------
        skfusion.encoders.TextEncoder.transform : Encode texts once fitted.
        skfusion.encoders.ImageEncoder.transform : Encode images once fitted.

        Examples
        --------
        >>> import numpy as np
        >>> from skfusion.encoders import ImageEncoder
        >>> def channel_means(batch):
        ...     return batch.mean(axis=(1, 2))
        >>> images = list(np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3), dtype=np.uint8))
        >>> encoder = ImageEncoder(channel_means, image_size=(8, 8)).fit(images)
        >>> encoder.n_features_out_
        3
        """
        self._validate_params()
        self._check_params()
        self._items(X, reset=True)
        # a refit reads the model afresh, whatever an earlier fit recorded
        vars(self).pop("model_digest_", None)
        n_features_out = self._ensure_loaded()
        self._check_loaded()
        self.n_features_out_ = n_features_out
        self.model_digest_ = self._model_digest()
        return self

    def _check_params(self):
        """Checks across parameters, after ``_validate_params``; none by default."""

    def _check_loaded(self):
        """Checks of the parameters against the loaded model; none by default."""

    def transform(self, X):
        """Encode each row of X.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or (n_samples, 1)
            One column of inputs.

        Returns
        -------
        embeddings : ndarray of shape (n_samples, `n_features_out_`), float32
            One embedding per row of X.

        See Also
        --------
        skfusion.encoders.TextEncoder.get_feature_names_out : The names of the output columns.
        sklearn.base.TransformerMixin.fit_transform : Fit, then transform the same column.

        Examples
        --------
        >>> import numpy as np
        >>> from skfusion.encoders import ImageEncoder
        >>> def channel_means(batch):
        ...     return batch.mean(axis=(1, 2))
        >>> images = list(np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3), dtype=np.uint8))
        >>> encoder = ImageEncoder(channel_means, image_size=(8, 8)).fit(images)
        >>> embeddings = encoder.transform(images[:2])
        >>> embeddings.shape, embeddings.dtype.name
        ((2, 3), 'float32')
        """
        check_is_fitted(self, "n_features_out_")
        items = self._items(X, reset=False)
        self._ensure_loaded()
        cache = self._embedding_cache(self._cache_namespace())
        if cache is None:
            return self._encode_batched(items)
        return self._encode_cached(items, cache)

    def _embedding_cache(self, namespace):
        """The embedding cache of ``namespace`` under :meth:`_cache_dir`, or
        None without one."""
        cache = self._cache_dir()
        return None if cache is None else EmbeddingCache(cache, namespace, owner=type(self).__name__)

    def _cache_dir(self):
        """``cache``, or the process default that
        :func:`~skfusion.distributed.setup_workers` sets (None: no cache)."""
        return self.cache if cache_location(self.cache) is not None else process_default("cache")

    def _item_key(self, item):
        """One input's cache key: a digest of its content."""
        return hashlib.blake2b(self._item_digest(item), digest_size=20).hexdigest()

    def _encode_cached(self, items, cache):
        if not items:
            return np.empty((0, self.n_features_out_), dtype=np.float32)
        return np.stack(self._cached(items, cache, self._encode_batched)).astype(np.float32, copy=False)

    def _cached(self, items, cache, encode):
        """``encode``'s output per item (a list, in order), through ``cache``:
        only the distinct items no process has stored are encoded."""
        keys = [self._item_key(item) for item in items]
        found = cache.get_many(keys)
        missing = {}
        for key, item in zip(keys, items):
            if key not in found:
                missing.setdefault(key, item)
        if missing:
            # processes sharing the cache (workers of one search) claim what
            # they encode: each distinct input is encoded once, side by side
            with cache.claim(list(missing)) as (mine, theirs):
                _encode_into(cache, found, mine, missing, encode)
            found.update(cache.get_many([k for k in missing if k not in found]))
            waiting = [k for k in theirs if k not in found]
            if waiting:
                found.update(cache.wait_for(waiting))
            # claimed by a process that went away without writing them
            _encode_into(cache, found, [k for k in missing if k not in found], missing, encode)
        return [found[k] for k in keys]

    def _encode_batched(self, items):
        if not items:
            return np.empty((0, self.n_features_out_), dtype=np.float32)
        return np.asarray(self._encode(items), dtype=np.float32)

    def _batches(self, order, desc):
        """Index batches of ``order``, with a tqdm bar when ``progress``."""
        batches = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        if self.progress and batches:
            tqdm = import_optional("tqdm.auto", owner=type(self).__name__).tqdm
            return tqdm(batches, desc=desc, unit="batch")
        return batches

    def _model_digest(self):
        """The digest of the model files the encoder reads, or None where
        its model is no file (a hub name, a model object)."""
        return None

    def _check_model_files(self):
        """A fitted copy (unpickled, cloned after fit, sent to a worker)
        reads the files it was fitted with, or says what changed."""
        recorded = getattr(self, "model_digest_", None)
        if recorded is None:
            return
        current = self._model_digest()
        if current != recorded:
            name, path = self._model_file_param()
            raise ValueError(
                f"{type(self).__name__}: the model files at {path!r} ({name}=) changed "
                f"since this encoder was fitted (digest {recorded}, now {current}); its "
                "features would silently differ. Restore the files it was fitted with, "
                "or fit it again on these."
            )

    def model_files(self):
        """The local files the encoder's model is read from, which
        :func:`skfusion.io.dump` bundles with ``include_models=True``.

        Returns
        -------
        files : tuple of (str, pathlib.Path, list of str) or None
            The constructor parameter that names them (``"model"``,
            ``"weights"``), the directory they are in and their paths
            relative to it, sorted; None for a model given by name (a hub
            name, ``"imagenet"``), an untrained one or a model object the
            encoder holds.
        """
        return None

    def _model_file_param(self):
        """``(parameter name, path)`` of the model files, for errors."""
        return "model", str(self.model)

    def _ensure_loaded(self):
        if getattr(self, "_loaded_model", None) is None:
            self._check_model_files()
            key = self._model_key()
            if key is None:
                self._loaded_model = self._load()
            else:
                # copies of this encoder in one process (unpickled per task,
                # fold or partition) share one loaded model
                self._loaded_model = shared_model(key, f"{type(self).__name__}({self.model})", self._load)
        return self._loaded_model["dim"]

    def _model_key(self):
        """What identifies the loaded model in this process (its weights and
        the parameters in ``_load_params``), or None to load it per instance."""
        params = tuple((name, repr(getattr(self, name))) for name in self._load_params)
        return (type(self).__name__, self._model_identity(), params)

    def _cache_namespace(self):
        params = {k: v for k, v in self.get_params().items() if k in self._output_params}
        return fingerprint(type(self).__name__, self._model_identity(), params)

    def _items(self, X, *, reset):
        """X as a list of inputs, each checked; one column only."""
        items = one_column(X, type(self).__name__)
        if reset:
            self.n_features_in_ = 1
            names = getattr(X, "columns", None)
            if names is not None:
                self.feature_names_in_ = np.asarray(names, dtype=object)
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        for row, item in enumerate(items):
            self._check_item(item, row)
        return items

    def get_feature_names_out(self, input_features=None):
        """``<modality>0 … <modality>{n-1}``, e.g. ``text0 … text383``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Ignored; the names come from the modality and the output width.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``<modality><k>`` for each output column.

        See Also
        --------
        skfusion.encoders.TextEncoder.transform : The columns these names describe.

        Examples
        --------
        >>> import numpy as np
        >>> from skfusion.encoders import ImageEncoder
        >>> def channel_means(batch):
        ...     return batch.mean(axis=(1, 2))
        >>> images = list(np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3), dtype=np.uint8))
        >>> encoder = ImageEncoder(channel_means, image_size=(8, 8)).fit(images)
        >>> encoder.get_feature_names_out().tolist()
        ['image0', 'image1', 'image2']
        """
        check_is_fitted(self, "n_features_out_")
        return np.asarray(
            [f"{self._modality}{i}" for i in range(self.n_features_out_)], dtype=object
        )

    def __getstate__(self):
        # a pickle holds the parameters, never the model: it reloads lazily
        state = dict(super().__getstate__())
        state.pop("_loaded_model", None)
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # one column of texts or images, not a numeric matrix: like
        # CountVectorizer, only the API checks of scikit-learn apply
        tags.input_tags.one_d_array = True
        tags.input_tags.two_d_array = False
        tags.input_tags.string = self._modality == "text"
        tags.requires_fit = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


def _encode_into(cache, found, keys, items, encode):
    """Encode ``items[k]`` for ``keys``, store them, add them to ``found``."""
    if keys:
        vectors = encode([items[k] for k in keys])
        cache.put_many(keys, vectors)
        found.update(zip(keys, vectors))
