"""Accounts: creating them, setting passwords by single-use links, logging in and out."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from kb.cli import main
from kb.extensions import db
from kb.models import Role, User
from kb.services import accounts
from tests.conftest import Inbox, RequestIsolatingClient, instance_from, make_app
from tests.web_helpers import GOOD_PASSWORD, csrf_token, login, path_of, post_form


def new_user(email_: str = "editor@example.org", role: Role = Role.EDITOR) -> User:
    user = accounts.create_user(email_, role)
    accounts.set_password(user, GOOD_PASSWORD)
    return user


# -- creating accounts ---------------------------------------------------------------------


def test_users_create_prints_a_single_use_link_that_sets_the_password(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient
) -> None:
    result = runner.invoke(main, ["users", "create", "Ola@Example.org", "--role", "editor"])
    assert result.exit_code == 0, result.output
    link = result.output.strip().splitlines()[-1]
    assert link.startswith("http://localhost/password/set/")

    weak = post_form(client, path_of(link), password="password1234", confirm="password1234")
    assert "among the most common passwords" in weak.text
    assert db.session.scalar(db.select(User.password_hash)) is None

    done = post_form(client, path_of(link), password=GOOD_PASSWORD, confirm=GOOD_PASSWORD)
    assert done.status_code == 302 and done.headers["Location"] == "/editor/"
    assert "ola@example.org" in client.get("/account").text
    again = client.get(path_of(link))
    assert again.status_code == 400
    assert "already been used" in again.text


def test_users_create_reads_a_password_from_stdin(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient
) -> None:
    result = runner.invoke(
        main,
        ["users", "create", "kari@example.org", "--role", "admin", "--password-stdin"],
        input=GOOD_PASSWORD + "\n",
    )

    assert result.exit_code == 0, result.output
    assert "http" not in result.output
    assert login(client, "kari@example.org", GOOD_PASSWORD).status_code == 302
    listing = runner.invoke(main, ["users", "list"]).output
    assert "admin    kari@example.org" in listing


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["users", "create", "x@example.org", "--password-stdin"], "short\n", "at least 12"),
        (["users", "create", "x@example.org", "--password-stdin"], "qwertyuiop123\n", "common"),
        (["users", "create", "not-an-address"], "", "not an e-mail address"),
        (["users", "create", "x@example.org", "--role", "king"], "", "Invalid value"),
    ],
)
def test_users_create_refuses_bad_input(
    app: Flask, runner: FlaskCliRunner, args: list[str], stdin: str, message: str
) -> None:
    result = runner.invoke(main, args, input=stdin)

    assert result.exit_code != 0
    assert message in result.output
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 0


def test_an_e_mail_address_is_one_account(app: Flask, runner: FlaskCliRunner) -> None:
    runner.invoke(main, ["users", "create", "dup@example.org"])

    result = runner.invoke(main, ["users", "create", "DUP@example.org"])

    assert result.exit_code == 1
    assert "already exists" in result.output


# -- logging in and out --------------------------------------------------------------------


def test_login_with_a_wrong_password_is_refused_without_saying_which_part(
    app: Flask, client: FlaskClient
) -> None:
    new_user()

    wrong = login(client, "editor@example.org", "not the password at all")
    unknown = login(client, "nobody@example.org", GOOD_PASSWORD)

    assert wrong.status_code == unknown.status_code == 401
    assert "The e-mail address or the password is wrong." in wrong.text
    assert client.get("/account").status_code == 302


@pytest.mark.parametrize(
    ("next_", "expected"),
    [
        ("/search?q=flyktning", "/search?q=flyktning"),
        ("https://evil.example/", "/editor/"),
        ("//evil.example", "/editor/"),
    ],
)
def test_login_goes_back_only_to_this_site(
    app: Flask, client: FlaskClient, next_: str, expected: str
) -> None:
    new_user()

    response = login(client, "editor@example.org", GOOD_PASSWORD, next_=next_)

    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_login_starts_a_new_session_and_logout_ends_it(app: Flask, client: FlaskClient) -> None:
    new_user()
    with client.session_transaction() as before:
        before["planted"] = "by someone else"

    login(client, "editor@example.org", GOOD_PASSWORD)
    with client.session_transaction() as after:
        assert "planted" not in after
    assert client.get("/account").status_code == 200

    token = csrf_token(client.get("/account").text)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/account").status_code == 302


def test_a_new_password_ends_the_other_sessions(app: Flask, client: FlaskClient) -> None:
    user = new_user()
    login(client, "editor@example.org", GOOD_PASSWORD)
    assert client.get("/account").status_code == 200

    accounts.set_password(user, "another long passphrase 7")

    assert client.get("/account").status_code == 302


def test_a_forged_csrf_token_is_refused(app: Flask, client: FlaskClient) -> None:
    new_user()

    response = client.post(
        "/login",
        data={"csrf_token": "forged", "email": "editor@example.org", "password": GOOD_PASSWORD},
    )

    assert response.status_code == 400
    assert "did not come from this site" in response.text
    assert client.get("/account").status_code == 302


# -- password reset by e-mail ---------------------------------------------------------------


def test_a_reset_link_arrives_by_mail_built_from_the_base_url(
    app: Flask, client: FlaskClient, inbox: Inbox
) -> None:
    new_user()

    # The request comes to http://localhost; the link must use BASE_URL all the same.
    post_form(client, "/password/forgot", email="Editor@Example.org")

    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "editor@example.org"
    link = inbox.link()
    assert link.startswith("https://kb.example.org/password/set/")
    set_ = post_form(
        client, path_of(link), password="a brand new passphrase", confirm="a brand new passphrase"
    )
    assert set_.status_code == 302
    assert login(client, "editor@example.org", "a brand new passphrase").status_code == 302
    assert client.get(path_of(link)).status_code == 400


def test_an_unknown_address_gets_the_same_answer_and_no_mail(
    app: Flask, client: FlaskClient, inbox: Inbox
) -> None:
    new_user()

    known = post_form(client, "/password/forgot", email="editor@example.org")
    unknown = post_form(client, "/password/forgot", email="nobody@example.org")

    assert len(inbox.messages) == 1
    assert known.status_code == unknown.status_code == 200
    answer = "If there is an account with that e-mail address, we have sent it a link"
    assert answer in known.text
    assert answer in unknown.text


def test_when_the_mail_server_is_down_the_reset_page_says_to_try_again_in_the_users_language(
    app: Flask, client: FlaskClient, inbox: Inbox
) -> None:
    new_user()
    app.config["MAIL_PORT"] = 9  # nothing listens there: the connection is refused
    client.set_cookie("kb_lang", "sv")

    response = post_form(client, "/password/forgot", email="editor@example.org")

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert "E-postmeddelandet kunde inte skickas" in response.text
    assert "Försök igen om några minuter" in response.text
    assert inbox.messages == []


def test_an_expired_link_is_refused(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = new_user()
    link = accounts.password_link(user, "reset")
    monkeypatch.setitem(accounts.LINK_MAX_AGE, "reset", -1)

    response = client.get(path_of(link))

    assert response.status_code == 400
    assert "expired" in response.text


# -- throttling -----------------------------------------------------------------------------


def test_login_attempts_are_throttled(app: Flask, client: FlaskClient) -> None:
    new_user()
    statuses = [
        login(client, "editor@example.org", f"wrong guess {i:04d}").status_code for i in range(11)
    ]

    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    assert "Too many attempts" in login(client, "editor@example.org", GOOD_PASSWORD).text


REDIS_URL = os.environ.get("KB_TEST_REDIS_URL")


def test_several_workers_share_one_login_limit_through_redis(
    sqlite_template: Path, tmp_path: Path
) -> None:
    if not REDIS_URL:
        if os.environ.get("KB_REQUIRE_REDIS") == "1":
            pytest.fail("KB_REQUIRE_REDIS=1 but KB_TEST_REDIS_URL is not set")
        pytest.skip("KB_TEST_REDIS_URL is not set, so the shared-limit test is skipped")
    prefix = f"kbtest-{uuid.uuid4().hex}"
    config = {"RATELIMIT_STORAGE_URI": REDIS_URL, "RATELIMIT_KEY_PREFIX": prefix}
    workers = [
        make_app(instance_from(sqlite_template, tmp_path / f"worker{n}"), **config)
        for n in range(2)
    ]
    clients = []
    for worker in workers:
        worker.test_client_class = RequestIsolatingClient
        clients.append(worker.test_client())

    statuses = []
    for attempt in range(11):
        worker_client = clients[attempt % 2]
        with workers[attempt % 2].app_context():
            statuses.append(login(worker_client, "x@example.org", "guess").status_code)

    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429


@pytest.mark.parametrize(
    ("role", "lands_on"),
    [(Role.EDITOR, "/editor/"), (Role.ADMIN, "/editor/"), (Role.SPEAKER, "/submissions/")],
)
def test_login_lands_on_the_work_of_the_role_unless_next_says_otherwise(
    app: Flask, client: FlaskClient, role: Role, lands_on: str
) -> None:
    new_user("someone@example.org", role)

    assert login(client, "someone@example.org", GOOD_PASSWORD).headers["Location"] == lands_on
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/login").text)})
    chosen = login(client, "someone@example.org", GOOD_PASSWORD, next_="/account")
    assert chosen.headers["Location"] == "/account"


@pytest.mark.parametrize(
    ("email_", "password"),
    [
        ("ola@example.org", "Kolari harbour 2026"),  # "ola" is too short to count
        ("ola.nordmann@example.org", "Kolari harbour 2026"),
    ],
)
def test_a_short_e_mail_name_inside_a_strong_password_is_no_objection(
    app: Flask, email_: str, password: str
) -> None:
    accounts.check_password_policy(password, email_)


@pytest.mark.parametrize(
    ("email_", "password", "name"),
    [
        ("kari@example.org", "kari loves long walks", "kari"),
        ("ola.nordmann@example.org", "Nordmann winter 2026", "nordmann"),
        ("ola.nordmann@example.org", "ola.nordmann 2026!", "ola.nordmann"),
    ],
)
def test_a_password_with_the_e_mail_name_is_refused_with_the_reason(
    app: Flask, client: FlaskClient, email_: str, password: str, name: str
) -> None:
    with pytest.raises(accounts.PasswordRejected) as refused:
        accounts.check_password_policy(password, email_)
    assert f"your e-mail name “{name}”" in str(refused.value)


def test_the_reason_for_a_refused_password_is_in_the_users_language(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    result = runner.invoke(main, ["users", "create", "kari@example.org", "--role", "speaker"])
    link = path_of(result.output.strip().splitlines()[-1])
    client.set_cookie("kb_lang", "nb")

    refused = post_form(
        client, link, password="kari loves long walks", confirm="kari loves long walks"
    )

    assert "e-postnavnet ditt «kari»" in refused.text
