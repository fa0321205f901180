"""Prepare the load test's instance: ``kb init``, ``kb demo``, then synthetic cases at scale:

    KB_INSTANCE_PATH=... .venv/bin/python -m tests.load_cases 10000

All of it runs in one process, because each ``kb`` command would start the app anew. The
synthetic cases come from the benchmark's corpus (tests/bench/corpus.py: real words with
Zipf-like frequencies, the sample cases' languages, countries, themes and target groups).
They are real ``Case`` rows, so case pages and the search page's result loading work on
them. Importing 10,000 cases one ORM object at a time would take longer than the load
itself; here they go in through SQLAlchemy Core in one write transaction. Core inserts
skip the search outbox, so ``kb reindex`` follows: one rebuild instead of 10,000 index
commits.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from flask.testing import FlaskCliRunner
from sqlalchemy import func, insert, select

from kb import create_app
from kb.cli import main as kb
from kb.database import write_transaction
from kb.extensions import db
from kb.models import Case, CaseStatus, Vocabulary
from kb.models.base import utcnow
from kb.models.case import case_target_group, case_theme
from kb.search.backend import IndexDocument
from kb.services.vocabulary import terms_by_key
from tests.bench.corpus import documents


def insert_cases(corpus: Iterable[IndexDocument]) -> int:
    """Write ``corpus`` as published cases with their themes and target groups."""
    themes = {key: term.id for key, term in terms_by_key(Vocabulary.THEME).items()}
    groups = {key: term.id for key, term in terms_by_key(Vocabulary.TARGET_GROUP).items()}
    now = utcnow()
    cases, theme_links, group_links = [], [], []
    with write_transaction() as session:
        first_id = (session.scalar(select(func.max(Case.id))) or 0) + 1
        for case_id, doc in enumerate(corpus, start=first_id):
            cases.append(
                {
                    "id": case_id,
                    "ref": doc.ref,
                    "slug": doc.slug,
                    "title": doc.title,
                    "summary": doc.summary,
                    "body": doc.body,
                    "outcomes": "",
                    "language": doc.language,
                    "country": doc.country,
                    "start_year": doc.years[0] if doc.years else None,
                    "end_year": doc.years[-1] if doc.years else None,
                    "status": CaseStatus.PUBLISHED.value,
                    "published_at": doc.published_at,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            theme_links += [{"case_id": case_id, "term_id": themes[k]} for k in doc.themes]
            group_links += [{"case_id": case_id, "term_id": groups[k]} for k in doc.target_groups]
        session.execute(insert(Case.__table__), cases)
        session.execute(insert(case_theme), theme_links)
        session.execute(insert(case_target_group), group_links)
    return len(cases)


def _kb(runner: FlaskCliRunner, command: str) -> None:
    result = runner.invoke(kb, [command])
    if result.exit_code != 0:
        raise SystemExit(f"kb {command} failed:\n{result.output}")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    app = create_app()
    runner = app.test_cli_runner()
    _kb(runner, "init")
    _kb(runner, "demo")
    if count:
        with app.app_context():
            inserted = insert_cases(documents(count))
            db.session.remove()
        print(f"Inserted {inserted} published case(s).")
        _kb(runner, "reindex")


if __name__ == "__main__":
    main()
