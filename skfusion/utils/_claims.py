"""Who is encoding what: claims on the inputs of a shared embedding cache.

Processes sharing a cache directory (the workers of a distributed grid
search, or of a ``transform`` with ``setup_workers(cache=...)``) each write
a claim naming the inputs they are about to encode, under a short file lock,
and skip the inputs another live process has claimed; those they wait for
instead of encoding them again. The lock is held only while claims are read
and written, never while a model runs, so workers encoding different inputs
run side by side and each distinct input is encoded once.

A claim is a file ``<host>-<pid>-<token>.claim`` holding one key per line.
Its owner removes it once its vectors are in the cache; a claim of a dead
process on this host is removed by whoever finds it, and one from another
host is waited for at most ``wait`` seconds.
"""

import contextlib
import errno
import os
import socket
import tempfile
import time
import uuid

#: how long to wait for inputs another host has claimed before encoding them
CLAIM_WAIT = 600.0


class Claims:
    """The claims of one cache namespace (``directory``)."""

    def __init__(self, directory):
        self.directory = directory / "claims"
        self.lock_path = directory / ".lock"

    @contextlib.contextmanager
    def locked(self):
        """The namespace's advisory file lock, held for a few file reads
        and writes. Where the system or file system has no ``flock``
        (Windows, some network file systems) nothing is locked, and two
        processes may now and then encode the same input."""
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            yield
            return
        with open(self.lock_path, "ab") as lock:
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
        process is encoding. The claim is removed on the way out, which must
        come after the vectors of ``mine`` are in the cache.
        """
        with self.locked():
            found = present(keys)
            keys = [k for k in keys if k not in found]
            taken = self.taken()
            mine = [k for k in keys if k not in taken]
            theirs = [k for k in keys if k in taken]
            path = self._write(mine) if mine else None
        try:
            yield mine, theirs
        finally:
            if path is not None:
                path.unlink(missing_ok=True)

    def taken(self):
        """Keys claimed by live processes (stale claims are removed)."""
        taken = set()
        if not self.directory.is_dir():
            return taken
        host = socket.gethostname()
        for path in self.directory.glob("*.claim"):
            owner_host, pid = _owner(path.name)
            if owner_host == host and pid is not None and not _alive(pid):
                path.unlink(missing_ok=True)
                continue
            try:
                taken.update(path.read_text().split())
            except FileNotFoundError:  # released meanwhile
                continue
        return taken

    def wait_for(self, keys, present, *, wait=CLAIM_WAIT):
        """Wait until ``present(keys)`` has them all, or no live claim holds
        the missing ones any more, or ``wait`` seconds passed; returns what
        ``present`` found (the rest is the caller's to encode)."""
        deadline = time.monotonic() + wait
        pause = 0.02
        while True:
            found = present(keys)
            missing = [k for k in keys if k not in found]
            if not missing or time.monotonic() > deadline:
                return found
            if not set(missing) & self.taken():
                # released: the owner wrote its vectors before releasing
                found.update(present(missing))
                return found
            time.sleep(pause)
            pause = min(pause * 2, 0.5)

    def _write(self, keys):
        name = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex}.claim"
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(keys))
        final = self.directory / name
        os.replace(tmp, final)
        return final


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
