"""Database engine set-up and the one way to write: ``write_transaction()``.

SQLite serves several web worker processes here. With WAL, readers never block the
writer, but a transaction that starts as a read (a deferred ``BEGIN``) and later writes
fails at once with "database is locked" when another process committed in between; the
busy timeout cannot help it. So SQLAlchemy takes over ``BEGIN`` (as its SQLite dialect
documentation describes) and every write transaction starts with ``BEGIN IMMEDIATE``,
which waits for the write lock up front. Reads keep a plain deferred ``BEGIN``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Connection, Engine, event
from sqlalchemy.orm import Session, scoped_session

from kb.extensions import db

log = logging.getLogger(__name__)

#: ``app.extensions`` key of the callables run after each successful write transaction.
AFTER_COMMIT = "kb.after_commit"

#: Execution option that asks the SQLite ``begin`` hook for ``BEGIN IMMEDIATE``.
BEGIN_IMMEDIATE = "kb_begin_immediate"
#: ``Session.info`` flag set while a ``write_transaction()`` is open.
_WRITING = "kb_writing"


class WriteOutsideTransactionError(RuntimeError):
    """A flush was attempted outside ``write_transaction()``."""


def engine_options(uri: str, busy_timeout_ms: int) -> dict[str, Any]:
    """Engine options per database kind (merged into ``SQLALCHEMY_ENGINE_OPTIONS``)."""
    if uri.startswith("sqlite"):
        return {"connect_args": {"timeout": busy_timeout_ms / 1000}}
    return {"pool_pre_ping": True}


def init_app(app: Flask) -> None:
    """Bind Flask-SQLAlchemy and tune the engine for the database in use."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    options = engine_options(uri, app.config["SQLITE_BUSY_TIMEOUT_MS"])
    options.update(app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            _tune_sqlite(engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])


def _tune_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    memory = engine.url.database in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy's "begin" hook below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(BEGIN_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def write_transaction() -> Iterator[Session]:
    """Run a unit of work that writes, and commit it (or roll it back on error).

    Nested use joins the outer transaction, so services can call each other. A read
    transaction already open in this session is ended first: its snapshot could not be
    upgraded to a write on SQLite.
    """
    session = db.session()
    if session.info.get(_WRITING):
        yield session
        return
    if session.in_transaction():
        session.rollback()
    session.info[_WRITING] = True
    try:
        session.connection(execution_options={BEGIN_IMMEDIATE: True})
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info.pop(_WRITING, None)
    _after_commit()


@contextmanager
def separate_transaction(*, write: bool, durable: bool = True) -> Iterator[Connection]:
    """A connection and transaction of their own, beside the request's session: committed at
    the end, rolled back on error, and a failure in them leaves the session's work alone.

    ``durable=False`` lets PostgreSQL answer the commit before its log reaches the disk
    (``synchronous_commit = off`` for this transaction alone): a crash may lose the last
    fraction of a second of such writes, never corrupt anything. For data worth less than
    the wait, such as statistics. SQLite in WAL mode does not wait for the disk anyway.
    """
    options = {BEGIN_IMMEDIATE: True} if write else {}
    with db.engine.connect().execution_options(**options) as connection, connection.begin():
        if not durable and connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
        yield connection


def on_commit(app: Flask, callback: Callable[[], None]) -> None:
    """Run ``callback`` after every committed ``write_transaction()`` in this app.

    The change is already safe in the database: a failing callback is logged, not raised.
    """
    app.extensions.setdefault(AFTER_COMMIT, []).append(callback)


def _after_commit() -> None:
    for callback in current_app.extensions.get(AFTER_COMMIT, []):
        try:
            callback()
        except Exception:
            log.exception("After-commit task %s failed; the change itself is saved", callback)


def _refuse_unguarded_writes(session: Session, _context: Any, _instances: Any) -> None:
    """Enforced on every database, so code tested on PostgreSQL is also safe on SQLite."""
    if session.info.get(_WRITING) or not (session.new or session.dirty or session.deleted):
        return
    raise WriteOutsideTransactionError(
        "Writes to the database must run inside kb.database.write_transaction(); "
        "on SQLite a deferred transaction cannot safely become a write."
    )


def _register_session_guard(scoped: scoped_session[Any]) -> None:
    event.listen(scoped, "before_flush", _refuse_unguarded_writes)


_register_session_guard(db.session)
