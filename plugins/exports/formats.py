"""The download formats: the exchange format (JSON), a CSV table, Markdown and a printable page.

JSON and CSV come from the core, so that downloads, the API and ``kb export`` agree; the
Markdown and the printable page are this plugin's templates. Every format shows what the
case page shows: its contacts, and their e-mail and phone only when they consented.
"""

from __future__ import annotations

import json

from flask import render_template

from kb import toolkit
from kb.toolkit import Case, ExportFormat, _l


def contacts(case: Case) -> list[tuple[toolkit.Person, str | None]]:
    """(person, role) of the case's contacts; ``Person.public_contact()`` gates details."""
    return [(c.person, c.role) for c in case.contacts]


def exchange_json(cases: list[Case]) -> str:
    """The cases as an exchange-format document that ``kb import`` reads back."""
    document = toolkit.cases_document(cases, public=True)
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"


def markdown_document(cases: list[Case]) -> str:
    """The cases as one readable Markdown file, for notes, wikis and e-mail: as safe as the
    case page wherever it is rendered (raw HTML escaped, no ``javascript:`` links)."""
    return _render(
        "exports/cases.md", cases, markdown=toolkit.inert_markdown, text=toolkit.markdown_text
    )


def printable_page(cases: list[Case]) -> str:
    """A standalone page that prints well and saves as PDF from the browser."""
    return _render("exports/printable.html", cases)


def _render(template: str, cases: list[Case], **helpers: object) -> str:
    return render_template(
        template,
        cases=cases,
        contacts=contacts,
        case_url=toolkit.case_url,
        material_url=toolkit.material_url,
        **helpers,
    )


FORMATS = (
    ExportFormat("json", "JSON", "application/json", "json", exchange_json),
    # Werkzeug adds "; charset=utf-8" to text/* media types itself.
    ExportFormat("csv", "CSV", "text/csv", "csv", toolkit.cases_csv),
    ExportFormat("markdown", "Markdown", "text/markdown", "md", markdown_document),
    ExportFormat("html", _l("Printable page"), "text/html", "html", printable_page, inline=True),
)
