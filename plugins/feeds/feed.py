"""The Atom feed of newly published cases, for any search the search page accepts.

A feed is identified by its canonical URL: the search's words and filters in a fixed
order, so the same subscription always has the same ``<id>`` however it was written.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue

from kb import toolkit
from kb.toolkit import _

bp = Blueprint("plugin_feeds", __name__, template_folder="templates")

#: A feed lists at most this many cases: the newest.
MAX_ENTRIES = 50
#: ``<updated>`` of a feed without entries: a fixed time, so its ETag stays put.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MEDIA_TYPE = "application/atom+xml"


@dataclass(frozen=True)
class FeedLink:
    """A feed as pages announce it: a readable title and where it is."""

    title: str
    url: str


def is_filtered(search: toolkit.SearchRequest) -> bool:
    """Whether the search narrows anything down (else its feed is the overall one)."""
    return bool(toolkit.search_params(search))


def feed_url(search: toolkit.SearchRequest, *, external: bool = False) -> str:
    return url_for("plugin_feeds.cases", _external=external, **toolkit.search_params(search))


def feed_title(search: toolkit.SearchRequest) -> str:
    """What the feed holds, e.g. "New cases: Employment · Sweden"."""
    params = toolkit.search_params(search)
    parts = [f"“{params['q']}”"] if "q" in params else []
    parts += [
        ", ".join(toolkit.search_filter_label(name, value) for value in values)
        for name, values in params.items()
        if name != "q"
    ]
    if not parts:
        return _("New cases")
    return _("New cases: %(filter)s", filter=" · ".join(parts))


def feed_link(search: toolkit.SearchRequest) -> FeedLink:
    return FeedLink(feed_title(search), feed_url(search))


def _published(case: toolkit.Case) -> datetime:
    return case.published_at or case.updated_at


def _updated(case: toolkit.Case) -> datetime:
    return max(case.updated_at, _published(case))


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _entry_id(case: toolkit.Case) -> str:
    """A tag URI (RFC 4151) that survives a change of title or slug."""
    host = urlsplit(current_app.config["BASE_URL"]).hostname or request.host
    return f"tag:{host},{case.created_at:%Y-%m-%d}:case:{case.id}"


def last_change(cases: list[toolkit.Case]) -> datetime:
    return max((_updated(case) for case in cases), default=EPOCH)


def render_feed(search: toolkit.SearchRequest, cases: list[toolkit.Case]) -> str:
    """The feed document; well-formed whatever the cases' text holds."""
    params = toolkit.search_params(search)
    xml = render_template(
        "feeds/atom.xml",
        id=feed_url(search, external=True),
        title=feed_title(search),
        updated=last_change(cases),
        search_url=toolkit.search_url({**params, "sort": "newest"}, external=True),
        home_url=toolkit.home_url(external=True),
        case_url=toolkit.case_url,
        site_name=_("Nordic Good Practice KB"),
        cases=cases,
        entry_id=_entry_id,
        published=_published,
        entry_updated=_updated,
        timestamp=_rfc3339,
        term_label=toolkit.term_label,
        render_markdown=toolkit.render_markdown,
    )
    return toolkit.xml_safe(xml)  # stored text could hold what XML 1.0 forbids


@bp.get("/feeds/cases.atom")
def cases() -> ResponseReturnValue:
    try:
        asked = toolkit.search_request(request.args)
    except toolkit.BadParameter as bad:
        abort(400, description=bad.message)
    newest = replace(asked, sort="newest", page=1, per_page=MAX_ENTRIES)
    entries, _total = toolkit.search_cases(newest)
    body = render_feed(asked, entries).encode()
    response = Response(body, mimetype=MEDIA_TYPE)
    # Readers poll: the same feed again costs them a 304 and us no download.
    response.set_etag(hashlib.sha256(body).hexdigest())
    response.last_modified = last_change(entries)
    response.vary.update(("Accept-Language", "Cookie"))
    return response.make_conditional(request)
