"""The ical plugin: an event's programme and its sessions as calendar files."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import icalendar
from flask.testing import FlaskClient
from sqlalchemy import select

from kb.database import write_transaction
from kb.extensions import db
from kb.models import Event
from kb.services import programme
from kb.services.programme import EventFields, SessionFields

NORDEN = "/events/integrering-i-norden-2018"
UNDATED = "imdi-konferanser-i-bodo-og-bergen-hosten-2016"


def _calendar(client: FlaskClient, url: str) -> icalendar.Calendar:
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    return icalendar.Calendar.from_ical(response.data)


def test_the_programme_has_every_timed_session_in_the_event_time_zone(
    client: FlaskClient, demo: None
) -> None:
    calendar = _calendar(client, f"{NORDEN}/programme.ics")
    events = calendar.events

    assert calendar["VERSION"] == "2.0"
    assert calendar["PRODID"]
    assert calendar["X-WR-CALNAME"] == "Integrering i Norden – hva kan vi lære av hverandre?"
    assert [tz.tz_name for tz in calendar.timezones] == ["Europe/Copenhagen"]
    assert len(events) == 6
    opening = events[0]
    assert opening["SUMMARY"] == "Åpning: Hva kan vi lære av hverandre?"
    assert opening["DTSTART"].params["TZID"] == "Europe/Copenhagen"
    assert opening.start == datetime(2018, 11, 20, 9, 30, tzinfo=opening.start.tzinfo)
    assert opening.start.utcoffset() == timedelta(hours=1)
    assert opening.end - opening.start == timedelta(minutes=30)
    assert opening["LOCATION"] == "Plenumssal, København"
    assert "Dagfinn Høybråten" in opening["DESCRIPTION"]
    assert opening["URL"] == f"http://localhost{NORDEN}/apning"
    assert [e.start for e in events] == sorted(e.start for e in events)


def test_uids_are_unique_and_the_file_is_the_same_next_time(
    client: FlaskClient, demo: None
) -> None:
    first = client.get(f"{NORDEN}/programme.ics").data
    uids = [e["UID"] for e in icalendar.Calendar.from_ical(first).events]

    assert len(set(uids)) == len(uids) == 6
    assert all(uid.startswith("session-") and uid.endswith("@localhost") for uid in uids)
    assert client.get(f"{NORDEN}/programme.ics").data == first
    single = _calendar(client, f"{NORDEN}/apning/session.ics")
    assert [e["UID"] for e in single.events] == [uids[0]]


def test_a_session_is_one_event_in_its_country_time_zone(client: FlaskClient, demo: None) -> None:
    event = programme.create_event(
        EventFields(title="Integrationsdagen", city="Malmö", country="SE", language="sv")
    )
    # The day summer time starts in Sweden; no end given.
    programme.create_session(
        event, SessionFields(title="Öppning", starts_at=datetime(2025, 3, 30, 9), room="Sal 1")
    )

    calendar = _calendar(client, f"/events/{event.slug}/oppning/session.ics")
    (entry,) = calendar.events

    assert entry["SUMMARY"] == "Öppning"
    assert entry["DTSTART"].params["TZID"] == "Europe/Stockholm"
    assert [tz.tz_name for tz in calendar.timezones] == ["Europe/Stockholm"]
    assert entry.start.utcoffset() == timedelta(hours=2)
    assert entry.end - entry.start == timedelta(hours=1)
    assert entry["LOCATION"] == "Sal 1, Malmö"


def test_an_event_without_times_is_one_all_day_entry(client: FlaskClient, demo: None) -> None:
    event = programme.create_event(
        EventFields(title="Nordisk seminar", start_date=date(2025, 5, 6), end_date=date(2025, 5, 7))
    )
    programme.create_session(event, SessionFields(title="Erfaringer fra kommunene"))

    (whole,) = _calendar(client, f"/events/{event.slug}/programme.ics").events
    (session,) = _calendar(
        client, f"/events/{event.slug}/erfaringer-fra-kommunene/session.ics"
    ).events

    assert whole["SUMMARY"] == "Nordisk seminar"
    assert (whole.start, whole.end) == (date(2025, 5, 6), date(2025, 5, 8))
    assert "Erfaringer fra kommunene" in whole["DESCRIPTION"]
    assert (session.start, session.end) == (date(2025, 5, 6), date(2025, 5, 8))


def test_unknown_or_undated_is_not_found(client: FlaskClient, demo: None) -> None:
    assert client.get("/events/no-such-event/programme.ics").status_code == 404
    assert client.get(f"{NORDEN}/no-such-session/session.ics").status_code == 404
    assert client.get("/events/no-such-event/apning/session.ics").status_code == 404
    # The pages' own 404s still render (the page's variables are missing there).
    assert client.get("/events/no-such-event").status_code == 404
    assert client.get(f"{NORDEN}/no-such-session").status_code == 404
    # The sample cases name IMDi's conferences only as "høsten 2016".
    undated = client.get(f"/events/{UNDATED}/programme.ics")
    assert undated.status_code == 404
    assert "no dates yet" in undated.text


def test_a_session_without_a_date_has_no_calendar(client: FlaskClient, demo: None) -> None:
    with write_transaction():
        seminar = db.session.scalar(select(Event).where(Event.slug == "nyanlanda-i-jobb"))
        seminar.start_date = seminar.end_date = None
        for session in seminar.sessions:
            session.starts_at = session.ends_at = None
    session = "/events/nyanlanda-i-jobb/sysselsetting-av-innvandrere"

    assert client.get(f"{session}/session.ics").status_code == 404
    assert "text/calendar" not in client.get(session).text


def test_the_seminar_in_lulea_has_its_programme_as_a_calendar(
    client: FlaskClient, demo: None
) -> None:
    calendar = _calendar(client, "/events/nyanlanda-i-jobb/programme.ics")

    assert any("Nærøy" in str(item["SUMMARY"]) for item in calendar.events)


def test_event_and_session_pages_link_their_calendar_files(client: FlaskClient, demo: None) -> None:
    event_page = client.get(NORDEN).text
    session_page = client.get(f"{NORDEN}/apning").text

    assert (
        f'<a href="{NORDEN}/programme.ics" type="text/calendar" download>'
        "Add the programme to your calendar (iCalendar)</a>"
    ) in event_page
    assert '<link rel="alternate" type="text/calendar" title="Add the programme' in event_page
    assert (
        f'<a href="{NORDEN}/apning/session.ics" type="text/calendar" download>'
        "Add this session to your calendar</a>"
    ) in session_page
    head = session_page.split("</head>")[0]
    assert f'title="Add this session to your calendar" href="{NORDEN}/apning/session.ics"' in head
    assert "text/calendar" not in client.get("/").text
