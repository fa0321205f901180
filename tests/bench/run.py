"""``make bench``: the search backend against raw SQLite FTS5 on the same synthetic corpus.

Each engine runs in its own process, so peak memory (RSS) is its own:

    .venv/bin/python -m tests.bench.run --cases 10000

Reported per engine: indexing time, index size, time to open the index and answer a first
query, latency (median, p95) of single-term, two-term, phrase and filtered-with-facet-counts
queries, and peak RSS; the search backend's figures also as a ratio to FTS5's (the floor a
C engine sets). Not part of the test suite: speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.bench.corpus import SEED, documents, languages

QUERIES_PER_KIND = 40
#: Documents with one of some values of a facet (``IN (?, ...)`` follows).
FACET_DOCS = "SELECT doc FROM facet WHERE name = ? AND value IN"
KINDS = ("single term", "two terms", "phrase", "term + 2 filters + facets")


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _latencies(run_query: Callable[[Any], Any], queries: list[Any]) -> dict[str, float]:
    times = sorted(_timed(lambda q=q: run_query(q)) * 1000 for q in queries)
    return {
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 2),
    }


def workload(seed: int = SEED) -> dict[str, list[dict[str, Any]]]:
    """The same queries for both engines: words of middling frequency, real word pairs."""
    rng = random.Random(seed + 1)  # noqa: S311 - reproducible queries
    vocabularies = languages()
    queries: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
    for _ in range(QUERIES_PER_KIND):
        language = vocabularies[rng.choice(sorted(vocabularies))]
        band = [w for w in language.words[30:400] if len(w) > 4]
        first, second = rng.sample(band, 2)
        country = rng.choice(language.countries)
        queries["single term"].append({"q": first})
        queries["two terms"].append({"q": f"{first} {second}"})
        top = [w for w in language.words[:60] if len(w) > 3]
        queries["phrase"].append({"q": f'"{rng.choice(top)} {rng.choice(top)}"'})
        queries["term + 2 filters + facets"].append(
            {"q": first, "filters": {"country": (country,), "theme": ("employment",)}}
        )
    return queries


# -- the search backend (Whoosh) ---------------------------------------------------------


def bench_backend(cases: int, folder: Path) -> dict[str, Any]:
    from kb.search.backend import SearchRequest
    from kb.search.concepts import default_vocabulary
    from kb.search.whoosh_backend import WhooshBackend

    vocabulary = default_vocabulary()
    backend = WhooshBackend(folder, vocabulary)
    index_seconds = _timed(lambda: backend.rebuild(documents(cases)))
    backend.close()
    reopened = WhooshBackend(folder, vocabulary)
    open_seconds = _timed(lambda: reopened.search(SearchRequest(q="arbeid")))
    figures: dict[str, Any] = {
        "index_seconds": round(index_seconds, 1),
        "index_mb": round(_folder_size(folder) / 2**20, 1),
        "open_first_query_s": round(open_seconds, 3),
    }
    for kind, queries in workload().items():
        requests = [SearchRequest(q=q["q"], filters=q.get("filters", {})) for q in queries]
        figures[kind] = _latencies(reopened.search, requests)
    figures["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    return figures


# -- raw SQLite FTS5, the floor ------------------------------------------------------------


def bench_fts5(cases: int, folder: Path) -> dict[str, Any]:
    path = folder / "fts.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE VIRTUAL TABLE doc USING fts5(title, summary, body, tokenize='unicode61');
        CREATE TABLE facet (doc INTEGER, name TEXT, value TEXT);
        """
    )

    def load() -> None:
        with db:
            for d in documents(cases):
                db.execute(
                    "INSERT INTO doc(rowid, title, summary, body) VALUES (?, ?, ?, ?)",
                    (d.id, d.title, d.summary, d.body),
                )
                values = [("country", d.country), ("language", d.language)]
                values += [("theme", t) for t in d.themes]
                values += [("target_group", t) for t in d.target_groups]
                db.executemany(
                    "INSERT INTO facet VALUES (?, ?, ?)", [(d.id, n, v) for n, v in values]
                )
            db.execute("CREATE INDEX facet_value ON facet (name, value, doc)")
            db.execute("CREATE INDEX facet_doc ON facet (doc, name)")
            db.execute("INSERT INTO doc(doc) VALUES ('optimize')")

    index_seconds = _timed(load)
    db.close()

    def search(query: dict[str, Any], connection: list[sqlite3.Connection]) -> list[Any]:
        if not connection:
            connection.append(sqlite3.connect(path))
        cur = connection[0]
        match = query["q"]
        filters = query.get("filters", {})
        where = "doc MATCH ?"
        params: list[Any] = [match]
        for name, values in filters.items():
            placeholders = ",".join("?" * len(values))  # the values themselves are bound
            where += f" AND doc.rowid IN ({FACET_DOCS} ({placeholders}))"
            params += [name, *values]
        hits = cur.execute(
            f"SELECT rowid, highlight(doc, 0, '<mark>', '</mark>'), "  # noqa: S608 - fixed parts
            f"snippet(doc, 2, '<mark>', '</mark>', ' … ', 24) FROM doc WHERE {where} "
            "ORDER BY rank LIMIT 20",
            params,
        ).fetchall()
        total = cur.execute(f"SELECT count(*) FROM doc WHERE {where}", params).fetchone()  # noqa: S608
        if filters:
            cur.execute(
                f"SELECT name, value, count(*) FROM facet WHERE doc IN "  # noqa: S608
                f"(SELECT rowid FROM doc WHERE {where}) GROUP BY name, value",
                params,
            ).fetchall()
        return [hits, total]

    connection: list[sqlite3.Connection] = []
    open_seconds = _timed(lambda: search({"q": "arbeid"}, connection))
    figures: dict[str, Any] = {
        "index_seconds": round(index_seconds, 1),
        "index_mb": round(path.stat().st_size / 2**20, 1),
        "open_first_query_s": round(open_seconds, 3),
    }
    for kind, queries in workload().items():
        figures[kind] = _latencies(lambda q: search(q, connection), queries)
    figures["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    return figures


ENGINES = {"whoosh": bench_backend, "fts5": bench_fts5}


def _in_subprocess(engine: str, cases: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench.run", "--engine", engine, "--cases", str(cases)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.splitlines()[-1])


def _table(cases: int, results: dict[str, dict[str, Any]]) -> str:
    base, floor = results["whoosh"], results["fts5"]
    rows = [
        ("index time (s)", "index_seconds"),
        ("index size (MB)", "index_mb"),
        ("open + first query (s)", "open_first_query_s"),
        ("peak RSS (MB)", "peak_rss_mb"),
    ]
    lines = [
        f"## {cases:,} cases",
        "",
        "| measure | Whoosh | SQLite FTS5 | ratio |",
        "|---|---:|---:|---:|",
    ]
    for label, key in rows:
        ratio = base[key] / floor[key] if floor[key] else float("inf")
        lines.append(f"| {label} | {base[key]} | {floor[key]} | {ratio:.1f}× |")
    for kind in KINDS:
        for stat in ("median_ms", "p95_ms"):
            ratio = base[kind][stat] / floor[kind][stat] if floor[kind][stat] else float("inf")
            lines.append(
                f"| {kind}, {stat.replace('_ms', '')} (ms) | {base[kind][stat]} | "
                f"{floor[kind][stat]} | {ratio:.1f}× |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, action="append")
    parser.add_argument("--engine", choices=sorted(ENGINES))
    arguments = parser.parse_args()
    sizes = arguments.cases or [10_000]
    if arguments.engine:  # one engine, in this process: print its figures as JSON
        with tempfile.TemporaryDirectory(prefix="kb-bench-") as folder:
            print(json.dumps(ENGINES[arguments.engine](sizes[0], Path(folder))))
        return
    for cases in sizes:
        print(f"Indexing and querying {cases:,} synthetic cases per engine…", file=sys.stderr)
        results = {engine: _in_subprocess(engine, cases) for engine in ENGINES}
        print(_table(cases, results))
        print()


if __name__ == "__main__":
    main()
