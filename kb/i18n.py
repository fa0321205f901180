"""Locale selection and the translation helpers used across the core.

The UI language is, in order: the reader's own choice (a cookie set by the language
switcher), the browser's ``Accept-Language``, then English.
"""

from __future__ import annotations

from typing import Any

from babel.support import NullTranslations
from flask import Flask, g, has_request_context, request
from flask_babel import Babel, get_translations, gettext, lazy_gettext, ngettext

from kb.models.choices import UI_LANGUAGES

_ = gettext
_l = lazy_gettext

LANGUAGE_COOKIE = "kb_lang"
#: Attribute of Flask-Babel's per-context state: (locale, domain, translations) last used.
_CATALOGUE = "kb_catalogue"
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


def catalogue() -> NullTranslations:
    """The translations ``gettext`` would use now, found once per locale and context.

    Flask-Babel looks them up on every call (its context, the domain, the locale and its
    name, about 12 µs), and a search page translates some 40 strings. They are kept on
    Flask-Babel's own state with the locale and domain they belong to, compared by
    identity, so ``force_locale`` (which sets another locale) and ``refresh`` (which drops
    it) are followed at once.
    """
    try:
        state = g._get_current_object()
    except RuntimeError:  # no app context: Flask-Babel's untranslated catalogue
        return get_translations()
    babel = getattr(state, "_flask_babel", None)
    if babel is not None:
        kept = getattr(babel, _CATALOGUE, None)
        locale = getattr(babel, "babel_locale", None)
        domain = getattr(babel, "babel_domain", None)
        if kept is not None and kept[0] is locale and kept[1] is domain and locale is not None:
            return kept[2]
    translations = get_translations()
    babel = getattr(state, "_flask_babel", None)
    if babel is not None:  # Flask-Babel 4's state; another version's is simply not reused
        kept = (getattr(babel, "babel_locale", None), getattr(babel, "babel_domain", None))
        setattr(babel, _CATALOGUE, (*kept, translations))
    return translations


def _template_gettext(app: Flask) -> None:
    """Templates' ``_``/``gettext`` and friends through ``catalogue()`` (Flask-Babel's own
    callables, but for the lookup)."""
    calls: dict[str, Any] = {
        "gettext": lambda s: catalogue().ugettext(s),
        "ngettext": lambda s, p, n: catalogue().ungettext(s, p, n),
        "pgettext": lambda c, s: catalogue().upgettext(c, s),
        "npgettext": lambda c, s, p, n: catalogue().unpgettext(c, s, p, n),
    }
    app.jinja_env.install_gettext_callables(**calls, newstyle=True)


def init_app(app: Flask) -> None:
    # One Babel per app, not a shared one: Flask-Babel caches the loaded catalogues on it,
    # and apps with different plugins merge different catalogues.
    Babel(app, locale_selector=select_locale)
    _template_gettext(app)
