"""Reading time: how long a case takes to read, on its page and as a search filter.

An example third-party plugin: installed with pip, found through the ``kb.plugins``
entry point, enabled with ``KB_PLUGINS=default,reading_time``. It imports only
``kb.toolkit`` from the knowledge base.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click
from flask import Blueprint, render_template

from kb.toolkit import (
    Case,
    Facet,
    IndexExtras,
    MenuLink,
    SearchRequest,
    Section,
    _l,
    hookimpl,
    published_cases,
    search,
    search_url,
)

WORDS_PER_MINUTE = 200
FACET = "reading_time"
#: Upper bounds in minutes; anything longer is a long read.
BANDS = (("short", 3), ("medium", 8))
LONG = "long"
LABELS = {"short": _l("Short (up to 3 minutes)"), "medium": _l("Medium (4–8 minutes)")}
LONG_LABEL = _l("Long (more than 8 minutes)")

bp = Blueprint("plugin_reading_time", __name__, url_prefix="/reading-time")


def minutes(case: Case) -> int:
    """Minutes to read the case's text at an unhurried pace (at least one)."""
    text = " ".join(part or "" for part in (case.summary, case.body, case.outcomes))
    return max(1, round(len(text.split()) / WORDS_PER_MINUTE))


def band(case: Case) -> str:
    needed = minutes(case)
    return next((name for name, limit in BANDS if needed <= limit), LONG)


def band_label(value: str) -> str:
    return str(LABELS.get(value, LONG_LABEL))


@bp.get("/")
def overview() -> str:
    counts = search(SearchRequest(per_page=1, facets=(FACET,))).facets.get(FACET, {})
    bands = [
        (band_label(name), counts.get(name, 0), search_url({FACET: name}))
        for name in [*(name for name, _limit in BANDS), LONG]
    ]
    return render_template("reading_time/overview.html", bands=bands)


@hookimpl
def register_blueprints() -> list[Blueprint]:
    return [bp]


@hookimpl
def register_commands(cli: click.Group) -> None:
    @cli.command("reading-time")
    def reading_time() -> None:
        """Print the reading time of every published case."""
        page_number, pages = 1, 1
        while page_number <= pages:
            page = published_cases(page_number, per_page=100)
            for case in page.items:
                click.echo(f"{minutes(case):3} min  {case.slug}")
            page_number, pages = page_number + 1, page.pages


@hookimpl
def page_sections(slot: str, context: Mapping[str, Any]) -> Section | None:
    if slot != "case":
        return None
    # Before the other plugins' sections (related cases, downloads): it belongs to the text.
    return Section("reading_time/minutes.html", {"minutes": minutes(context["case"])}, 10)


@hookimpl
def search_facets() -> Facet:
    return Facet(FACET, _l("Reading time"), value_label=band_label)


@hookimpl
def index_extras(case: Case) -> IndexExtras:
    return IndexExtras(facets={FACET: [band(case)]})


@hookimpl
def menu_links(menu: str) -> MenuLink | None:
    if menu != "footer":
        return None
    return MenuLink(_l("Reading times"), "plugin_reading_time.overview")
