"""The problems of a form, listed for the error summary at its top (the GOV.UK pattern):
each a message and the id of the field to jump to, in the order the fields appear."""

from __future__ import annotations

from dataclasses import dataclass

from wtforms import Field, Form
from wtforms.fields import FieldList, FormField
from wtforms.widgets import CheckboxInput


@dataclass(frozen=True)
class Problem:
    target: str
    label: str
    message: str


def form_problems(form: Form) -> list[Problem]:
    """Every field error of ``form``, rows of repeated groups included."""
    return list(_problems(form, ""))


def _problems(form: Form, prefix: str) -> list[Problem]:
    found = []
    for field in form:
        if isinstance(field, FieldList):
            for index, entry in enumerate(field.entries, start=1):
                row = f"{prefix}{field.label.text} {index}: "
                if isinstance(entry, FormField):
                    found += _problems(entry.form, row)
        elif isinstance(field, FormField):
            found += _problems(field.form, prefix)
        else:
            found += [
                Problem(_target(field), f"{prefix}{field.label.text}", str(message))
                for message in field.errors
            ]
    return found


def _target(field: Field) -> str:
    """A checkbox group is reached at its first box; any other field by its own id."""
    if isinstance(getattr(field, "option_widget", None), CheckboxInput):
        return f"{field.id}-0"
    return str(field.id)
