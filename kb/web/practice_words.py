"""The practice template's closed lists in words: the case form's choices, the case page,
the review's changes and the search facets all name a value the same way."""

from __future__ import annotations

from typing import Any

from flask_babel import force_locale

from kb.i18n import _l
from kb.models import BudgetBand, EvaluatedBy, PracticeStatus

#: Field (or facet) name -> value -> its name in the reader's language.
CHOICE_LABELS: dict[str, dict[str, Any]] = {
    "practice_status": {
        PracticeStatus.PLANNED: _l("Planned"),
        PracticeStatus.RUNNING: _l("Running"),
        PracticeStatus.ENDED: _l("Ended"),
        PracticeStatus.PERMANENT: _l("Made permanent or scaled up"),
        PracticeStatus.DISCONTINUED: _l("Discontinued"),
    },
    "evaluated_by": {
        EvaluatedBy.SELF: _l("By those who did the work"),
        EvaluatedBy.EXTERNAL: _l("By an external evaluator"),
        EvaluatedBy.RESEARCH: _l("By researchers"),
    },
    "budget_band": {
        BudgetBand.UNDER_100K: _l("Under 100,000 euros"),
        BudgetBand.FROM_100K: _l("100,000 to 500,000 euros"),
        BudgetBand.FROM_500K: _l("500,000 to 2 million euros"),
        BudgetBand.OVER_2M: _l("Over 2 million euros"),
    },
}


#: The template's texts by their key, named as their sections on the case page.
FIELD_LABELS: dict[str, Any] = {
    "background": _l("Background"),
    "evaluation_method": _l("How the results were measured"),
    "evaluated_by": _l("Who evaluated it"),
    "funding": _l("Funding"),
    "staff": _l("Staff"),
    "lessons_learned": _l("Lessons learned"),
    "transferability": _l("What it takes to do it elsewhere"),
}


def field_label(field: str) -> str:
    """A template field's name in the reader's language (a plugin's section heading)."""
    return str(FIELD_LABELS[field])


def choice_label(value: str | None, field: str, language: str | None = None) -> str:
    """A stored value of ``field`` in words (a template filter: ``value|choice_label(field)``),
    in the reader's language or in ``language``; an unknown one as it is, so nothing is hidden.
    """
    if not value:
        return ""
    label = CHOICE_LABELS.get(field, {}).get(value, value)
    if language is None:
        return str(label)
    with force_locale(language):
        return str(label)


def form_choices(field: str) -> list[tuple[str, Any]]:
    """A select's options: "not stated" first, then the values in their list's order."""
    return [("", _l("Not stated")), *((str(k), v) for k, v in CHOICE_LABELS[field].items())]
