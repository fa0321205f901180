"""The one module plugins import from the core: a stable facade over models and services.

Plugins in ``plugins/`` import nothing else from ``kb`` (a test enforces it); third-party
plugins should do the same, since everything else may change between releases. What is
here keeps its name and meaning; additions are announced in ``docs/plugins.md``.

Models are for reading. Changes go through the service functions below, so that
revisions, the search index and the other plugins' hooks stay right.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.datastructures import MultiDict

from kb import plugins as _plugins
from kb.database import write_transaction
from kb.extensions import csrf as _csrf
from kb.extensions import db
from kb.hookspecs import (
    MENUS,
    SLOTS,
    ExportFormat,
    Facet,
    IndexExtras,
    MenuLink,
    Section,
    hookimpl,
)
from kb.i18n import _, _l, ngettext
from kb.markdown import inert_markdown, markdown_text, render_markdown
from kb.models import (
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
from kb.search.backend import FACETS, SearchHit, SearchRequest, SearchResults
from kb.services import catalogue, harvest
from kb.services.exchange.exporter import case_record, cases_document
from kb.services.exchange.tabular import cases_csv
from kb.services.mail import external_url
from kb.services.review import DecisionRefused, decide

# Text rules (kb.text): what XML can carry.
from kb.text import is_xml_safe, xml_safe
from kb.web.access import current_account, editor_required, role_required
from kb.web.search_params import BadParameter
from kb.web.search_params import search_request as _search_request
from kb.web.template_helpers import country_name, language_name, term_label

__all__ = [
    "FACETS",
    "MENUS",
    "SLOTS",
    "BadParameter",
    "Case",
    "CaseStatus",
    "DecisionRefused",
    "Event",
    "ExportFormat",
    "Facet",
    "IndexExtras",
    "Material",
    "MenuLink",
    "Organisation",
    "Person",
    "PluginError",
    "Role",
    "SearchHit",
    "SearchRequest",
    "SearchResults",
    "Section",
    "Session",
    "User",
    "Vocabulary",
    "VocabularyTerm",
    "_",
    "_l",
    "case_record",
    "cases_csv",
    "cases_document",
    "catalogue",
    "country_name",
    "csrf_exempt",
    "current_account",
    "db",
    "decide",
    "editor_required",
    "enabled_plugins",
    "export_formats",
    "external_url",
    "harvest",
    "hookimpl",
    "inert_markdown",
    "language_name",
    "markdown_text",
    "ngettext",
    "related_cases",
    "render_markdown",
    "role_required",
    "search",
    "search_facets",
    "search_request",
    "term_label",
    "write_transaction",
]
# Text rules (kb.text): what XML can carry.
__all__ += ["is_xml_safe", "xml_safe"]


def search(request: SearchRequest) -> SearchResults:
    """Search the published cases, with whichever search backend the site runs.

    ``catalogue.found_cases(request)`` gives the whole cases a search finds instead.
    """
    return _get_backend().search(request)


def related_cases(case: Case, limit: int = 4) -> list[Case]:
    """Published cases like ``case`` (its words, concepts across languages, themes), best
    first; the search index finds them, the database has the last word on what is public."""
    hits = _get_backend().related(case.id, limit=limit)
    return catalogue.published_by_ids([hit.id for hit in hits], whole=False)


def search_request(args: Mapping[str, Any] | MultiDict[str, str], **defaults: Any) -> SearchRequest:
    """A search from URL parameters, checked like the search page's (``BadParameter``)."""
    multi = args if isinstance(args, MultiDict) else MultiDict(args)
    return _search_request(multi, facets=_facet_names(), **defaults)


def search_facets() -> tuple[Facet, ...]:
    """The facets plugins add to search, with the labels that make their values readable."""
    return _plugins.facets()


def export_formats() -> dict[str, ExportFormat]:
    """The download formats the enabled plugins offer, by key."""
    return _plugins.export_formats()


def enabled_plugins(app: Flask | None = None) -> list[str]:
    """The names of the enabled plugins (for plugins that cooperate with another)."""
    return sorted(_plugins.state(app).enabled)


def csrf_exempt(view: Any) -> Any:
    """Exempt a read-only view or blueprint that must accept POSTs from other sites."""
    return _csrf.exempt(view)
