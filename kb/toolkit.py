"""The one module plugins import from the core: a stable facade over models and services.

Plugins in ``plugins/`` import nothing else from ``kb`` (a test enforces it); third-party
plugins should do the same, since everything else may change between releases. What is
here keeps its name and meaning; additions and removals are announced in
``docs/plugins.md`` ("Toolkit changes").

Models are for reading, through the named queries below, which load what a public page
shows. Changes go through the service functions here (``decide``), so that revisions, the
search index and the other plugins' hooks stay right; the toolkit offers no database
session, only connections for a plugin's own tables (``data_transaction``, ``data_reader``).
Links to the core's pages come from named functions (``case_url``...), never from an
endpoint's name, so a renamed endpoint cannot break a plugin silently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from email.message import EmailMessage
from typing import Any

from flask import Flask, current_app, render_template
from flask_babel import force_locale, get_locale
from flask_sqlalchemy.pagination import Pagination as Page
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import Connection
from werkzeug.datastructures import MultiDict

from kb import plugins as _plugins
from kb.database import separate_transaction as _separate_transaction
from kb.extensions import csrf as _csrf
from kb.extensions import limiter as _limiter
from kb.hookspecs import (
    MENUS,
    SLOTS,
    ExportFormat,
    Facet,
    IndexExtras,
    MenuLink,
    ResultLink,
    Section,
    hookimpl,
)
from kb.i18n import _, _l, ngettext
from kb.markdown import inert_markdown, markdown_text, render_markdown
from kb.models import (
    UI_LANGUAGES,
    BudgetBand,
    Case,
    CaseStatus,
    Event,
    Material,
    Organisation,
    Person,
    Role,
    Session,
    User,
    Vocabulary,
    VocabularyTerm,
)
from kb.plugins import PluginError
from kb.search import facet_names as _facet_names
from kb.search import get_backend as _get_backend
from kb.search.analysis import fold as _fold
from kb.search.backend import FACETS, SearchHit, SearchRequest, SearchResults
from kb.services import catalogue as _catalogue
from kb.services import harvest as _harvest
from kb.services import labels as _labels
from kb.services import mail as _mail
from kb.services import personal_data as _personal_data
from kb.services.exchange.exporter import case_record, cases_document
from kb.services.exchange.tabular import cases_csv
from kb.services.harvest import HarvestFilter, country_names, earliest_change
from kb.services.harvest import Position as HarvestPosition
from kb.services.mail import MailNotSent, external_url
from kb.services.review import DecisionRefused, decide

# Text rules (kb.text): what XML can carry.
from kb.text import is_xml_safe, xml_safe
from kb.web.access import current_account, editor_required, role_required
from kb.web.page_urls import (
    case_export_url,
    case_url,
    current_page,
    event_url,
    home_url,
    material_url,
    search_export_url,
    search_url,
    session_url,
)
from kb.web.practice_words import choice_label
from kb.web.practice_words import field_label as practice_field_label
from kb.web.search_params import BadParameter
from kb.web.search_params import search_request as _search_request
from kb.web.template_helpers import country_name, language_name, term_label

__all__ = [
    "FACETS",
    "MENUS",
    "SLOTS",
    "BadParameter",
    "BadSignature",
    "BudgetBand",
    "Case",
    "CaseStatus",
    "DecisionRefused",
    "Event",
    "ExportFormat",
    "Facet",
    "HarvestFilter",
    "HarvestPosition",
    "IndexExtras",
    "MailNotSent",
    "Material",
    "MenuLink",
    "Organisation",
    "Page",
    "Person",
    "PluginError",
    "ResultLink",
    "Role",
    "SearchHit",
    "SearchRequest",
    "SearchResults",
    "Section",
    "Session",
    "SignatureExpired",
    "User",
    "Vocabulary",
    "VocabularyTerm",
    "_",
    "_l",
    "case_export_url",
    "case_record",
    "case_url",
    "cases_csv",
    "cases_document",
    "choice_label",
    "country_name",
    "country_names",
    "csrf_exempt",
    "current_account",
    "current_language",
    "current_page",
    "data_reader",
    "data_transaction",
    "decide",
    "earliest_change",
    "editor_required",
    "enabled_plugins",
    "event_by_slug",
    "event_url",
    "export_formats",
    "external_url",
    "fold",
    "harvest_count",
    "harvest_page",
    "harvestable_case",
    "home_url",
    "hookimpl",
    "in_language",
    "inert_markdown",
    "is_xml_safe",
    "language_name",
    "link_signer",
    "markdown_text",
    "material_url",
    "ngettext",
    "normal_address",
    "one_mail_connection",
    "practice_field_label",
    "published_case",
    "published_cases",
    "published_cases_by_ids",
    "rate_limit",
    "related_cases",
    "render_markdown",
    "role_required",
    "search",
    "search_cases",
    "search_export_url",
    "search_facets",
    "search_filter_label",
    "search_params",
    "search_request",
    "search_url",
    "send_mail",
    "session_by_slug",
    "session_url",
    "term_label",
    "ui_languages",
    "vocabulary_term",
    "vocabulary_terms",
    "xml_safe",
]


def search(request: SearchRequest) -> SearchResults:
    """Search the published cases, with whichever search backend the site runs.

    ``search_cases(request)`` gives the whole cases a search finds instead.
    """
    return _get_backend().search(request)


def related_cases(case: Case, limit: int = 4) -> list[Case]:
    """Published cases like ``case`` (its words, concepts across languages, themes), best
    first; the search index finds them, the database has the last word on what is public."""
    hits = _get_backend().related(case.id, limit=limit)
    return _catalogue.published_by_ids([hit.id for hit in hits], whole=False)


def search_request(args: Mapping[str, Any] | MultiDict[str, str], **defaults: Any) -> SearchRequest:
    """A search from URL parameters, checked like the search page's (``BadParameter``)."""
    multi = args if isinstance(args, MultiDict) else MultiDict(args)
    return _search_request(multi, facets=_facet_names(), **defaults)


def search_facets() -> tuple[Facet, ...]:
    """The facets plugins add to search, with the labels that make their values readable."""
    return _plugins.facets()


def search_params(request: SearchRequest) -> dict[str, str | list[str]]:
    """A search's words and filters as URL parameters, normalised (single spaces, values
    sorted, no sort or page): one spelling for one search, e.g. to store or compare it."""
    params: dict[str, str | list[str]] = {}
    q = " ".join(request.q.split())
    if q:
        params["q"] = q
    for name in request.facets:
        if request.filters.get(name):
            params[name] = sorted(request.filters[name])
    return params


def search_filter_label(name: str, value: str) -> str:
    """A filter value as the search page shows it, in the current language ("SE" ->
    "Sweden", a theme's key -> its name, an event's slug -> its title)."""
    if name == "country":
        return country_name(value)
    if name == "language":
        return language_name(value)
    if name in (Vocabulary.THEME, Vocabulary.TARGET_GROUP):
        term = _labels.terms(Vocabulary(name)).get(value)
        return term_label(term) if term is not None else value
    if name == "event":
        return _labels.current().event_titles.get(value, value)
    for facet in search_facets():
        if facet.name == name and facet.value_label is not None:
            return facet.value_label(value)
    return value


def export_formats() -> dict[str, ExportFormat]:
    """The download formats the enabled plugins offer, by key."""
    return _plugins.export_formats()


def enabled_plugins(app: Flask | None = None) -> list[str]:
    """The names of the enabled plugins (for plugins that cooperate with another)."""
    return sorted(_plugins.state(app).enabled)


def csrf_exempt(view: Any) -> Any:
    """Exempt a read-only view or blueprint that must accept POSTs from other sites."""
    return _csrf.exempt(view)


def ui_languages() -> tuple[str, ...]:
    """The languages the site's pages speak (``en``, ``nb``...), in the switcher's order."""
    return UI_LANGUAGES


def fold(text: str) -> str:
    """Text as the search compares it: lowercased, accents and æ/ø/ð... folded
    ("Helsefagarbeider" and "helsefagarbeider" agree; "Nærøy" -> "naeroy")."""
    return _fold(text)


# -- languages ------------------------------------------------------------------------------


def current_language() -> str:
    """The language this request's page speaks (``en`` outside a request)."""
    return str(get_locale() or "en")


@contextmanager
def in_language(language: str) -> Iterator[None]:
    """Translate in ``language`` inside the ``with``: a mail in its reader's language."""
    with force_locale(language if language in UI_LANGUAGES else "en"):
        yield


# -- mail, signed links and rate limits ------------------------------------------------------


def send_mail(
    to: str,
    subject: str,
    template: str,
    *,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> EmailMessage:
    """Render the plugin's ``template`` (``"<plugin>/mail.txt"``) and mail it as plain text.

    ``headers`` adds headers such as ``List-Unsubscribe`` (From, To and Subject are the
    core's). Links in it should come from ``external_url``. A server that refuses or cannot be
    reached raises ``MailNotSent`` (a page that lets it through answers 503, "try again
    later"); without ``KB_MAIL_SERVER`` the mail is printed.
    """
    return _mail.send_text(to, subject, render_template(template, **context), headers=headers)


def one_mail_connection() -> AbstractContextManager[None]:
    """``with one_mail_connection():`` the mails sent inside (a run of digests) share one
    connection to the mail server instead of one each."""
    return _mail.one_connection()


def link_signer(purpose: str) -> URLSafeTimedSerializer:
    """Signs values into URL-safe tokens with the site's secret, for links in mail.

    ``purpose`` keeps one kind of link from passing for another. ``loads(token, max_age=...)``
    raises ``SignatureExpired`` for an old one and ``BadSignature`` for anything forged.
    """
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"plugin:{purpose}")


def rate_limit(
    limits: str,
    *,
    key: Callable[[], str] | None = None,
    methods: Iterable[str] = ("POST",),
) -> Callable[[Any], Any]:
    """Limit how often a view answers (``"5 per minute;20 per hour"``), per client address or
    per ``key()`` (e.g. the e-mail address a form names); beyond it the visitor gets a 429.
    Counted in the storage all the site's workers share (``KB_RATELIMIT_STORAGE_URI``)."""
    return _limiter.limit(limits, key_func=key, methods=list(methods))


def normal_address(email: str | None) -> str:
    """An e-mail address as ``personal_data_export``/``personal_data_erase`` receive it."""
    return _personal_data.normal_address(email)


# -- a plugin's own tables ------------------------------------------------------------------
# For the tables a plugin's own migrations create (docs/plugins.md, "Plugin migrations"),
# never the core's: those change only through the services. Each is a connection beside the
# request's, so a failure in a plugin's table cannot spoil the page or the core's writes.


@contextmanager
def data_transaction(*, durable: bool = True) -> Iterator[Connection]:
    """A write transaction on the plugin's own tables: committed at the end of the ``with``,
    rolled back if it raises. ``durable=False``, for statistics and the like: the commit does
    not wait for PostgreSQL's disk (a crash may lose the last moment's writes), and on SQLite
    the transaction waits only briefly for another process's write lock, then raises."""
    with _separate_transaction(write=True, durable=durable) as connection:
        yield connection


@contextmanager
def data_reader() -> Iterator[Connection]:
    """A connection for reading the plugin's own tables."""
    with _separate_transaction(write=False) as connection:
        yield connection


# -- reading published content --------------------------------------------------------
# Each loads what a public page shows; reaching for a relationship it did not load raises
# instead of querying once per item.


def published_case(slug: str) -> Case | None:
    """A published case with everything its page shows, or None (also when not public)."""
    return _catalogue.published_case(slug)


def published_cases(page: int = 1, per_page: int = 20) -> Page:
    """One page of the published cases by title, as case cards (``.items``, ``.total``,
    ``.pages``)."""
    return _catalogue.published_cases(page, per_page)


def published_cases_by_ids(ids: list[int], *, whole: bool = True) -> list[Case]:
    """The published ones of these cases, in the order of ``ids``; ``whole=False`` loads
    only what a case card shows."""
    return _catalogue.published_by_ids(ids, whole=whole)


def search_cases(request: SearchRequest) -> tuple[list[Case], int]:
    """The whole published cases on this page of a search, and how many it found in all."""
    return _catalogue.found_cases(request)


def event_by_slug(slug: str) -> Event | None:
    """An event with its programme (sessions, their people and materials)."""
    return _catalogue.event(slug)


def session_by_slug(event_slug: str, slug: str) -> Session | None:
    """A session of an event, with its event, people and materials."""
    return _catalogue.session(event_slug, slug)


def vocabulary_term(vocabulary: Vocabulary, key: str) -> VocabularyTerm | None:
    """A theme or target group by its key (``term_label`` gives its name to show)."""
    return _catalogue.term(vocabulary, key)


def vocabulary_terms(vocabulary: Vocabulary) -> list[VocabularyTerm]:
    """All themes (or target groups) in the editors' order."""
    return _catalogue.vocabulary(vocabulary)


# -- harvesting: every case that is or was public, by last change -----------------------


def harvest_page(wanted: HarvestFilter, after: HarvestPosition | None, limit: int) -> list[Case]:
    """Up to ``limit`` cases ``wanted`` asks for, after ``after`` in the order of last change
    (keyset paging: stays right while cases change between requests)."""
    return _harvest.harvest_page(wanted, after, limit)


def harvest_count(wanted: HarvestFilter) -> int:
    """How many cases ``wanted`` asks for in all."""
    return _harvest.harvest_count(wanted)


def harvestable_case(case_id: int) -> Case | None:
    """A case that is or was public (a withdrawn one tells harvesters to drop their copy)."""
    return _harvest.harvestable_case(case_id)


# -- removed names ------------------------------------------------------------------------

#: Removed in 0.2.0, with what replaces each (docs/plugins.md, "Toolkit changes").
REMOVED = {
    "db": "the named queries (published_case, search_cases, ...) and services (decide)",
    "write_transaction": "the services (decide), which commit and then tell the plugins",
    "catalogue": "published_case, published_cases, published_cases_by_ids, search_cases, "
    "event_by_slug, session_by_slug, vocabulary_term, vocabulary_terms",
    "harvest": "harvest_page, harvest_count, harvestable_case, earliest_change, "
    "country_names, HarvestFilter, HarvestPosition",
}


def __getattr__(name: str) -> Any:
    """``toolkit.catalogue`` and the like fail with what to use instead."""
    if name in REMOVED:
        raise AttributeError(f"kb.toolkit.{name} was removed in 0.2.0; use {REMOVED[name]}")
    raise AttributeError(f"module 'kb.toolkit' has no attribute {name!r}")
