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

import functools
import hashlib
import hmac
import io
import json
import os
import stat
import tempfile
import threading
import warnings
from pathlib import Path

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
    computed as if the cache were empty (a damaged entry is overwritten)."""


class UnsafeCacheError(PermissionError):
    """A cache directory, or something under it, that someone other than
    the current user can write: refused before anything in it is read."""


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

    Examples
    --------
    >>> from skfusion.utils import user_cache_dir
    >>> user_cache_dir("reviews").endswith("reviews")
    True
    """
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = os.path.join(base, "skfusion")
    return path if name is None else os.path.join(path, name)


def shared_key():
    """The secret of shared caches, as bytes (see :class:`SharedCache`)."""
    value = os.environ.get(KEY_VARIABLE)
    if value:
        key = value.encode()
    else:
        base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
        path = os.path.join(base, "skfusion", "cache.key")
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            raise LookupError(
                f"SharedCache: no key; set the environment variable {KEY_VARIABLE} or "
                f"write one to {path} (mode 0600), the same for everyone sharing the "
                "cache: python -c \"import secrets; print(secrets.token_hex(32))\""
            ) from None
        with os.fdopen(fd, "rb") as f:
            info = os.fstat(f.fileno())
            if _foreign(info) or info.st_mode & 0o077:
                raise UnsafeCacheError(
                    f"SharedCache: the key file {path} must be yours with mode 0600; it "
                    f"is {_describe(info)}. Fix: chmod 600 {path}"
                )
            key = f.read().strip()
    if len(key) < 16:
        raise ValueError(
            f"SharedCache: the cache key has {len(key)} characters; use at least 16 "
            "(python -c \"import secrets; print(secrets.token_hex(32))\")."
        )
    return key


class CacheDir:
    """A verified cache directory: reads and writes tagged entries.

    ``spec`` is a ``memory``/``cache`` parameter (a path, a
    :class:`SharedCache` or a ``joblib.Memory``); ``owner`` and ``param``
    name the estimator and parameter in errors and warnings.
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
        """Create the root (mode 0700, or the umask's for a shared cache) or
        check the existing one; its parents are not the cache's."""
        try:
            os.makedirs(os.path.dirname(self.root), exist_ok=True)
            os.mkdir(self.root, 0o777 if self.shared else 0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            if not os.path.isdir(self.root):
                raise OSError(
                    f"{self.owner}: cannot create the cache directory {self.root!r} "
                    f"({self.param}=): {exc}"
                ) from exc
        self._check(self.root, os.lstat(self.root), directory=True)

    def directory(self, *parts):
        """The directory ``parts`` under the root, created where missing,
        every level checked (once per process)."""
        path = self.root
        for part in Path(*parts).parts if parts else ():
            path = os.path.join(path, part)
            if path in _CHECKED:
                continue
            try:
                os.mkdir(path, 0o777 if self.shared else 0o700)
            except FileExistsError:
                pass
            self._check(path, os.lstat(path), directory=True)
            _CHECKED.add(path)
        return path

    def checked_directory(self, *parts):
        """The existing directory ``parts`` under the root, every level
        checked (once per process), or None where a level is missing."""
        path = self.root
        for part in Path(*parts).parts if parts else ():
            path = os.path.join(path, part)
            if path in _CHECKED:
                continue
            try:
                info = os.lstat(path)
            except FileNotFoundError:
                return None
            self._check(path, info, directory=True)
            _CHECKED.add(path)
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
        if self.shared:
            return
        if _foreign(info) or info.st_mode & stat.S_IWOTH or (
                info.st_mode & stat.S_IWGRP and not _private_group(info.st_gid)):
            fix = (f"chown -R {_user_name(os.geteuid())} {self.root} && chmod -R go-w {self.root}"
                   if _foreign(info) else f"chmod -R go-w {self.root}")
            raise UnsafeCacheError(
                f"{self.owner}: refusing the cache at {self.root!r} ({self.param}=): "
                f"{path!r} is {_describe(info)}; a cache must be yours and writable by "
                f"no one else, or anyone who can write it runs code in your process. "
                f"Fix: if it is meant to be yours, `{fix}`; else use a directory of your "
                "own (skfusion.utils.user_cache_dir() or tempfile.mkdtemp()); to share "
                "a cache on purpose, pass skfusion.utils.SharedCache(path)."
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
                import pickle

                return pickle.loads(payload)  # its tag matched: written here
            return _decode(payload)
        except Exception as exc:  # e.g. a class gone since an upgrade
            self._warn(os.path.join(self.root, relpath), f"cannot be decoded ({exc})")
            return MISSING

    def verify(self, relpath):
        """Whether the entry at ``relpath`` is there and its tag matches."""
        return self._entry(relpath) is not MISSING

    def _entry(self, relpath):
        """``(encoding, payload)`` of the entry at ``relpath`` once its tag
        matched, else ``MISSING`` (with a warning unless it is absent)."""
        *parts, name = Path(relpath).parts
        directory = self.checked_directory(*parts)
        if directory is None:
            return MISSING
        path = os.path.join(directory, name)
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            return MISSING
        except OSError as exc:
            if os.path.islink(path):
                self._check(path, os.lstat(path), directory=False)
            self._warn(path, f"cannot be read ({exc})")
            return MISSING
        with os.fdopen(fd, "rb") as f:
            self._check(path, os.fstat(f.fileno()), directory=False)
            data = f.read()
        try:
            return self._unpack(relpath, data)
        except ValueError as exc:
            self._warn(path, str(exc))
            return MISSING

    def write(self, relpath, value, *, pickled=False):
        """Store ``value`` at ``relpath`` atomically (a temporary file renamed
        into place); ``pickled`` for fitted estimators. A cache that cannot
        be written is warned about once and left as it is."""
        encoding, payload = (_PICKLE, _pickle(value)) if pickled else _encode(value)
        tag = self._tag(relpath, encoding, payload)
        *parts, _ = Path(relpath).parts
        try:
            directory = self.directory(*parts)
            fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
        except PermissionError as exc:
            self._read_only(exc)
            return
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(_MAGIC + bytes([_VERSION, encoding]) + tag)
                f.write(payload)
            if self.shared:  # readable by those it is shared with
                os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, os.path.join(self.root, relpath))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _unpack(self, relpath, data):
        if len(data) < _HEADER or not data.startswith(_MAGIC):
            raise ValueError(f"is not a skfusion cache entry ({len(data)} bytes)")
        version, encoding = data[len(_MAGIC)], data[len(_MAGIC) + 1]
        if version != _VERSION or encoding not in (_ARRAYS, _PICKLE):
            raise ValueError(f"has an unknown format (version {version}, encoding {encoding})")
        tag, payload = data[len(_MAGIC) + 2:_HEADER], data[_HEADER:]
        if not hmac.compare_digest(tag, self._tag(relpath, encoding, payload)):
            raise ValueError(
                "fails its HMAC: it was not written with this cache's key" if self.shared
                else "fails its digest: truncated or damaged"
            )
        return encoding, payload

    def _tag(self, relpath, encoding, payload):
        head = Path(relpath).as_posix().encode() + b"\x00" + bytes([encoding])
        if self.key is None:
            digest = hashlib.blake2b(head, digest_size=_TAG_SIZE)
        else:
            digest = hmac.new(self.key, head, "sha256")
        digest.update(payload)
        return digest.digest()

    def _warn(self, path, problem):
        warnings.warn(
            f"{self.owner}: ignoring the cache entry {path!r} ({self.param}=): it "
            f"{problem}; the result is computed again and the entry overwritten.",
            CacheWarning, stacklevel=4,
        )

    def _read_only(self, exc):
        with _LOCK:
            if self.root in _READ_ONLY:
                return
            _READ_ONLY.add(self.root)
        warnings.warn(
            f"{self.owner}: the cache at {self.root!r} ({self.param}=) is not writable "
            f"({exc}); what is found there is used, and new results are computed but "
            "not stored.",
            CacheWarning, stacklevel=4,
        )

    def __eq__(self, other):
        return (isinstance(other, CacheDir) and other.root == self.root
                and other.shared == self.shared)

    def __hash__(self):
        return hash((self.root, self.shared))

    def __getstate__(self):
        # the key stays in the process that read it
        return {k: v for k, v in vars(self).items() if k != "key"}

    def __setstate__(self, state):
        vars(self).update(state)
        self.key = shared_key() if self.shared else None


MISSING = object()
_CHECKED = set()  # directories under a root checked in this process
_READ_ONLY = set()
_LOCK = threading.Lock()


def _foreign(info):
    return hasattr(os, "geteuid") and info.st_uid != os.geteuid()


@functools.lru_cache(maxsize=None)
def _private_group(gid):
    """Whether the group ``gid`` has no member but the current user (a
    user-private group, as Debian gives every user under umask 002)."""
    try:
        import grp
        import pwd

        group = grp.getgrgid(gid)
        me = pwd.getpwuid(os.geteuid()).pw_name
        members = set(group.gr_mem) | {p.pw_name for p in pwd.getpwall() if p.pw_gid == gid}
    except (ImportError, KeyError):
        return False
    return members <= {me}


def _user_name(uid):
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return str(uid)


def _group_name(gid):
    try:
        import grp

        return grp.getgrgid(gid).gr_name
    except (ImportError, KeyError):
        return str(gid)


def _describe(info):
    return (f"owned by {_user_name(info.st_uid)}:{_group_name(info.st_gid)} with mode "
            f"{stat.S_IMODE(info.st_mode):04o}")


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _pickle(value):
    import pickle

    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


# -- arrays without pickle ------------------------------------------------------


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
    buffer = io.BytesIO()
    np.savez(buffer, layout=np.asarray(json.dumps(layout)),
             **{f"a{i}": a for i, a in enumerate(arrays)})
    return _ARRAYS, buffer.getvalue()


def _decode(payload):
    with np.load(io.BytesIO(payload), allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    return _build(json.loads(str(arrays.pop("layout"))), arrays)


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
        elif value.dtype.kind not in "biufcUSmM":
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
        value = arrays[f"a{layout['i']}"]
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
