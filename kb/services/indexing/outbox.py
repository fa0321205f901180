"""Keep the index in step with the database: after each commit, or within it.

While a transaction flushes, every case it touches gets an outbox row *in the same
transaction*; if the commit fails, so does the outbox row. After the commit the outbox is
drained into the index by a writer that holds the index lock. In a web request that drain
has a budget (time, including the wait for the lock, and cases): the request never waits
long or fails because of the index. When indexing stops (budget spent, lock timeout, full
disk, a killed process) the rows stay and the next drain catches up: the next commit's,
the serving process's background drainer (``kb.services.indexing.drainer``), `kb search-sync` or
`kb reindex`; `kb search-check` reports what is pending.

An index that lives in the same database (PostgreSQL full-text search) is written just
before the commit instead, through the transaction's own connection: the cases and their
search rows commit or roll back together, and no outbox row outlives the transaction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import chain
from typing import Any, Protocol

from flask import current_app, has_app_context, has_request_context
from sqlalchemy import Connection, delete, event, func, insert, select, update
from sqlalchemy.orm import Session

from kb.config import ConfigurationError
from kb.database import write_transaction
from kb.extensions import db
from kb.models import Case, CaseContact, CasePresentation, Material, Person, SearchOutbox
from kb.models.base import utcnow
from kb.search.backend import ConsistencyReport, IndexBusy, IndexDocument, SearchBackend, Write
from kb.services.indexing.documents import published_documents, published_versions

log = logging.getLogger(__name__)

_TOUCHED = "kb_search_touched"
_PEOPLE = "kb_search_people"
_SESSIONS = "kb_search_sessions"
_ENQUEUED = "kb_search_enqueued"
#: ``app.extensions`` key of a writer that indexes inside the committing transaction.
IN_TRANSACTION = "kb.indexing.in_transaction"
#: ``app.extensions`` key of a callable that asks for a drain outside the request.
WAKE_DRAINER = "kb.indexing.wake_drainer"
BATCH = 500
_draining = threading.local()


def _collect(session: Session, _context: Any, _instances: Any) -> None:
    """Before a flush: note the cases this flush changes, and bump their version."""
    touched: list[Any] = session.info.setdefault(_TOUCHED, [])
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, Case):
            if obj in session.dirty and not session.is_modified(obj):
                continue
            if obj not in session.deleted:
                obj.updated_at = utcnow()
            touched.append(obj)
        elif isinstance(getattr(obj, "case_id", None), int):
            touched.append(obj.case_id)
        elif isinstance(obj, Material) and (owner := obj.session_id or _id(obj.session)):
            # A session's files are indexed with the cases presented in it.
            session.info.setdefault(_SESSIONS, set()).add(owner)
        elif isinstance(obj, Person) and obj in session.dirty and session.is_modified(obj):
            # A contact's name or consent shows on the case: harvesters must see it change.
            session.info.setdefault(_PEOPLE, set()).add(obj.id)


def _enqueue(session: Session, _context: Any) -> None:
    """After a flush (ids are known): write the outbox rows in the same transaction."""
    touched = session.info.pop(_TOUCHED, [])
    ids = {item.id if isinstance(item, Case) else item for item in touched}
    ids.discard(None)
    if ids:
        _enqueue_ids(session, ids)
    people = session.info.pop(_PEOPLE, set())
    if people:
        touch_cases(session, _cases_of(session, people))
    sessions = session.info.pop(_SESSIONS, set())
    if sessions:
        touch_cases(session, _cases_presented_in(session, sessions))


def _id(obj: Any) -> int | None:
    return getattr(obj, "id", None)


class TransactionWriter(Protocol):
    def __call__(
        self, connection: Connection, documents: Iterable[IndexDocument], removed: Iterable[int]
    ) -> None: ...


def _enqueue_ids(session: Session, ids: Iterable[int]) -> None:
    session.info[_ENQUEUED] = True
    now = utcnow()
    session.connection().execute(
        insert(SearchOutbox), [{"case_id": i, "enqueued_at": now} for i in sorted(ids)]
    )


def _cases_of(session: Session, person_ids: Iterable[int]) -> set[int]:
    query = select(CaseContact.case_id).where(CaseContact.person_id.in_(list(person_ids)))
    return set(session.connection().scalars(query))


def _cases_presented_in(session: Session, session_ids: Iterable[int]) -> set[int]:
    query = select(CasePresentation.case_id).where(
        CasePresentation.session_id.in_(list(session_ids))
    )
    return set(session.connection().scalars(query))


def touch_cases(session: Session, case_ids: Iterable[int]) -> None:
    """A new version of cases whose shown data changed in another table; call while writing."""
    ids = sorted(set(case_ids))
    if ids:
        session.connection().execute(
            update(Case).where(Case.id.in_(ids)).values(updated_at=utcnow())
        )
        _enqueue_ids(session, ids)


def touch_cases_of(session: Session, person: Person) -> None:
    """Before a person's links are removed: their cases change (for harvesters and search)."""
    touch_cases(session, _cases_of(session, [person.id]))


def pending_count() -> int:
    return db.session.scalar(select(func.count()).select_from(SearchOutbox)) or 0


@dataclass(frozen=True)
class Budget:
    """How much indexing one web request may do after its commit; the rest waits."""

    seconds: float
    cases: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Budget:
        """``SEARCH_SYNC_BUDGET_SECONDS`` and ``SEARCH_SYNC_REQUEST_CASES`` (0: leave all
        indexing to the other drains)."""
        seconds, cases = config["SEARCH_SYNC_BUDGET_SECONDS"], config["SEARCH_SYNC_REQUEST_CASES"]
        numbers = isinstance(seconds, int | float) and isinstance(cases, int)
        if not numbers or isinstance(cases, bool) or seconds < 0 or cases < 0:
            raise ConfigurationError(
                f"KB_SEARCH_SYNC_BUDGET_SECONDS={seconds!r} and KB_SEARCH_SYNC_REQUEST_CASES="
                f"{cases!r}: the first must be a number of seconds >= 0 (default 2), the "
                "second a whole number of cases >= 0 (default 100)."
            )
        return cls(float(seconds), cases)


def drain(
    backend: SearchBackend,
    budget: Budget | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Apply pending outbox rows to the index; returns how many cases were refreshed
    (``progress`` is told how many rows each batch applied).

    Each batch is read while the index's write lock is held, so writers apply what they
    read in the order they read it (a slower writer never overwrites a newer version),
    and a second drainer mostly finds the rows gone. Within a ``budget`` the lock is
    waited for only as long as remains, no batch starts once the time is spent, and at
    most ``budget.cases`` cases are indexed; ``IndexBusy`` means the lock was not had in
    time. Rows not applied stay for the next drain.
    """
    if getattr(_draining, "active", False):
        return 0
    _draining.active = True
    deadline = None if budget is None else time.monotonic() + budget.seconds
    refreshed = 0
    try:
        while _has_pending():
            limit = BATCH if budget is None else min(BATCH, budget.cases - refreshed)
            if limit <= 0 or (deadline is not None and time.monotonic() >= deadline):
                break
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            with backend.writer(timeout) as write:
                row_ids, case_ids = _apply_batch(write, limit)
            if not row_ids:
                break
            with write_transaction():
                db.session.execute(delete(SearchOutbox).where(SearchOutbox.id.in_(row_ids)))
            refreshed += len(case_ids)
            if progress:
                progress(len(row_ids))
        return refreshed
    finally:
        db.session.rollback()
        _draining.active = False


def _has_pending() -> bool:
    """A cheap look before taking the index lock: most commits leave nothing to index."""
    found = db.session.scalar(select(SearchOutbox.id).limit(1)) is not None
    db.session.rollback()
    return found


def _apply_batch(write: Write, limit: int) -> tuple[list[int], list[int]]:
    """Index the cases of the oldest ``limit`` outbox rows; returns the rows and cases."""
    rows = db.session.execute(
        select(SearchOutbox.id, SearchOutbox.case_id).order_by(SearchOutbox.id).limit(limit)
    ).all()
    if not rows:  # another drainer applied them while this one waited for the lock
        return [], []
    case_ids = sorted({case_id for _, case_id in rows})
    documents = list(published_documents(case_ids))
    indexed = {doc.id for doc in documents}
    db.session.rollback()  # end the read before the index write
    write(documents, [i for i in case_ids if i not in indexed])
    return [row_id for row_id, _ in rows], case_ids


def drain_after_commit(backend: SearchBackend) -> None:
    """After each commit. In a web request within the configured budget: the request never
    fails or waits long for the index, and what is left is drained later."""
    if getattr(_draining, "active", False):
        return
    budget = Budget.from_config(current_app.config) if has_request_context() else None
    try:
        drain(backend, budget)
    except IndexBusy:
        log.warning("The search index was busy; pending changes wait for the next drain.")
    except Exception:
        log.exception("Indexing after a commit failed; pending changes wait for the next drain.")
    wake = current_app.extensions.get(WAKE_DRAINER)
    if budget is not None and wake is not None and _has_pending():
        wake()


def clear_outbox(up_to: int | None) -> None:
    """Forget rows a full rebuild has covered (those written before it started)."""
    if up_to is None:
        return
    with write_transaction():
        db.session.execute(delete(SearchOutbox).where(SearchOutbox.id <= up_to))


def last_outbox_id() -> int | None:
    return db.session.scalar(select(SearchOutbox.id).order_by(SearchOutbox.id.desc()).limit(1))


def rebuild(backend: SearchBackend, progress: Any = None) -> int:
    """Rebuild the whole index from the database; pending outbox rows are then covered."""
    covered = last_outbox_id()
    count = backend.rebuild(published_documents(), progress=progress)
    clear_outbox(covered)
    return count


def check(backend: SearchBackend) -> tuple[ConsistencyReport, int]:
    """The index compared with the published cases, and the number of pending changes."""
    return backend.check(published_versions()), pending_count()


def _before_commit(session: Session) -> None:
    """With an index in this database: write it now, in the transaction being committed."""
    write = current_app.extensions.get(IN_TRANSACTION) if has_app_context() else None
    if write is None:
        return
    session.flush()
    if session.info.pop(_ENQUEUED, False):
        apply_in_transaction(session, write)


def apply_in_transaction(session: Session, write: TransactionWriter) -> int:
    """Index the cases of the outbox rows this transaction can see, then delete the rows.

    Rows another transaction is applying are skipped (``SKIP LOCKED``): it commits them.
    """
    connection = session.connection()
    rows = connection.execute(
        select(SearchOutbox.id, SearchOutbox.case_id)
        .order_by(SearchOutbox.id)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return 0
    case_ids = sorted({case_id for _, case_id in rows})
    # Load the cases as committed: values set in Python may differ from what is stored
    # (time zones), and the index must hold the stored version.
    session.expire_all()
    documents = list(published_documents(case_ids))
    indexed = {doc.id for doc in documents}
    write(connection, documents, [i for i in case_ids if i not in indexed])
    connection.execute(delete(SearchOutbox).where(SearchOutbox.id.in_([i for i, _ in rows])))
    return len(case_ids)


def _forget(session: Session, _previous: Any) -> None:
    session.info.pop(_ENQUEUED, None)


def _register(scoped: Any) -> None:
    event.listen(scoped, "before_flush", _collect)
    event.listen(scoped, "after_flush", _enqueue)
    event.listen(scoped, "before_commit", _before_commit)
    event.listen(scoped, "after_soft_rollback", _forget)


_register(db.session)
