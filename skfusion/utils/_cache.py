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
import contextlib
import hashlib
import os
import pickle
import tempfile
import threading
from pathlib import Path

import numpy as np

from ._claims import Claims
from ._sklearn_compat import HasMethods
from ._trust import MISSING, CacheDir, SharedCache

#: what a ``memory`` or ``cache`` parameter may be: a directory of the
#: user's own, a SharedCache, or a joblib.Memory (its location is used)
CACHE_CONSTRAINT = [None, str, os.PathLike, SharedCache, HasMethods(["cache"])]

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
    """Hash of the names and bytes of ``paths`` (a file or a list of files),
    memoised by their sizes and modification times: model files are hashed
    at every fit and first use, and weights run to hundreds of megabytes."""
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else paths
    stamp = tuple((os.fspath(p), os.stat(p).st_size, os.stat(p).st_mtime_ns) for p in paths)
    if stamp not in _FILE_DIGESTS:
        digest = hashlib.blake2b(digest_size=20)
        for path in paths:
            digest.update(Path(path).name.encode())
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
        _FILE_DIGESTS[stamp] = digest.hexdigest()
    return _FILE_DIGESTS[stamp]


_FILE_DIGESTS = {}


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
    fingerprint of the rows. The directory and every entry are checked as
    :class:`~skfusion.utils._trust.CacheDir` does: only the user's own
    directory (or a :class:`~skfusion.utils.SharedCache`) is read, and an
    entry whose tag does not match is a miss. Writes are atomic (a temporary
    file renamed into place), so parallel workers, Dask's included, can
    share one location. A fit found in the cache comes back as a
    :class:`StoredMember`, loaded only when something needs the model.
    """

    #: fitted members this process has read or verified, by path, most
    #: recent last: a grid search over weights finds the same few members
    #: for every candidate, and reading one costs more than the rest of a
    #: cached fit. Values are the member, or None where only its entry was
    #: verified (path, inode, size and mtime in ``_intact``).
    _members = collections.OrderedDict()
    _intact = {}
    _members_lock = threading.Lock()
    _members_size = 32

    def __init__(self, memory, owner):
        self.store = CacheDir(memory, owner=owner, param="memory")
        self.root = os.path.join(self.store.root, "skfusion")

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
        member = self.store.read(self._relative("member", key))
        if member is MISSING:
            raise FileNotFoundError(
                f"{self.store.owner}: the cached member {path!r} went missing or was "
                "damaged after it was found; fit again."
            )
        self._remember(path, member)
        return member

    def _remember(self, path, member):
        with self._members_lock:
            self._members[path] = member
            self._members.move_to_end(path)
            while len(self._members) > self._members_size:
                self._members.popitem(last=False)

    def _member_intact(self, key):
        """Whether the member entry of ``key`` is there and its tag matches;
        checked once per file (a stat after that)."""
        path = self._path("member", key)
        with self._members_lock:
            if path in self._members:
                return True
        try:
            info = os.stat(path)
        except FileNotFoundError:
            return False
        stamp = (info.st_ino, info.st_size, info.st_mtime_ns)
        if self._intact.get(path) == stamp:
            return True
        if not self.store.verify(self._relative("member", key)):
            return False
        with self._members_lock:
            self._intact[path] = stamp
            while len(self._intact) > 4 * self._members_size:
                del self._intact[next(iter(self._intact))]
        return True

    def fit(self, estimator, X, y, fit_params, fit):
        """The fitted member and its key: read from the cache, or
        ``fit(clone(estimator), X, y, fit_params)`` and stored."""
        from sklearn.base import clone

        key = self._key(estimator, X, y, fit_params)
        # "classes" is written after "member", so finding it means both are there
        classes = self.store.read(self._relative("classes", key))
        if classes is not MISSING and self._member_intact(key):
            return StoredMember(self, key, classes), key
        fitted = fit(clone(estimator), X, y, fit_params)
        self.store.write(self._relative("member", key), fitted, pickled=True)
        self.store.write(self._relative("classes", key), getattr(fitted, "classes_", None))
        self._remember(self._path("member", key), fitted)
        return fitted, key

    def fit_transform(self, transformer, X, y, fit_transform):
        """The fitted transformer and its output on ``X``, from the cache or
        from ``fit_transform(clone(transformer), X, y)``."""
        from sklearn.base import clone

        key = self._key(transformer, X, y, {})
        found = self.store.read(self._relative("fit_transform", key))
        if found is not MISSING:
            return found
        result = fit_transform(clone(transformer), X, y)
        self.store.write(self._relative("fit_transform", key), result, pickled=True)
        return result

    def output(self, fitted, key, X, method):
        """``fitted.<method>(X)``, read from the cache when it was computed
        before (``key=None``: a member fitted elsewhere, never cached)."""
        if key is None:
            return getattr(loaded(fitted), method)(X)
        output_key = fingerprint(key, method, X)
        output = self.store.read(self._relative("output", output_key))
        if output is not MISSING:
            return output
        output = getattr(loaded(fitted), method)(X)
        self.store.write(self._relative("output", output_key), output)
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

    def _relative(self, kind, key):
        # plain strings: a grid search looks up a few paths per candidate,
        # and pathlib's joins cost more than the lookups
        return f"skfusion/{kind}/{key[:2]}/{key}.entry"

    def _path(self, kind, key):
        return os.path.join(self.store.root, self._relative(kind, key))

    def __eq__(self, other):
        return isinstance(other, MemberCache) and other.store == self.store

    def __hash__(self):
        return hash(self.store)


_NO_CACHE = NoCache()


def member_cache(memory, owner):
    """The cache for the ``memory`` parameter (None, a path, a
    :class:`~skfusion.utils.SharedCache` or a joblib.Memory) of ``owner``
    (the estimator's name, for errors): a :class:`MemberCache`, or a
    :class:`NoCache` that computes everything."""
    return _NO_CACHE if cache_location(memory) is None else MemberCache(memory, owner)


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
    are written as shards (``.shard``: keys and vectors, no pickle), atomically and
    tagged as every cache entry is (see
    :class:`~skfusion.utils._trust.CacheDir`), so processes sharing a
    location never read half a file and a damaged or forged shard is
    ignored with a warning. A process keeps the shards it has read in memory
    and reads only new ones afterwards.
    """

    _loaded = {}  # directory -> (shard names read, {key: vector})

    def __init__(self, cache, namespace, *, owner):
        self.store = CacheDir(cache, owner=owner, param="cache")
        self.relative = f"skfusion-embeddings/{namespace}"
        self.directory = Path(self.store.root) / self.relative
        self._claims = Claims(self.store, self.relative)

    def _index(self):
        names, index = self._loaded.setdefault(str(self.directory), (set(), {}))
        directory = self.store.directory(self.relative)
        if directory is not None:
            for name in sorted(os.listdir(directory)):
                if not name.endswith(".shard") or name in names:
                    continue
                names.add(name)
                shard = self.store.read(f"{self.relative}/{name}")
                if shard is MISSING:  # damaged or forged: its inputs are encoded again
                    with contextlib.suppress(OSError):
                        os.unlink(os.path.join(directory, name))
                    continue
                keys, vectors, lengths = shard
                if lengths is not None:
                    vectors = np.split(vectors, np.cumsum(lengths)[:-1])
                index.update(zip(keys.tolist(), vectors))
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
        ragged = not isinstance(vectors, np.ndarray) and len({np.shape(v) for v in vectors}) > 1
        if ragged:
            stored = (np.concatenate(vectors), np.asarray([len(v) for v in vectors], dtype=np.int64))
        else:
            vectors = np.asarray(vectors)
            stored = (vectors, None)
        name = f"{fingerprint(keys)}.shard"
        self.store.write(f"{self.relative}/{name}",
                         (np.asarray(keys, dtype="U"), *stored))
        names, index = self._loaded.setdefault(str(self.directory), (set(), {}))
        index.update(zip(list(keys), vectors))
        names.add(name)


def cache_location(cache):
    """The directory behind a ``cache`` parameter (None, a path, a
    :class:`~skfusion.utils.SharedCache` or a joblib.Memory)."""
    if cache is None:
        return None
    if isinstance(cache, (str, os.PathLike)):
        return cache
    return getattr(cache, "location", None)


class ArrayCache:
    """Per-input arrays too large to keep every one in memory, such as an
    image's activations at a backbone's cut (400 KB for ResNet50's before
    ``conv5_block3``), which :class:`EmbeddingCache` would hold in memory
    for the life of the process.

    The arrays used last stay in memory, up to ``budget`` bytes for all the
    ArrayCaches of the process; with a ``cache`` directory, each array is
    also an entry of its own there, tagged as every cache entry is (see
    :class:`~skfusion.utils._trust.CacheDir`) and read back alone, so
    finding one reads none of the others. An entry that is damaged, forged
    or of another dtype or shape than ``shape`` is a miss.

    Parameters
    ----------
    cache : str, path-like, SharedCache, joblib.Memory or None
        The directory; None keeps arrays in memory only.

    namespace : str
        What identifies the computation (model, parameters).

    shape : tuple of int
        Every array's shape; their dtype is float32.

    owner : str
        The estimator's name, for errors.

    budget : int
        Bytes of arrays kept in memory.
    """

    _recent = collections.OrderedDict()  # (namespace, key) -> array, most recent last
    _recent_bytes = 0
    _lock = threading.Lock()

    def __init__(self, cache, namespace, shape, *, owner, budget):
        self.store = None if cache_location(cache) is None else CacheDir(cache, owner=owner, param="cache")
        self.namespace = namespace
        self.shape = tuple(shape)
        self.budget = budget

    def get(self, key):
        """The array of ``key``, or None."""
        with self._lock:
            array = self._recent.get((self.namespace, key))
            if array is not None:
                self._recent.move_to_end((self.namespace, key))
                return array
        if self.store is None:
            return None
        array = self.store.read(self._relative(key))
        if not (isinstance(array, np.ndarray) and array.dtype == np.float32
                and array.shape == self.shape):
            return None
        self._remember(key, array)
        return array

    def put(self, key, array):
        """Store ``array`` (float32, of ``shape``) as ``key``'s."""
        array = np.array(array, dtype=np.float32)  # a copy: no view keeps a whole batch alive
        if self.store is not None:
            self.store.write(self._relative(key), array)
        self._remember(key, array)

    def _remember(self, key, array):
        cls = type(self)
        with self._lock:
            previous = cls._recent.pop((self.namespace, key), None)
            if previous is not None:
                cls._recent_bytes -= previous.nbytes
            if array.nbytes > self.budget:
                return
            cls._recent[(self.namespace, key)] = array
            cls._recent_bytes += array.nbytes
            while cls._recent_bytes > self.budget:
                _, dropped = cls._recent.popitem(last=False)
                cls._recent_bytes -= dropped.nbytes

    def _relative(self, key):
        return f"skfusion-arrays/{self.namespace}/{key[:2]}/{key}.entry"


def budgeted_array(shape, budget, dtype=np.float32):
    """An empty array of ``shape``: in memory when it takes at most
    ``budget`` bytes, else a :class:`numpy.memmap` over an anonymous
    temporary file (``tempfile.TemporaryFile`` in ``TMPDIR``: mode 0600, its
    name removed at once on POSIX, on close on Windows), so that the file
    goes when the array does."""
    if np.prod(shape, dtype=np.int64) * np.dtype(dtype).itemsize <= budget:
        return np.empty(shape, dtype=dtype)
    with tempfile.TemporaryFile(prefix="skfusion-") as file:
        # the mapping holds the file open; this handle is no longer needed
        return np.memmap(file, dtype=dtype, mode="w+", shape=shape)


def mapped(array):
    """Whether ``array`` (or the array it views) is mapped from a file."""
    while isinstance(array, np.ndarray):
        if isinstance(array, np.memmap):
            return True
        array = array.base
    return False


def take_rows(array, rows):
    """``array[rows]``; for an array mapped from a file and an index array,
    a new one on disk, copied a few rows at a time, never whole in memory."""
    if isinstance(rows, slice) or not mapped(array):
        return array[rows]
    out = budgeted_array((len(rows), *array.shape[1:]), 0, array.dtype)
    for start in range(0, len(rows), _ROWS_PER_COPY):
        out[start:start + _ROWS_PER_COPY] = array[rows[start:start + _ROWS_PER_COPY]]
    return out


_ROWS_PER_COPY = 256
