"""A rate-limit storage in one SQLite file, shared by every process on the machine.

The ``limits`` library (which Flask-Limiter uses) ships storages for memory (one process
each), Redis/Valkey, Memcached and MongoDB (each a server to run). This one needs no server,
so the limits hold across gunicorn workers on a fresh machine. It registers the ``sqlite``
scheme with ``limits``: ``sqlite:///relative/path`` or ``sqlite:////absolute/path``, as in
SQLAlchemy URLs. It supports the fixed-window strategy (Flask-Limiter's default).

Keys are stored as SHA-256 digests: a limit's key holds a client address or the e-mail
address typed at login, and the file should not keep either. Each count is changed by one
``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` statement, which SQLite runs as one write
transaction, so concurrent increments from any number of processes are never lost. Counts
need no durability (a lost minute of counts only restarts a window), hence
``synchronous=NORMAL`` in WAL mode: no fsync per request.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
import weakref
from pathlib import Path
from typing import ClassVar

from limits.errors import ConfigurationError
from limits.storage import Storage

#: Longest wait for another process's write; each write holds the lock for microseconds.
DEFAULT_TIMEOUT_SECONDS = 2.0
#: How often each process deletes counters whose window has passed.
CLEANUP_INTERVAL_SECONDS = 60.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS counter (
    key BLOB PRIMARY KEY,
    count INTEGER NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_counter_expires_at ON counter (expires_at);
"""

# A window that has passed starts again at ``amount``; otherwise ``amount`` is added.
# In an upsert, bare column names are the stored row's values before this change.
INCREMENT = """
INSERT INTO counter (key, count, expires_at) VALUES (:key, :amount, :now + :expiry)
ON CONFLICT (key) DO UPDATE SET
    count = CASE WHEN expires_at <= :now THEN :amount ELSE count + :amount END,
    expires_at = CASE WHEN expires_at <= :now THEN :now + :expiry ELSE expires_at END
RETURNING count
"""


def database_path(uri: str) -> Path:
    """The file a ``sqlite:///...`` URI names (three slashes: relative; four: absolute)."""
    scheme, _, rest = uri.partition("://")
    if scheme != "sqlite" or not rest.startswith("/") or rest in ("/", "/:memory:"):
        raise ConfigurationError(
            f"A SQLite rate-limit storage needs a file, e.g. sqlite:///ratelimits.sqlite3 "
            f"or sqlite:////var/lib/kb/ratelimits.sqlite3, not {uri!r}."
        )
    return Path(rest.removeprefix("/"))


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def _close_all(connections: list[sqlite3.Connection]) -> None:
    for connection in connections:
        connection.close()


class SQLiteStorage(Storage):
    """Fixed-window counters in a SQLite file that several processes share."""

    STORAGE_SCHEME: ClassVar[list[str]] = ["sqlite"]

    def __init__(
        self,
        uri: str,
        wrap_exceptions: bool = False,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        **options: float | str | bool,
    ) -> None:
        self.path = database_path(uri)
        self.timeout = float(timeout)
        # One connection per process and thread: a connection must not cross a fork
        # (gunicorn --preload) nor be used by two threads at once.
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        weakref.finalize(self, _close_all, self._opened)
        self._next_cleanup = 0.0
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sqlite3.Error

    def close(self) -> None:
        """Close every connection this process opened (before it forks workers: a SQLite
        connection must not cross a fork); the next count opens one again."""
        _close_all(self._opened)
        self._opened.clear()
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is not None and self._local.pid == os.getpid():
            return connection
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: each statement is its own transaction, committed at once.
        # Any thread may close it (when the storage is dropped); only its own uses it.
        connection = sqlite3.connect(
            self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
        )
        self._opened.append(connection)
        self._use_wal(connection)
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.executescript(SCHEMA)
        self._local.connection, self._local.pid = connection, os.getpid()
        return connection

    def _use_wal(self, connection: sqlite3.Connection) -> None:
        """Switch a new file to WAL. SQLite answers "database is locked" at once, without
        waiting for the busy timeout, when processes opening a new file together all ask
        for it: retry until the file is WAL (whoever switched it) or the timeout is spent."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                connection.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError:
                mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
                if mode == "wal":
                    return
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        connection = self._connection()
        if now >= self._next_cleanup:
            self._next_cleanup = now + CLEANUP_INTERVAL_SECONDS
            connection.execute("DELETE FROM counter WHERE expires_at <= ?", (now,))
        row = connection.execute(
            INCREMENT, {"key": _digest(key), "amount": amount, "now": now, "expiry": expiry}
        ).fetchone()
        return int(row[0])

    def get(self, key: str) -> int:
        row = self._live(key)
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._live(key)
        return float(row[1]) if row else time.time()

    def _live(self, key: str) -> tuple[int, float] | None:
        """The count and end of the key's window, unless the window has passed."""
        return (
            self._connection()
            .execute(
                "SELECT count, expires_at FROM counter WHERE key = ? AND expires_at > ?",
                (_digest(key), time.time()),
            )
            .fetchone()
        )

    def check(self) -> bool:
        try:
            self._connection().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        return self._connection().execute("DELETE FROM counter").rowcount

    def clear(self, key: str) -> None:
        self._connection().execute("DELETE FROM counter WHERE key = ?", (_digest(key),))
