"""A persistent cache on local disk (diskcache: SQLite plus files), shared by processes."""

from __future__ import annotations

import contextlib
import os
import random
import time
import warnings
from collections.abc import Iterator
from typing import Any

from ._base import LocalCache, check_key, check_limit, check_value, resolve_ttl

__all__ = ["DiskCache"]

_OPEN_ATTEMPTS = 20
# Holds "cache.db" in its name so diskcache's check() does not report it as an unknown file.
_LOCK_NAME = "cache.db-aigate-open.lock"


class DiskCache(LocalCache):
    """diskcache at ``directory``: the embedded persistent default, many processes on one host.

    Entries past ``size_limit`` bytes are culled least-recently-*stored* first (diskcache's
    default policy: a read does not write, so hits stay cheap and do not contend for the
    SQLite write lock). ``timeout`` bounds a wait for that lock; past it the call raises.
    Only bytes are stored and read: a pickled value someone else put in the directory is a
    miss, never unpickled. Keep the directory private to the application anyway.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        size_limit: int = 1 << 30,
        default_ttl: float | None = None,
        *,
        timeout: float = 10.0,
    ) -> None:
        check_limit("size_limit", size_limit)
        resolve_ttl(default_ttl, None)
        self.directory = os.path.abspath(os.path.expanduser(os.fspath(directory)))
        self.size_limit = size_limit
        self.default_ttl = default_ttl
        self._cache = _open(self.directory, timeout=timeout, size_limit=size_limit)

    def get(self, key: str) -> bytes | None:
        value = self._cache.get(check_key(key))
        return value if type(value) is bytes else None

    def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        check_key(key)
        value = check_value(value)
        ttl = resolve_ttl(ttl, self.default_ttl)
        if ttl is not None and ttl <= 0:
            self._cache.delete(key)
        else:
            self._cache.set(key, value, expire=ttl)

    def delete(self, key: str) -> None:
        self._cache.delete(check_key(key))

    def clear(self, namespace_prefix: str | None = None) -> None:
        """Remove entries under ``namespace_prefix`` (a scan of all keys), or all of them."""
        if namespace_prefix is None:
            self._cache.clear()
            return
        doomed = [
            k for k in self._cache.iterkeys() if type(k) is str and k.startswith(namespace_prefix)
        ]
        for key in doomed:
            self._cache.delete(key)

    def check(self) -> list[str]:
        """Run diskcache's integrity check (SQLite ``integrity_check``, files vs rows, sizes);
        the list of problems found is empty when all is well."""
        with warnings.catch_warnings():
            # diskcache records its findings as warnings: let them be recorded, not raised.
            warnings.simplefilter("always")
            found = self._cache.check()
        return [str(warning.message) for warning in found]

    def close(self) -> None:
        self._cache.close()

    def __len__(self) -> int:
        return len(self._cache)

    def __repr__(self) -> str:
        return f"DiskCache({self.directory!r}, size_limit={self.size_limit})"


def _open(directory: str, **settings: Any) -> Any:
    """Open diskcache, serialised across processes, retrying what concurrent opens raise.

    diskcache's constructor creates tables and writes settings; two processes doing it at
    once can fail with "database is locked" or worse (python-diskcache#266). An exclusive
    lock file makes aigate's own openers take turns; the retries cover everyone else.
    """
    import sqlite3

    import diskcache

    os.makedirs(directory, exist_ok=True)
    disk = _bytes_only_disk(diskcache)
    delay = 0.005
    with _exclusive(os.path.join(directory, _LOCK_NAME)):
        for attempt in range(_OPEN_ATTEMPTS):
            try:
                return diskcache.Cache(directory, disk=disk, **settings)
            except sqlite3.OperationalError:
                if attempt == _OPEN_ATTEMPTS - 1:
                    raise
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 0.25)
    raise AssertionError("unreachable")  # pragma: no cover


_DISK_TYPE: Any = None


def _bytes_only_disk(diskcache: Any) -> Any:
    """A diskcache ``Disk`` that reads back bytes only: never unpickles (a foreign value
    would otherwise run code on ``get``), and reads another mode as a miss."""
    global _DISK_TYPE
    if _DISK_TYPE is None:

        class BytesOnlyDisk(diskcache.Disk):  # type: ignore[misc]
            def fetch(self, mode: int, filename: str | None, value: Any, read: bool) -> Any:
                if mode == diskcache.core.MODE_RAW or (
                    mode == diskcache.core.MODE_BINARY and not read
                ):
                    return super().fetch(mode, filename, value, read)
                return None

        _DISK_TYPE = BytesOnlyDisk
    return _DISK_TYPE


@contextlib.contextmanager
def _exclusive(path: str) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: the open retries are all we have
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
