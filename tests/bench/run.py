"""``make bench``: the search backends against raw SQLite FTS5 on the same synthetic corpus.

    .venv/bin/python -m tests.bench.run                      # 10,000 and 100,000 cases
    .venv/bin/python -m tests.bench.run --cases 10000 --engine whoosh --no-workers
    .venv/bin/python -m tests.bench.run --json after.json    # the figures also as JSON
    .venv/bin/python -m tests.bench.run --report before.json # a saved run's table again

The PostgreSQL engine creates (and drops) a throwaway database on the server of
``KB_BENCH_POSTGRES_URL`` (default: the local server as ``postgres``).

The corpus is generated once per size into a temporary file. Each engine then runs in two
processes of its own: one indexes (its peak RSS is the indexer's), the other opens the
index as a web worker would and queries it, calling the backend and through the API
(Flask's test client), and times the search page with the ``analytics`` plugin recording
each search and without it. Then 4 gunicorn workers serve the app on that index
(``tests/bench/workers.py``): each answers the whole workload, and their memory together
is read as PSS. Every figure FTS5 also has comes with its ratio to FTS5's, the floor a C
engine sets; one Markdown table covers every size and engine (``tests/bench/report.py``).
Progress goes to stderr. Not part of the test suite: speed is measured here, never
asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
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
from functools import partial
from pathlib import Path
from typing import Any

from tests.bench import report, workers
from tests.bench.corpus import SEED, documents, languages
from tests.bench.report import (
    ANALYTICS_COST,
    ANALYTICS_OFF,
    ANALYTICS_ON,
    ANALYTICS_RECORD,
    FLOOR,
    KINDS,
    LABELS,
)

#: Queries of each kind (``--queries``; steps in processes of their own inherit it).
QUERIES_PER_KIND = "BENCH_QUERIES_PER_KIND"
#: Documents with one of some values of a facet (``IN (?, ...)`` follows).
FACET_DOCS = "SELECT doc FROM facet WHERE name = ? AND value IN"
POSTGRES_ADMIN_URL = os.environ.get(
    "KB_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


#: What the bench itself keeps in an engine's folder: not part of the index.
NOT_THE_INDEX = ("instance", "database-url", "gunicorn.log")
#: When the whole run started (steps in processes of their own inherit it).
STARTED = float(os.environ.setdefault("BENCH_STARTED_AT", str(time.time())))


def progress(message: str) -> None:
    """A line on stderr with the time since the run started: indexing 100,000 cases takes
    minutes."""
    elapsed = int(time.time() - STARTED)
    print(f"[{elapsed // 60:3d}m{elapsed % 60:02d}s] {message}", file=sys.stderr, flush=True)


def _index_mb(folder: Path) -> float:
    """Every file the engine keeps in its folder (an index and any files beside it)."""
    files = (
        p
        for p in folder.rglob("*")
        if p.is_file() and p.relative_to(folder).parts[0] not in NOT_THE_INDEX
    )
    return round(sum(p.stat().st_size for p in files) / 2**20, 1)


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _timed(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _latencies(run_query: Callable[[Any], Any], queries: list[Any]) -> dict[str, float]:
    return _summary([_timed(lambda q=q: run_query(q)) * 1000 for q in queries])


def workload(seed: int = SEED) -> dict[str, list[dict[str, Any]]]:
    """The same queries for every engine: words of middling frequency, real word pairs."""
    rng = random.Random(seed + 1)  # noqa: S311 - reproducible queries
    vocabularies = languages()
    queries: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
    for _ in range(int(os.environ.get(QUERIES_PER_KIND, "40"))):
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


#: Progress is reported every so many cases generated or indexed.
PROGRESS_EVERY = 5_000


def _corpus(path: Path, label: str = "") -> Iterator[Any]:
    """The documents written by ``_write_corpus``, one at a time; with ``label``, progress
    is reported as they are handed to the indexer."""
    with path.open("rb") as stream:
        count = 0
        while True:
            try:
                yield pickle.load(stream)  # noqa: S301 - our own temporary file
            except EOFError:
                if label:
                    progress(f"{label}: all {count:,} cases handed over, committing")
                return
            count += 1
            if label and count % PROGRESS_EVERY == 0:
                progress(f"{label}: {count:,} cases handed to the indexer")


def _write_corpus(cases: int, path: Path) -> None:
    with path.open("wb") as stream:
        for number, doc in enumerate(documents(cases), 1):
            pickle.dump(doc, stream)
            if number % PROGRESS_EVERY == 0:
                progress(f"corpus: {number:,} of {cases:,} cases generated")


# -- the Whoosh backend ------------------------------------------------------------------------


def _whoosh(folder: Path) -> Any:
    from kb.search.concepts import default_vocabulary
    from kb.search.whoosh_backend import WhooshBackend

    return WhooshBackend(folder / "index", default_vocabulary(), rebuild_procs=2)


def whoosh_index(corpus: Path, folder: Path) -> dict[str, Any]:
    backend = _whoosh(folder)
    seconds = _timed(lambda: backend.rebuild(_corpus(corpus, "Whoosh")))
    backend.close()
    return {"index_seconds": round(seconds, 1), "index_mb": _index_mb(folder)}


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
        "p95_ms": round(ordered[math.ceil(len(ordered) * 0.95) - 1], 2),  # nearest rank
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
        seconds = _timed(lambda: get_backend().rebuild(_corpus(corpus, "PostgreSQL")))
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
            for d in _corpus(corpus, "FTS5"):
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
    return {"index_seconds": round(seconds, 1), "index_mb": _index_mb(folder)}


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


def _step(engine: str, step: str, corpus: Path, folder: Path) -> dict[str, Any]:
    """One step of one engine in a process of its own; its figures come back as JSON on
    stdout (its progress and errors go to stderr as they come)."""
    command = [sys.executable, "-m", "tests.bench.run", "--engine", engine, "--step", step]
    command += ["--corpus", str(corpus), "--folder", str(folder)]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{engine} {step} failed (its error is above)")
    return json.loads(done.stdout.splitlines()[-1])


def _run_step(engine: str, step: str, corpus: Path, folder: Path) -> dict[str, Any]:
    logging.disable(logging.INFO)  # the migrations' chatter would drown the progress lines
    index, query = ENGINES[engine]
    figures = index(corpus, folder) if step == "index" else query(folder)
    figures[f"{step}_peak_rss_mb"] = _peak_rss_mb()
    return figures


def _serve(engine: str, folder: Path, label: str) -> dict[str, Any]:
    """Four gunicorn workers of the app on the engine's index (``workers.measure``); the
    query step has made the instance (schema and vocabulary) they use."""
    if engine == "whoosh":
        config = {"KB_SEARCH_INDEX_DIR": str(folder / "index")}
    else:
        config = {"KB_SQLALCHEMY_DATABASE_URI": _postgres_url(folder)}
        config["KB_SEARCH_BACKEND"] = "postgres"
    env = workers.settings(folder / "instance", config)
    queries = [query for kind in KINDS for query in workload()[kind]]
    log = folder / "gunicorn.log"
    try:
        return workers.measure(env, log, queries, lambda message: progress(f"{label}: {message}"))
    except (OSError, RuntimeError) as error:
        sys.exit(f"{label}: the gunicorn workers failed ({error}); their log:\n{log.read_text()}")


def _bench_engine(
    engine: str,
    cases: int,
    corpus: Path,
    folder: Path,
    serve: bool,
    keep: Callable[[dict[str, Any]], None],
) -> None:
    """Index, query and serve with one engine; ``keep`` gets the figures after each step
    (a long run stopped early keeps what it measured)."""
    label = f"{LABELS[engine]} {cases:,}"
    figures: dict[str, Any] = {}
    database = _throwaway_postgres(folder) if engine == "postgres" else nullcontext()
    with database:
        started = time.time()
        progress(f"{label}: indexing")
        figures.update(_step(engine, "index", corpus, folder))
        keep(figures)
        progress(f"{label}: indexed in {time.time() - started:.0f} s; querying")
        figures.update(_step(engine, "query", corpus, folder))
        keep(figures)
        if serve and engine != FLOOR:
            progress(f"{label}: {workers.WORKERS} gunicorn workers")
            figures.update(_serve(engine, folder, label))
        if engine == "whoosh":  # again: files written beside the index when it is opened count
            figures["index_mb"] = _index_mb(folder)
        keep(figures)
    progress(f"{label}: done in {time.time() - started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, action="append", help="10000 and 100000 if none")
    parser.add_argument("--engine", choices=sorted(ENGINES), action="append", help="all if none")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--no-workers", action="store_true", help="skip the gunicorn workers")
    parser.add_argument("--queries", type=int, default=40, help="queries of each kind (40)")
    parser.add_argument("--report", type=Path, help="print the table of a run saved by --json")
    parser.add_argument("--step", choices=("index", "query"), help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.step:  # one step of one engine, in this process: its figures as JSON
        figures = _run_step(arguments.engine[0], arguments.step, arguments.corpus, arguments.folder)
        print(json.dumps(figures))
        return
    if arguments.report:
        saved = json.loads(arguments.report.read_text())
        results = {int(cases): figures for cases, figures in saved["results"].items()}
        print(report.summary(saved["meta"]) + "\n\n" + report.table(results))
        return
    os.environ[QUERIES_PER_KIND] = str(arguments.queries)
    engines = [e for e in ENGINES if e in (arguments.engine or ENGINES)]
    if FLOOR not in engines:
        engines.append(FLOOR)
    if "postgres" in engines and not _postgres_reachable():
        progress(f"No PostgreSQL at {POSTGRES_ADMIN_URL}: its engine is left out.")
        engines.remove("postgres")
    info = report.meta()
    info["load_average"].append(os.getloadavg()[0])
    results: dict[int, dict[str, dict[str, Any]]] = {}

    def keep(cases: int, engine: str, figures: dict[str, Any]) -> None:
        """Note the load average; write every figure so far to ``--json``."""
        info["load_average"].append(os.getloadavg()[0])
        results.setdefault(cases, {})[engine] = figures
        if arguments.json:
            document = {"meta": info, "results": results}
            arguments.json.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")

    for cases in arguments.cases or [10_000, 100_000]:
        with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
            corpus = Path(tmp) / "corpus.pickle"
            progress(f"corpus: generating {cases:,} synthetic cases")
            _write_corpus(cases, corpus)
            for engine in engines:
                folder = Path(tmp) / engine
                folder.mkdir()
                kept = partial(keep, cases, engine)
                _bench_engine(engine, cases, corpus, folder, not arguments.no_workers, kept)
    print(report.summary(info) + "\n\n" + report.table(results))


if __name__ == "__main__":
    main()
