"""Bounded load tests on loopback: gunicorn workers on SQLite + Whoosh. Two modes:

    .venv/bin/python -m tests.load --workers 4 --seconds 60
    .venv/bin/python -m tests.load --mode throughput --cases 10000 --seconds 30

``mixed`` (used by tests/test_serving.py) puts searches, page views and submissions on the
app at once, then checks that the search index agrees with the database. ``throughput``
measures, one phase after the other with the same workers and the same number of
connections: the ceiling (a bare Flask page, tests/ceiling_app.py), the search page, and
page views; it reports each phase's throughput and latency and the app's pages as a
percentage of the ceiling. ``--cases N`` adds N synthetic published cases to the demo data.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import secrets
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
#: gunicorn's settings for the app (workers forked from a preloaded master), as `make serve`.
CONFIG = ROOT / "gunicorn.conf.py"
WORDS = ("arbeid", "språk", "flyktninger", "kommune", "työ", "integration", "bolig", "skole")
FILTERS = ("", "&country=NO", "&country=SE", "&theme=employment", "&language=da")
EVENT_PAGE = "/events/integrering-i-norden-2018"
#: Prepared instances with synthetic cases, one folder per corpus size and code version.
CACHE = Path(tempfile.gettempdir()) / "kb-load-cache"
#: What the prepared instance depends on: a change to any of these prepares it anew.
CACHE_INPUTS = ("kb", "plugins", "pyproject.toml", "tests/bench/corpus.py", "tests/load_cases.py")
#: How many URLs each throughput phase cycles through (drawn once, with a fixed seed).
PATHS_PER_PHASE = 500
#: wrk's ``done`` hook prints the figures as one JSON line after this marker.
WRK_REPORT = "KB-LOAD-REPORT "
WRK_SCRIPT = """
local paths = {%s}
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests": %%d, "duration_us": %%d, "median_us": %%d, "p95_us": %%d, ' ..
    '"socket_errors": %%d, "http_errors": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""


@dataclass
class Tally:
    """Latencies and failures of one kind of client."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float, error: str | None) -> None:
        with self.lock:
            self.latencies.append(seconds)
            if error:
                self.errors.append(error)

    def summary(self, duration: float) -> dict[str, float | int]:
        ordered = sorted(self.latencies) or [0.0]
        return {
            "requests": len(self.latencies),
            "per_second": round(len(self.latencies) / duration, 1),
            "median_ms": round(statistics.median(ordered) * 1000, 1),
            "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 1),
            "errors": len(self.errors),
        }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _settings(instance: Path) -> dict[str, str]:
    """The app's settings; the address is set when gunicorn has its port."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("KB_")},
        "KB_INSTANCE_PATH": str(instance),
        "KB_SECRET_KEY": secrets.token_urlsafe(48),
        "KB_BASE_URL": "http://127.0.0.1",
        # The clients share one token and one address: the limits are not under test.
        "KB_API_WRITE_LIMIT": "100000 per minute",
        "KB_PLUGINS": "default",
    }


def _run(env: dict[str, str], *command: str) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _kb(env: dict[str, str], *args: str) -> str:
    return _run(env, str(BIN / "kb"), *args)


def _fill(env: dict[str, str], cases: int) -> None:
    """The demo data plus ``cases`` synthetic cases, bulk-inserted, then indexed once."""
    _run(env, sys.executable, "-m", "tests.load_cases", str(cases))


def _code_version() -> str:
    digest = hashlib.sha256()
    for name in CACHE_INPUTS:
        top = ROOT / name
        for path in sorted([top] if top.is_file() else top.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _prepare(env: dict[str, str], cases: int, cache: bool) -> dict[str, object]:
    """Fill the instance ``env`` names; with ``cache``, copy it from an earlier run's.

    Only synthetic corpora are cached (the demo alone takes seconds). A cached instance is
    keyed by corpus size and a hash of the code and data that built it, written under a
    temporary name and renamed when complete, and copied for each run, so a run's writes
    never reach it.
    """
    started = time.monotonic()
    instance = Path(env["KB_INSTANCE_PATH"])
    if not (cache and cases):
        _fill(env, cases)
        return {"prepare_seconds": round(time.monotonic() - started, 1), "from_cache": False}
    cached = CACHE / f"{cases}-{_code_version()}"
    hit = cached.is_dir()
    if not hit:
        CACHE.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=f"{cached.name}.", dir=CACHE))
        try:
            _fill({**env, "KB_INSTANCE_PATH": str(building)}, cases)
            building.rename(cached)
        except OSError:
            if not cached.is_dir():  # else a run beside this one finished first: use its copy
                raise
        finally:
            shutil.rmtree(building, ignore_errors=True)
    shutil.copytree(cached, instance)
    return {"prepare_seconds": round(time.monotonic() - started, 1), "from_cache": hit}


def _editor_token(env: dict[str, str]) -> str:
    _kb(env, "users", "create", "loadtest@example.org", "--role", "editor")
    return _kb(env, "tokens", "create", "loadtest@example.org", "--name", "load").splitlines()[-1]


def _published_slugs(instance: Path) -> list[str]:
    """Every published case, so page views spread over the whole corpus (read before serving)."""
    database = sqlite3.connect(f"file:{instance / 'kb.sqlite3'}?mode=ro", uri=True)
    with closing(database):
        rows = database.execute(
            "SELECT slug FROM case_study WHERE status = 'published' ORDER BY id"
        ).fetchall()
    return [slug for (slug,) in rows]


def _wait_until_up(base: str, server: subprocess.Popen, timeout: float = 180) -> None:
    """Until the home page answers: on a busy 2-core box, 4 workers may take a minute."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer in time")


@dataclass(frozen=True)
class Server:
    """A running gunicorn: where it answers, and its master's process id."""

    base: str
    pid: int

    def cpu_seconds(self) -> float:
        """CPU time of the master and its workers so far (Linux ``/proc``).

        Requests per second depend on what else runs on the box; CPU time per request
        does much less, so the report gives both.
        """
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        ticks = 0
        for pid in (self.pid, *map(int, children)):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")


@contextmanager
def _gunicorn(
    app: str, env: dict[str, str], workers: int, log: Path, *options: str
) -> Iterator[Server]:
    """Serve ``app`` on a free loopback port until the block ends; ``options`` go to gunicorn.

    The real app and the ceiling are served the same way, so they differ only in the app.
    """
    port = _free_port()
    with log.open("a") as errors:
        server = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                *("--config", str(CONFIG)),
                *("--workers", str(workers), "--bind", f"127.0.0.1:{port}", "--timeout", "60"),
                *options,
                app,
            ],
            env={**env, "KB_BASE_URL": f"http://127.0.0.1:{port}"},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_until_up(base, server)
            yield Server(base, server.pid)
        finally:
            server.terminate()
            server.wait(timeout=60)


def refused_start(env: dict[str, str], *options: str) -> str:
    """Start gunicorn on ``wsgi:app`` with ``options`` where it must refuse to start: its
    error output. Exiting without an error fails the assertion; serving instead runs into
    the timeout (``TimeoutExpired``)."""
    command = [str(BIN / "gunicorn"), *options, "--bind", "127.0.0.1:0", "wsgi:app"]
    run = {"env": env, "cwd": ROOT, "capture_output": True, "text": True, "timeout": 120}
    done = subprocess.run(command, **run, check=False)
    assert done.returncode != 0, "gunicorn started although it should have refused"
    return done.stderr


def _request(
    url: str, tally: Tally, data: bytes | None = None, headers: dict[str, str] | None = None
) -> bytes:
    request = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310
    started = time.perf_counter()
    error = None
    body = b""
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            body = response.read()
    except urllib.error.HTTPError as failed:
        error = f"{failed.code} {url}"
    except OSError as failed:
        error = f"{failed!r} {url}"
    tally.add(time.perf_counter() - started, error)
    return body


def _search_path(rng: random.Random, pages: tuple[str, ...] = ("/search",)) -> str:
    """A one-word search with no filter or one (country, theme or language)."""
    return f"{rng.choice(pages)}?q={urllib.parse.quote(rng.choice(WORDS))}{rng.choice(FILTERS)}"


def _view_path(rng: random.Random, slugs: list[str]) -> str:
    """The home page, an event's programme or a case, one third each."""
    return rng.choice(("/", EVENT_PAGE, f"/cases/{rng.choice(slugs)}"))


def _submitter(base: str, tally: Tally, rng: random.Random, token: str) -> None:
    number = rng.randrange(10**9)
    case = {
        "title": f"Lasttest {number}: språkpraksis i kommunen",
        "language": "nb",
        "country": rng.choice(("NO", "SE", "DK")),
        "summary": "Flyktninger lærer språket på jobb.",
        "body": "Kommunen og bedriftene samarbeider om språkpraksis og arbeid.",
        "themes": ["employment"],
        "ref": f"load-{number}",
        "status": "published",
    }
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    _request(f"{base}/api/v1/cases", tally, json.dumps(case).encode(), headers)


def _run_clients(
    clients: list[tuple[str, Callable[[random.Random], None]]], seconds: float
) -> float:
    stop = time.monotonic() + seconds

    def loop(work: Callable[[random.Random], None], seed: int) -> None:
        rng = random.Random(seed)  # noqa: S311 - reproducible traffic, not secrets
        while time.monotonic() < stop:
            work(rng)

    threads = [
        threading.Thread(target=loop, args=(work, seed), daemon=True)
        for seed, (_kind, work) in enumerate(clients)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - started


def _search_check(env: dict[str, str]) -> tuple[int, str]:
    check = subprocess.run(
        [str(BIN / "kb"), "search-check"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    return check.returncode, check.stdout.strip() + check.stderr.strip()


def run(
    workers: int = 4,
    seconds: float = 60,
    searchers: int = 6,
    viewers: int = 4,
    submitters: int = 2,
    cases: int = 0,
    cache: bool = True,
) -> dict[str, object]:
    """Mixed load: searches, page views and submissions at once; then check the index.

    Python threads are the clients here: each submission needs its own body and token, and
    this mode counts errors and consistency, not the last request per second.
    """
    with tempfile.TemporaryDirectory(prefix="kb-load-") as folder:
        env = _settings(Path(folder) / "instance")
        prepared = _prepare(env, cases, cache)
        token = _editor_token(env)
        slugs = _published_slugs(Path(env["KB_INSTANCE_PATH"]))
        log = Path(folder) / "gunicorn.log"
        tallies = {"search": Tally(), "view": Tally(), "submit": Tally()}
        pages = ("/search", "/api/v1/search")
        with _gunicorn("wsgi:app", env, workers, log) as server:
            base = server.base
            clients: list[tuple[str, Callable[[random.Random], None]]] = [
                *[("search", lambda r: _request(base + _search_path(r, pages), tallies["search"]))]
                * searchers,
                *[("view", lambda r: _request(base + _view_path(r, slugs), tallies["view"]))]
                * viewers,
                *[("submit", lambda r: _submitter(base, tallies["submit"], r, token))] * submitters,
            ]
            duration = _run_clients(clients, seconds)
        check_exit, check_output = _search_check(env)
        return {
            "mode": "mixed",
            "workers": workers,
            "cases": cases,
            **prepared,
            "seconds": round(duration, 1),
            "clients": {kind: tally.summary(duration) for kind, tally in tallies.items()},
            "errors": [e for tally in tallies.values() for e in tally.errors][:20],
            "search_check_exit": check_exit,
            "search_check": check_output,
            "server_tracebacks": log.read_text().count("Traceback"),
            # kb.serving's warning: a thread alive in the master when it forks the workers.
            "threads_across_fork": log.read_text().count("Threads alive"),
        }


def _wrk(base: str, paths: list[str], connections: int, seconds: float, script: Path) -> dict:
    """One closed-loop wrk run cycling through ``paths``; its figures from the ``done`` hook."""
    if shutil.which("wrk") is None:
        raise RuntimeError("the throughput mode needs wrk (Debian: apt-get install wrk)")
    script.write_text(WRK_SCRIPT % (", ".join(json.dumps(p) for p in paths), WRK_REPORT))
    output = _run(
        dict(os.environ),
        "wrk",
        *("--threads", "1", "--connections", str(connections)),
        *("--duration", f"{max(1, round(seconds))}s", "--timeout", "30s"),
        *("--script", str(script), base),
    )
    line = next(line for line in output.splitlines() if line.startswith(WRK_REPORT))
    raw = json.loads(line.removeprefix(WRK_REPORT))
    return {
        "requests": raw["requests"],
        "per_second": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        "median_ms": round(raw["median_us"] / 1000, 1),
        "p95_ms": round(raw["p95_us"] / 1000, 1),
        "errors": raw["socket_errors"] + raw["http_errors"],
    }


def _phase(
    server: Server, paths: list[str], connections: int, seconds: float, warmup: float
) -> dict:
    """Warm up (each worker opens the index, fills its caches), then measure."""
    with tempfile.TemporaryDirectory(prefix="kb-wrk-") as folder:
        script = Path(folder) / "paths.lua"
        if warmup:
            _wrk(server.base, paths, connections, warmup, script)
        cpu = server.cpu_seconds()
        figures = _wrk(server.base, paths, connections, seconds, script)
        cpu = server.cpu_seconds() - cpu
    return {
        **figures,
        # On 2 cores the server can use up to 200 %; what it did not get went to the client
        # and to whatever else ran on the machine.
        "server_cpu_percent": round(100 * cpu / seconds),
        "server_cpu_ms_per_request": round(1000 * cpu / max(figures["requests"], 1), 2),
    }


def run_throughput(
    workers: int = 4,
    seconds: float = 30,
    connections: int = 8,
    cases: int = 0,
    warmup: float = 5,
    cache: bool = True,
) -> dict[str, object]:
    """The ceiling, the search page and page views, one phase after the other.

    Every phase has the same gunicorn workers and the same number of connections, so the
    only difference is the app. The client is wrk, not Python threads: on this 2-core box
    the threads top out near 940 requests/s against the ceiling where wrk gets about 1,800,
    so Python clients would measure themselves and flatter the app's percentage. No
    submissions: a growing index would make the comparison drift.
    """
    rng = random.Random(20261122)  # noqa: S311 - the same URLs every run
    with tempfile.TemporaryDirectory(prefix="kb-load-") as folder:
        env = _settings(Path(folder) / "instance")
        prepared = _prepare(env, cases, cache)
        slugs = _published_slugs(Path(env["KB_INSTANCE_PATH"]))
        log = Path(folder) / "gunicorn.log"
        phases = {}
        with _gunicorn("tests.ceiling_app:app", env, workers, log) as server:
            phases["ceiling"] = _phase(server, ["/"], connections, seconds, warmup)
        with _gunicorn("wsgi:app", env, workers, log) as server:
            searches = [_search_path(rng) for _ in range(PATHS_PER_PHASE)]
            phases["search"] = _phase(server, searches, connections, seconds, warmup)
            views = [_view_path(rng, slugs) for _ in range(PATHS_PER_PHASE)]
            phases["views"] = _phase(server, views, connections, seconds, warmup)
        check_exit, check_output = _search_check(env)
        ceiling = phases["ceiling"]["per_second"] or 1
        return {
            "mode": "throughput",
            "client": "wrk",
            "workers": workers,
            "connections": connections,
            "cases": cases,
            "published_cases": len(slugs),
            **prepared,
            "seconds_per_phase": seconds,
            "phases": phases,
            "percent_of_ceiling": {
                kind: round(100 * phases[kind]["per_second"] / ceiling, 1)
                for kind in ("search", "views")
            },
            "errors": sum(phase["errors"] for phase in phases.values()),
            "server_tracebacks": log.read_text().count("Traceback"),
            "search_check_exit": check_exit,
            "search_check": check_output,
        }


def _table(report: dict) -> str:
    """The throughput report as the table in docs/deployment.md."""
    lines = [
        "| phase | requests | per second | median | p95 | errors | % of ceiling "
        "| server CPU | CPU per request |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, phase in report["phases"].items():
        share = report["percent_of_ceiling"].get(kind, 100.0)
        lines.append(
            f"| {kind} | {phase['requests']:,} | {phase['per_second']:,} | "
            f"{phase['median_ms']} ms | {phase['p95_ms']} ms | {phase['errors']} | {share} % "
            f"| {phase['server_cpu_percent']} % | {phase['server_cpu_ms_per_request']} ms |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("mixed", "throughput"), default="mixed")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seconds", type=float, help="mixed: the run (60); throughput: a phase")
    parser.add_argument("--cases", type=int, default=0, help="synthetic cases added to the demo")
    parser.add_argument("--connections", type=int, default=8, help="throughput: wrk connections")
    parser.add_argument("--warmup", type=float, default=5, help="throughput: seconds per phase")
    parser.add_argument("--no-cache", dest="cache", action="store_false")
    arguments = parser.parse_args()
    if arguments.mode == "mixed":
        report = run(
            arguments.workers, arguments.seconds or 60, cases=arguments.cases, cache=arguments.cache
        )
    else:
        report = run_throughput(
            arguments.workers,
            arguments.seconds or 30,
            arguments.connections,
            arguments.cases,
            arguments.warmup,
            arguments.cache,
        )
    print(json.dumps(report, indent=2, ensure_ascii=False))
    if arguments.mode == "throughput":
        print(_table(report))


if __name__ == "__main__":
    main()
