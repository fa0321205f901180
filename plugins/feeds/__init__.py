"""Atom feeds of newly published cases, overall and for any search or filter.

A person or a national portal subscribes to e.g. "new cases about employment in Sweden"
(``/feeds/cases.atom?theme=employment&country=SE``). Every page announces the overall
feed in its ``<head>``; the search page and theme pages also announce their own, and the
search page offers a visible link to subscribe.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from flask import Blueprint, Flask

from kb import toolkit
from kb.toolkit import MenuLink, Section, _l, hookimpl

from .feed import FeedLink, bp, feed_link, feed_url, is_filtered

#: Everything, which every page announces.
EVERYTHING = toolkit.SearchRequest()


@hookimpl
def register_blueprints(app: Flask) -> list[Blueprint]:
    return [bp]


def _page_feeds(context: Mapping[str, Any]) -> Iterator[FeedLink]:
    """The feeds of what this page shows, besides the overall one."""
    results = context.get("results")
    if toolkit.current_page() == "search" and results is not None and is_filtered(results.request):
        yield feed_link(results.request)
    term = context.get("term")  # absent on the error page of an unknown theme
    if toolkit.current_page() == "theme" and isinstance(term, toolkit.VocabularyTerm):
        yield feed_link(toolkit.SearchRequest(filters={"theme": (term.key,)}))


@hookimpl
def page_sections(slot: str, context: Mapping[str, Any]) -> list[Section]:
    if slot == "head":
        feeds = [feed_link(EVERYTHING), *_page_feeds(context)]
        return [Section("feeds/head.html", {"feeds": feeds})]
    results = context.get("results")
    if slot == "search" and results is not None:
        search = results.request
        shown = {"url": feed_url(search), "filtered": is_filtered(search)}
        return [Section("feeds/subscribe.html", shown)]
    return []


@hookimpl
def menu_links(menu: str) -> list[MenuLink]:
    if menu == "footer":
        return [MenuLink(label=_l("New cases (Atom feed)"), endpoint="plugin_feeds.cases")]
    return []
