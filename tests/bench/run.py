"""``make bench``: the search backends against raw SQLite FTS5 on the same synthetic corpus.

    .venv/bin/python -m tests.bench.run --cases 10000 [--cases 100000] [--engine whoosh]

The PostgreSQL engine creates (and drops) a throwaway database on the server of
``KB_BENCH_POSTGRES_URL`` (default: the local server as ``postgres``).

The corpus is generated once per size into a temporary file. Each engine then runs in two
processes of its own: one indexes (its peak RSS is the indexer's), the other opens the
index as a web worker would and queries it (its peak RSS is one worker's). Reported per
engine: indexing time, index size, time to open the index, time to answer a first query,
latency (median, p95) of single-term, two-term, phrase and filtered-with-facet-counts
queries, and both peak RSS figures; every figure also as a ratio to FTS5's (the floor a C
engine sets). The search page is also timed with the ``analytics`` plugin recording each
search and without it (the same queries in turns), with the recording alone. Not part of
the test suite: speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from tests.bench.corpus import SEED, documents, languages

QUERIES_PER_KIND = 40
#: Documents with one of some values of a facet (``IN (?, ...)`` follows).
FACET_DOCS = "SELECT doc FROM facet WHERE name = ? AND value IN"
KINDS = ("single term", "two terms", "phrase", "term + 2 filters + facets")
POSTGRES_ADMIN_URL = os.environ.get(
    "KB_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


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
    """The same queries for every engine: words of middling frequency, real word pairs."""
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


def _corpus(path: Path) -> Iterator[Any]:
    """The documents written by ``_write_corpus``, one at a time."""
    with path.open("rb") as stream:
        while True:
            try:
                yield pickle.load(stream)  # noqa: S301 - our own temporary file
            except EOFError:
                return


def _write_corpus(cases: int, path: Path) -> None:
    with path.open("wb") as stream:
        for doc in documents(cases):
            pickle.dump(doc, stream)


# -- the Whoosh backend ------------------------------------------------------------------------


def _whoosh(folder: Path) -> Any:
    from kb.search.concepts import default_vocabulary
    from kb.search.whoosh_backend import WhooshBackend

    return WhooshBackend(folder / "index", default_vocabulary(), rebuild_procs=2)


def whoosh_index(corpus: Path, folder: Path) -> dict[str, Any]:
    backend = _whoosh(folder)
    seconds = _timed(lambda: backend.rebuild(_corpus(corpus)))
    backend.close()
    return {"index_seconds": round(seconds, 1), "index_mb": round(_folder_size(folder) / 2**20, 1)}


def whoosh_query(folder: Path) -> dict[str, Any]:
    from kb.search.backend import SearchRequest

    backend = _whoosh(folder)
    opened = _timed(backend._matcher)
    first = _timed(lambda: backend.search(SearchRequest(q="arbeid")))
    figures = _query_figures(opened, first, lambda q: backend.search(_request(q)))
    backend.close()
    figures.update(_through_the_api(folder, {"SEARCH_INDEX_DIR": str(folder / "index")}))
    return figures


def _through_the_api(folder: Path, config: dict[str, Any]) -> dict[str, Any]:
    """The same queries as ``GET /api/v1/search`` requests to the app (Flask's test client:
    routing, parameter checks, the search, JSON), on the index the engine step built."""

    from kb import create_app, schema
    from kb.services.vocabulary import ensure_default_terms

    app = create_app({"INSTANCE_PATH": str(folder / "instance"), "TESTING": True, **config})
    with app.app_context():
        schema.upgrade()
        ensure_default_terms()  # the themes the filtered queries ask for, as `kb init` seeds
    client = app.test_client()

    def search(query: dict[str, Any]) -> None:
        params = {"q": query["q"], **query.get("filters", {})}
        response = client.get("/api/v1/search", query_string=params)
        if response.status_code != 200:
            raise RuntimeError(f"/api/v1/search answered {response.status_code}")

    search({"q": "arbeid"})
    figures = {f"API: {kind}": _latencies(search, queries) for kind, queries in workload().items()}
    figures.update(_search_page_analytics(folder, config))
    return figures


#: The search page's figures with the analytics plugin recording each search, and without.
ANALYTICS_ON, ANALYTICS_OFF = "search page, analytics on", "search page, analytics off"
ANALYTICS_COST = "analytics: on minus off, same query"
ANALYTICS_RECORD = "analytics: recording one search alone"


def _search_page_analytics(folder: Path, config: dict[str, Any]) -> dict[str, Any]:
    """The search page (HTML, every default plugin's hooks) with the ``analytics`` plugin
    recording each search and without it, on the same database and index; the queries take
    turns between the two apps, so both see the same caches. The difference of the medians
    is what recording costs a search."""
    from kb import create_app
    from kb.plugins import DEFAULT_PLUGINS

    without = ",".join(name for name in DEFAULT_PLUGINS if name != "analytics")
    clients = {
        label: create_app(
            {"INSTANCE_PATH": str(folder / "instance"), "TESTING": True, **config, **plugins}
        ).test_client()
        for label, plugins in ((ANALYTICS_ON, {}), (ANALYTICS_OFF, {"PLUGINS": without}))
    }
    times: dict[str, list[float]] = {label: [] for label in clients}
    queries = [query for kind in KINDS for query in workload()[kind]]
    for query in [queries[0], *queries]:  # the first one warms both apps up, uncounted
        for label, client in clients.items():
            params = {"q": query["q"], **query.get("filters", {})}
            took = _timed(lambda c=client, p=params: _page(c, p)) * 1000
            times[label].append(took)
    figures: dict[str, Any] = {label: _summary(measured[1:]) for label, measured in times.items()}
    # The same query, one right after the other: the difference of each pair, so that the
    # load of the machine at that moment cancels out.
    pairs = zip(times[ANALYTICS_ON][1:], times[ANALYTICS_OFF][1:], strict=True)
    figures[ANALYTICS_COST] = _summary([on - off for on, off in pairs])
    figures[ANALYTICS_RECORD] = _recording_alone(clients[ANALYTICS_ON].application, queries)
    return figures


def _summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "median_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 2),
    }


def _recording_alone(app: Any, queries: list[dict[str, Any]]) -> dict[str, float]:
    """The plugin's own work for one search: the row written in a transaction of its own."""
    from kb.search.backend import SearchResults
    from plugins.analytics import recording

    with app.test_request_context():
        searches = [_request(query) for query in queries]
        results = [SearchResults(request=s, total=3, hits=[], facets={}) for s in searches]
        return _summary(
            [
                _timed(lambda s=s, r=r: recording.record(s, r, "nb")) * 1000
                for s, r in zip(searches, results, strict=True)
            ]
        )


def _page(client: Any, params: dict[str, Any]) -> None:
    response = client.get("/search", query_string=params)
    if response.status_code != 200:
        raise RuntimeError(f"/search answered {response.status_code}")


def _request(query: dict[str, Any]) -> Any:
    from kb.search.backend import SearchRequest

    return SearchRequest(q=query["q"], filters=query.get("filters", {}))


def _query_figures(opened: float, first: float, search: Callable[[Any], Any]) -> dict[str, Any]:
    figures: dict[str, Any] = {"open_s": round(opened, 3), "first_query_s": round(first, 3)}
    for kind, queries in workload().items():
        figures[kind] = _latencies(search, queries)
    return figures


# -- the PostgreSQL backend ----------------------------------------------------------------


def _postgres_url(folder: Path) -> str:
    return (folder / "database-url").read_text().strip()


def _postgres_app(folder: Path) -> Any:
    from kb import create_app

    config = {"SQLALCHEMY_DATABASE_URI": _postgres_url(folder), "SEARCH_BACKEND": "postgres"}
    return create_app({"INSTANCE_PATH": str(folder / "instance"), "TESTING": True, **config})


def postgres_index(corpus: Path, folder: Path) -> dict[str, Any]:
    """Migrate the throwaway database as `kb init` would, then rebuild the search rows."""
    from sqlalchemy import text

    from kb import schema
    from kb.extensions import db
    from kb.search import get_backend

    app = _postgres_app(folder)
    with app.app_context():
        schema.upgrade()
        seconds = _timed(lambda: get_backend().rebuild(_corpus(corpus)))
        size = db.session.scalar(
            text(
                "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'kb_search' AND c.relkind = 'r'"
            )
        )
        db.session.remove()
        db.engine.dispose()
    return {"index_seconds": round(seconds, 1), "index_mb": round(int(size) / 2**20, 1)}


def postgres_query(folder: Path) -> dict[str, Any]:
    from kb.search.concepts import default_vocabulary
    from kb.search.postgres import PostgresBackend

    backend = PostgresBackend(_postgres_url(folder), default_vocabulary())
    opened = _timed(lambda: backend.suggest("arbeid"))
    first = _timed(lambda: backend.search(_request({"q": "arbeid"})))
    figures = _query_figures(opened, first, lambda q: backend.search(_request(q)))
    backend.close()
    figures.update(
        _through_the_api(
            folder, {"SQLALCHEMY_DATABASE_URI": _postgres_url(folder), "SEARCH_BACKEND": "postgres"}
        )
    )
    return figures


def _postgres_reachable() -> bool:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    admin = create_engine(POSTGRES_ADMIN_URL)
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError:
        return False
    finally:
        admin.dispose()


@contextmanager
def _throwaway_postgres(folder: Path) -> Iterator[None]:
    """A new database for the PostgreSQL engine, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin_url = make_url(POSTGRES_ADMIN_URL)
    name = f"kb_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    (folder / "database-url").write_text(url)
    try:
        yield
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# -- raw SQLite FTS5, the floor ------------------------------------------------------------


def fts5_index(corpus: Path, folder: Path) -> dict[str, Any]:
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
            for d in _corpus(corpus):
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

    seconds = _timed(load)
    db.close()
    return {"index_seconds": round(seconds, 1), "index_mb": round(path.stat().st_size / 2**20, 1)}


def fts5_query(folder: Path) -> dict[str, Any]:
    connection: list[sqlite3.Connection] = []

    def search(query: dict[str, Any]) -> list[Any]:
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

    opened = _timed(lambda: connection.append(sqlite3.connect(folder / "fts.sqlite3")))
    first = _timed(lambda: search({"q": "arbeid"}))
    return _query_figures(opened, first, search)


ENGINES: dict[str, tuple[Callable[[Path, Path], dict], Callable[[Path], dict]]] = {
    "whoosh": (whoosh_index, whoosh_query),
    "postgres": (postgres_index, postgres_query),
    "fts5": (fts5_index, fts5_query),
}
LABELS = {"whoosh": "Whoosh", "postgres": "PostgreSQL", "fts5": "SQLite FTS5"}
FLOOR = "fts5"


def _step(engine: str, step: str, corpus: Path, folder: Path) -> dict[str, Any]:
    """One step of one engine in a process of its own; its figures come back as JSON."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.bench.run",
            "--engine",
            engine,
            "--step",
            step,
            "--corpus",
            str(corpus),
            "--folder",
            str(folder),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"{engine} {step} failed:\n{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])


def _run_step(engine: str, step: str, corpus: Path, folder: Path) -> dict[str, Any]:
    index, query = ENGINES[engine]
    figures = index(corpus, folder) if step == "index" else query(folder)
    figures[f"{step}_peak_rss_mb"] = _peak_rss_mb()
    return figures


def _table(cases: int, results: dict[str, dict[str, Any]]) -> str:
    floor = results[FLOOR]
    engines = [e for e in results if e != FLOOR] + [FLOOR]
    rows = [
        ("index time (s)", "index_seconds"),
        ("index size (MB)", "index_mb"),
        ("indexing peak RSS (MB)", "index_peak_rss_mb"),
        ("open the index (s)", "open_s"),
        ("first query (s)", "first_query_s"),
        ("one worker's peak RSS (MB)", "query_peak_rss_mb"),
    ]
    rows += [
        (f"{kind}, {stat.removesuffix('_ms')} (ms)", (kind, stat))
        for kind in (
            *KINDS,
            *(f"API: {kind}" for kind in KINDS),
            ANALYTICS_ON,
            ANALYTICS_OFF,
            ANALYTICS_COST,
            ANALYTICS_RECORD,
        )
        for stat in ("median_ms", "p95_ms")
    ]
    others = [e for e in engines if e != FLOOR]
    header = " | ".join(LABELS[e] for e in engines)
    ratios = " | ".join(f"{LABELS[e]} ÷ FTS5" for e in others)
    lines = [
        f"### {cases:,} cases",
        "",
        f"| measure | {header} | {ratios} |",
        "|---|" + "---:|" * (len(engines) + len(others)),
    ]
    for label, key in rows:
        values = [_figure(results[e], key) for e in engines]
        base = _figure(floor, key)
        shares = [f"{v / base:.1f}×" if v is not None and base else "–" for v in values[:-1]]
        shown = ["–" if v is None else str(v) for v in values]
        lines.append(f"| {label} | " + " | ".join(shown + shares) + " |")
    return "\n".join(lines)


def _figure(figures: dict[str, Any], key: str | tuple[str, str]) -> float | None:
    """A figure, or None where the engine has none (FTS5 has no API)."""
    if isinstance(key, tuple):
        return figures.get(key[0], {}).get(key[1])
    return figures.get(key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, action="append")
    parser.add_argument("--engine", choices=sorted(ENGINES), action="append")
    parser.add_argument("--step", choices=("index", "query"))
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--folder", type=Path)
    arguments = parser.parse_args()
    if arguments.step:  # one step of one engine, in this process: its figures as JSON
        figures = _run_step(arguments.engine[0], arguments.step, arguments.corpus, arguments.folder)
        print(json.dumps(figures))
        return
    engines = arguments.engine or list(ENGINES)
    if FLOOR not in engines:
        engines.append(FLOOR)
    if "postgres" in engines and not _postgres_reachable():
        print(f"No PostgreSQL at {POSTGRES_ADMIN_URL}: its engine is left out.", file=sys.stderr)
        engines.remove("postgres")
    for cases in arguments.cases or [10_000]:
        with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
            corpus = Path(tmp) / "corpus.pickle"
            print(f"Generating {cases:,} synthetic cases…", file=sys.stderr)
            _write_corpus(cases, corpus)
            results = {}
            for engine in engines:
                folder = Path(tmp) / engine
                folder.mkdir()
                database = _throwaway_postgres(folder) if engine == "postgres" else nullcontext()
                with database:
                    print(f"{LABELS[engine]}: indexing {cases:,} cases…", file=sys.stderr)
                    results[engine] = _step(engine, "index", corpus, folder)
                    print(f"{LABELS[engine]}: opening and querying…", file=sys.stderr)
                    results[engine].update(_step(engine, "query", corpus, folder))
        print(_table(cases, results))
        print()


if __name__ == "__main__":
    main()
