"""An event's programme and each of its sessions as iCalendar files.

The event page offers "Add the programme to your calendar", a session page "Add this
session to your calendar", and both announce the file in their ``<head>``. How times,
time zones and missing data are handled is described in ``plugins/ical/calendars.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Flask, url_for

from kb import toolkit
from kb.toolkit import Section, _, hookimpl

from .calendars import bp, has_programme, has_session


@hookimpl
def register_blueprints(app: Flask) -> list[Blueprint]:
    return [bp]


def _calendar_link(context: Mapping[str, Any]) -> tuple[str, str] | None:
    """(URL, label) of this page's calendar file, if it is an event or session page with one.

    The types are checked: an error page (an unknown event's 404) counts as that page but
    lacks its variables.
    """
    page = toolkit.current_page()
    if page == "event":
        event = context.get("event")
        if isinstance(event, toolkit.Event) and has_programme(event):
            url = url_for("plugin_ical.programme", slug=event.slug)
            return url, _("Add the programme to your calendar (iCalendar)")
    elif page == "session":
        session = context.get("session")
        if isinstance(session, toolkit.Session) and has_session(session):
            url = url_for("plugin_ical.session", event_slug=session.event.slug, slug=session.slug)
            return url, _("Add this session to your calendar")
    return None


@hookimpl
def page_sections(slot: str, context: Mapping[str, Any]) -> list[Section]:
    link = _calendar_link(context) if slot in ("head", "event", "session") else None
    if link is None:
        return []
    url, label = link
    template = "ical/head.html" if slot == "head" else "ical/link.html"
    return [Section(template, {"url": url, "label": label})]
