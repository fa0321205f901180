"""Public pages run a fixed number of SQL queries, however many cases, sessions or people they
show: each page loads what it shows with its own queries, and no template loads lazily.

The limits are today's counts on the demo with every first-party plugin enabled (the related
plugin adds two queries to a case page), in a running worker: its first page also fills the
labels' cache (two queries more, see the search page's test). A page that needs one more
query raises its limit here, on purpose; a page that queries once per item shows up as a
lazy load.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session as OrmSession

from kb.database import write_transaction
from kb.extensions import db
from kb.models import Case, CasePresentation, CaseStatus, Event, Organisation, Person

#: Statements that only open, close or set up a transaction are not queries.
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "SET LOCAL")

#: The page, its address on the demo and the most queries it may run.
PAGES = {
    "event": ("/events/nyanlanda-i-jobb", 9),
    # With the material of the cases presented in it (a speaker's slides).
    "session": ("/events/nyanlanda-i-jobb/naeroy", 8),
    "person": ("/people/{person}", 6),
    # With the material of the sessions it was presented in.
    "case": ("/cases/{case}", 15),
    # The labels' generation (kb.services.labels), the shown page's cases with their themes'
    # ids (municipality, period, themes beside each hit), the analytics plugin's record.
    "search": ("/search?q=arbeid&country=NO&theme=employment", 3),
    "home": ("/", 5),
    "cases": ("/cases/", 3),
    "events": ("/events/", 2),
    "theme": ("/themes/employment", 4),
    # With the published cases of its people, and their themes.
    "organisation": ("/organisations/{organisation}", 4),
}


@dataclass
class Queries:
    statements: list[str] = field(default_factory=list)
    #: The relationships loaded lazily, as "Class.attribute".
    lazy: list[str] = field(default_factory=list)


@contextmanager
def counted(app: Flask) -> Iterator[Queries]:
    """The SQL statements run (on the app's engine) and the lazy loads among them."""
    queries = Queries()

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if not sql.lstrip().upper().startswith(TRANSACTION_CONTROL):
            queries.statements.append(sql)

    def orm_execute(state: ORMExecuteState) -> None:
        if state.lazy_loaded_from is not None:
            owner = state.lazy_loaded_from.class_.__name__
            queries.lazy.append(f"{owner}: {' '.join(str(state.statement).split())[:120]}")

    engine = db.engine
    event.listen(engine, "before_cursor_execute", statement)
    event.listen(OrmSession, "do_orm_execute", orm_execute)
    try:
        yield queries
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(OrmSession, "do_orm_execute", orm_execute)


def _url(template: str) -> str:
    case = db.session.scalar(select(Case.slug).where(Case.ref == "c04"))
    person = db.session.scalar(select(Person.slug).where(Person.name == "Lars Fredrik Mørch"))
    organisation = db.session.scalar(
        select(Organisation.slug).where(Organisation.name == "Rambøll Management")
    )
    db.session.remove()
    return template.format(case=case, person=person, organisation=organisation)


@pytest.mark.parametrize("page", PAGES)
def test_a_public_page_runs_a_fixed_number_of_queries_and_never_a_lazy_load(
    app: Flask, client: FlaskClient, demo: None, page: str
) -> None:
    template, limit = PAGES[page]
    url = _url(template)
    client.get(url)  # a running worker: the labels' cache is filled (see the test below)

    with counted(app) as queries:
        response = client.get(url)

    assert response.status_code == 200, url
    assert queries.lazy == [], f"{url} loads lazily"
    assert len(queries.statements) <= limit, "\n".join(queries.statements)


def test_a_worker_reads_the_labels_once_then_only_their_generation(
    app: Flask, client: FlaskClient, demo: None
) -> None:
    """Vocabulary labels and event titles are read on a worker's first page (two queries),
    not on every search."""
    url, limit = PAGES["search"]
    with counted(app) as first:
        client.get(url)
    with counted(app) as second:
        client.get(url)

    assert len(first.statements) <= limit + 2, "\n".join(first.statements)
    assert len(second.statements) <= limit, "\n".join(second.statements)
    assert not any("vocabulary_term" in sql or "FROM event" in sql for sql in second.statements)


def test_fewer_cases_on_a_page_run_the_same_queries(
    app: Flask, client: FlaskClient, demo: None
) -> None:
    """Case cards come with their themes in one query, not one query per card."""
    url = "/events/nyanlanda-i-jobb"
    with counted(app) as all_cases:
        page = client.get(url).text
    presented = (
        db.session.scalars(
            select(Case)
            .join(Case.presentations)
            .join(CasePresentation.event)
            .where(Event.slug == "nyanlanda-i-jobb", Case.status == CaseStatus.PUBLISHED)
        )
        .unique()
        .all()
    )
    titles = [case.title for case in presented]
    assert len(titles) > 5
    with write_transaction():
        for case in presented[1:]:
            case.status = CaseStatus.ARCHIVED
    db.session.remove()
    with counted(app) as one_case:
        fewer = client.get(url).text

    assert all(title in page for title in titles)
    assert titles[0] in fewer
    assert not any(title in fewer for title in titles[1:])
    assert len(one_case.statements) == len(all_cases.statements)
