"""The bench's figures as one Markdown table (to paste into ``docs/performance.md``) and as
JSON (to compare runs): rows are measure × query kind, columns engine × corpus size, and
each figure FTS5 also has comes with its ratio to FTS5's, the floor a C engine sets."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

KINDS = ("single term", "two terms", "phrase", "term + 2 filters + facets")
LABELS = {"whoosh": "Whoosh", "postgres": "PostgreSQL", "fts5": "FTS5"}
FLOOR = "fts5"
#: The search page's figures with the analytics plugin recording each search, and without.
ANALYTICS_ON, ANALYTICS_OFF = "search page, analytics on", "search page, analytics off"
ANALYTICS_COST = "analytics: on minus off, same query"
ANALYTICS_RECORD = "analytics: recording one search alone"

Key = str | tuple[str, str]
#: (label, key of the figure, key of FTS5's figure it is compared with, or None).
ROWS: list[tuple[str, Key, Key | None]] = [
    ("index time (s)", "index_seconds", "index_seconds"),
    ("index size on disk (MB)", "index_mb", "index_mb"),
    ("indexing peak RSS (MB)", "index_peak_rss_mb", "index_peak_rss_mb"),
    ("open the index (s)", "open_s", None),
    ("first query of a querying process (s)", "first_query_s", "first_query_s"),
    ("querying process's peak RSS (MB)", "query_peak_rss_mb", "query_peak_rss_mb"),
    *(
        (f"{kind}, {stat.removesuffix('_ms')} (ms)", (kind, stat), (kind, stat))
        for kind in KINDS
        for stat in ("median_ms", "p95_ms")
    ),
    *(
        (f"API: {kind}, {stat.removesuffix('_ms')} (ms)", (f"API: {kind}", stat), (kind, stat))
        for kind in KINDS
        for stat in ("median_ms", "p95_ms")
    ),
    ("4 gunicorn workers, PSS together (MB)", "workers_pss_mb", None),
    ("each worker's PSS (MB)", "worker_pss_mb", None),
    ("gunicorn's master, PSS (MB)", "master_pss_mb", None),
    ("4 workers and the master, PSS together (MB)", "serving_pss_mb", None),
    ("4 workers, RSS together (MB)", "workers_rss_mb", None),
    ("a fresh worker's first search, worst of 4 (s)", "worker_first_search_max_s", None),
    ("search page CPU per request, warm worker (ms)", "page_cpu_ms", None),
    *(
        (f"{measure}, {stat.removesuffix('_ms')} (ms)", (measure, stat), None)
        for measure in (ANALYTICS_ON, ANALYTICS_OFF, ANALYTICS_COST, ANALYTICS_RECORD)
        for stat in ("median_ms", "p95_ms")
    ),
]


def figure(figures: dict[str, Any], key: Key) -> Any:
    """A figure, or None where the engine has none (FTS5 has no API, no workers)."""
    if isinstance(key, tuple):
        return figures.get(key[0], {}).get(key[1])
    return figures.get(key)


def _cell(value: Any, base: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, list):
        return " / ".join(str(v) for v in value)
    if base:
        return f"{value} ({value / base:.1f}×)"
    return str(value)


def table(results: dict[int, dict[str, dict[str, Any]]]) -> str:
    """One Markdown table of every size and engine; ``results[cases][engine]`` are figures."""
    columns = [
        (cases, engine)
        for cases in sorted(results)
        for engine in sorted(results[cases], key=lambda e: (e == FLOOR, list(LABELS).index(e)))
    ]
    header = " | ".join(f"{LABELS[engine]} {cases:,}" for cases, engine in columns)
    lines = [f"| measure | {header} |", "|---|" + "---:|" * len(columns)]
    for label, key, floor_key in ROWS:
        cells = []
        for cases, engine in columns:
            floor = results[cases].get(FLOOR, {})
            compare = floor_key is not None and engine != FLOOR
            base = figure(floor, floor_key) if compare else None
            cells.append(_cell(figure(results[cases][engine], key), base))
        if any(cell != "–" for cell in cells):
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _git_commit() -> str:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        ["git", "describe", "--always", "--dirty", "--abbrev=10"],  # noqa: S607 - git on PATH
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown"


def meta() -> dict[str, Any]:
    """Where and on what the figures were measured."""
    import whoosh

    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _git_commit(),
        "cores": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "whoosh": whoosh.versionstring(),
        "sqlite": sqlite3.sqlite_version,
        "load_average": [],
    }


def summary(info: dict[str, Any]) -> str:
    """The line above the table: when, at which commit, how busy the machine was."""
    loads = info["load_average"]
    load = f"{min(loads):.1f} to {max(loads):.1f}" if loads else "unknown"
    return (
        f"{info['date']}, commit {info['commit']}, {info['cores']} cores, Python "
        f"{info['python']}, Whoosh {info['whoosh']}, SQLite {info['sqlite']}; load average "
        f"(1 min) during the run {load}. Figures in parentheses: ÷ FTS5's same figure."
    )
