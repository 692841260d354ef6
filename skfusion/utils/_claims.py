"""Who is encoding what: claims on the inputs of a shared embedding cache.

Processes sharing a cache directory (the workers of a distributed grid
search, or of a ``transform`` with ``setup_workers(cache=...)``) each write
a claim naming the inputs they are about to encode, under a short file lock,
and skip the inputs another live process has claimed; those they wait for
instead of encoding them again. The lock is held only while claims are read
and written, never while a model runs, so workers encoding different inputs
run side by side and each distinct input is encoded once.

A claim is a file ``<host>-<pid>-<token>.claim`` holding one key per line.
Its owner touches it every :data:`CLAIM_STALE` / 4 seconds while it works
and removes it once its vectors are in the cache. A claim not touched for
:data:`CLAIM_STALE` seconds is stale, whatever host it names: whoever finds
it removes it and encodes its inputs. So a live owner keeps its claim for as
long as it encodes, and a claim left by a killed process costs a waiter at
most that bound (at once, when the dead process was on this host).
"""

import contextlib
import errno
import logging
import os
import socket
import tempfile
import threading
import time
import uuid

#: seconds after which a claim its owner stopped refreshing is stale
CLAIM_STALE = 30.0
#: seconds of waiting on another process's claim before it is logged
_LOG_AFTER = 5.0

logger = logging.getLogger("skfusion.cache")


class Claims:
    """The claims of one cache namespace: ``relative`` under ``store`` (a
    :class:`~skfusion.utils._trust.CacheDir`)."""

    def __init__(self, store, relative):
        self.store = store
        self.relative = relative

    @property
    def directory(self):
        return self.store.directory(self.relative, "claims")

    @contextlib.contextmanager
    def locked(self):
        """The namespace's advisory file lock, held for a few file reads
        and writes. Where the system or file system has no ``flock``
        (Windows, some network file systems) nothing is locked, and two
        processes may now and then encode the same input."""
        self.directory  # noqa: B018 - created and checked before the lock
        path = os.path.join(self.store.directory(self.relative), ".lock")
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            yield
            return
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "ab") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX)
            except OSError as exc:  # pragma: no cover - NFS without locks
                if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                    raise
                yield
                return
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def claim(self, keys, present):
        """Claim the ``keys`` that ``present()`` (the cache, re-read under
        the lock) lacks and no live process has claimed.

        Yields ``(mine, theirs)``: the keys to encode here, and those another
        process is encoding. The claim is refreshed while the block runs and
        removed on the way out, which must come after the vectors of
        ``mine`` are in the cache.
        """
        with self.locked():
            found = present(keys)
            keys = [k for k in keys if k not in found]
            taken = self.taken()
            mine = [k for k in keys if k not in taken]
            theirs = [k for k in keys if k in taken]
            path = self._write(mine) if mine else None
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
        """``(claim name, keys)`` of every live claim; stale ones removed."""
        directory = self.directory
        host, now = socket.gethostname(), time.time()
        live = []
        for name in os.listdir(directory):
            if not name.endswith(".claim"):
                continue
            path = os.path.join(directory, name)
            owner_host, pid = _owner(name)
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            except FileNotFoundError:  # released meanwhile
                continue
            with os.fdopen(fd) as f:
                refreshed = os.fstat(f.fileno()).st_mtime
                keys = f.read().split()
            dead_here = owner_host == host and pid is not None and not _alive(pid)
            if dead_here or now - refreshed > CLAIM_STALE:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                continue
            live.append((name, keys))
        return live

    def wait_for(self, keys, present):
        """Wait until ``present(keys)`` has them all, or no live claim holds
        the missing ones any more; returns what ``present`` found (the rest
        is the caller's to encode)."""
        start = time.monotonic()
        logged = False
        pause = 0.02
        while True:
            found = present(keys)
            missing = set(keys) - set(found)
            if not missing:
                return found
            holders = [name for name, held in self._live() if missing & set(held)]
            if not holders:
                # released: the owner wrote its vectors before releasing
                found.update(present(list(missing)))
                return found
            if not logged and time.monotonic() - start > _LOG_AFTER:
                logger.warning(
                    "skfusion: waiting for %d input(s) that %s (host-pid-token) is "
                    "encoding in %s; a claim its owner stops refreshing is dropped "
                    "after %.0f s.", len(missing), ", ".join(holders),
                    self.directory, CLAIM_STALE,
                )
                logged = True
            time.sleep(pause)
            pause = min(pause * 2, 0.5)

    def _write(self, keys):
        directory = self.directory
        name = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex}.claim"
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(keys))
        final = os.path.join(directory, name)
        os.replace(tmp, final)
        return final


def _refresh(path, stop):
    """Touch the claim at ``path`` until ``stop`` is set: its owner lives."""
    while not stop.wait(CLAIM_STALE / 4):
        try:
            os.utime(path)
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
