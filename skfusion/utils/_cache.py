"""Fingerprints of data and a small on-disk store for fitted members and
their outputs.

A grid search over fusion weights asks for the same member fit and the same
member predictions hundreds of times. ``joblib.Memory`` answers that, but
hashes data with a pure-Python pickler and loads results with a pure-Python
unpickler: tens of milliseconds per call on a few thousand reviews, more than
the work saved between candidates. Here data is fingerprinted with pandas' and
numpy's vectorised hashing, results are written with the C pickler, and a
fitted member found in the store is only loaded when something needs it.
"""

import collections
import hashlib
import os
import pickle
import tempfile
import threading
from pathlib import Path

import numpy as np

from ._claims import Claims

_HASHABLE_INFERRED = {"string", "empty", "integer", "floating", "mixed-integer-float", "boolean"}


def fingerprint(*objects):
    """A hex digest that changes whenever any of ``objects`` changes.

    DataFrames, Series, numpy arrays and sparse matrices are hashed through
    their values (vectorised); anything else through :func:`joblib.hash`.
    """
    digest = hashlib.blake2b(digest_size=20)
    for obj in objects:
        digest.update(_part(obj))
    return digest.hexdigest()


def _part(obj):
    import joblib
    import pandas as pd
    from scipy import sparse
    from sklearn.base import BaseEstimator

    if obj is None or isinstance(obj, (str, bytes, int, float, bool)):
        return repr((type(obj).__name__, obj)).encode()
    if isinstance(obj, BaseEstimator):
        # an unfitted estimator is small: the C pickler beats joblib's Python
        # one by an order of magnitude. Pickles of equal parameters can only
        # differ in set ordering, which costs a cache miss, never a wrong hit.
        return b"estimator" + pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)

    if isinstance(obj, (pd.DataFrame, pd.Series)):
        hashed = _frame_bytes(obj)
        if hashed is not None:
            return hashed
    if isinstance(obj, np.ndarray) and obj.dtype.kind in "biufcmM":
        meta = repr((obj.dtype.str, obj.shape)).encode()
        return meta + np.ascontiguousarray(obj).tobytes()
    if isinstance(obj, np.ndarray) and obj.dtype == object and obj.ndim <= 2:
        hashed = _frame_bytes(pd.DataFrame(obj.reshape(len(obj), -1)))
        if hashed is not None:
            return repr(("object", obj.shape)).encode() + hashed
    if sparse.issparse(obj):
        obj = obj.tocsr()
        meta = repr((obj.shape, obj.dtype.str)).encode()
        return meta + b"".join(_part(a) for a in (obj.data, obj.indices, obj.indptr))
    if isinstance(obj, dict):
        return b"dict" + b"".join(repr(k).encode() + _part(v) for k, v in sorted(obj.items(), key=repr))
    if type(obj) in (list, tuple):
        return repr((type(obj).__name__, len(obj))).encode() + b"".join(_part(v) for v in obj)
    return joblib.hash(obj).encode()


def _frame_bytes(obj):
    """Bytes that identify a DataFrame's or Series' values, or None where
    pandas' value hashing is not exact: a column of arrays, images or bytes."""
    import pandas as pd

    columns = [v for _, v in obj.items()] if isinstance(obj, pd.DataFrame) else [obj]
    # only object columns can hold arrays, images or bytes; infer_dtype also
    # tells object ints from the strings that print the same
    inferred = [pd.api.types.infer_dtype(c, skipna=True) if c.dtype == object else None
                for c in columns]
    if any(kind is not None and kind not in _HASHABLE_INFERRED for kind in inferred):
        return None
    # repr of a dtype carries a categorical's categories and order
    frame = isinstance(obj, pd.DataFrame)
    names = repr((type(obj).__name__, None if frame else obj.name,
                  list(obj.columns) if frame else [], obj.shape,
                  [repr(c.dtype) for c in columns],
                  [kind for kind in inferred if kind is not None])).encode()
    return names + b"".join(_column_bytes(c, kind) for c, kind in zip(columns, inferred))


def _column_bytes(column, inferred):
    """Bytes that identify a column's values: numbers as they are, strings as
    a digest of their hashes, anything else through pandas' vectorised value
    hashing. ``inferred`` is ``infer_dtype`` of an object column."""
    import pandas as pd

    if isinstance(column.dtype, pd.StringDtype) or inferred == "string":
        return _RECENT_STRINGS.digest_for(column)
    values = column.to_numpy()
    if values.dtype.kind in "biufcmM":
        return np.ascontiguousarray(values).tobytes()
    return _hashed(values)


def _hashed(values):
    import pandas as pd

    # values are hashed through str(): the null mask tells NaN from "nan"
    return (pd.util.hash_array(values, categorize=False).tobytes()
            + np.packbits(pd.isna(values)).tobytes())


def _digest(strings):
    # 20 bytes in place of 8 per string: less to hash again with every key
    return hashlib.blake2b(_hashed(strings), digest_size=20).digest()


class _RecentStrings:
    """Digests of recently seen string columns, reused for equal columns.

    Cross-validation and grid search hand an estimator the same rows again
    and again, each time in a new DataFrame holding the same strings.
    Comparing with a column seen before costs a fraction of hashing it again:
    pyarrow-backed columns compare their Arrow arrays in C++, others compare
    Python strings (``==`` on identical strings short-cuts on identity).
    Only columns of strings (and missing values) are kept, and every kept
    column is a snapshot, so equality means an equal digest.
    """

    def __init__(self, size=64):
        self.size = size
        # (kind, length, first, last) -> [(snapshot, digest)]: the probe keeps
        # comparisons to columns that are probably equal
        self.entries = collections.OrderedDict()
        self.lock = threading.Lock()

    def digest_for(self, column):
        if not len(column):
            return _digest(column.to_numpy(dtype=object, na_value=None))
        arrow = _arrow_strings(column)
        if arrow is None:
            strings = column.to_numpy(dtype=object, na_value=None)
            probe = ("object", len(strings), strings[0], strings[-1])
        else:
            strings = None
            probe = ("arrow", len(arrow), arrow[0].as_py(), arrow[-1].as_py())
        with self.lock:
            for seen, digest in self.entries.get(probe, ()):
                if seen.equals(arrow) if strings is None else np.array_equal(seen, strings):
                    self.entries.move_to_end(probe)
                    return digest
        if strings is None:
            # an Arrow array is immutable (pandas replaces it on assignment):
            # the array itself is a snapshot
            snapshot, strings = arrow, column.to_numpy(dtype=object, na_value=None)
        else:
            # strings are immutable: a copy of the object array is a snapshot
            snapshot = strings.copy()
        digest = _digest(strings)
        with self.lock:
            alike = self.entries.setdefault(probe, [])
            alike.insert(0, (snapshot, digest))
            del alike[4:]
            self.entries.move_to_end(probe)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
        return digest


def _arrow_strings(column):
    """The Arrow array behind a pyarrow-backed string column, else None."""
    import pandas as pd

    if isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow":
        return column.array.__arrow_array__()
    return None


_RECENT_STRINGS = _RecentStrings()


def file_digest(paths):
    """Hash of the names and bytes of ``paths`` (a file or a list of files)."""
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else paths
    digest = hashlib.blake2b(digest_size=20)
    for path in paths:
        digest.update(Path(path).name.encode())
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


class StoredMember:
    """A fitted member kept on disk, loaded on first use.

    It carries the member's ``classes_`` so that probabilities can be aligned
    without loading the model.
    """

    def __init__(self, cache, key, classes):
        self.cache = cache
        self.key = key
        if classes is not None:
            self.classes_ = classes

    def load(self):
        return self.cache.load_member(self.key)


_REQUIRED = object()
_MISSING = object()


class NoCache:
    """What :class:`MemberCache` does with ``memory=None``: every fit and
    every output is computed, nothing is kept."""

    def fit(self, estimator, X, y, fit_params, fit):
        """``(fit(clone(estimator)), None)``."""
        from sklearn.base import clone

        return fit(clone(estimator), X, y, fit_params), None

    def fit_transform(self, transformer, X, y, fit_transform):
        """``fit_transform(clone(transformer))``: the fitted transformer and
        its output on ``X``."""
        from sklearn.base import clone

        return fit_transform(clone(transformer), X, y)

    def output(self, fitted, key, X, method):
        """``fitted.<method>(X)``."""
        return getattr(loaded(fitted), method)(X)

    def __bool__(self):
        return False


class MemberCache(NoCache):
    """Fitted members and their outputs under ``<location>/skfusion``: the
    one cache behind every skfusion estimator's ``memory``.

    A fit is keyed on the member's parameters (one pickle of the unfitted
    estimator, plus the model files of skfusion encoders inside it) and a
    fingerprint of its data; an output on the fit's key, the method and a
    fingerprint of the rows. Writes are atomic (a temporary file renamed
    into place), so parallel workers, Dask's included, can share one
    location. A fit found in the cache comes back as a
    :class:`StoredMember`, loaded only when something needs the model.
    """

    #: fitted members this process has read, by path, most recent last: a
    #: grid search over weights reads the same few members for every
    #: candidate, and unpickling one costs more than the rest of a cached fit
    _members = collections.OrderedDict()
    _members_lock = threading.Lock()
    _members_size = 32

    def __init__(self, location):
        # plain strings: a grid search looks up a few paths per candidate,
        # and pathlib's joins cost more than the lookups
        self.root = os.path.join(os.fspath(location), "skfusion")

    def load_member(self, key):
        """The fitted member stored under ``key``.

        A member read before in this process is returned as it was read: the
        same object, shared by every estimator that found that fit, so a
        member in ``estimators_`` must not be refitted in place (refit the
        fusion instead, as with any fitted scikit-learn ensemble).
        """
        path = self._path("member", key)
        with self._members_lock:
            member = self._members.get(path)
            if member is not None:
                self._members.move_to_end(path)
                return member
        member = self._load("member", key)
        self._remember(path, member)
        return member

    def _remember(self, path, member):
        with self._members_lock:
            self._members[path] = member
            self._members.move_to_end(path)
            while len(self._members) > self._members_size:
                self._members.popitem(last=False)

    def fit(self, estimator, X, y, fit_params, fit):
        """The fitted member and its key: read from the cache, or
        ``fit(clone(estimator), X, y, fit_params)`` and stored."""
        from sklearn.base import clone

        key = self._key(estimator, X, y, fit_params)
        # "classes" is written after "member", so finding it means both are there
        classes = self._load("classes", key, default=_MISSING)
        if classes is not _MISSING:
            return StoredMember(self, key, classes), key
        fitted = fit(clone(estimator), X, y, fit_params)
        self._save("member", key, fitted)
        self._save("classes", key, getattr(fitted, "classes_", None))
        self._remember(self._path("member", key), fitted)
        return fitted, key

    def fit_transform(self, transformer, X, y, fit_transform):
        """The fitted transformer and its output on ``X``, from the cache or
        from ``fit_transform(clone(transformer), X, y)``."""
        from sklearn.base import clone

        key = self._key(transformer, X, y, {})
        found = self._load("fit_transform", key, default=_MISSING)
        if found is not _MISSING:
            return found
        result = fit_transform(clone(transformer), X, y)
        self._save("fit_transform", key, result)
        return result

    def output(self, fitted, key, X, method):
        """``fitted.<method>(X)``, read from the cache when it was computed
        before (``key=None``: a member fitted elsewhere, never cached)."""
        if key is None:
            return getattr(loaded(fitted), method)(X)
        output_key = fingerprint(key, method, X)
        output = self._load("output", output_key, default=_MISSING)
        if output is not _MISSING:
            return output
        output = getattr(loaded(fitted), method)(X)
        self._save("output", output_key, output)
        return output

    def __bool__(self):
        return True

    def _key(self, estimator, X, y, fit_params):
        # the fit depends only on the (unfitted) parameters and the data
        params = _pickle_digest(estimator)
        return fingerprint(
            estimator if params is None else params,
            _model_identities(estimator, params), X, y, fit_params,
        )

    def _path(self, kind, key):
        return os.path.join(self.root, kind, key[:2], key + ".pkl")

    def _load(self, kind, key, default=_REQUIRED):
        """What was saved under ``key``, or ``default`` if nothing was (and
        one was given): one system call where a check first takes two."""
        try:
            f = open(self._path(kind, key), "rb")
        except FileNotFoundError:
            if default is _REQUIRED:
                raise
            return default
        with f:
            return pickle.load(f)

    def _save(self, kind, key, value):
        path = self._path(kind, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def __eq__(self, other):
        return isinstance(other, MemberCache) and other.root == self.root

    def __hash__(self):
        return hash(self.root)


_NO_CACHE = NoCache()


def member_cache(memory):
    """The cache for a ``memory`` parameter (None, a path or a
    joblib.Memory): a :class:`MemberCache`, or a :class:`NoCache` that
    computes everything."""
    location = cache_location(memory)
    return _NO_CACHE if location is None else MemberCache(location)


def loaded(member):
    """The fitted estimator behind a member that may still be on disk."""
    return member.load() if isinstance(member, StoredMember) else member


def _model_identities(estimator, params):
    """Identities of the models that skfusion encoders inside ``estimator``
    load from disk: a member's parameters name a model path, the key must
    follow the files behind it. ``params`` is the digest of the
    estimator's pickle (None where it has none)."""
    # walking get_params(deep=True) inspects every __init__ signature; an
    # estimator that pickles to the same bytes as one found without encoders
    # has the same classes in the same places, so none either
    if params is not None and params in _WITHOUT_ENCODERS:
        return []
    nested = [estimator, *estimator.get_params(deep=True).values()] if hasattr(estimator, "get_params") else [estimator]
    identities = [obj._model_identity() for obj in nested if hasattr(obj, "_model_identity")]
    if params is not None and not identities:
        with _WITHOUT_ENCODERS_LOCK:
            _WITHOUT_ENCODERS[params] = None
            while len(_WITHOUT_ENCODERS) > 256:
                del _WITHOUT_ENCODERS[next(iter(_WITHOUT_ENCODERS))]
    return identities


#: Digests of the pickles of (unfitted) members found to hold no skfusion
#: encoder, oldest first. The member's key already takes equal pickles for
#: equal parameters; this relies on nothing more.
_WITHOUT_ENCODERS = {}
_WITHOUT_ENCODERS_LOCK = threading.Lock()


def _pickle_digest(estimator):
    """A digest of the pickle of a scikit-learn estimator, or None for
    anything else (or what does not pickle). Pickles of equal parameters can
    only differ in set ordering, which costs a cache miss, never a wrong hit."""
    from sklearn.base import BaseEstimator

    if not isinstance(estimator, BaseEstimator):
        return None
    try:
        params = pickle.dumps(estimator, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        return None
    return hashlib.blake2b(params, digest_size=20).digest()


class EmbeddingCache:
    """Per-input embeddings of one encoder configuration, on disk.

    ``namespace`` identifies the model and every parameter that changes its
    output; each input is keyed by a digest of its content. Encoded batches
    are written as shards (``.npz`` of keys and vectors), atomically, so
    processes sharing a location never read half a file. A process keeps the
    shards it has read in memory and reads only new ones afterwards.
    """

    _loaded = {}  # directory -> (shard names read, {key: vector})

    def __init__(self, location, namespace):
        self.directory = Path(location) / "skfusion-embeddings" / namespace
        self._claims = Claims(self.directory)

    def _index(self):
        names, index = self._loaded.setdefault(str(self.directory), (set(), {}))
        if self.directory.is_dir():
            for path in sorted(self.directory.glob("*.npz")):
                if path.name not in names:
                    with np.load(path) as shard:
                        index.update(zip(shard["keys"].tolist(), _rows(shard)))
                    names.add(path.name)
        return index

    def claim(self, keys):
        """Claim the missing ``keys`` to encode here; see :class:`Claims`.

        Yields ``(mine, theirs)``: the keys this process encodes, and those
        another process is encoding (wait for them with :meth:`wait_for`).
        """
        return self._claims.claim(keys, self.get_many)

    def wait_for(self, keys):
        """The vectors of ``keys`` other processes claimed, once written
        (or as many as were written when their claims went away)."""
        return self._claims.wait_for(keys, self.get_many)

    def get_many(self, keys):
        """Vectors of the keys found in the cache, by key."""
        index = self._index()
        return {k: index[k] for k in keys if k in index}

    def put_many(self, keys, vectors):
        """Store ``vectors`` (one per key: a row of a matrix, or arrays whose
        first dimension varies, such as token states) as a new shard."""
        if not len(keys):
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        ragged = not isinstance(vectors, np.ndarray) and len({np.shape(v) for v in vectors}) > 1
        if ragged:
            arrays = {"vectors": np.concatenate(vectors),
                      "lengths": np.asarray([len(v) for v in vectors], dtype=np.int64)}
        else:
            vectors = np.asarray(vectors)
            arrays = {"vectors": vectors}
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, keys=np.asarray(keys, dtype="U"), **arrays)
            final = self.directory / f"{fingerprint(keys)}.npz"
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        names, index = self._loaded.setdefault(str(self.directory), (set(), {}))
        index.update(zip(list(keys), vectors))
        names.add(final.name)


def _rows(shard):
    """A shard's vectors, one per key (split back when stored ragged)."""
    vectors = shard["vectors"]
    if "lengths" not in shard.files:
        return vectors
    return np.split(vectors, np.cumsum(shard["lengths"])[:-1])


def cache_location(cache):
    """The directory behind a ``cache`` parameter (None, a path or a joblib.Memory)."""
    if cache is None:
        return None
    if isinstance(cache, (str, os.PathLike)):
        return cache
    return getattr(cache, "location", None)
