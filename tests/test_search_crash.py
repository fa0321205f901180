"""A worker killed while it writes the index: the database stays right and the index can
always be brought back to it."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from kb.extensions import db
from kb.search import get_backend, sync
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
        report, pending = sync.check(get_backend())
        assert report.ok and pending == 0
        assert get_backend().versions().keys() == set(range(1, 301))
        get_backend().close()
        db.engine.dispose()
