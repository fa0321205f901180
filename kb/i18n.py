"""Locale selection and the translation helpers used across the core.

The UI language is, in order: the reader's own choice (a cookie set by the language
switcher), the browser's ``Accept-Language``, then English.
"""

from __future__ import annotations

from flask import Flask, has_request_context, request
from flask_babel import Babel, gettext, lazy_gettext, ngettext

from kb.models.choices import UI_LANGUAGES

_ = gettext
_l = lazy_gettext

LANGUAGE_COOKIE = "kb_lang"
#: Browsers say "no" or "nn" for Norwegian; the UI speaks bokmål.
_ALIASES = {"no": "nb", "nn": "nb", "nb": "nb"}

#: Each UI language's name in itself, for the language switcher.
NATIVE_NAMES = {
    "en": "English",
    "nb": "Norsk (bokmål)",
    "sv": "Svenska",
    "da": "Dansk",
    "fi": "Suomi",
    "is": "Íslenska",
}

__all__ = ["LANGUAGE_COOKIE", "NATIVE_NAMES", "_", "_l", "init_app", "ngettext", "select_locale"]


def ui_language(code: str | None) -> str | None:
    """The UI language for a language tag ("sv-FI" -> "sv", "nn" -> "nb"), if we speak it."""
    if not code:
        return None
    primary = code.replace("_", "-").split("-")[0].lower()
    primary = _ALIASES.get(primary, primary)
    return primary if primary in UI_LANGUAGES else None


def select_locale() -> str:
    if not has_request_context():  # the CLI and background work speak the default language
        return "en"
    chosen = ui_language(request.cookies.get(LANGUAGE_COOKIE))
    if chosen:
        return chosen
    for tag, _quality in request.accept_languages:
        language = ui_language(tag)
        if language:
            return language
    return "en"


def init_app(app: Flask) -> None:
    # One Babel per app, not a shared one: Flask-Babel caches the loaded catalogues on it,
    # and apps with different plugins merge different catalogues.
    Babel(app, locale_selector=select_locale)
