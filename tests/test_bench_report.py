"""``make bench`` reports what it measured: one table of every size and engine, ratios to
FTS5, the workers' memory, and the same figures as JSON. No timing is asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench import report

ROOT = Path(__file__).resolve().parents[1]


def _figures(scale: float) -> dict:
    kinds = {kind: {"median_ms": 2 * scale, "p95_ms": 4 * scale} for kind in report.KINDS}
    return {"index_seconds": 10 * scale, "first_query_s": 0.5 * scale, **kinds}


def test_one_table_shows_every_size_and_engine_with_ratios_to_fts5() -> None:
    whoosh = {
        **_figures(3),
        **{f"API: {kind}": {"median_ms": 8, "p95_ms": 12} for kind in report.KINDS},
        "workers_pss_mb": 400.5,
        "worker_pss_mb": [100.1, 100.2, 100.1, 100.1],
        "master_pss_mb": 75.2,
        "serving_pss_mb": 475.7,
    }
    results = {100_000: {"whoosh": whoosh, "fts5": _figures(10)}, 10_000: {"fts5": _figures(1)}}

    lines = report.table(results).splitlines()

    assert lines[0] == "| measure | FTS5 10,000 | Whoosh 100,000 | FTS5 100,000 |"
    rows = {line.split(" | ")[0].removeprefix("| "): line for line in lines[2:]}
    assert rows["two terms, median (ms)"] == "| two terms, median (ms) | 2 | 6 (0.3×) | 20 |"
    # Through the API, against FTS5's figure for the same kind (FTS5 has no API of its own).
    assert rows["API: phrase, p95 (ms)"].endswith("| – | 12 (0.3×) | – |")
    assert "100.1 / 100.2 / 100.1 / 100.1" in rows["each worker's PSS (MB)"]
    assert rows["gunicorn's master, PSS (MB)"].endswith("| – | 75.2 | – |")
    assert rows["4 workers and the master, PSS together (MB)"].endswith("| – | 475.7 | – |")
    assert "search page CPU per request, warm worker (ms)" not in rows  # measured by no one


@pytest.mark.slow  # not serial: it asserts no timing, so it may share the CPU
def test_a_tiny_bench_prints_the_table_and_writes_the_same_figures_as_json(
    tmp_path: Path,
) -> None:
    saved = tmp_path / "bench.json"
    command = [sys.executable, "-m", "tests.bench.run", "--cases", "200", "--engine", "whoosh"]
    command += ["--queries", "2", "--json", str(saved)]

    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)

    figures = json.loads(saved.read_text())["results"]["200"]
    assert set(figures) == {"whoosh", "fts5"}
    assert len(figures["whoosh"]["worker_pss_mb"]) == 4
    assert figures["whoosh"]["workers_pss_mb"] < figures["whoosh"]["workers_rss_mb"]
    assert "| measure | Whoosh 200 | FTS5 200 |" in done.stdout
    assert "| 4 gunicorn workers, PSS together (MB) |" in done.stdout
    assert "| gunicorn's master, PSS (MB) |" in done.stdout
    assert "Whoosh 200: indexing" in done.stderr
