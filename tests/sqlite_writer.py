"""A worker process for the SQLite concurrency test: writes cases, then reports as JSON.

Each write reads first (vocabulary, slug collisions: every worker uses the same title),
which is exactly the read-then-write pattern that fails under a deferred ``BEGIN``.
"""

from __future__ import annotations

import json
import sys
import time

from sqlalchemy import func, select

from kb import create_app
from kb.extensions import db
from kb.models import Case
from kb.services.exchange.importer import import_plan, plan_import


def run(instance: str, worker: int, seconds: float) -> dict[str, object]:
    app = create_app({"INSTANCE_PATH": instance, "TESTING": True})
    written: list[str] = []
    errors: list[str] = []
    with app.app_context():
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ref = f"w{worker}-{len(written) + len(errors)}"
            record = {
                "ref": ref,
                "title": "Samme tittel i alle prosesser",
                "language": "nb",
                "country": "NO",
                "themes": ["employment"],
                "status": "published",
            }
            try:
                import_plan(plan_import([record]))
                written.append(ref)
            except Exception as exc:  # reported to the test, which fails on any
                errors.append(repr(exc))
            # A read between writes, as a web worker serving pages would do.
            db.session.scalar(select(func.count()).select_from(Case))
    return {"written": written, "errors": errors[:5], "error_count": len(errors)}


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))))
