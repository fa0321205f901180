"""Each worker keeps vocabulary labels and event titles in memory (kb.services.labels); an
editor's change shows at once on every worker's next page, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select

from kb.database import write_transaction
from kb.extensions import db
from kb.models import Case, Event, Vocabulary
from kb.services import labels, vocabulary
from tests.conftest import close_app, make_app


@pytest.fixture
def other_worker(app: Flask) -> Iterator[FlaskClient]:
    """A second app on the same database and index: another worker, with its own memory."""
    shared = ("SQLALCHEMY_DATABASE_URI", "SEARCH_BACKEND", "PLUGINS")
    worker = make_app(Path(app.instance_path), **{key: app.config[key] for key in shared})
    worker.test_client_class = app.test_client_class
    yield worker.test_client()
    with worker.app_context():
        close_app(worker)


def _removable(label: str) -> str:
    """How the search page names an active filter (its "remove" link)."""
    return f'aria-label="Remove filter {escape(label)}"'


def test_a_renamed_theme_shows_at_once_in_every_worker(
    client: FlaskClient, other_worker: FlaskClient, demo: None
) -> None:
    url = "/search?theme=employment"
    for worker in (client, other_worker):  # both have the labels in memory
        assert _removable("Employment") in worker.get(url).text

    term = vocabulary.terms_by_key(Vocabulary.THEME)["employment"]
    vocabulary.update_labels(term, {**term.labels, "en": "Work and jobs"})

    for worker in (client, other_worker):
        page = worker.get(url).text
        assert _removable("Work and jobs") in page
        assert _removable("Employment") not in page


def test_a_renamed_event_shows_at_once_in_every_worker(
    client: FlaskClient, other_worker: FlaskClient, demo: None
) -> None:
    event = db.session.scalar(select(Event).order_by(Event.id).limit(1))
    assert event is not None
    url, old = f"/search?event={event.slug}", event.title
    assert _removable(old) in other_worker.get(url).text

    with write_transaction():
        event.title = "Integration days (renamed)"

    for worker in (client, other_worker):
        page = worker.get(url).text
        assert _removable("Integration days (renamed)") in page
        assert _removable(old) not in page


def test_a_new_theme_is_a_filter_at_once(client: FlaskClient, demo: None) -> None:
    assert client.get("/search?theme=remote-work").status_code == 400  # not a theme yet

    vocabulary.create_term(Vocabulary.THEME, "remote-work", {"en": "Remote work"})

    page = client.get("/search?theme=remote-work")
    assert page.status_code == 200
    assert _removable("Remote work") in page.text


def test_other_changes_keep_the_labels_in_memory(app: Flask, demo: None) -> None:
    """Cases change all day: that must not make every worker read the labels again."""
    kept = labels.current()
    with write_transaction():
        case = db.session.scalar(select(Case).order_by(Case.id).limit(1))
        assert case is not None
        case.title = f"{case.title} (updated)"

    assert labels.current() is kept
