"""What an alert follows, and what is new in it since its last digest.

A search alert keeps the search's normalised URL parameters; its new cases come from the
very search the search page runs (``toolkit.search_cases``, newest first), so a digest lists
the cases the page shows for it, newly published. An event alert follows the event's
cases (the search's ``event`` filter), its new sessions and their new material.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from urllib.parse import parse_qsl, urlencode

from werkzeug.datastructures import MultiDict

from kb import toolkit
from kb.toolkit import _

from .subscriptions import Subscription

#: A digest lists at most this many cases; the rest are a link to the search.
MAX_CASES = 50


class UnknownTarget(Exception):
    """What an alert would follow does not exist (an unknown event) or is no valid search."""


def search_target(search: toolkit.SearchRequest) -> str:
    """A search as an alert stores it: its words and filters, in one fixed spelling."""
    params = toolkit.search_params(search)
    pairs = [
        (name, value)
        for name, values in params.items()
        for value in ([values] if isinstance(values, str) else values)
    ]
    return urlencode(pairs)


def search_of(kind: str, target: str) -> toolkit.SearchRequest:
    """The search an alert runs (``UnknownTarget`` if it is no longer a valid one)."""
    if kind == "event" and toolkit.event_by_slug(target) is None:
        raise UnknownTarget(target)
    params = [("event", target)] if kind == "event" else parse_qsl(target)
    try:
        return toolkit.search_request(MultiDict(params))
    except toolkit.BadParameter as bad:
        raise UnknownTarget(bad.message) from None


def title(kind: str, target: str) -> str:
    """What an alert follows, in the current language ("New cases: “språk” · Sweden")."""
    if kind == "event":
        event = toolkit.event_by_slug(target)
        return _("News of the event %(title)s", title=event.title if event else target)
    try:
        params = toolkit.search_params(search_of(kind, target))
    except UnknownTarget:
        return _("New cases: %(filter)s", filter=target)
    parts = [f"“{params['q']}”"] if "q" in params else []
    parts += [
        ", ".join(toolkit.search_filter_label(name, value) for value in values)
        for name, values in params.items()
        if name != "q"
    ]
    if not parts:
        return _("New cases")
    return _("New cases: %(filter)s", filter=" · ".join(parts))


def page_url(kind: str, target: str, *, external: bool = True) -> str:
    """The page an alert follows: the search (newest first) or the event."""
    if kind == "event":
        event = toolkit.event_by_slug(target)
        if event is not None:
            return toolkit.event_url(event, external=external)
    params = MultiDict(parse_qsl(target))
    params["sort"] = "newest"
    return toolkit.search_url(params, external=external)


@dataclass(frozen=True)
class News:
    """What is new for one alert since ``since``."""

    cases: list[toolkit.Case] = field(default_factory=list)
    #: Whether there may be new cases beyond ``MAX_CASES`` (on the page the mail links to).
    more: bool = False
    sessions: list[toolkit.Session] = field(default_factory=list)
    materials: list[toolkit.Material] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.cases or self.sessions or self.materials)

    def newest(self, default: datetime) -> datetime:
        """The high-water mark after this digest: the newest time it covered."""
        times = [case.published_at for case in self.cases if case.published_at]
        times += [item.created_at for item in (*self.sessions, *self.materials)]
        return max([default, *times])


def news(subscription: Subscription, since: datetime) -> News:
    """The cases published (and for an event, sessions and material added) after ``since``."""
    search = replace(
        search_of(subscription.kind, subscription.target), sort="newest", page=1, per_page=MAX_CASES
    )
    found, total = toolkit.search_cases(search)
    cases = [case for case in found if case.published_at and case.published_at > since]
    more = len(cases) == len(found) < total  # every listed case is new: later ones may be too
    if subscription.kind != "event":
        return News(cases=cases, more=more)
    event = toolkit.event_by_slug(subscription.target)
    sessions = [s for s in event.sessions if s.created_at > since] if event else []
    materials = [
        m for s in (event.sessions if event else []) for m in s.materials if m.created_at > since
    ]
    return News(cases=cases, more=more, sessions=sessions, materials=materials)
