"""A bounded load test on loopback: gunicorn workers on SQLite + Whoosh, under searches, page
views and submissions at once. Used by tests/test_serving.py; also runnable by hand:

    .venv/bin/python -m tests.load --workers 4 --seconds 60

It prepares a throwaway instance with the demo data and an editor's API token, starts
gunicorn, runs the clients, stops the server, and reports throughput, p95 latency, errors,
and whether the search index agrees with the database afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WORDS = ("arbeid", "språk", "flyktninger", "kommune", "työ", "integration", "bolig", "skole")
FILTERS = ("", "&country=NO", "&country=SE", "&theme=employment", "&language=da")


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


def _settings(instance: Path, port: int) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("KB_")},
        "KB_INSTANCE_PATH": str(instance),
        "KB_SECRET_KEY": secrets.token_urlsafe(48),
        "KB_BASE_URL": f"http://127.0.0.1:{port}",
        # The clients share one token and one address: the limits are not under test.
        "KB_API_WRITE_LIMIT": "100000 per minute",
        "KB_PLUGINS": "default",
    }


def _kb(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "kb"), *args], env=env, capture_output=True, text=True, check=False, cwd=ROOT
    )
    if done.returncode != 0:
        raise RuntimeError(f"kb {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _prepare(env: dict[str, str]) -> str:
    """The demo data and an editor's token; returns the token."""
    _kb(env, "init")
    _kb(env, "demo")
    _kb(env, "users", "create", "loadtest@example.org", "--role", "editor")
    return _kb(env, "tokens", "create", "loadtest@example.org", "--name", "load").splitlines()[-1]


def _wait_until_up(base: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {server.stderr.read() if server.stderr else ''}")
        try:
            with urllib.request.urlopen(f"{base}/", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer in time")


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


def _searcher(base: str, tally: Tally, rng: random.Random) -> None:
    query = f"q={urllib.parse.quote(rng.choice(WORDS))}{rng.choice(FILTERS)}"
    path = rng.choice(("/search", "/api/v1/search"))
    _request(f"{base}{path}?{query}", tally)


def _viewer(base: str, tally: Tally, rng: random.Random, slugs: list[str]) -> None:
    page = rng.choice(("/", "/events/integrering-i-norden-2018", f"/cases/{rng.choice(slugs)}"))
    _request(f"{base}{page}", tally)


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


def run(
    workers: int = 4,
    seconds: float = 60,
    searchers: int = 6,
    viewers: int = 4,
    submitters: int = 2,
) -> dict[str, object]:
    """Serve a throwaway instance with gunicorn and load it; returns the figures."""
    with tempfile.TemporaryDirectory(prefix="kb-load-") as folder:
        port = _free_port()
        env = _settings(Path(folder) / "instance", port)
        token = _prepare(env)
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{port}",
                "--timeout",
                "60",
                "wsgi:app",
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            _wait_until_up(base, server)
            listing = json.loads(_request(f"{base}/api/v1/cases?per_page=100", Tally()))
            slugs = [case["slug"] for case in listing["items"]]
            tallies = {"search": Tally(), "view": Tally(), "submit": Tally()}
            clients: list[tuple[str, Callable[[random.Random], None]]] = [
                *[("search", lambda r: _searcher(base, tallies["search"], r))] * searchers,
                *[("view", lambda r: _viewer(base, tallies["view"], r, slugs))] * viewers,
                *[("submit", lambda r: _submitter(base, tallies["submit"], r, token))] * submitters,
            ]
            duration = _run_clients(clients, seconds)
        finally:
            server.terminate()
            _, server_errors = server.communicate(timeout=60)
        check = subprocess.run(
            [str(BIN / "kb"), "search-check"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
        )
        return {
            "workers": workers,
            "seconds": round(duration, 1),
            "clients": {kind: tally.summary(duration) for kind, tally in tallies.items()},
            "errors": [e for tally in tallies.values() for e in tally.errors][:20],
            "search_check_exit": check.returncode,
            "search_check": check.stdout.strip() + check.stderr.strip(),
            "server_tracebacks": server_errors.count("Traceback"),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60)
    arguments = parser.parse_args()
    print(json.dumps(run(arguments.workers, arguments.seconds), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
