"""Four gunicorn workers on the bench's index: their memory together, a fresh worker's first
search, and the search page's CPU per request.

Memory is PSS (``/proc/<pid>/smaps_rollup``): a page shared by several processes, such as
a memory-mapped index file in the page cache, is counted once in the sum, split among the
processes that map it; RSS would count it in every worker. The master is reported apart
and with the workers: it holds the app the workers were forked from (``preload_app``), so
the pages they share with it count partly in its PSS.

gunicorn hands a connection to whichever worker accepts first, so to make each worker
answer the whole workload the others are stopped (``SIGSTOP``) while it does: the kernel
queues connections for the one that runs. They are stopped once booted and idle, so each
worker's first search is its first request after its static-file readiness probe.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"
WORKERS = 4
#: A worker that is stopped while the others answer must not be killed as unresponsive.
WORKER_TIMEOUT_SECONDS = 1800
#: Answered by every booted worker without touching the search.
READY_PATH = "/static/favicon.svg"
#: A worker whose CPU time did not change for this long has booted and is idle.
QUIET_SECONDS = 1.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def memory_mb(pid: int) -> dict[str, float]:
    """A process's PSS and RSS from ``smaps_rollup`` (Linux), in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("Pss", "Rss"):
            fields[name.lower()] = round(int(rest.split()[0]) / 1024, 1)
    return fields


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of one process so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _get(url: str, timeout: float = 120) -> None:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
        response.read()


def _wait_ready(base: str, server: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        try:
            _get(base + READY_PATH, timeout=5)
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("a gunicorn worker did not answer in time")


@contextmanager
def _gunicorn(env: dict[str, str], log: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with log.open("a") as errors:
        server = subprocess.Popen(
            [
                str(GUNICORN),
                *("--config", str(ROOT / "gunicorn.conf.py")),
                *("--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}"),
                *("--timeout", str(WORKER_TIMEOUT_SECONDS)),
                "wsgi:app",
            ],
            env={**env, "KB_BASE_URL": base},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        try:
            yield base, server
        finally:
            for pid in _children(server.pid) if server.poll() is None else ():
                os.kill(pid, signal.SIGCONT)
            server.terminate()
            server.wait(timeout=60)


def _stopped_workers(server: subprocess.Popen, timeout: float = 120) -> list[int]:
    """The workers' process ids, each stopped once all have booted and gone quiet.

    A worker stopped while it works could hold a lock the others wait for: forked from a
    preloaded master, a worker's search drainer opens the database at once, and the first
    connection after the master let go of it rebuilds SQLite's WAL index under an
    exclusive lock. Idle, a worker holds none.
    """
    deadline = time.monotonic() + timeout
    while len(pids := _children(server.pid)) < WORKERS:
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("gunicorn did not start its workers")
        time.sleep(0.01)
    used: dict[int, float] = {}
    while (now := {pid: cpu_seconds(pid) for pid in pids}) != used:
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("gunicorn's workers did not go quiet")
        used = now
        time.sleep(QUIET_SECONDS)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    return pids


def settings(instance: Path, config: dict[str, str]) -> dict[str, str]:
    """The environment of a production worker on the bench's instance, with ``config``
    (``KB_*`` variables) naming its index or database."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("KB_")},
        "KB_INSTANCE_PATH": str(instance),
        "KB_SECRET_KEY": secrets.token_urlsafe(48),
        "KB_PLUGINS": "default",
        **config,
    }


def measure(
    env: dict[str, str],
    log: Path,
    queries: list[dict[str, Any]],
    progress: Callable[[str], None] = lambda _message: None,
) -> dict[str, Any]:
    """Start 4 workers, let each alone answer ``queries`` through the API and the search
    page, then read their memory while all four are alive."""

    def url(base: str, path: str, query: dict[str, Any]) -> str:
        params = {"q": query["q"], **query.get("filters", {})}
        return f"{base}{path}?{urllib.parse.urlencode(params, doseq=True)}"

    first: list[float] = []
    page_cpu: list[float] = []
    with _gunicorn(env, log) as (base, server):
        pids = _stopped_workers(server)
        for number, pid in enumerate(pids, 1):
            progress(f"worker {number} of {WORKERS}: first search, the workload, the page")
            os.kill(pid, signal.SIGCONT)
            _wait_ready(base, server)
            started = time.perf_counter()
            _get(url(base, "/api/v1/search", {"q": "arbeid"}))
            first.append(time.perf_counter() - started)
            for query in queries:
                _get(url(base, "/api/v1/search", query))
            before = cpu_seconds(pid)
            for query in queries:
                _get(url(base, "/search", query))
            page_cpu.append((cpu_seconds(pid) - before) / len(queries) * 1000)
            os.kill(pid, signal.SIGSTOP)
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
        time.sleep(0.2)
        memory = [memory_mb(pid) for pid in pids]
        master = memory_mb(server.pid)
    return {
        "workers_pss_mb": round(sum(m["pss"] for m in memory), 1),
        "worker_pss_mb": [m["pss"] for m in memory],
        "workers_rss_mb": round(sum(m["rss"] for m in memory), 1),
        "master_pss_mb": master["pss"],
        "serving_pss_mb": round(sum(m["pss"] for m in memory) + master["pss"], 1),
        "worker_first_search_s": [round(s, 3) for s in first],
        "worker_first_search_max_s": round(max(first), 3),
        "page_cpu_ms": round(statistics.median(page_cpu), 2),
    }
