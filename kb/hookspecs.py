"""The hooks a plugin may implement, and the values they return.

Every hook is documented in ``docs/plugins.md`` and exercised by a test plugin in
``tests/plugins/``; meta-tests fail when a new hook lacks either.

An implementation may accept any subset of a hook's arguments, so hooks can gain arguments
without breaking plugins. Plugins are called in a fixed order that nobody should rely on;
when order matters, say so with ``@hookimpl(tryfirst=True)`` or ``@hookimpl(trylast=True)``,
and give page sections and menu links a ``priority``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click
    from flask import Blueprint, Flask
    from jinja2 import Environment

    from kb.models import Case
    from kb.search.backend import SearchRequest, SearchResults

PROJECT = "kb"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

#: The template slots core pages offer to ``page_sections``, with what their context holds.
SLOTS: dict[str, str] = {
    "head": "every page, inside <head>; the page's own variables (case, event, session, ...)",
    "case": "a published case's page, after the case itself; case",
    "session": "a session's page, at the end of its content; session, event, cases",
    "event": "an event's page, at the end of its content; event, cases",
    "search": "the search page, after the results; results (None when the search is invalid)",
}
#: The menus ``menu_links`` can add to.
MENUS: dict[str, str] = {
    "main": "the site's main navigation, for everyone",
    "footer": "the links in every page's footer",
    "editor": "the editors' navigation on editorial pages (editors only)",
}
DEFAULT_PRIORITY = 50


# -- what hooks return ----------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """A fragment of a page: ``template`` rendered with ``context``; lower priority first."""

    template: str
    context: Mapping[str, Any] = field(default_factory=dict)
    priority: int = DEFAULT_PRIORITY


@dataclass(frozen=True)
class MenuLink:
    """A link in a menu, to ``url_for(endpoint, **values)``; lower priority first."""

    label: str
    endpoint: str
    values: Mapping[str, Any] = field(default_factory=dict)
    priority: int = DEFAULT_PRIORITY


@dataclass(frozen=True)
class Facet:
    """A search filter with counts, filled by ``index_extras``; ``name`` is its URL parameter."""

    name: str
    label: str
    #: Readable text for a stored value (e.g. a goal's name for its number).
    value_label: Callable[[str], str] | None = None


@dataclass(frozen=True)
class IndexExtras:
    """What a plugin adds to a case's search entry: searchable text and facet values."""

    text: str = ""
    facets: Mapping[str, Iterable[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class ExportFormat:
    """A download format offered on every case page and for every search result.

    ``render`` turns a list of published cases (one for a case page) into the file's
    content; the core serves it with ``media_type`` as ``<name>.<extension>``.
    """

    key: str
    label: str
    media_type: str
    extension: str
    render: Callable[[list[Case]], str | bytes]
    #: Shown in the browser (a printable page) instead of downloaded.
    inline: bool = False


@dataclass(frozen=True)
class ResultLink:
    """Where the search page's result links go instead of straight to the case:
    ``url_for(endpoint, **values, case=<slug>)``, a view that ends by redirecting to the case.
    """

    endpoint: str
    values: Mapping[str, Any] = field(default_factory=dict)


# -- start-up -----------------------------------------------------------------------


@hookspec
def startup(app: Flask) -> None:
    """The app is fully built: configuration, extensions, blueprints and other plugins."""


@hookspec
def register_blueprints(app: Flask) -> Iterable[Blueprint] | None:
    """Blueprints to register; each named ``plugin_<plugin name>`` (optionally ``_<suffix>``)."""


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands or command groups to the ``kb`` command line."""


@hookspec
def migration_locations() -> Iterable[str] | None:
    """Folders of the plugin's Alembic migrations (a version branch labelled with its name),
    besides its own ``migrations/`` folder, which is always read."""


@hookspec
def prepare_jinja_env(env: Environment) -> None:
    """Add filters, tests or globals to the Jinja environment of every template."""


# -- pages ---------------------------------------------------------------------------


@hookspec
def page_sections(slot: str, context: Mapping[str, Any]) -> Iterable[Section] | None:
    """Sections to render into a page slot (see ``SLOTS``).

    ``context`` holds the page's own variables (what the view passed and the template set),
    not the global helpers: use ``flask.request`` for the request.
    """


@hookspec
def menu_links(menu: str) -> Iterable[MenuLink] | None:
    """Links to add to a menu (see ``MENUS``)."""


# -- search --------------------------------------------------------------------------


@hookspec
def search_facets() -> Iterable[Facet] | None:
    """Facets to offer on the search page and in the search API."""


@hookspec
def index_extras(case: Case) -> IndexExtras | None:
    """Text and facet values to add to a published case's search entry."""


@hookspec
def search_performed(
    search: SearchRequest, results: SearchResults, language: str
) -> ResultLink | None:
    """A visitor's search on the search page was answered (``language``: the page's language).

    Called before the page is rendered; a plugin's failure is logged and never fails the
    search. At most one plugin may route the result links through itself (``ResultLink``).
    """


# -- exports -------------------------------------------------------------------------


@hookspec
def export_formats() -> Iterable[ExportFormat] | None:
    """Download formats for cases and search results."""


# -- a case's life (called after the commit that made the change) -----------------------


@hookspec
def case_submitted(case: Case) -> None:
    """A case was submitted for review (a draft became ``submitted``)."""


@hookspec
def case_published(case: Case) -> None:
    """A case became public (``published``)."""


@hookspec
def case_unpublished(case: Case) -> None:
    """A public case stopped being public (sent back to review or archived)."""


@hookspec
def case_deleted(case_id: int, slug: str, ref: str | None) -> None:
    """A case was deleted for good; only its identifiers remain."""


# -- personal data (``kb people``) ---------------------------------------------------------


@hookspec
def personal_data_export(email: str) -> Mapping[str, Any] | None:
    """Everything the plugin keeps about the person with this e-mail address (lowercased), as
    JSON-ready values, for an access request; ``None`` when it keeps nothing about them."""


@hookspec
def personal_data_erase(email: str) -> int | None:
    """Erase everything the plugin keeps about this e-mail address (lowercased) and commit;
    returns how many records went. A failure stops the erasure loudly: never swallowed."""
