"""The alerts plugin as a subscriber meets it: a form on the page, a confirmation link by
mail, digests from ``kb alerts send``, one-click unsubscribe, and their personal data."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select, text

from kb import schema
from kb.cli import main
from kb.extensions import db
from kb.models import Case, Event, MaterialKind, Role, User
from kb.services import accounts, programme, submissions
from kb.services.review import decide
from plugins.alerts import subscriptions
from tests.conftest import ALL_PLUGINS, Inbox
from tests.web_helpers import csrf_token, path_of

SEARCH = "/search?theme=employment&country=SE"
EVENT = "nyanlanda-i-jobb"


@pytest.fixture
def plugins() -> str:
    return f"{ALL_PLUGINS},alerts"


@pytest.fixture(autouse=True)
def alerts_table(app: Flask) -> Iterator[None]:
    """The plugin's branch on this test's database (the shared templates are migrated
    without it), emptied: a PostgreSQL database is shared by the tests of a run."""
    schema.upgrade()
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM alerts_subscription"))
    yield


def _sql(query: str) -> Any:
    """Rows of the plugin's table as they are now (the test's own session starts afresh)."""
    db.session.rollback()
    return db.session.execute(text(query))


def _editor() -> User:
    return accounts.create_user("editor@example.org", Role.EDITOR)


def _publish(editor: User, title: str, country: str = "SE", **fields: object) -> Case:
    submission = submissions.Submission(
        fields={"title": title, "language": "sv", "country": country, **fields}
    )
    case = submissions.save(None, submission, editor)
    decide(case, "publish", editor)
    db.session.rollback()
    return case


def _links(message: Message) -> list[str]:
    return re.findall(r"https?://\S+", message.get_content())


def _subscribe(client: FlaskClient, page: str, email: str, frequency: str = "weekly") -> str:
    """Fill in the form a page shows; returns the answer page."""
    html = client.get(page).text
    fields = dict(re.findall(r'name="(alert-(?:kind|target))" type="hidden" value="([^"]*)"', html))
    response = client.post(
        "/alerts/subscribe",
        data={
            "alert-csrf_token": csrf_token(
                html.replace('name="alert-csrf_token"', 'name="csrf_token"')
            ),
            "alert-email": email,
            "alert-frequency": frequency,
            **{name: value.replace("&amp;", "&") for name, value in fields.items()},
        },
    )
    assert response.status_code == 200, response.text
    return response.text


def _confirm(client: FlaskClient, link: str) -> str:
    page = client.get(path_of(link))
    assert page.status_code == 200
    assert "Start the alert" in page.text or "Starta bevakningen" in page.text
    response = client.post(path_of(link), data={"csrf_token": csrf_token(page.text)})
    assert response.status_code == 200
    return response.text


def _subscribed(client: FlaskClient, inbox: Inbox, page: str, email: str, **kw: str) -> None:
    _subscribe(client, page, email, **kw)
    _confirm(client, inbox.link())


def _send(runner: FlaskCliRunner, *args: str) -> str:
    result = runner.invoke(main, ["alerts", "send", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_an_alert_starts_only_once_confirmed_by_its_link(
    client: FlaskClient, inbox: Inbox, demo: None
) -> None:
    page = client.get(SEARCH).text
    assert "E-mail me new cases for this search" in page

    answer = _subscribe(client, SEARCH, "Anna@Example.org", "monthly")

    assert "We have sent a link to anna@example.org" in answer
    (mail,) = inbox.messages
    assert mail["To"] == "anna@example.org"
    assert mail["Subject"] == "Confirm your e-mail alert"
    assert "New cases: Sweden · Employment" in mail.get_content()
    row = _sql("SELECT frequency, confirmed_at FROM alerts_subscription").one()
    assert row.confirmed_at is None

    done = _confirm(client, inbox.link())

    assert "Your alert is on" in done
    row = _sql("SELECT email, kind, target, frequency, confirmed_at FROM alerts_subscription").one()
    assert (row.email, row.kind, row.target, row.frequency) == (
        "anna@example.org",
        "search",
        "country=SE&theme=employment",
        "monthly",
    )
    assert row.confirmed_at is not None


def test_a_forged_or_garbled_link_confirms_nothing(
    client: FlaskClient, inbox: Inbox, demo: None
) -> None:
    _subscribe(client, SEARCH, "anna@example.org")
    link = path_of(inbox.link())

    assert client.get(link[:-3] + "abc").status_code == 400
    assert client.get("/alerts/confirm/nonsense").status_code == 400
    assert _sql("SELECT confirmed_at FROM alerts_subscription").scalar() is None


def test_the_form_refuses_a_bad_address_and_a_missing_csrf_token(
    client: FlaskClient, inbox: Inbox, demo: None
) -> None:
    html = client.get(SEARCH).text
    assert "csrf_token" in html
    refused = client.post(
        "/alerts/subscribe",
        data={"alert-email": "anna@example.org", "alert-kind": "search", "alert-target": ""},
    )
    assert refused.status_code == 400
    bad = client.post(
        "/alerts/subscribe",
        data={
            "alert-csrf_token": re.search(
                r'name="alert-csrf_token" type="hidden" value="([^"]+)"', html
            ).group(1),
            "alert-email": "not an address",
            "alert-frequency": "weekly",
            "alert-kind": "search",
            "alert-target": "q=arbeid",
        },
    )
    assert bad.status_code == 400
    assert "Enter an e-mail address such as name@example.org." in bad.text
    assert inbox.messages == []


def test_asking_is_rate_limited_per_address(client: FlaskClient, inbox: Inbox, demo: None) -> None:
    for _ in range(3):
        _subscribe(client, SEARCH, "victim@example.org")
    html = client.get(SEARCH).text
    token = re.search(r'name="alert-csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    flood = client.post(
        "/alerts/subscribe",
        data={
            "alert-csrf_token": token,
            "alert-email": "victim@example.org",
            "alert-frequency": "weekly",
            "alert-kind": "search",
            "alert-target": "q=arbeid",
        },
    )
    assert flood.status_code == 429
    assert len(inbox.messages) == 3


def test_send_mails_exactly_the_newly_published_matching_cases_once(
    client: FlaskClient, runner: FlaskCliRunner, inbox: Inbox, demo: None
) -> None:
    _subscribed(client, inbox, SEARCH, "anna@example.org")
    _subscribed(client, inbox, "/search?q=zzzunfindable", "bo@example.org")
    editor = _editor()
    first = _publish(editor, "Nyanlända startar företag", themes=["employment"])
    second = _publish(editor, "Jobbspår för nyanlända kvinnor", themes=["employment"])
    _publish(editor, "Arbeidstrening i Norge", country="NO", themes=["employment"])
    _publish(editor, "Språkcafé i Malmö", themes=["housing"])
    inbox.messages.clear()

    dry = _send(runner, "weekly", "--dry-run")

    assert "would send 2 case(s)" in dry and "nothing new" in dry
    assert inbox.messages == []

    output = _send(runner, "weekly")

    assert "sent 2 case(s)" in output
    (digest,) = inbox.messages
    assert digest["To"] == "anna@example.org"
    body = digest.get_content()
    assert "Nyanlända startar företag" in body and "Jobbspår för nyanlända kvinnor" in body
    assert "Arbeidstrening" not in body and "Språkcafé" not in body
    case_links = [link for link in _links(digest) if "/cases/" in link]
    assert case_links == [
        f"https://kb.example.org/cases/{second.slug}",
        f"https://kb.example.org/cases/{first.slug}",
    ]
    # The search page agrees: these are its newest results.
    page = client.get(SEARCH + "&sort=newest").text
    assert page.index(f'/{second.slug}"') < page.index(f'/{first.slug}"')

    assert "0 digest(s) sent" in _send(runner, "weekly")
    assert len(inbox.messages) == 1
    assert "0 digest(s) sent" in _send(runner, "monthly")

    third = _publish(editor, "Mentorer för nyanlända", themes=["employment"])
    _send(runner, "weekly")
    assert len(inbox.messages) == 2
    assert [link for link in _links(inbox.messages[-1]) if "/cases/" in link] == [
        f"https://kb.example.org/cases/{third.slug}"
    ]


def test_a_run_mails_its_digests_over_one_connection(
    client: FlaskClient, runner: FlaskCliRunner, inbox: Inbox, demo: None
) -> None:
    subscribers = ["anna@example.org", "bo@example.org", "cai@example.org"]
    for address in subscribers:
        _subscribed(client, inbox, SEARCH, address)
    _publish(_editor(), "Nyanlända startar företag", themes=["employment"])
    inbox.messages.clear()
    inbox.connections.clear()

    assert "3 digest(s) sent" in _send(runner, "weekly")

    assert sorted(m["To"] for m in inbox.messages) == subscribers
    assert len(inbox.connections) == 1


def test_a_mail_failure_stops_the_run_with_a_clear_message_and_sends_later(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, inbox: Inbox, demo: None
) -> None:
    _subscribed(client, inbox, SEARCH, "anna@example.org")
    _publish(_editor(), "Nyanlända startar företag", themes=["employment"])
    port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = 9  # nothing listens there: the connection is refused
    inbox.messages.clear()

    failed = runner.invoke(main, ["alerts", "send", "weekly"])

    assert failed.exit_code == 1
    assert re.search(r"alert \d+ \(anna@example\.org\): the mail could not be sent", failed.output)
    assert "run the command again to go on" in failed.output
    app.config["MAIL_PORT"] = port
    assert "sent 1 case(s)" in _send(runner, "weekly")
    assert len(inbox.messages) == 1


def test_two_runs_at_once_mail_each_digest_once(
    client: FlaskClient,
    runner: FlaskCliRunner,
    inbox: Inbox,
    demo: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run that read the alerts before an overlapping run mailed them (a slow run and the
    next one from cron) skips them instead of mailing the same digest again."""
    _subscribed(client, inbox, SEARCH, "anna@example.org")
    _publish(_editor(), "Nyanlända startar företag", themes=["employment"])
    inbox.messages.clear()
    read_before = subscriptions.confirmed("weekly")

    assert "sent 1 case(s)" in _send(runner, "weekly")
    monkeypatch.setattr(subscriptions, "confirmed", lambda frequency: read_before)
    late = _send(runner, "weekly")

    assert "skipped, another run has just sent it" in late
    assert len(inbox.messages) == 1


def test_the_digest_speaks_the_language_of_the_subscription(
    client: FlaskClient, runner: FlaskCliRunner, inbox: Inbox, demo: None
) -> None:
    client.set_cookie("kb_lang", "sv")
    _subscribed(client, inbox, SEARCH, "anna@example.org")
    client.delete_cookie("kb_lang")
    _publish(_editor(), "Nyanlända startar företag", themes=["employment"])

    _send(runner, "weekly")

    digest = inbox.messages[-1]
    assert digest["Subject"] == "Din bevakning: Nya exempel: Sverige · Arbete och sysselsättning"
    assert "Stoppa den här bevakningen:" in digest.get_content()


def _digest(client: FlaskClient, runner: FlaskCliRunner, inbox: Inbox) -> Message:
    _subscribed(client, inbox, SEARCH, "anna@example.org")
    _publish(_editor(), "Nyanlända startar företag", themes=["employment"])
    _send(runner, "weekly")
    return inbox.messages[-1]


def _count() -> int:
    return _sql("SELECT count(*) FROM alerts_subscription").scalar()


def test_a_mail_client_unsubscribes_in_one_click(
    client: FlaskClient, runner: FlaskCliRunner, inbox: Inbox, demo: None
) -> None:
    digest = _digest(client, runner, inbox)

    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = re.fullmatch(
        r"<(https://kb\.example\.org/alerts/unsubscribe/\S+)>", digest["List-Unsubscribe"]
    )
    assert url is not None
    # As RFC 8058 has it: a POST with that body, no cookie, no CSRF token.
    fresh = client.application.test_client()
    response = fresh.post(path_of(url.group(1)), data={"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert _count() == 0
    assert (
        fresh.post(path_of(url.group(1)), data={"List-Unsubscribe": "One-Click"}).status_code == 200
    )


def test_the_link_in_the_mail_unsubscribes_after_a_confirm_button(
    client: FlaskClient, runner: FlaskCliRunner, inbox: Inbox, demo: None
) -> None:
    digest = _digest(client, runner, inbox)
    (link,) = [link for link in _links(digest) if "/alerts/unsubscribe/" in link]
    assert f"<{link}>" == digest["List-Unsubscribe"]

    page = client.get(path_of(link))
    assert page.status_code == 200
    assert "Stop the alert" in page.text
    assert _count() == 1  # a GET (a link scanner) changes nothing

    done = client.post(path_of(link))
    assert "You will get no more e-mail" in done.text
    assert _count() == 0
    assert "0 digest(s) sent" in _send(runner, "weekly")


def test_a_subscriber_sees_and_stops_all_their_alerts_from_a_signed_link(
    client: FlaskClient, inbox: Inbox, demo: None
) -> None:
    _subscribed(client, inbox, SEARCH, "anna@example.org")
    _subscribed(client, inbox, f"/events/{EVENT}", "anna@example.org")
    _subscribed(client, inbox, SEARCH, "bo@example.org")
    html = client.get("/alerts/manage").text
    client.post(
        "/alerts/manage", data={"csrf_token": csrf_token(html), "email": "ANNA@example.org"}
    )
    manage = path_of(inbox.link())

    page = client.get(manage).text
    assert "New cases: Sweden · Employment" in page
    assert "News of the event" in page
    assert page.count("data-alert=") == 2

    client.post(manage, data={"csrf_token": csrf_token(page), "subscription": "all"})
    assert _sql("SELECT email FROM alerts_subscription").scalars().all() == ["bo@example.org"]
    assert client.get(manage[:-2] + "xx").status_code == 400


def test_personal_data_export_and_erase_include_alerts(
    client: FlaskClient, runner: FlaskCliRunner, inbox: Inbox, demo: None
) -> None:
    _subscribed(client, inbox, SEARCH, "anna@example.org")

    exported = runner.invoke(main, ["people", "export-address", "Anna@example.org"])
    data = json.loads(exported.output)
    (alert,) = data["plugins"]["alerts"]["subscriptions"]
    assert alert["follows"] == "country=SE&theme=employment"
    assert alert["frequency"] == "weekly"

    erased = runner.invoke(main, ["people", "erase-address", "anna@example.org", "--yes"])
    assert "Plugin alerts: 1 record(s) erased." in erased.output
    assert _count() == 0
    again = json.loads(runner.invoke(main, ["people", "export-address", "anna@example.org"]).output)
    assert again["plugins"] == {}


def test_following_an_event_brings_its_new_sessions_and_material(
    client: FlaskClient, runner: FlaskCliRunner, inbox: Inbox, demo: None
) -> None:
    page = client.get(f"/events/{EVENT}").text
    assert "Follow this event" in page
    _subscribed(client, inbox, f"/events/{EVENT}", "anna@example.org")
    event = db.session.scalar(select(Event).where(Event.slug == EVENT))
    session = programme.create_session(
        event, programme.SessionFields(title="Arbeidsgivere forteller")
    )
    programme.add_link(
        session,
        title="Lysark fra arbeidsgiverne",
        url="https://example.org/lysark.pdf",
        kind=MaterialKind.SLIDES,
    )

    _send(runner, "weekly")

    body = inbox.messages[-1].get_content()
    assert "Arbeidsgivere forteller" in body
    assert "Lysark fra arbeidsgiverne" in body
    assert "https://example.org/lysark.pdf" in body
    assert "0 digest(s) sent" in _send(runner, "weekly")


def test_an_alert_nobody_confirmed_within_a_week_is_forgotten(
    client: FlaskClient, runner: FlaskCliRunner, inbox: Inbox, demo: None
) -> None:
    _subscribe(client, SEARCH, "typed-by-someone-else@example.org")
    _subscribe(client, "/search?q=arbeid", "fresh@example.org")
    db.session.rollback()
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE alerts_subscription SET created_at = :then "
                "WHERE email = 'typed-by-someone-else@example.org'"
            ),
            {"then": datetime.now(UTC).replace(tzinfo=None) - timedelta(days=8)},
        )

    assert "1 unconfirmed alert(s) past their link's week removed" in _send(runner, "weekly")
    assert _sql("SELECT email FROM alerts_subscription").scalars().all() == ["fresh@example.org"]


def test_the_form_has_a_page_of_its_own(client: FlaskClient, demo: None) -> None:
    page = client.get("/alerts/subscribe?kind=search&target=country%3DSE")

    assert page.status_code == 200
    assert "New cases: Sweden" in page.text
    assert client.get("/alerts/subscribe?kind=event&target=no-such-event").status_code == 404
