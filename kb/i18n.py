"""Locale selection and the translation helpers used across the core."""

from __future__ import annotations

from flask import Flask, request
from flask_babel import gettext, lazy_gettext, ngettext

from kb.extensions import babel
from kb.models.choices import UI_LANGUAGES

_ = gettext
_l = lazy_gettext

__all__ = ["_", "_l", "init_app", "ngettext", "select_locale"]


def select_locale() -> str:
    """The browser's preferred UI language among those we speak, else English."""
    return request.accept_languages.best_match(UI_LANGUAGES, default="en")


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
