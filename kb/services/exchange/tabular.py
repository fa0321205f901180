"""Cases as a CSV table, one row per case, safe to open in a spreadsheet program.

One implementation for every CSV the site offers (downloads, the API, ``kb export``).
Spreadsheets run a cell that starts like a formula, so such cells get a leading
apostrophe, as OWASP's advice on CSV injection says; every cell is quoted as well, so a
separator or quote in the text cannot start a new cell. The file starts with a UTF-8 byte
order mark, without which Excel reads the Nordic letters as another encoding.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from kb.models import Case
from kb.services.mail import external_url

COLUMNS = (
    "id",
    "ref",
    "slug",
    "url",
    "title",
    "summary",
    "language",
    "country",
    "municipality",
    "region",
    "population_band",
    "urban_rural",
    "themes",
    "target_groups",
    "period",
    "published",
    "events",
    "sessions",
    "practice_status",
    "practice_status_year",
    "budget_band",
)
#: Between the values of a many-valued cell (themes, events, ...).
LIST_SEPARATOR = "; "
BOM = "\ufeff"
#: A cell starting with one of these is a formula (or becomes one) in some spreadsheet
#: program; the full-width forms count as the ASCII ones in East Asian versions of Excel.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0", "＝", "＋", "－", "＠")


def neutralise(value: str) -> str:
    """The text as a cell a spreadsheet shows as text and never evaluates."""
    return f"'{value}" if value.lstrip(" ").startswith(FORMULA_TRIGGERS) else value


def case_row(case: Case) -> dict[str, str | int]:
    """A case's cells by column name, before neutralising."""
    return {
        "id": case.id,
        "ref": case.ref or "",
        "slug": case.slug,
        "url": external_url("public.case", slug=case.slug),
        "title": case.title,
        "summary": case.summary,
        "language": case.language,
        "country": case.country,
        "municipality": case.municipality or "",
        "region": case.region or "",
        "population_band": case.population_band or "",
        "urban_rural": case.urban_rural or "",
        "themes": LIST_SEPARATOR.join(term.key for term in case.themes),
        "target_groups": LIST_SEPARATOR.join(term.key for term in case.target_groups),
        "period": case.period or "",
        "published": case.published_at.date().isoformat() if case.published_at else "",
        "events": LIST_SEPARATOR.join(event.title for event in case.events),
        "sessions": LIST_SEPARATOR.join(session.title for session in case.sessions),
        "practice_status": case.practice_status or "",
        "practice_status_year": case.practice_status_year or "",
        "budget_band": case.budget_band or "",
    }


def cases_csv(cases: Iterable[Case]) -> str:
    """The cases as CSV text: a header row, then one row per case; CRLF line endings."""
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, quoting=csv.QUOTE_ALL)
    writer.writeheader()
    for case in cases:
        writer.writerow({name: _cell(value) for name, value in case_row(case).items()})
    return BOM + out.getvalue()


def _cell(value: str | int) -> str | int:
    return neutralise(value) if isinstance(value, str) else value
