"""An editor invites a speaker: the mail arrives, the link sets a password, once."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from flask_babel import force_locale, gettext
from sqlalchemy import func, select

from kb.cli import main
from kb.extensions import db
from kb.models import Invitation, Role, User
from kb.services import accounts, catalogue, invitations
from tests.conftest import Inbox
from tests.web_helpers import GOOD_PASSWORD, login, path_of, post_form

SESSION = ["--event", "nyanlanda-i-jobb", "--session", "naeroy"]


def test_an_invited_speaker_sets_a_password_and_sees_the_session(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient, demo: None, inbox: Inbox
) -> None:
    result = runner.invoke(main, ["invite", "Speaker@Example.org", *SESSION])
    assert result.exit_code == 0, result.output

    assert len(inbox.messages) == 1
    mail = inbox.messages[0]
    assert mail["To"] == "speaker@example.org"
    assert "Nærøy: samarbeid med næringslivet" in mail.get_content()
    link = inbox.link()
    assert link.startswith("https://kb.example.org/invitation/")
    assert link == result.output.strip().splitlines()[-1]

    page = client.get(path_of(link))
    assert page.status_code == 200 and "speaker@example.org" in page.text
    done = post_form(client, path_of(link), password=GOOD_PASSWORD, confirm=GOOD_PASSWORD)
    assert done.status_code == 302

    account = client.get("/account").text
    assert 'href="/events/nyanlanda-i-jobb/naeroy"' in account
    user = db.session.scalar(select(User).where(User.email == "speaker@example.org"))
    assert user.role == Role.SPEAKER
    again = client.get(path_of(link))
    assert again.status_code == 400
    assert "already been used" in again.text


def test_inviting_an_existing_account_sends_its_owner_to_log_in(
    app: Flask, client: FlaskClient, demo: None, inbox: Inbox
) -> None:
    user = accounts.create_user("known@example.org", Role.SPEAKER)
    accounts.set_password(user, GOOD_PASSWORD)

    link = invitations.invite("known@example.org", catalogue.event("nyanlanda-i-jobb"))

    page = client.get(path_of(link))
    assert page.status_code == 200 and "Accept the invitation" in page.text
    assert db.session.scalar(select(Invitation.accepted_at)) is None  # opening is not accepting
    assert client.post(path_of(link)).status_code == 400  # without the form's CSRF token
    assert db.session.scalar(select(Invitation.accepted_at)) is None
    response = post_form(client, path_of(link))
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    db.session.rollback()  # end this test's read snapshot to see the request's write
    assert db.session.scalar(select(Invitation.accepted_at)) is not None
    assert login(client, "known@example.org", GOOD_PASSWORD, next_="/account").status_code == 302
    assert "Nyanlända i jobb" in client.get("/account").text
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


@pytest.mark.parametrize(
    ("tamper", "message"),
    [("forged", "not valid"), ("expired", "expired")],
)
def test_a_forged_or_expired_invitation_is_refused(
    app: Flask,
    client: FlaskClient,
    demo: None,
    inbox: Inbox,
    monkeypatch: pytest.MonkeyPatch,
    tamper: str,
    message: str,
) -> None:
    link = invitations.invite("late@example.org", catalogue.event("nyanlanda-i-jobb"))
    if tamper == "forged":
        link = link[:-4] + ("AAAA" if not link.endswith("AAAA") else "BBBB")
    else:
        monkeypatch.setattr(invitations, "MAX_AGE", -1)

    response = client.get(path_of(link))

    assert response.status_code == 400
    assert message in response.text
    user = db.session.scalar(select(User).where(User.email == "late@example.org"))
    assert user.password_hash is None
    assert db.session.scalar(select(Invitation.accepted_at)) is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["invite", "x@example.org", "--event", "no-such-event"], "There is no event"),
        (
            ["invite", "x@example.org", "--event", "nyanlanda-i-jobb", "--session", "nope"],
            "has no session",
        ),
        (["invite", "not-an-address", "--event", "nyanlanda-i-jobb"], "not an e-mail address"),
    ],
)
def test_bad_invitations_are_refused(
    app: Flask, runner: FlaskCliRunner, demo: None, args: list[str], message: str
) -> None:
    result = runner.invoke(main, args)

    assert result.exit_code == 1
    assert message in result.output
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 0


def test_a_used_invitation_links_to_the_login_that_leads_back_to_the_form(
    app: Flask, client: FlaskClient, demo: None, inbox: Inbox
) -> None:
    session = catalogue.session("nyanlanda-i-jobb", "naeroy")
    link = path_of(invitations.invite("used@example.org", session))
    post_form(client, link, password=GOOD_PASSWORD, confirm=GOOD_PASSWORD)
    client.post("/logout")

    again = client.get(link)

    assert again.status_code == 400
    login_link = f"/login?next=/submissions/new?session%3D{session.id}"
    assert f'href="{login_link}"' in again.text
    logged_in = login(
        client, "used@example.org", GOOD_PASSWORD, next_=f"/submissions/new?session={session.id}"
    )
    assert logged_in.headers["Location"] == f"/submissions/new?session={session.id}"


@pytest.mark.parametrize(
    ("args", "language"),
    [([], "nb"), (["--language", "fi"], "fi"), (["--language", "en"], "en")],
)
def test_kb_invite_writes_the_mail_in_the_events_language_or_the_one_asked_for(
    app: Flask,
    runner: FlaskCliRunner,
    demo: None,
    inbox: Inbox,
    args: list[str],
    language: str,
) -> None:
    assert catalogue.event("nyanlanda-i-jobb").language == "nb"

    result = runner.invoke(main, ["invite", "speaker@example.org", *SESSION, *args])

    assert result.exit_code == 0, result.output
    mail = inbox.messages[-1]
    with force_locale(language):
        assert mail["Subject"] == str(invitations.SUBJECT)
        assert gettext("Open this link to set a password and describe your case:") in (
            mail.get_content()
        )
    if language != "en":
        assert "Open this link" not in mail.get_content()


def test_kb_invite_says_so_when_the_mail_server_is_down(
    app: Flask, runner: FlaskCliRunner, demo: None, inbox: Inbox
) -> None:
    app.config["MAIL_PORT"] = 9  # nothing listens there: the connection is refused

    result = runner.invoke(main, ["invite", "speaker@example.org", *SESSION])

    assert result.exit_code == 1
    assert "The invitation could not be mailed" in result.output
    assert "KB_MAIL_SERVER" in result.output
    assert inbox.messages == []
