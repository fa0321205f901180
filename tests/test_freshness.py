"""Freshness: cases are confirmed as still accurate, reminded once a year, and marked when
nobody has confirmed them for two years."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select

from kb.cli import main
from kb.database import write_transaction
from kb.extensions import db
from kb.models import Case, CaseReminder, CaseStatus, Role, User
from kb.models.base import utcnow
from kb.services import accounts, reminders, restoring
from tests.conftest import Inbox
from tests.web_helpers import (
    GOOD_PASSWORD,
    csrf_token,
    form_values,
    login,
    path_of,
    post_form,
    with_values,
)


def _published(n: int) -> list[Case]:
    return list(
        db.session.scalars(
            select(Case).where(Case.status == CaseStatus.PUBLISHED).order_by(Case.id).limit(n)
        )
    )


def _speaker(email: str, role: Role = Role.SPEAKER) -> User:
    user = accounts.create_user(email, role)
    accounts.set_password(user, GOOD_PASSWORD)
    return user


def _own(case: Case, owner: User) -> None:
    with write_transaction():
        db.session.add(case)
        case.owner = owner


def _confirmed(case: Case, when: datetime) -> None:
    with write_transaction():
        db.session.add(case)
        case.last_confirmed_at = when


def _fresh(case_id: int) -> Case:
    db.session.rollback()  # requests committed in their own sessions
    case = db.session.get(Case, case_id)
    assert case is not None
    return case


def _a_year_ahead() -> str:
    return (utcnow() + timedelta(days=367)).strftime("%Y-%m-%dT%H:%M:%S")


@pytest.fixture
def reminded(app: Flask, demo: None, inbox: Inbox) -> dict[str, Case]:
    """Two demo cases with an owner each, and one whose contact consented to show an e-mail."""
    first, second = _published(2)
    third = db.session.scalars(
        select(Case).where(Case.contacts.any(), Case.id.not_in([first.id, second.id]))
    ).first()
    assert third is not None and third.owner is None
    _own(first, _speaker("owner1@example.org"))
    _own(second, _speaker("owner2@example.org"))
    with write_transaction():
        db.session.add(third)
        person = third.contacts[0].person
        person.email = "contact@example.org"
        person.set_consent(True)
    return {"owner1@example.org": first, "owner2@example.org": second, "contact@example.org": third}


def test_publishing_confirms_a_case(app: Flask, demo: None) -> None:
    case = _published(1)[0]
    assert case.last_confirmed_at is not None
    assert abs(case.last_confirmed_at - case.published_at) < timedelta(minutes=5)


def test_reminders_go_once_a_year_in_the_cases_language(
    app: Flask, runner: FlaskCliRunner, reminded: dict[str, Case], inbox: Inbox
) -> None:
    today = runner.invoke(main, ["reminders", "send"])
    assert today.exit_code == 0, today.output
    assert inbox.messages == []  # everything was confirmed at publication

    ahead = _a_year_ahead()
    dry = runner.invoke(main, ["reminders", "send", "--dry-run", "--now", ahead])
    assert dry.exit_code == 0, dry.output
    assert "3 reminder(s) due" in dry.output and inbox.messages == []

    sent = runner.invoke(main, ["reminders", "send", "--now", ahead])
    assert sent.exit_code == 0, sent.output
    assert "Sent 3 reminder(s)." in sent.output
    assert sorted(m["To"] for m in inbox.messages) == sorted(reminded)
    assert len(inbox.connections) == 1  # one connection to the mail server for the run
    for message in inbox.messages:
        case = reminded[message["To"]]
        body = message.get_content()
        assert case.title in body
        assert "/reminders/still-accurate/" in body and "/reminders/update/" in body
        if case.language == "nb":
            assert "fortsatt riktig" in message["Subject"]

    again = runner.invoke(main, ["reminders", "send", "--now", ahead])
    assert again.exit_code == 0, again.output
    assert "Sent 0 reminder(s)." in again.output
    assert len(inbox.messages) == 3
    later = (utcnow() + timedelta(days=500)).strftime("%Y-%m-%d")
    assert "Sent 0" in runner.invoke(main, ["reminders", "send", "--now", later]).output


def test_a_failed_mail_says_so_and_sends_it_on_the_next_run(
    app: Flask, runner: FlaskCliRunner, reminded: dict[str, Case], inbox: Inbox
) -> None:
    port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = 9  # nothing listens there
    failed = runner.invoke(main, ["reminders", "send", "--now", _a_year_ahead()])
    assert failed.exit_code == 1
    assert "Could not send a reminder" in failed.output and "0 of 3 sent" in failed.output
    assert db.session.scalar(select(func.count()).select_from(CaseReminder)) == 0

    app.config["MAIL_PORT"] = port
    retried = runner.invoke(main, ["reminders", "send", "--now", _a_year_ahead()])
    assert "Sent 3 reminder(s)." in retried.output


def test_two_runs_at_once_send_each_reminder_once(
    app: Flask, reminded: dict[str, Case], inbox: Inbox
) -> None:
    """A slow run overlapping the next one (cron): both find the same cases due, then send
    at the same moment, in threads with sessions of their own."""
    moment = utcnow() + timedelta(days=367)
    start = threading.Barrier(2)
    outcomes: list[list[bool]] = []

    def run() -> None:
        with app.app_context():
            due = reminders.due(moment)
            start.wait(timeout=30)
            outcomes.append([reminders.send(item, moment) is not None for item in due])
            db.session.remove()

    runs = [threading.Thread(target=run) for _ in range(2)]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join(timeout=60)
    assert [len(sent) for sent in outcomes] == [3, 3]  # both runs found all three due
    assert sum(map(sum, outcomes)) == 3
    assert sorted(m["To"] for m in inbox.messages) == sorted(reminded)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(CaseReminder)) == 3


def _links(inbox: Inbox, to: str) -> tuple[str, str]:
    body = next(m for m in inbox.messages if m["To"] == to).get_content()
    confirm = next(w for w in body.split() if "/reminders/still-accurate/" in w)
    update = next(w for w in body.split() if "/reminders/update/" in w)
    return path_of(confirm), path_of(update)


def test_the_still_accurate_link_confirms_without_login_once(
    app: Flask,
    runner: FlaskCliRunner,
    client: FlaskClient,
    reminded: dict[str, Case],
    inbox: Inbox,
) -> None:
    case = reminded["owner1@example.org"]
    _confirmed(case, utcnow() - timedelta(days=800))
    runner.invoke(main, ["reminders", "send"])
    confirm, _update = _links(inbox, "owner1@example.org")

    page = client.get(confirm)
    assert page.status_code == 200 and case.title in page.text
    assert _fresh(case.id).last_confirmed_at < utcnow() - timedelta(days=700)  # a GET asks only
    assert client.post(confirm).status_code == 400  # without the form's CSRF token

    done = post_form(client, confirm)
    assert done.status_code == 200 and "Thank you" in done.text
    assert _fresh(case.id).last_confirmed_at > utcnow() - timedelta(minutes=1)

    used = client.get(confirm)
    assert used.status_code == 410 and "already been used" in used.text
    token = csrf_token(page.text)
    assert client.post(confirm, data={"csrf_token": token}).status_code == 410
    assert client.get(confirm[:-3] + "abc").status_code == 400  # a forged signature


def test_the_update_link_opens_the_case_form_and_the_edit_waits_for_review(
    app: Flask,
    runner: FlaskCliRunner,
    client: FlaskClient,
    reminded: dict[str, Case],
    inbox: Inbox,
) -> None:
    case = reminded["owner2@example.org"]
    runner.invoke(main, ["reminders", "send", "--now", _a_year_ahead()])
    _confirm, update = _links(inbox, "owner2@example.org")

    to_form = client.get(update)
    assert to_form.status_code == 302
    assert to_form.headers["Location"].endswith(f"/submissions/{case.id}")
    assert client.get(update).status_code == 410  # the link works once

    assert "/login" in client.get(f"/submissions/{case.id}").headers["Location"]
    login(client, "owner2@example.org", GOOD_PASSWORD)
    form = client.get(f"/submissions/{case.id}")
    assert form.status_code == 200 and case.title in form.text
    values = with_values(form_values(form.text), title="A newer title", send="y")
    saved = client.post(f"/submissions/{case.id}", data=values)
    assert saved.status_code == 302, saved.text

    live = _fresh(case.id)
    assert live.title != "A newer title" and live.status == CaseStatus.PUBLISHED
    proposal = restoring.pending_proposal(live)
    assert proposal is not None and proposal.data["title"] == "A newer title"


def test_owners_and_editors_confirm_with_a_button(
    app: Flask, client: FlaskClient, demo: None
) -> None:
    first, second = _published(2)
    owner = _speaker("owner@example.org")
    _own(first, owner)
    _speaker("editor@example.org", Role.EDITOR)
    old = utcnow() - timedelta(days=900)
    _confirmed(first, old)
    _confirmed(second, old)

    login(client, "owner@example.org", GOOD_PASSWORD)
    mine = client.get("/submissions/")
    assert "May be out of date" in mine.text
    token = csrf_token(mine.text)
    assert client.post(f"/cases/{second.id}/confirm", data={"csrf_token": token}).status_code == 403
    assert client.post(f"/cases/{first.id}/confirm", data={"back": "mine"}).status_code == 400
    done = client.post(f"/cases/{first.id}/confirm", data={"csrf_token": token, "back": "mine"})
    assert done.status_code == 302
    assert _fresh(first.id).last_confirmed_at > utcnow() - timedelta(minutes=1)
    assert _fresh(second.id).last_confirmed_at < utcnow() - timedelta(days=800)

    editor = app.test_client()
    login(editor, "editor@example.org", GOOD_PASSWORD)
    listed = editor.get("/editor/stale")
    assert listed.status_code == 200
    assert f"/editor/cases/{second.id}" in listed.text
    assert f"/editor/cases/{first.id}" not in listed.text
    assert 'href="/editor/stale"' in editor.get("/editor/").text
    token = csrf_token(listed.text)
    confirmed = editor.post(
        f"/cases/{second.id}/confirm", data={"csrf_token": token, "back": "stale"}
    )
    assert confirmed.headers["Location"].endswith("/editor/stale")
    assert f"/editor/cases/{second.id}" not in editor.get("/editor/stale").text
    assert client.get("/editor/stale").status_code == 403


def test_a_case_unconfirmed_for_two_years_is_marked_on_its_page_and_in_the_api(
    app: Flask, client: FlaskClient, demo: None
) -> None:
    stale, fresh = _published(2)
    _confirmed(stale, utcnow() - timedelta(days=2 * 365 + 2))

    page = client.get(f"/cases/{stale.slug}")
    assert "May be out of date" in page.text and "Last confirmed" in page.text
    assert "May be out of date" not in client.get(f"/cases/{fresh.slug}").text

    api = client.get(f"/api/v1/cases/{stale.slug}").get_json()
    assert api["stale"] is True and api["last_confirmed_at"].startswith(
        stale.last_confirmed_at.date().isoformat()
    )
    assert client.get(f"/api/v1/cases/{fresh.slug}").get_json()["stale"] is False
