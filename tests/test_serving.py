"""Several gunicorn workers on the embedded defaults (SQLite + Whoosh) under load.

The throughput test checks the machinery of the ceiling comparison, never its speed (that
is measured by `make loadtest-ceiling`). It needs wrk: skipped where wrk is missing, unless
``KB_REQUIRE_WRK=1`` (CI), where a missing wrk fails instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests import load


@pytest.mark.slow
@pytest.mark.serial
def test_four_workers_serve_20_seconds_of_searches_views_and_submissions_without_errors() -> None:
    # `make loadtest` runs a minute; a third of it crosses each write with searches and views
    # often enough for CI.
    report = load.run(workers=4, seconds=20)

    assert report["errors"] == [], report
    assert report["server_tracebacks"] == 0, report
    # The master loads the app once (gunicorn.conf.py) and forks no thread into a worker.
    assert report["threads_across_fork"] == 0, report
    # Enough of each to cross: a submission is a commit and an index write (about one a
    # second per client on a busy machine), a search or a view a few milliseconds.
    least = {"search": 50, "view": 50, "submit": 10}
    for kind, figures in report["clients"].items():
        assert figures["requests"] > least[kind], (kind, report)
    # Every published case, the 100-odd new ones too, is in the index as it is stored.
    assert report["search_check_exit"] == 0, report["search_check"]


@pytest.mark.slow
@pytest.mark.serial
def test_the_throughput_mode_compares_the_search_page_with_the_ceiling_on_synthetic_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("wrk") is None:
        if os.environ.get("KB_REQUIRE_WRK") == "1":
            pytest.fail("KB_REQUIRE_WRK=1 but wrk is not installed")
        pytest.skip("wrk is not installed (Debian: apt-get install wrk)")
    monkeypatch.setattr(load, "CACHE", tmp_path / "cache")

    report = load.run_throughput(workers=2, seconds=1, connections=4, cases=20, warmup=0)

    assert report["errors"] == 0, report
    assert report["server_tracebacks"] == 0, report
    assert list(report["phases"]) == ["ceiling", "search", "views"]
    assert all(phase["requests"] > 0 for phase in report["phases"].values()), report
    ceiling, search = report["phases"]["ceiling"], report["phases"]["search"]
    share = round(100 * search["per_second"] / ceiling["per_second"], 1)
    assert report["percent_of_ceiling"]["search"] == share
    # The synthetic cases are real published cases, all of them in the index.
    assert report["published_cases"] == 52 + 20
    assert report["search_check_exit"] == 0, report["search_check"]
    assert report["from_cache"] is False
    # The next run starts from a copy of the prepared instance.
    env = load._settings(tmp_path / "again")
    assert load._prepare(env, 20, cache=True)["from_cache"] is True
    assert len(load._published_slugs(tmp_path / "again")) == 52 + 20


def test_gunicorn_preloading_without_the_config_refuses_to_start(tmp_path: Path) -> None:
    """``--preload`` without ``gunicorn.conf.py``'s hooks would start no search drainer and
    hand the master's connections to every worker: the app says so and does not start."""
    refusal = load.refused_start(
        load._settings(tmp_path / "instance"), "--config", os.devnull, "--preload"
    )

    assert "Start gunicorn with -c gunicorn.conf.py, or without --preload." in refusal
