"""Search by freshness: the most recently confirmed first, or only cases confirmed in the
last two years, on Whoosh and on PostgreSQL's search, with counts that match the results."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from kb.database import write_transaction
from kb.extensions import db
from kb.models import Case, CaseStatus
from kb.models.base import utcnow
from tests.conftest import SEARCH_VARIANTS, database_config
from tests.web_helpers import refs, search


@pytest.fixture(params=SEARCH_VARIANTS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, object]:
    return database_config(request, tmp_path)


@pytest.fixture
def stale_and_fresh(app: Flask, demo: None) -> tuple[Case, Case]:
    """The demo with one case confirmed three years ago and another confirmed just now."""
    cases = db.session.scalars(
        select(Case).where(Case.status == CaseStatus.PUBLISHED).order_by(Case.id)
    ).all()
    stale, fresh = cases[-1], cases[0]
    with write_transaction():
        stale.last_confirmed_at = utcnow() - timedelta(days=3 * 365)
        fresh.last_confirmed_at = utcnow() + timedelta(seconds=1)
    return stale, fresh


def test_recently_confirmed_first(client: FlaskClient, stale_and_fresh: tuple[Case, Case]) -> None:
    stale, fresh = stale_and_fresh
    found = refs(search(client, "", sort="confirmed", per_page=100))
    assert found[0] == fresh.ref and found[-1] == stale.ref

    page = client.get("/search?sort=confirmed")
    assert "<strong>recently confirmed</strong>" in page.text


def test_only_cases_confirmed_in_the_last_two_years(
    client: FlaskClient, stale_and_fresh: tuple[Case, Case]
) -> None:
    stale, fresh = stale_and_fresh
    everything = search(client, "", per_page=100)
    recent = search(client, "", confirmed="recent", per_page=100)

    assert recent["total"] == everything["total"] - 1 == len(recent["results"])
    assert stale.ref not in refs(recent) and fresh.ref in refs(recent)
    assert sum(recent["facets"]["country"].values()) == recent["total"]

    listed = client.get("/api/v1/cases", query_string={"confirmed": "recent", "per_page": 100})
    assert listed.get_json()["total"] == recent["total"]
    assert client.get("/api/v1/search?confirmed=old").status_code == 400

    page = client.get("/search?confirmed=recent")
    assert f"{recent['total']} cases found" in page.text
    assert 'href="/search"' in page.text  # the filter's link takes it off again
