"""Implements every hook and records what the core asked of it, for tests/test_plugin_hooks.py.

Like a real plugin it imports only ``kb.toolkit`` from the core.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from flask import Blueprint, Flask, current_app, render_template
from jinja2 import Environment

from kb.toolkit import (
    Case,
    ExportFormat,
    Facet,
    IndexExtras,
    MenuLink,
    SearchRequest,
    SearchResults,
    Section,
    hookimpl,
    published_cases,
    search,
)

RECORD = "tests.recorder"
#: Added to every indexed case, so a search shows that the extra text is searchable.
MARKER_WORD = "recorderword"
#: The page variables the documented slots promise (``kb.hookspecs.SLOTS``).
PAGE_VARIABLES = ("case", "cases", "event", "results", "session")

bp = Blueprint("plugin_recorder", __name__, url_prefix="/recorder")


def calls() -> list[tuple[Any, ...]]:
    """What the hooks were called with, in this app, in order."""
    return current_app.extensions.setdefault(RECORD, [])


def _indexed(case: Case) -> bool:
    hits = search(SearchRequest(q=MARKER_WORD, per_page=100)).hits
    return any(hit.id == case.id for hit in hits)


@bp.get("/hello")
def hello() -> str:
    return render_template("recorder/hello.html", name="recorder")


@hookimpl
def startup(app: Flask) -> None:
    app.extensions.setdefault(RECORD, []).append(("startup", sorted(app.blueprints)))


@hookimpl
def register_blueprints() -> list[Blueprint]:
    return [bp]


@hookimpl
def register_commands(cli: click.Group) -> None:
    @cli.command("recorder-count")
    def count() -> None:
        """Print how many cases are published."""
        click.echo(f"{published_cases(1).total} published cases")


@hookimpl
def migration_locations() -> list[str]:
    """Not the usual ``migrations/`` folder, so only the hook can tell where it is."""
    calls().append(("migration_locations",))
    return [str(Path(__file__).parent / "schema")]


@hookimpl
def prepare_jinja_env(env: Environment) -> None:
    env.filters["shout"] = lambda text: f"{str(text).upper()}!"


@hookimpl
def page_sections(slot: str, context: Mapping[str, Any]) -> list[Section]:
    calls().append(
        (
            "page_sections",
            slot,
            [name for name in PAGE_VARIABLES if name in context],
        )
    )
    if slot == "head":
        return [Section("recorder/meta.html", {"slot": slot})]
    # Returned late first: the priorities, not the order returned, decide the page order.
    return [
        Section("recorder/section.html", {"slot": slot, "name": "late"}, priority=90),
        Section("recorder/section.html", {"slot": slot, "name": "early"}, priority=10),
    ]


@hookimpl
def menu_links(menu: str) -> MenuLink:
    return MenuLink(f"Recorder in {menu}", "plugin_recorder.hello")


@hookimpl
def search_facets() -> Facet:
    return Facet("parity", "Parity of the id", value_label=lambda value: f"{value} ids")


@hookimpl
def search_performed(search: SearchRequest, results: SearchResults, language: str) -> None:
    calls().append(("search_performed", search.q, results.total, language))


@hookimpl
def index_extras(case: Case) -> IndexExtras:
    parity = "even" if case.id % 2 == 0 else "odd"
    # "undeclared" is no facet of any plugin: the core drops it.
    return IndexExtras(text=MARKER_WORD, facets={"parity": [parity], "undeclared": ["x"]})


@hookimpl
def export_formats() -> ExportFormat:
    return ExportFormat(
        key="titles",
        label="Titles",
        media_type="text/plain",
        extension="txt",
        render=lambda cases: "\n".join(case.title for case in cases),
    )


@hookimpl
def case_submitted(case: Case) -> None:
    calls().append(("case_submitted", case.id, case.status))


@hookimpl
def case_published(case: Case) -> None:
    calls().append(("case_published", case.id, case.status, _indexed(case)))


@hookimpl
def case_unpublished(case: Case) -> None:
    calls().append(("case_unpublished", case.id, case.status, _indexed(case)))


@hookimpl
def case_deleted(case_id: int, slug: str, ref: str | None) -> None:
    calls().append(("case_deleted", case_id, slug, ref))


@hookimpl
def personal_data_export(email: str) -> dict[str, Any] | None:
    """A mapping, which must reach the export whole; nothing for other addresses."""
    calls().append(("personal_data_export", email))
    return {"greeted": [email]} if email.startswith("mia@") else None


@hookimpl
def personal_data_erase(email: str) -> int:
    calls().append(("personal_data_erase", email))
    return 1 if email.startswith("mia@") else 0
