"""Who is encoding what: claims on the inputs of a shared embedding cache.

Processes sharing a cache directory (the workers of a distributed grid
search, or of a ``transform`` with ``setup_workers(cache=...)``) each write
a claim naming the inputs they are about to encode, under a short file lock,
and skip the inputs another live process has claimed; those they wait for
instead of encoding them again. The lock is held only while claims are read
and written, never while a model runs, so workers encoding different inputs
run side by side and each distinct input is encoded once.

A claim is a file ``<host>-<pid>-<token>.claim``: a tag (as the cache's
entries carry, keyed in a :class:`~skfusion.utils.SharedCache`) and one key
per line. Its owner touches it every :data:`CLAIM_STALE` / 4 seconds while
it works and removes it once its vectors are in the cache. A claim whose
modification time has not changed for :data:`CLAIM_STALE` seconds, by this
process's own clock (so clocks of other hosts do not matter), is stale
whatever host it names: it is removed and its inputs are encoded here. A
claim of a dead process on this host, and one that is not a valid claim, go
at once. So a live owner keeps its claim for as long as it encodes, and a
claim left by a killed process costs a waiter at most that bound. Nobody
waits longer than :data:`CLAIM_WAIT` in all.
"""

import contextlib
import errno
import hmac
import logging
import os
import socket
import stat
import tempfile
import threading
import time
import uuid

from ._trust import UnsafeCacheError, read_regular

#: seconds after which a claim whose owner stopped refreshing it is stale
CLAIM_STALE = 30.0
#: the longest wait for inputs other processes claimed, refreshed or not
CLAIM_WAIT = 600.0
#: seconds of waiting on other processes' claims between two log lines
_LOG_EVERY = 5.0

logger = logging.getLogger("skfusion.cache")

#: claim path -> (modification time, when this process first saw it)
_SEEN = {}
_SEEN_LOCK = threading.Lock()


class Claims:
    """The claims of one cache namespace: ``relative`` under ``store`` (a
    :class:`~skfusion.utils._trust.CacheDir`)."""

    def __init__(self, store, relative):
        self.store = store
        self.relative = relative

    def _directory(self):
        return self.store.directory(f"{self.relative}/claims", create=True)

    @contextlib.contextmanager
    def locked(self):
        """The namespace's advisory file lock, held for a few file reads
        and writes. Where the system or file system has no ``flock``
        (Windows, some network file systems) nothing is locked, and two
        processes may now and then encode the same input."""
        self._directory()
        path = os.path.join(self.store.directory(self.relative), ".lock")
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            yield
            return
        # read-only is enough for flock, and lets everyone sharing the
        # cache lock the file one of them created
        mode = 0o644 if self.store.shared else 0o600
        fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, mode)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(errno.EINVAL, f"{path} is not a regular file")
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError as exc:  # pragma: no cover - NFS without locks
                if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                    raise
                yield
                return
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def claim(self, keys, present):
        """Claim the ``keys`` that ``present()`` (the cache, re-read under
        the lock) lacks and no live process has claimed.

        Yields ``(mine, theirs)``: the keys to encode here, and those another
        process is encoding. The claim is refreshed while the block runs and
        removed on the way out, which must come after the vectors of
        ``mine`` are in the cache. Where claims cannot be written (a
        read-only cache), every missing key is this process's, with a
        warning.
        """
        try:
            with self.locked():
                found = present(keys)
                keys = [k for k in keys if k not in found]
                taken = self.taken()
                mine = [k for k in keys if k not in taken]
                theirs = [k for k in keys if k in taken]
                path = self._write(mine) if mine else None
        except UnsafeCacheError:
            raise
        except OSError as exc:
            self.store.read_only(exc)
            found = present(keys)
            mine, theirs, path = [k for k in keys if k not in found], [], None
        stop = threading.Event()
        if path is not None:
            threading.Thread(target=_refresh, args=(path, stop), daemon=True,
                             name="skfusion-claim").start()
        try:
            yield mine, theirs
        finally:
            stop.set()
            if path is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)

    def taken(self):
        """Keys claimed by live processes (stale claims are removed)."""
        return set().union(*(keys for _, keys in self._live()))

    def _live(self):
        """``(claim name, keys)`` of every live claim; stale, dead and
        invalid ones removed."""
        directory = self._directory()
        host, now = socket.gethostname(), time.monotonic()
        live = []
        for name in os.listdir(directory):
            if not name.endswith(".claim"):
                continue
            path = os.path.join(directory, name)
            keys = self._read(name, path)
            if keys is None:  # released meanwhile
                continue
            owner_host, pid = _owner(name)
            if keys is False or (owner_host == host and pid is not None and not _alive(pid)) \
                    or _unchanged_for(path, now) > CLAIM_STALE:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                continue
            live.append((name, keys))
        return live

    def _read(self, name, path):
        """A claim's keys; None where it is gone, False where it is no
        valid claim (a link, not a file, or a tag that does not match)."""
        try:
            info, data = read_regular(path)
        except FileNotFoundError:
            return None
        except OSError:
            return False
        tag, _, keys = bytes(data).partition(b"\n")
        if not stat.S_ISREG(info.st_mode) or not hmac.compare_digest(tag, self._tag(name, keys)):
            return False
        with _SEEN_LOCK:
            seen = _SEEN.get(path)
            if seen is None or seen[0] != info.st_mtime_ns:
                _SEEN[path] = (info.st_mtime_ns, time.monotonic())
        return keys.decode().split()

    def _tag(self, name, keys):
        return self.store.tag(f"{self.relative}/claims/{name}", keys).hex().encode()

    def wait_for(self, keys, present):
        """Wait until ``present(keys)`` has them all, or no live claim holds
        the missing ones any more, or :data:`CLAIM_WAIT` passed; returns
        what ``present`` found (the rest is the caller's to encode)."""
        start = logged = time.monotonic()
        pause = 0.02
        while True:
            found = present(keys)
            missing = set(keys) - set(found)
            if not missing:
                return found
            holders = [name for name, held in self._live() if missing & set(held)]
            if not holders or time.monotonic() - start > CLAIM_WAIT:
                # released (the owner wrote its vectors first), or waited enough
                found.update(present(list(missing)))
                return found
            if time.monotonic() - logged > _LOG_EVERY:
                logger.warning(
                    "skfusion: waiting %.0f s for %d input(s) that %s (host-pid-token) "
                    "is encoding in %s; a claim its owner stops refreshing is dropped "
                    "after %.0f s unchanged, and nobody waits more than %.0f s.",
                    time.monotonic() - start, len(missing), ", ".join(holders),
                    self.store.directory(self.relative), CLAIM_STALE, CLAIM_WAIT,
                )
                logged = time.monotonic()
            time.sleep(pause)
            pause = min(pause * 2, 0.5)

    def _write(self, keys):
        directory = self._directory()
        name = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex}.claim"
        body = "\n".join(keys).encode()
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            if self.store.shared:  # readable by those it is shared with
                os.fchmod(f.fileno(), 0o644)
            f.write(self._tag(name, body) + b"\n" + body)
        final = os.path.join(directory, name)
        os.replace(tmp, final)
        return final


def _unchanged_for(path, now):
    """Seconds, by this process's clock, since the claim at ``path`` was
    first seen with its current modification time."""
    with _SEEN_LOCK:
        seen = _SEEN.get(path)
        if len(_SEEN) > 4096:  # claims of long-finished runs
            for old in [p for p, (_, t) in _SEEN.items() if now - t > 2 * CLAIM_WAIT]:
                del _SEEN[old]
    return 0.0 if seen is None else now - seen[1]


def _refresh(path, stop):
    """Touch the claim at ``path`` until ``stop`` is set: its owner lives."""
    while not stop.wait(CLAIM_STALE / 4):
        try:
            os.utime(path, follow_symlinks=False)
        except FileNotFoundError:  # removed as stale by another process
            return


def _owner(name):
    """(host, pid) from a claim's file name, pid None when unreadable."""
    host, pid, _ = (name[: -len(".claim")].rsplit("-", 2) + ["", ""])[:3]
    return host, int(pid) if pid.isdigit() else None


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
