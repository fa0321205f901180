"""A worker killed while it writes the index, or a whole server killed during writes: the
database stays right and the index is brought back to it (by `kb reindex`, or by the
server's workers when they start)."""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from kb.extensions import db
from kb.search import get_backend
from kb.search.concepts import default_vocabulary
from kb.search.whoosh_backend import WhooshBackend
from kb.services.indexing import outbox
from tests import load
from tests.conftest import SQLITE_FILE, instance_from, make_app

ROOT = Path(__file__).resolve().parent.parent
WORDS = [
    "flyktning",
    "arbeid",
    "kommune",
    "språkopplæring",
    "praksisplass",
    "mentor",
    "bolig",
    "frivillig",
    "næringsliv",
    "integrering",
    "distrikt",
    "utdanning",
]


def _cases(n: int) -> list[dict[str, object]]:
    return [
        {
            "ref": f"k{i}",
            "title": f"Sak {i} om {WORDS[i % len(WORDS)]}",
            "language": "nb",
            "country": "NO",
            "status": "published",
            "body": " ".join(WORDS[(i + j) % len(WORDS)] for j in range(400)),
        }
        for i in range(n)
    ]


def _run(instance: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KB_INSTANCE_PATH": str(instance), "FLASK_DEBUG": "1"}
    return subprocess.run(
        [sys.executable, "-m", "kb", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_a_worker_killed_mid_write_leaves_an_index_that_check_and_reindex_repair(
    sqlite_template: Path, tmp_path: Path
) -> None:
    instance = instance_from(sqlite_template, tmp_path / "instance")
    data = tmp_path / "cases.json"
    data.write_text(json.dumps(_cases(300)), encoding="utf-8")
    env = {**os.environ, "KB_INSTANCE_PATH": str(instance), "FLASK_DEBUG": "1"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "kb", "import", str(data)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    # Kill it as soon as its database transaction has committed: it is writing the index.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and worker.poll() is None:
        with sqlite3.connect(instance / SQLITE_FILE, timeout=30) as conn:
            if conn.execute("SELECT count(*) FROM case_study").fetchone()[0]:
                break
        time.sleep(0.01)
    killed_while_running = worker.poll() is None
    worker.send_signal(signal.SIGKILL)
    worker.wait()

    check = _run(instance, "search-check")
    if check.returncode != 0:
        assert "Run `kb reindex`" in check.stderr
        repair = _run(instance, "reindex")
        assert repair.returncode == 0, repair.stderr
        assert "Indexed 300 published case(s)." in repair.stdout
        check = _run(instance, "search-check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert killed_while_running, "the import finished before it could be killed"

    app = make_app(instance)
    with app.app_context():
        report, pending = outbox.check(get_backend())
        assert report.ok and pending == 0
        assert get_backend().versions().keys() == set(range(1, 301))
        get_backend().close()
        db.engine.dispose()


def _outbox(instance: Path) -> int:
    with closing(sqlite3.connect(instance / SQLITE_FILE, timeout=30)) as conn:
        return conn.execute("SELECT count(*) FROM search_outbox").fetchone()[0]


@contextmanager
def _server(env: dict[str, str], log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The production entry point under gunicorn, in its own process group (so the test can
    kill master and workers at once). Its worker timeout is short: a request that waited
    for the index would be killed, and its client would see the error."""
    port = load._free_port()
    base = f"http://127.0.0.1:{port}"
    with log.open("a") as errors:
        server = subprocess.Popen(
            [
                str(load.BIN / "gunicorn"),
                *("--config", str(load.CONFIG)),
                *("--workers", "2", "--timeout", "10", "--bind", f"127.0.0.1:{port}"),
                "wsgi:app",
            ],
            env={**env, "KB_BASE_URL": base},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            start_new_session=True,
        )
    try:
        load._wait_until_up(base, server)
        yield base, server
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


class _Writers:
    """Clients that publish cases through the API until stopped; they note what was saved."""

    def __init__(self, base: str, token: str, count: int) -> None:
        self.base, self.token = base, token
        self.saved: list[str] = []
        self.refused: list[str] = []
        self.killed = threading.Event()
        self._threads = [threading.Thread(target=self._loop, args=(n,)) for n in range(count)]
        for thread in self._threads:
            thread.start()

    def _loop(self, number: int) -> None:
        for i in itertools.count():
            ref = f"crash-{number}-{i}"
            case = {
                "ref": ref,
                "title": f"Krasj {number} {i}: {WORDS[i % len(WORDS)]}",
                "language": "nb",
                "country": "NO",
                "status": "published",
            }
            request = urllib.request.Request(  # noqa: S310 - loopback
                f"{self.base}/api/v1/cases",
                data=json.dumps(case).encode(),
                headers={
                    "Authorization": f"Bearer {self.token}",
                    "Content-Type": "application/json",
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                    if response.status == 201:
                        self.saved.append(ref)
            except urllib.error.HTTPError as failed:
                self.refused.append(f"{failed.code} {ref}")
            except OSError as failed:
                if self.killed.is_set():
                    return
                self.refused.append(f"{failed!r} {ref}")

    def stop(self) -> None:
        for thread in self._threads:
            thread.join(timeout=60)


@pytest.mark.slow
@pytest.mark.serial
def test_a_server_killed_during_writes_indexes_every_saved_case_when_it_restarts(
    sqlite_template: Path, tmp_path: Path
) -> None:
    instance = instance_from(sqlite_template, tmp_path / "instance")
    env = load._settings(instance)
    token = load._editor_token(env)
    log = tmp_path / "gunicorn.log"
    # Another writer (a `kb reindex`, say) holds the index: every change waits in the outbox.
    index = WhooshBackend(instance / "search-index", default_vocabulary())
    holder = index.ix.writer()

    with _server(env, log) as (base, server):
        writers = _Writers(base, token, count=3)
        deadline = time.monotonic() + 120
        while len(writers.saved) < 9 and not writers.refused and time.monotonic() < deadline:
            time.sleep(0.05)
        writers.killed.set()
        os.killpg(server.pid, signal.SIGKILL)
        writers.stop()
    holder.cancel()
    index.close()

    assert writers.refused == [], log.read_text()
    assert len(writers.saved) >= 9, log.read_text()
    assert _outbox(instance) > 0  # the kill left committed cases out of the index

    with _server(env, log):  # nothing else is run: the workers drain when they start
        deadline = time.monotonic() + 120
        while _outbox(instance) and time.monotonic() < deadline:
            time.sleep(0.2)
        check = _run(instance, "search-check")

    assert check.returncode == 0, check.stdout + check.stderr + log.read_text()
    with closing(sqlite3.connect(instance / SQLITE_FILE)) as conn:
        published = {
            ref for (ref,) in conn.execute("SELECT ref FROM case_study WHERE status = 'published'")
        }
    assert set(writers.saved) <= published
