"""Filters and globals for templates: labels in the reader's language, safe Markdown."""

from __future__ import annotations

from urllib.parse import urlsplit

from babel import Locale
from flask import Flask, request, url_for
from flask_babel import format_date, format_datetime, format_decimal, get_locale

from kb.i18n import NATIVE_NAMES
from kb.markdown import render_markdown
from kb.models import VocabularyTerm
from kb.services.labels import Term
from kb.web.form_errors import form_problems
from kb.web.municipality_profile import HEADINGS, profile_choices, profile_label
from kb.web.practice_words import choice_label


def term_label(term: VocabularyTerm | Term) -> str:
    locale = get_locale()
    return term.label(str(locale) if locale else None)


def _ui_locale() -> Locale:
    return get_locale() or Locale("en")


def country_name(code: str | None) -> str:
    if not code:
        return ""
    return _ui_locale().territories.get(code, code)


def language_name(code: str | None) -> str:
    if not code:
        return ""
    return _ui_locale().languages.get(code, code)


def key_figure_value(value: float) -> str:
    return format_decimal(value, format="#,##0.##")


def site_name(url: str) -> str:
    """The host a link goes to, without "www.": what names an untitled link."""
    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")


#: Stands for a language code in the one switcher URL built per page.
_CODE = "0-code-0"


def language_links() -> list[tuple[str, str, str]]:
    """(code, name in that language, URL) for the switcher; each link returns here.

    The codes are plain letters, the same in a URL as written: one URL is built and the
    others around it (every page shows six)."""
    here = request.full_path.rstrip("?") if request else "/"
    head, _, tail = url_for("public.language", code=_CODE, next=here).partition(_CODE)
    return [(code, name, f"{head}{code}{tail}") for code, name in NATIVE_NAMES.items()]


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        markdown=render_markdown,
        term_label=term_label,
        country_name=country_name,
        language_name=language_name,
        key_figure_value=key_figure_value,
        site_name=site_name,
        format_date=format_date,
        format_datetime=format_datetime,
        choice_label=choice_label,
    )
    app.jinja_env.globals.update(
        current_locale=_ui_locale, language_links=language_links, form_problems=form_problems
    )
    # The municipality profile: ``profile_label("urban_rural", case.urban_rural)``.
    app.jinja_env.globals.update(
        profile_headings=HEADINGS, profile_label=profile_label, profile_choices=profile_choices
    )
