"""iCalendar (RFC 5545) files of an event's programme and of a single session.

Session times are stored as naive local times of the event; they get the time zone of the
event's country (the site's default time zone when the event has none), and the calendar
carries the matching VTIMEZONE so any calendar program places them right.

Choices where the data is incomplete:

- A session without an end lasts ``DEFAULT_LENGTH``: calendars need an end to show a block,
  and an hour is the usual length of a programme item.
- The programme lists the sessions that have a time. When none has, it holds one all-day
  entry for the event's dates, naming the sessions; a session without a time is likewise
  an all-day entry for the event's dates.
- With neither a time nor dates there is nothing to put in a calendar: no file (404), and
  the pages offer none (``has_programme``, ``has_session``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import icalendar
from flask import Blueprint, Response, abort, current_app, request
from flask.typing import ResponseReturnValue

from kb import toolkit
from kb.toolkit import _, _l, ngettext

bp = Blueprint("plugin_ical", __name__, template_folder="templates")

PRODID = "-//Nordic Good Practice KB//Event programmes//EN"
DEFAULT_LENGTH = timedelta(hours=1)
NO_DATES = _l("This event has no dates yet, so there is nothing to add to a calendar.")
#: When something happens: whole days (end exclusive) or times with their time zone.
Times = tuple[date, date] | tuple[datetime, datetime]
#: The time zone of events in each Nordic country.
ZONES = {
    "NO": "Europe/Oslo",
    "SE": "Europe/Stockholm",
    "DK": "Europe/Copenhagen",
    "FI": "Europe/Helsinki",
    "IS": "Atlantic/Reykjavik",
    "GL": "America/Nuuk",
    "FO": "Atlantic/Faroe",
    "AX": "Europe/Mariehamn",
}


def event_zone(event: toolkit.Event) -> ZoneInfo:
    return ZoneInfo(ZONES.get(event.country or "", current_app.config["BABEL_DEFAULT_TIMEZONE"]))


def _event_days(event: toolkit.Event) -> tuple[date, date] | None:
    """The event's first day and the day after its last (iCalendar ends are exclusive)."""
    first = event.start_date or event.end_date
    if first is None:
        return None
    return first, (event.end_date or first) + timedelta(days=1)


def _clock_times(starts_at: datetime, ends_at: datetime | None, zone: ZoneInfo) -> Times:
    """A timed session's start and end, in the event's time zone."""
    end = ends_at or starts_at + DEFAULT_LENGTH
    return starts_at.replace(tzinfo=zone), end.replace(tzinfo=zone)


def _session_times(session: toolkit.Session) -> Times | None:
    """When a session is: its own times, else the days of its event."""
    if session.starts_at is None:
        return _event_days(session.event)
    return _clock_times(session.starts_at, session.ends_at, event_zone(session.event))


def has_session(session: toolkit.Session) -> bool:
    return _session_times(session) is not None


def has_programme(event: toolkit.Event) -> bool:
    return any(s.starts_at for s in event.sessions) or _event_days(event) is not None


def _host() -> str:
    return urlsplit(current_app.config["BASE_URL"]).hostname or request.host


def _location(event: toolkit.Event, room: str | None = None) -> str:
    return ", ".join(part for part in (room, event.place, event.city) if part)


def _people_line(label: str, people: list[toolkit.Person]) -> str:
    return f"{label} {', '.join(person.name for person in people)}" if people else ""


def _session_text(session: toolkit.Session) -> str:
    """The description as plain text (Markdown reads as such), then who is on stage."""
    speakers, moderators = session.speakers, session.moderators
    parts = (
        session.description.strip(),
        _people_line(ngettext("Speaker:", "Speakers:", len(speakers)), speakers),
        _people_line(ngettext("Moderator:", "Moderators:", len(moderators)), moderators),
    )
    return "\n\n".join(part for part in parts if part)


def _entry(
    *,
    uid: str,
    summary: str,
    start: date | datetime,
    end: date | datetime,
    location: str,
    description: str,
    url: str,
    changed: datetime,
    language: str | None,
) -> icalendar.Event:
    """A VEVENT; its DTSTAMP is the last change, so an unchanged file stays the same."""
    entry = icalendar.Event.new(
        uid=uid,
        stamp=changed,
        start=start,
        end=end,
        summary=summary,
        location=location or None,
        description=description or None,
        url=url,
    )
    if language:  # not the description: its labels ("Speakers:") are in the UI's language
        for name in ("SUMMARY", "LOCATION"):
            if name in entry:
                entry[name].params["LANGUAGE"] = language
    return entry


def _session_entry(session: toolkit.Session, event: toolkit.Event, times: Times) -> icalendar.Event:
    return _entry(
        uid=f"session-{session.id}@{_host()}",
        summary=session.title,
        start=times[0],
        end=times[1],
        location=_location(event, session.room),
        description=_session_text(session),
        url=toolkit.session_url(session, external=True),
        changed=max(session.updated_at, event.updated_at),
        language=event.language,
    )


def _event_entry(event: toolkit.Event, days: tuple[date, date]) -> icalendar.Event:
    """The whole event as one all-day entry, for a programme without times."""
    titles = "\n".join(f"- {session.title}" for session in event.sessions)
    programme = f"{_('Programme')}:\n{titles}" if titles else ""
    description = "\n\n".join(part for part in (event.description.strip(), programme) if part)
    changes = [event.updated_at, *(session.updated_at for session in event.sessions)]
    return _entry(
        uid=f"event-{event.id}@{_host()}",
        summary=event.title,
        start=days[0],
        end=days[1],
        location=_location(event),
        description=description,
        url=toolkit.event_url(event, external=True),
        changed=max(changes),
        language=event.language,
    )


def _calendar(uid: str, name: str, entries: list[icalendar.Event]) -> icalendar.Calendar:
    calendar = icalendar.Calendar.new(prodid=PRODID, uid=uid, name=name, subcomponents=entries)
    times = [e.start for e in entries if isinstance(e.start, datetime)]
    if times:
        # VTIMEZONE rules for the years the entries fall in: complete, and stable.
        first = date(min(times).year, 1, 1)
        calendar.add_missing_timezones(first_date=first, last_date=date(max(times).year + 1, 1, 1))
    return calendar


def _download(calendar: icalendar.Calendar, name: str) -> Response:
    response = Response(calendar.to_ical(), mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.ics"'
    return response


@bp.get("/events/<slug>/programme.ics")
def programme(slug: str) -> ResponseReturnValue:
    event = toolkit.event_by_slug(slug)
    if event is None:
        abort(404)
    zone = event_zone(event)
    entries = [
        _session_entry(s, event, _clock_times(s.starts_at, s.ends_at, zone))
        for s in event.sessions
        if s.starts_at is not None
    ]
    if not entries:
        days = _event_days(event)
        if days is None:
            abort(404, description=str(NO_DATES))
        entries = [_event_entry(event, days)]
    calendar = _calendar(f"programme-{event.id}@{_host()}", event.title, entries)
    return _download(calendar, event.slug)


@bp.get("/events/<event_slug>/<slug>/session.ics")
def session(event_slug: str, slug: str) -> ResponseReturnValue:
    found = toolkit.session_by_slug(event_slug, slug)
    if found is None:
        abort(404)
    times = _session_times(found)
    if times is None:
        abort(404, description=str(NO_DATES))
    entry = _session_entry(found, found.event, times)
    name = f"{found.title} – {found.event.title}"
    calendar = _calendar(f"session-calendar-{found.id}@{_host()}", name, [entry])
    return _download(calendar, found.slug)
