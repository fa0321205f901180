"""Several gunicorn workers on the embedded defaults (SQLite + Whoosh) under mixed load."""

from __future__ import annotations

import pytest

from tests import load


@pytest.mark.slow
def test_four_workers_serve_a_minute_of_searches_views_and_submissions_without_errors() -> None:
    report = load.run(workers=4, seconds=60)

    assert report["errors"] == [], report
    assert report["server_tracebacks"] == 0, report
    for kind, figures in report["clients"].items():
        assert figures["requests"] > 50, (kind, report)
    # Every published case, the 100-odd new ones too, is in the index as it is stored.
    assert report["search_check_exit"] == 0, report["search_check"]
