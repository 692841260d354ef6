"""Cache directories that cannot be turned against their user.

Everything skfusion keeps on disk between fits (fitted members, their
outputs, embeddings) lives under a directory given as ``memory=`` or
``cache=``. Reading a file from there must neither run code nor return a
value that something other than skfusion put there. Two rules see to it:

* **The directory is the user's own.** It is created with mode 0700; an
  existing one, and every directory and file under it, must be owned by the
  current user, not be writable by others, and be group-writable only for a
  user-private group; symbolic links are refused. Anything else is refused
  before a byte of it is read, the rule git applies to a repository owned by
  someone else (``safe.directory``).
* **Every entry carries a tag** over its relative path, its encoding and its
  bytes: a BLAKE2b digest in the user's own directory (a truncated, garbage
  or swapped entry is a miss, recomputed with a :class:`CacheWarning`), and
  an HMAC-SHA256 keyed by a secret held outside the directory in a
  :class:`SharedCache`, where other users write too. An entry whose tag does
  not match is never decoded.

Arrays, strings and sparse matrices are encoded without pickle (read back
with ``allow_pickle=False``); only fitted estimators, which have no other
encoding, are pickled, and a pickle is only ever read once its tag matched.
"""

import contextlib
import functools
import hashlib
import hmac
import json
import math
import os
import pickle
import stat
import sys
import tempfile
import threading
import warnings

import numpy as np

#: environment variable holding the key of shared caches
KEY_VARIABLE = "SKFUSION_CACHE_KEY"

_MAGIC = b"SKFUSION-CACHE\x00"
_VERSION = 1
_ARRAYS = 1  # numpy arrays, strings, sparse matrices and lists of them (no pickle)
_PICKLE = 2  # a fitted estimator: read only once the tag matched
_TAG_SIZE = 32
_HEADER = len(_MAGIC) + 2 + _TAG_SIZE


class CacheWarning(UserWarning):
    """A cache entry or directory skfusion could not use: the result was
    computed as if the cache were empty (a damaged entry is overwritten).

    See Also
    --------
    UnsafeCacheError : Raised instead for a directory others could write.
    SharedCache : A shared directory whose entries are authenticated.

    Examples
    --------
    A damaged entry is ignored and computed again:

    >>> import pathlib, tempfile, warnings
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from skfusion.fusion import LateFusionRegressor
    >>> from skfusion.utils import CacheWarning
    >>> cache = tempfile.TemporaryDirectory()
    >>> reg = LateFusionRegressor([("a", LinearRegression(), [0])], memory=cache.name)
    >>> X, y = np.eye(3), [0.0, 1.0, 2.0]
    >>> _ = reg.fit(X, y)
    >>> for entry in pathlib.Path(cache.name).rglob("*.entry"):
    ...     _ = entry.write_bytes(b"damaged")
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = reg.fit(X, y)
    >>> {w.category.__name__ for w in caught}
    {'CacheWarning'}
    >>> cache.cleanup()
    """


class UnsafeCacheError(PermissionError):
    """A cache directory, or something under it, that someone other than
    the current user can write: refused before anything in it is read.

    A symbolic link is refused too, since it could lead anywhere.

    See Also
    --------
    SharedCache : How to share a cache directory on purpose.
    user_cache_dir : A cache location of the current user's own.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from skfusion.fusion import LateFusionRegressor
    >>> from skfusion.utils import UnsafeCacheError
    >>> tmp = tempfile.TemporaryDirectory()
    >>> real, link = os.path.join(tmp.name, "real"), os.path.join(tmp.name, "link")
    >>> os.mkdir(real, mode=0o700)
    >>> os.symlink(real, link)
    >>> reg = LateFusionRegressor([("a", LinearRegression(), [0])], memory=link)
    >>> try:
    ...     reg.fit(np.eye(3), [0.0, 1.0, 2.0])
    ... except UnsafeCacheError as exc:
    ...     print("is a symbolic link" in str(exc))
    True
    >>> tmp.cleanup()
    """


class SharedCache:
    """A cache directory shared on purpose, its entries authenticated.

    Pass it as ``memory=`` or ``cache=`` (or to
    :func:`skfusion.distributed.setup_workers`) where several users or hosts
    write one cache: a team directory, the workers of a cluster on a shared
    file system. The directory may then be owned by others and be writable
    by the group; in exchange every entry carries an HMAC-SHA256 keyed by a
    secret that lives outside the directory, and an entry written without
    the key (a planted pickle, a shard of wrong values) is ignored with a
    :class:`CacheWarning` and never decoded. Symbolic links are still
    refused.

    The key is read, at first use, from the environment variable
    ``SKFUSION_CACHE_KEY`` or else from the file
    ``$XDG_CONFIG_HOME/skfusion/cache.key`` (``~/.config/skfusion/cache.key``),
    which must be the user's own with mode 0600. Everyone sharing the cache
    needs the same key; it never appears in parameters, reprs or pickles.
    Make one with ``python -c "import secrets; print(secrets.token_hex(32))"``.

    Parameters
    ----------
    location : str or path-like
        The shared directory.

    See Also
    --------
    user_cache_dir : A per-user cache location, the usual choice.

    Examples
    --------
    >>> from skfusion.utils import SharedCache
    >>> SharedCache("/team/skfusion-cache")
    SharedCache('/team/skfusion-cache')
    """

    def __init__(self, location):
        self.location = os.fspath(location)

    def __repr__(self):
        return f"{type(self).__name__}({self.location!r})"

    def __eq__(self, other):
        return type(other) is type(self) and other.location == self.location

    def __hash__(self):
        return hash((type(self), self.location))


def user_cache_dir(name=None):
    """A cache location of the current user's own.

    ``$XDG_CACHE_HOME/skfusion`` (``~/.cache/skfusion`` by default), or a
    subdirectory ``name`` of it: the place for ``memory=`` and ``cache=``
    that outlives a session, where a fixed path in a shared temporary
    directory (``/tmp/...``) could be created first by anyone. Nothing is
    created here; skfusion creates the directory with mode 0700 at first use.

    Parameters
    ----------
    name : str or None, default=None
        A subdirectory, to keep projects apart.

    Returns
    -------
    path : str
        The directory (or its subdirectory ``name``), which may not exist yet.

    See Also
    --------
    SharedCache : A cache directory shared with other users on purpose.
    joblib.Memory : What ``memory=`` also accepts.

    Examples
    --------
    >>> from skfusion.utils import user_cache_dir
    >>> user_cache_dir("reviews").endswith("reviews")
    True
    """
    path = os.path.join(_xdg("XDG_CACHE_HOME", ".cache"), "skfusion")
    return path if name is None else os.path.join(path, name)


def _xdg(variable, default):
    """An XDG base directory: ``$variable``, else ``~/default``."""
    return os.environ.get(variable) or os.path.join(os.path.expanduser("~"), default)


def shared_key():
    """The secret of shared caches, as bytes (see :class:`SharedCache`)."""
    value = os.environ.get(KEY_VARIABLE)
    if value:
        key = value.strip().encode()
    else:
        path = os.path.join(_xdg("XDG_CONFIG_HOME", ".config"), "skfusion", "cache.key")
        try:
            info, data = read_regular(path)
        except FileNotFoundError:
            raise LookupError(
                f"SharedCache: no key; set the environment variable {KEY_VARIABLE} or "
                f"write one to {path} (mode 0600), the same for everyone sharing the "
                "cache: python -c \"import secrets; print(secrets.token_hex(32))\""
            ) from None
        if _foreign(info) or info.st_mode & 0o077 or not stat.S_ISREG(info.st_mode):
            raise UnsafeCacheError(
                f"SharedCache: the key file {path} must be a file of yours with mode "
                f"0600; it is {_describe(info)}. Fix: chmod 600 {path}"
            )
        key = bytes(data).strip()
    if len(key) < 16:
        raise ValueError(
            f"SharedCache: the cache key has {len(key)} characters; use at least 16 "
            "(python -c \"import secrets; print(secrets.token_hex(32))\")."
        )
    return key


def read_regular(path):
    """``(stat, bytearray)`` of the file at ``path``, never following a
    symbolic link nor blocking on a FIFO or device: a file that is not a
    regular one comes back with empty contents (the caller checks the
    stat). Raises FileNotFoundError where there is none, and OSError for a
    symbolic link (ELOOP)."""
    with open(os.open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK), "rb", buffering=0) as f:
        info = os.fstat(f.fileno())
        data = bytearray(info.st_size if stat.S_ISREG(info.st_mode) else 0)
        done = 0
        with memoryview(data) as view:
            while done < len(data):
                n = f.readinto(view[done:])
                if not n:  # shrank meanwhile: the tag will not match
                    break
                done += n
        del data[done:]
        return info, data


class CacheDir:
    """A verified cache directory: reads and writes tagged entries.

    ``spec`` is a ``memory``/``cache`` parameter (a path, a
    :class:`SharedCache` or a ``joblib.Memory``); ``owner`` and ``param``
    name the estimator and parameter in errors and warnings. Paths under
    the root are given relative to it, with ``/`` between their parts.
    """

    def __init__(self, spec, *, owner, param):
        self.shared = isinstance(spec, SharedCache)
        location = spec.location if hasattr(spec, "location") else spec
        self.root = os.path.abspath(os.fspath(location))
        self.owner = owner
        self.param = param
        self.key = shared_key() if self.shared else None
        self._root_dir()

    # -- directories ----------------------------------------------------------

    def _root_dir(self):
        """Create the root or check the existing one (its parents are not
        the cache's); the checked directories under it are remembered by the
        root's identity, so a root replaced since is checked afresh."""
        try:
            os.makedirs(os.path.dirname(self.root), exist_ok=True)
            self._mkdir(self.root)
        except FileExistsError:
            pass
        except OSError as exc:
            if not os.path.isdir(self.root):
                raise OSError(
                    f"{self.owner}: cannot create the cache directory {self.root!r} "
                    f"({self.param}=): {exc}"
                ) from exc
        info = os.lstat(self.root)
        self._check(self.root, info, directory=True)
        self._checked = _CHECKED.setdefault((info.st_dev, info.st_ino, self.shared), set())

    def _mkdir(self, path):
        """A new directory: private (0700), or in a shared cache writable by
        the group and inheriting it (2775), whatever the umask."""
        os.mkdir(path, 0o700)
        if self.shared:
            fd = os.open(path, os.O_RDONLY | _NOFOLLOW | getattr(os, "O_DIRECTORY", 0))
            try:
                os.fchmod(fd, 0o2775)
            finally:
                os.close(fd)

    def directory(self, relative, *, create=False):
        """The directory ``relative`` under the root, every level checked
        (once per process), or None where a level is missing and not
        ``create``."""
        if not create and os.path.join(self.root, relative) in self._checked:
            return os.path.join(self.root, relative)
        path = self.root
        for part in relative.split("/"):
            path = os.path.join(path, part)
            if create:
                try:
                    self._mkdir(path)
                except FileExistsError:
                    pass
            if path in self._checked:
                continue
            try:
                info = os.lstat(path)
            except FileNotFoundError:
                return None
            self._check(path, info, directory=True)
            self._checked.add(path)
        return path

    def _check(self, path, info, *, directory):
        if stat.S_ISLNK(info.st_mode):
            raise UnsafeCacheError(
                f"{self.owner}: refusing the cache at {self.root!r} ({self.param}=): "
                f"{path!r} is a symbolic link, which could lead anywhere. Fix: give the "
                "real directory, or remove the link."
            )
        kind_ok = stat.S_ISDIR(info.st_mode) if directory else stat.S_ISREG(info.st_mode)
        if not kind_ok:
            raise UnsafeCacheError(
                f"{self.owner}: refusing the cache at {self.root!r} ({self.param}=): "
                f"{path!r} is not a {'directory' if directory else 'regular file'}."
            )
        # a shared cache is written by others on purpose (its entries are
        # authenticated instead); Windows has no owners or mode bits to check
        if self.shared or not hasattr(os, "geteuid"):
            return
        if _foreign(info) or info.st_mode & stat.S_IWOTH or (
                info.st_mode & stat.S_IWGRP and not _private_group(info.st_gid)):
            raise UnsafeCacheError(
                f"{self.owner}: refusing the cache at {self.root!r} ({self.param}=): "
                f"{path!r} is {_describe(info)}; a cache must be yours and writable by "
                "no one else, or anyone who can write it runs code in your process. "
                f"Fix: a cache is disposable: remove it (rm -rf {self.root}) or move it "
                "aside and let skfusion create it afresh (chown or chmod would adopt "
                "whatever others put there); use a directory of your own, such as "
                "skfusion.utils.user_cache_dir() or tempfile.mkdtemp(); to share a "
                "cache on purpose, pass skfusion.utils.SharedCache(path)."
            )

    # -- entries --------------------------------------------------------------

    def read(self, relpath):
        """The value stored at ``relpath``, or ``MISSING`` where there is
        none or it is damaged, forged or unreadable (then with a warning)."""
        found = self._entry(relpath)
        if found is MISSING:
            return MISSING
        encoding, payload = found
        try:
            if encoding == _PICKLE:
                return pickle.loads(payload)  # its tag matched: written here
            return _decode(payload)
        except Exception as exc:  # e.g. a class gone since an upgrade
            self._warn(relpath, f"cannot be decoded ({exc})")
            return MISSING

    def verify(self, relpath):
        """Whether the entry at ``relpath`` is there and its tag matches."""
        return self._entry(relpath) is not MISSING

    def _entry(self, relpath):
        """``(encoding, payload)`` of the entry at ``relpath`` once its tag
        matched, else ``MISSING`` (with a warning unless it is absent)."""
        parent, _, name = relpath.rpartition("/")
        directory = self.directory(parent) if parent else self.root
        if directory is None:
            return MISSING
        path = os.path.join(directory, name)
        try:
            info, data = read_regular(path)
        except FileNotFoundError:
            return MISSING
        except OSError as exc:
            info = os.lstat(path)
            if not self.shared:
                self._check(path, info, directory=False)
            self._warn(relpath, f"cannot be read ({exc})")
            return MISSING
        if self.shared and not stat.S_ISREG(info.st_mode):
            # others write here on purpose: what is no entry is ignored
            self._warn(relpath, "is not a regular file")
            return MISSING
        self._check(path, info, directory=False)
        try:
            return self._unpack(relpath, data)
        except ValueError as exc:
            self._warn(relpath, str(exc))
            return MISSING

    def write(self, relpath, value, *, pickled=False):
        """Store ``value`` at ``relpath`` atomically (a temporary file renamed
        into place); ``pickled`` for fitted estimators. A cache that cannot
        be written is warned about once and left as it is."""
        encoding, payload = (_PICKLE, _pickle(value)) if pickled else _encode(value)
        self.write_bytes(relpath, bytes([_VERSION, encoding])
                         + self._tag(relpath, encoding, payload), payload)

    def write_bytes(self, relpath, head, payload):
        """Write ``_MAGIC + head + payload`` at ``relpath`` atomically."""
        parent, _, _ = relpath.rpartition("/")
        try:
            directory = self.directory(parent, create=True) if parent else self.root
            fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
        except UnsafeCacheError:
            raise
        except OSError as exc:  # read-only, full, or not ours to write
            self.read_only(exc)
            return
        try:
            with os.fdopen(fd, "wb") as f:
                if self.shared:  # readable by those it is shared with
                    os.fchmod(f.fileno(), 0o644)
                f.write(_MAGIC + head)
                f.write(payload)
            os.replace(tmp, os.path.join(self.root, relpath))
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            self.read_only(exc)

    def _unpack(self, relpath, data):
        if len(data) < _HEADER or not data.startswith(_MAGIC):
            raise ValueError(f"is not a skfusion cache entry ({len(data)} bytes)")
        version, encoding = data[len(_MAGIC)], data[len(_MAGIC) + 1]
        if version != _VERSION or encoding not in (_ARRAYS, _PICKLE):
            raise ValueError(f"has an unknown format (version {version}, encoding {encoding})")
        tag, payload = data[len(_MAGIC) + 2:_HEADER], memoryview(data)[_HEADER:]
        if not hmac.compare_digest(tag, self._tag(relpath, encoding, payload)):
            raise ValueError(
                "fails its HMAC: it was not written with this cache's key" if self.shared
                else "fails its digest: truncated or damaged"
            )
        return encoding, payload

    def tag(self, relpath, payload):
        """The tag of ``payload`` stored at ``relpath`` (for claims, which
        are not entries but must be authenticated alike)."""
        return self._tag(relpath, 0, payload)

    def _tag(self, relpath, encoding, payload):
        head = relpath.encode() + b"\x00" + bytes([encoding])
        if self.key is None:
            digest = hashlib.blake2b(head, digest_size=_TAG_SIZE)
        else:
            digest = hmac.new(self.key, head, "sha256")
        digest.update(payload)
        return digest.digest()

    def _warn(self, relpath, problem):
        _cache_warning(
            f"{self.owner}: ignoring the cache entry "
            f"{os.path.join(self.root, relpath)!r} ({self.param}=): it {problem}; the "
            "result is computed as if it were not there, and stored afresh."
        )

    def read_only(self, exc):
        """Warn, once per process, that the cache cannot be written."""
        with _LOCK:
            if self.root in _READ_ONLY:
                return
            _READ_ONLY.add(self.root)
        _cache_warning(
            f"{self.owner}: the cache at {self.root!r} ({self.param}=) is not writable "
            f"({exc}); what is found there is used, and new results are computed but "
            "not stored."
        )

    def __eq__(self, other):
        return (isinstance(other, CacheDir) and other.root == self.root
                and other.shared == self.shared)

    def __hash__(self):
        return hash((self.root, self.shared))

    def __getstate__(self):
        # the key stays in the process that read it
        return {k: v for k, v in vars(self).items() if k not in ("key", "_checked")}

    def __setstate__(self, state):
        vars(self).update(state)
        self.key = shared_key() if self.shared else None
        self._root_dir()


MISSING = object()
#: directories checked in this process, by the identity of their root
_CHECKED = {}
_READ_ONLY = set()
_LOCK = threading.Lock()
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _cache_warning(message):
    """A :class:`CacheWarning` attributed to the first frame outside
    skfusion: the user's line, whatever path led here."""
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, CacheWarning, stacklevel=level)


def _foreign(info):
    return hasattr(os, "geteuid") and info.st_uid != os.geteuid()


@functools.lru_cache(maxsize=None)
def _private_group(gid):
    """Whether ``gid`` is the current user's private group: the group of
    the user's own name that is their primary group and lists no one else
    (what Debian gives every user, whose umask 002 makes files
    group-writable). Asking who else has it as their primary group would
    need the whole user list, which directory services may not enumerate."""
    try:
        import grp
        import pwd

        me = pwd.getpwuid(os.geteuid())
        group = grp.getgrgid(gid)
    except (ImportError, KeyError):
        return False
    return group.gr_name == me.pw_name and gid == me.pw_gid and set(group.gr_mem) <= {me.pw_name}


def _describe(info):
    try:
        import pwd

        user = pwd.getpwuid(info.st_uid).pw_name
    except (ImportError, KeyError):
        user = str(info.st_uid)
    try:
        import grp

        group = grp.getgrgid(info.st_gid).gr_name
    except (ImportError, KeyError):
        group = str(info.st_gid)
    return f"owned by {user}:{group} with mode {stat.S_IMODE(info.st_mode):04o}"


def _pickle(value):
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


# -- arrays without pickle ------------------------------------------------------
#
# An encoded value is a JSON header (its layout: arrays, strings, numbers,
# None, sparse matrices, lists and tuples; each array's dtype, shape and
# place) then the arrays' raw bytes. Only plain dtypes are read back (no
# object or structured dtype), each with np.frombuffer: nothing in the
# bytes is ever executed or evaluated.


class _NotPlain(TypeError):
    """A value the array encoding cannot hold."""


def _encode(value):
    """``(encoding, bytes)``: arrays when the value is made of arrays,
    strings, numbers, None, sparse matrices, lists and tuples; else pickle."""
    arrays = []
    try:
        layout = _layout(value, arrays)
    except _NotPlain:
        return _PICKLE, _pickle(value)
    places, offset = [], 0
    for a in arrays:
        places.append([a.dtype.str, list(a.shape), offset])
        offset += a.nbytes
    header = json.dumps({"layout": layout, "arrays": places}).encode()
    return _ARRAYS, b"".join([len(header).to_bytes(4, "little"), header,
                              *(np.ascontiguousarray(a).tobytes() for a in arrays)])


def _decode(payload):
    size = int.from_bytes(payload[:4], "little")
    header = json.loads(bytes(payload[4:4 + size]))
    body, arrays = payload[4 + size:], []
    for dtype, shape, offset in header["arrays"]:
        dtype = np.dtype(dtype)
        if dtype.kind not in _PLAIN_KINDS or dtype.fields is not None:
            raise ValueError(f"holds an array of dtype {dtype}")
        count = math.prod(shape)
        if offset < 0 or offset + count * dtype.itemsize > len(body):
            raise ValueError("holds an array beyond its end")
        arrays.append(np.frombuffer(body, dtype, count, offset).reshape(shape))
    return _build(header["layout"], arrays)


_PLAIN_KINDS = "biufcUSmM"


def _layout(value, arrays):
    from scipy import sparse

    if value is None:
        return {"t": "none"}
    if isinstance(value, (bool, int, float, str)):
        return {"t": "scalar", "v": value}
    if isinstance(value, np.ndarray):
        as_object = value.dtype == object
        if as_object:
            if not all(isinstance(v, str) for v in value.flat):
                raise _NotPlain(value.dtype)
            value = value.astype(str) if value.size else value.astype("U1")
        elif value.dtype.kind not in _PLAIN_KINDS or value.dtype.fields is not None:
            raise _NotPlain(value.dtype)
        arrays.append(value)
        return {"t": "array", "i": len(arrays) - 1, "object": as_object}
    if sparse.issparse(value) and value.format in ("csr", "csc"):
        parts = [_layout(np.asarray(getattr(value, p)), arrays) for p in ("data", "indices", "indptr")]
        return {"t": "sparse", "format": value.format, "shape": list(value.shape),
                "matrix": isinstance(value, sparse.spmatrix), "parts": parts}
    if type(value) in (list, tuple):
        return {"t": type(value).__name__, "v": [_layout(v, arrays) for v in value]}
    raise _NotPlain(type(value))


def _build(layout, arrays):
    from scipy import sparse

    kind = layout["t"]
    if kind == "none":
        return None
    if kind == "scalar":
        return layout["v"]
    if kind == "array":
        value = arrays[layout["i"]]
        return value.astype(object) if layout["object"] else value
    if kind == "sparse":
        data, indices, indptr = (_build(p, arrays) for p in layout["parts"])
        cls = {("csr", True): sparse.csr_matrix, ("csr", False): sparse.csr_array,
               ("csc", True): sparse.csc_matrix, ("csc", False): sparse.csc_array}
        return cls[layout["format"], layout["matrix"]]((data, indices, indptr),
                                                      shape=tuple(layout["shape"]))
    if kind in ("list", "tuple"):
        items = [_build(v, arrays) for v in layout["v"]]
        return items if kind == "list" else tuple(items)
    raise ValueError(f"has an unknown layout {kind!r}")
