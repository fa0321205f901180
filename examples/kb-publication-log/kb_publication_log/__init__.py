"""An example plugin that keeps data: each publication of a case, in a table of its own.

The table ``publog_entry`` is created by the plugin's own Alembic branch (``publog``, in
``migrations/``), applied by ``kb db upgrade`` while the plugin is enabled and removed by
``kb db downgrade-plugin publog``. The plugin writes it through ``toolkit.data_transaction()``
and reads it through ``toolkit.data_reader()``; it imports nothing else from the core.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from flask import Blueprint, Flask, render_template
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, select

from kb import toolkit
from kb.toolkit import Case, MenuLink, _l, hookimpl

metadata = MetaData()
#: A plugin's tables are named after it (``publog_...``): the core's schema check skips them.
entries = Table(
    "publog_entry",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, nullable=False),
    Column("slug", String(200), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
)

bp = Blueprint("plugin_publog", __name__, url_prefix="/publication-log")


@bp.get("/")
def recent() -> str:
    with toolkit.data_reader() as connection:
        rows = connection.execute(select(entries).order_by(entries.c.id.desc()).limit(50)).all()
    return render_template("publog/recent.html", rows=rows)


@hookimpl
def migration_locations() -> list[str]:
    """Where this plugin's Alembic branch is (``migrations/`` is also found without the hook)."""
    return [str(Path(__file__).parent / "migrations")]


@hookimpl
def register_blueprints(app: Flask) -> list[Blueprint]:
    return [bp]


@hookimpl
def case_published(case: Case) -> None:
    with toolkit.data_transaction() as connection:
        connection.execute(
            entries.insert().values(case_id=case.id, slug=case.slug, published_at=datetime.now(UTC))
        )


@hookimpl
def menu_links(menu: str) -> list[MenuLink]:
    if menu == "footer":
        return [MenuLink(label=_l("Publication log"), endpoint="plugin_publog.recent")]
    return []
