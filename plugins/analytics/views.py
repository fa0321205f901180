"""The plugin's pages: the click-through of a result link, and the editors' report.

A result link goes to ``/analytics/opened/<token>/<case>``, which counts the opening and
redirects to the case's own URL. So the case page keeps one URL (shared caches and search
engines see no extra parameter), the redirect itself is never stored (``no-store``), and it can
lead nowhere but to a published case: no open redirect.
"""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, redirect, render_template, request
from flask.typing import ResponseReturnValue

from kb import toolkit

from . import recording, reports

bp = Blueprint("plugin_analytics", __name__)

CSV_COLUMNS = (
    "list",
    "month",
    "language",
    "query",
    "filters",
    "searches",
    "zero_results",
    "opened",
    "results",
)


#: What a spreadsheet would read as a formula at the start of a cell.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    """Visitors' words in a cell a spreadsheet shows as text, never runs as a formula."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


@bp.get("/analytics/opened/<token>/<case>")
def opened(token: str, case: str) -> ResponseReturnValue:
    found = toolkit.published_case(case)
    if found is None:
        abort(404)
    recording.opened(token)
    response = redirect(toolkit.case_url(found))
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _scope() -> tuple[str | None, str | None]:
    """The month and UI language asked for (anything unknown means all)."""
    month = request.args.get("month") or None
    language = request.args.get("language") or None
    if month is not None and not reports.MONTH.fullmatch(month):
        month = None
    if language is not None and language not in toolkit.ui_languages():
        language = None
    return month, language


@bp.get("/editor/analytics")
@toolkit.editor_required
def report() -> ResponseReturnValue:
    month, language = _scope()
    return render_template(
        "analytics/report.html",
        report=reports.report(month, language),
        months=reports.months_recorded(),
        languages=toolkit.ui_languages(),
        month=month,
        language=language,
        limit=reports.LIMIT,
        search_url=toolkit.search_url,
    )


@bp.get("/editor/analytics.csv")
@toolkit.editor_required
def report_csv() -> ResponseReturnValue:
    month, language = _scope()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for name, rows in reports.report(month, language).lists().items():
        for row in rows:
            writer.writerow(
                [
                    name,
                    row.month,
                    row.language,
                    _cell(row.query),
                    _cell(row.filters),
                    row.searches,
                    row.zero_results,
                    row.opened,
                    row.results,
                ]
            )
    filename = "-".join(["search-analytics", month or "all", language or "all"]) + ".csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )
