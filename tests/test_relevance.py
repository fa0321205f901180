"""Relevance of the search on judged queries, on Whoosh and on PostgreSQL's search.

The judged cases are the demo's and ``tests/data/cases_extra.json`` (Icelandic and Nynorsk);
the queries are ``tests/data/queries*.json`` (see ``tests/search_eval.py``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from tests.conftest import (
    DemoTemplates,
    shared_demo_app,
)
from tests.search_eval import evaluate, load_extra_cases, mean, report

#: Floors per group of queries (mean nDCG@10 and recall@10), the same on both backends.
FLOORS = {
    "same-language nDCG@10": 0.95,
    "same-language recall@10": 0.93,
    "cross-language nDCG@10": 0.63,
    "Icelandic and Nynorsk nDCG@10": 0.95,
}


@pytest.fixture(scope="module", params=["sqlite", "postgresql-pgsearch"])
def judged_app(
    request: pytest.FixtureRequest,
    demo_templates: DemoTemplates,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Flask]:
    """The demo and the extra judged cases, published and indexed."""
    with shared_demo_app(request, demo_templates, tmp_path_factory.mktemp("search-judged")) as app:
        load_extra_cases()
        yield app


def test_relevance_stays_above_its_floors(judged_app: Flask) -> None:
    scores = evaluate(judged_app.test_client())
    same = [s for s in scores if not s.cross_language]
    cross = [s for s in scores if s.cross_language]
    own = [s for s in same if s.language in ("is", "nn")]
    measured = {
        "same-language nDCG@10": mean([s.ndcg for s in same]),
        "same-language recall@10": mean([s.recall for s in same]),
        "cross-language nDCG@10": mean([s.ndcg for s in cross]),
        "Icelandic and Nynorsk nDCG@10": mean([s.ndcg for s in own]),
    }
    print(report(scores))

    below = {name: value for name, value in measured.items() if value < FLOORS[name]}
    assert not below, report(scores)


def test_icelandic_and_nynorsk_queries_find_their_cases(judged_app: Flask) -> None:
    """Every case judged relevant to an Icelandic or Nynorsk query is in its first ten."""
    scores = evaluate(judged_app.test_client())
    own = [s for s in scores if s.language in ("is", "nn") and not s.cross_language]
    assert all(s.recall == 1.0 for s in own), report(scores)
