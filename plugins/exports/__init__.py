"""Downloads of a case or a search's results (JSON, CSV, Markdown, a printable page), the
links to them, and schema.org data in case pages for search engines."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, request

from kb import toolkit
from kb.toolkit import ExportFormat, Section, hookimpl

from .formats import FORMATS
from .jsonld import case_data

#: After the sections other plugins add to a page: downloads are the page's last word.
LINKS_PRIORITY = 90


@hookimpl
def export_formats() -> tuple[ExportFormat, ...]:
    return FORMATS


@hookimpl
def register_blueprints() -> list[Blueprint]:
    """Only for the printable page's style sheet (the core serves the downloads)."""
    return [
        Blueprint(
            "plugin_exports",
            __name__,
            static_folder="static",
            static_url_path="/plugins/exports/static",
        )
    ]


@hookimpl
def page_sections(slot: str, context: Mapping[str, Any]) -> Section | None:
    case = context.get("case")
    if slot == "head" and case is not None and toolkit.current_page() == "case":
        return Section("exports/jsonld.html", {"data": case_data(case)})
    if slot == "case" and case is not None:
        links = [
            (export.label, toolkit.case_export_url(case, key))
            for key, export in toolkit.export_formats().items()
        ]
        return Section("exports/case_links.html", {"links": links}, LINKS_PRIORITY)
    results = context.get("results")
    if slot == "search" and results is not None and results.total:
        return Section("exports/search_links.html", {"links": _results_links()}, LINKS_PRIORITY)
    return None


def _results_links() -> list[tuple[str, str]]:
    """This search's downloads: every match (the export URL leaves the page number out)."""
    return [
        (export.label, toolkit.search_export_url(key, request.args))
        for key, export in toolkit.export_formats().items()
    ]
