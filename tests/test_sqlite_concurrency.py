"""Several worker processes writing to one SQLite database at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from kb.extensions import db
from kb.models import Case
from kb.search import get_backend
from kb.services.indexing import outbox
from tests.conftest import instance_from, make_app

WORKERS = 4
SECONDS = float(os.environ.get("KB_CONCURRENCY_SECONDS", "15"))
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.serial
def test_four_processes_writing_for_15_seconds_lose_nothing_and_never_lock(
    sqlite_template: Path, tmp_path: Path
) -> None:
    instance = instance_from(sqlite_template, tmp_path / "instance")

    workers = [
        subprocess.Popen(
            [
                sys.executable,
                # As a module from the top folder: "plugins" is then the first-party package.
                "-m",
                "tests.sqlite_writer",
                str(instance),
                str(n),
                str(SECONDS),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for n in range(WORKERS)
    ]
    reports = []
    for worker in workers:
        out, err = worker.communicate(timeout=SECONDS + 120)
        assert worker.returncode == 0, err
        reports.append(json.loads(out))

    assert [r["errors"] for r in reports] == [[]] * WORKERS
    written = sorted(ref for r in reports for ref in r["written"])
    assert all(len(r["written"]) > 10 for r in reports), [len(r["written"]) for r in reports]
    app = make_app(instance)
    with app.app_context():
        stored = db.session.execute(select(Case.ref, Case.slug)).all()
        # Every process also wrote to the search index after each commit, in turn.
        report, pending = outbox.check(get_backend())
        get_backend().close()
        db.engine.dispose()
    assert sorted(ref for ref, _ in stored) == written
    assert len({slug for _, slug in stored}) == len(stored)
    assert report.ok, report
    assert pending == 0
