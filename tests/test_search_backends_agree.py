"""Both search backends mean the same set of cases by a query, with the same facets.

In a module of its own: it keeps two apps open side by side, which must not interleave
with the one-app-per-variant fixture of ``test_search_results``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from flask import Flask

from tests.conftest import DemoTemplates, shared_demo_app
from tests.web_helpers import search

VARIANTS = ["sqlite", "postgresql-pgsearch"]
ALL = 100  # more than the demo's 52 cases: one page holds every result


@pytest.fixture(scope="module")
def both_backends(
    request: pytest.FixtureRequest,
    demo_templates: DemoTemplates,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Flask, Flask]]:
    """Whoosh and PostgreSQL's search side by side, each on the demo."""
    apps = []
    with ExitStack() as stack:
        for variant in VARIANTS:
            folder = tmp_path_factory.mktemp(f"compare-{variant}")
            apps.append(
                stack.enter_context(shared_demo_app(request, demo_templates, folder, variant))
            )
        yield apps[0], apps[1]


def _relevance_queries() -> list[str]:
    folder = Path(__file__).parent / "data"
    judged = [
        item["query"]
        for name in ("queries.json", "queries_extra.json")
        for item in json.loads((folder / name).read_text("utf-8"))
    ]
    return list(dict.fromkeys([*judged, *MORE_QUERIES]))


#: Queries of the issue besides the judged ones.
MORE_QUERIES = ["volunteer mentoring", "kotoutuminen työ", "flyktninger arbied", "housing"]
QUERIES = _relevance_queries()


@pytest.mark.parametrize("q", QUERIES)
def test_both_backends_find_the_same_cases_and_count_them_alike(
    both_backends: tuple[Flask, Flask], q: str
) -> None:
    """The backends rank differently (BM25 against ts_rank), but a query means the same
    set of cases to both, with the same facets."""
    whoosh, postgres = (search(app.test_client(), q, per_page=ALL) for app in both_backends)
    refs = [
        {(hit["ref"], hit["partial"]) for hit in found["results"]} for found in (whoosh, postgres)
    ]

    assert whoosh["total"] == postgres["total"]
    assert refs[0] == refs[1]
    assert whoosh["facets"] == postgres["facets"]
