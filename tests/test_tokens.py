"""Personal API tokens: created on the command line or the account page, stored only as a
hash, revocable by their owner, and resolved to an active account for the JSON API."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select, text
from werkzeug.test import TestResponse

from kb.cli import main
from kb.database import write_transaction
from kb.extensions import db
from kb.models import ApiToken, Role, User
from kb.models.base import utcnow
from kb.services import accounts, tokens
from tests.web_helpers import GOOD_PASSWORD, csrf_token, login

NEW_TOKEN = re.compile(r'<code id="new-token">(kbt_[^<]+)</code>')


def new_user(email_: str = "ola@example.org", role: Role = Role.SPEAKER) -> User:
    user = accounts.create_user(email_, role)
    accounts.set_password(user, GOOD_PASSWORD)
    return user


def fresh(token: ApiToken) -> ApiToken:
    """The token as the database has it now (after writes by requests or the CLI)."""
    token_id = token.id
    db.session.rollback()
    return db.session.get(ApiToken, token_id)


def authenticate_anew(secret: str) -> User | None:
    """``authenticate`` as a new request would run it: without this test's read snapshot,
    which (on SQLite) cannot see what requests committed since it began."""
    db.session.rollback()
    return tokens.authenticate(secret)


def utc(moment: datetime) -> datetime:
    """SQLite gives times back without their zone; they are UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def token_count() -> int:
    return db.session.scalar(select(func.count()).select_from(ApiToken))


# -- the command line -----------------------------------------------------------------------


def test_tokens_create_prints_the_token_alone_on_the_last_line_and_it_works(
    app: Flask, runner: FlaskCliRunner
) -> None:
    user = new_user()

    result = runner.invoke(
        main, ["tokens", "create", "Ola@Example.org", "--name", "Municipal intranet"]
    )

    assert result.exit_code == 0, result.output
    *before, secret = result.output.strip().splitlines()
    assert re.fullmatch(r"kbt_[A-Za-z0-9_-]{43}", secret)
    assert "ola@example.org" in before[0]
    assert "shown only this once" in before[0]
    assert tokens.authenticate(secret).id == user.id
    assert [t.name for t in tokens.tokens_of(user)] == ["Municipal intranet"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tokens", "create", "nobody@example.org"], "There is no account"),
        (["tokens", "create", "ola@example.org", "--name", " "], "Give the token a name"),
        (["tokens", "create", "ola@example.org", "--name", "x" * 101], "at most 100"),
        (["tokens", "list", "nobody@example.org"], "There is no account"),
        (["tokens", "revoke", "999"], "There is no API token with id 999"),
    ],
)
def test_the_tokens_commands_refuse_bad_input_clearly(
    app: Flask, runner: FlaskCliRunner, args: list[str], message: str
) -> None:
    new_user()

    result = runner.invoke(main, args)

    assert result.exit_code != 0
    assert message in result.output
    assert token_count() == 0


def test_tokens_list_shows_owner_state_and_last_use(app: Flask, runner: FlaskCliRunner) -> None:
    user = new_user()
    new_user("kari@example.org")
    _used, secret = tokens.create_token(user, "Portal")
    unused, _secret = tokens.create_token(user, "Intranet")
    tokens.create_token(accounts.find_user("kari@example.org"), "Kari's script")
    tokens.authenticate(secret)
    tokens.revoke(unused)

    listing = runner.invoke(main, ["tokens", "list", "ola@example.org"])

    assert listing.exit_code == 0, listing.output
    header, *rows = listing.output.strip().splitlines()
    assert header.split()[:3] == ["id", "token", "name"]
    assert len(rows) == 2  # only Ola's tokens, newest first
    assert rows[0].startswith(f"{unused.id} ") and f"{unused.prefix}…" in rows[0]
    today = utcnow().strftime("%Y-%m-%d")
    assert "Intranet" in rows[0] and rows[0].count(today) == 2  # created and revoked
    assert "Portal" in rows[1] and rows[1].count(today) == 2  # created and last used
    assert rows[1].rstrip().endswith("-")  # not revoked
    assert secret not in listing.output
    everyone = runner.invoke(main, ["tokens", "list"]).output
    assert "kari@example.org" in everyone and "ola@example.org" in everyone


def test_tokens_revoke_ends_a_token_and_may_be_repeated(app: Flask, runner: FlaskCliRunner) -> None:
    token, secret = tokens.create_token(new_user(), "Portal")

    first = runner.invoke(main, ["tokens", "revoke", str(token.id)])
    again = runner.invoke(main, ["tokens", "revoke", str(token.id)])

    assert first.exit_code == again.exit_code == 0, first.output + again.output
    assert "Revoked API token" in first.output
    assert "already revoked" in again.output
    assert tokens.authenticate(secret) is None


# -- storage and authentication --------------------------------------------------------------


def test_only_a_hash_of_the_secret_is_stored(app: Flask) -> None:
    token, secret = tokens.create_token(new_user(), "Portal")

    row = db.session.execute(text("SELECT * FROM api_token")).mappings().one()

    stored = " ".join(str(value) for value in row.values())
    assert secret not in stored
    assert secret[len(token.prefix) :] not in stored
    assert row["token_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert row["prefix"] == secret[:12] == token.prefix


def test_each_token_is_new(app: Flask) -> None:
    user = new_user()

    secrets_ = {tokens.create_token(user, "Same name")[1] for _ in range(5)}

    assert len(secrets_) == 5
    assert all(tokens.authenticate(secret).id == user.id for secret in secrets_)


def test_revoked_tokens_and_closed_accounts_are_refused(app: Flask) -> None:
    user = new_user()
    revoked, revoked_secret = tokens.create_token(user, "Old portal")
    _kept, kept_secret = tokens.create_token(user, "Intranet")

    tokens.revoke(revoked)
    first_revocation = fresh(revoked).revoked_at
    tokens.revoke(fresh(revoked))

    assert tokens.authenticate(revoked_secret) is None
    assert fresh(revoked).revoked_at == first_revocation  # revoking twice changes nothing
    assert tokens.authenticate(kept_secret).id == user.id

    with write_transaction():
        db.session.add(user)
        user.active = False

    assert tokens.authenticate(kept_secret) is None
    with pytest.raises(tokens.TokenRejected, match="closed"):
        tokens.create_token(user, "Another")


def test_last_use_is_recorded_at_most_once_a_minute(app: Flask) -> None:
    token, secret = tokens.create_token(new_user(), "Portal")
    assert token.last_used_at is None

    tokens.authenticate(secret)
    first_use = fresh(token).last_used_at
    tokens.authenticate(secret)

    assert first_use is not None
    assert fresh(token).last_used_at == first_use  # not written again within the minute
    two_minutes_ago = utcnow() - timedelta(minutes=2)
    with write_transaction():
        fresh(token).last_used_at = two_minutes_ago
    tokens.authenticate(secret)
    assert utc(fresh(token).last_used_at) > two_minutes_ago + timedelta(minutes=1)


@pytest.mark.parametrize(
    "make_bad",
    [
        lambda secret: "",
        lambda secret: "kbt_",
        lambda secret: secret[:-1],
        lambda secret: secret + "A",
        lambda secret: f"Bearer {secret}",
        lambda secret: f" {secret}",
        lambda secret: f"{secret}\n",
        lambda secret: secret.replace("kbt_", "KBT_"),
        lambda secret: secret[:4] + "é" * 43,
        lambda secret: secret + "\x00",
        lambda secret: "kbt_" + "A" * 43,  # well formed, but no such token
        lambda secret: "x" * 100_000,
        lambda secret: None,
    ],
    ids=[
        "empty",
        "mark only",
        "short",
        "long",
        "with scheme",
        "leading space",
        "newline",
        "upper-case mark",
        "non-ascii",
        "nul",
        "unknown",
        "huge",
        "none",
    ],
)
def test_malformed_or_unknown_secrets_give_no_account(
    app: Flask, make_bad: Callable[[str], str | None]
) -> None:
    _token, secret = tokens.create_token(new_user(), "Portal")

    assert tokens.authenticate(make_bad(secret)) is None  # type: ignore[arg-type]


def test_an_authorization_header_is_read_as_a_bearer_token(app: Flask) -> None:
    user = new_user()
    _token, secret = tokens.create_token(user, "Portal")

    assert tokens.authenticate_header(f"Bearer {secret}").id == user.id
    assert tokens.authenticate_header(f"bearer {secret}").id == user.id
    for bad in (None, "", "Bearer", "Bearer ", f"Bearer  {secret}", f"Basic {secret}", secret):
        assert tokens.authenticate_header(bad) is None, bad


# -- the account page -----------------------------------------------------------------------


def _create_on_page(client: FlaskClient, name: str) -> TestResponse:
    token = csrf_token(client.get("/account").text)
    return client.post("/account/tokens", data={"csrf_token": token, "name": name})


def test_the_account_page_creates_a_token_and_shows_it_only_once(
    app: Flask, client: FlaskClient
) -> None:
    user = new_user()
    login(client, "ola@example.org", GOOD_PASSWORD)
    assert "You have no API tokens." in client.get("/account").text

    created = _create_on_page(client, "Municipal intranet")

    assert created.status_code == 200
    assert created.headers["Cache-Control"] == "no-store"
    secret = NEW_TOKEN.search(created.text).group(1)
    assert "it will not be shown again" in created.text
    assert authenticate_anew(secret).id == user.id
    with client.session_transaction() as session:
        assert secret not in repr(dict(session))
    reloaded = client.get("/account")
    assert secret not in reloaded.text
    assert "new-token" not in reloaded.text
    assert "Municipal intranet" in reloaded.text
    assert f"{secret[:12]}…" in reloaded.text
    assert "Active" in reloaded.text


def test_the_account_page_lists_last_use_and_revocation(app: Flask, client: FlaskClient) -> None:
    user = new_user()
    used, secret = tokens.create_token(user, "Portal")
    tokens.authenticate(secret)
    login(client, "ola@example.org", GOOD_PASSWORD)

    before = client.get("/account").text
    revoked = client.post(
        f"/account/tokens/{used.id}/revoke", data={"csrf_token": csrf_token(before)}
    )

    assert "Never" not in before  # it has been used
    assert revoked.status_code == 302
    assert revoked.headers["Location"] == "/account#api-tokens"
    after = client.get("/account").text
    assert "“Portal” has been revoked" in after
    assert "Revoked on" in after
    assert f"/account/tokens/{used.id}/revoke" not in after  # no button for a revoked token
    assert authenticate_anew(secret) is None


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "This field is required."), ("x" * 101, "cannot be longer than 100 characters")],
)
def test_the_account_page_refuses_a_token_without_a_good_name(
    app: Flask, client: FlaskClient, name: str, message: str
) -> None:
    new_user()
    login(client, "ola@example.org", GOOD_PASSWORD)

    refused = _create_on_page(client, name)

    assert refused.status_code == 422
    assert message in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert NEW_TOKEN.search(refused.text) is None
    assert token_count() == 0


def test_nobody_can_revoke_another_users_token(app: Flask, client: FlaskClient) -> None:
    token, secret = tokens.create_token(new_user(), "Portal")
    new_user("kari@example.org", Role.ADMIN)
    login(client, "kari@example.org", GOOD_PASSWORD)

    page = client.get("/account").text
    response = client.post(
        f"/account/tokens/{token.id}/revoke", data={"csrf_token": csrf_token(page)}
    )

    assert response.status_code == 404
    assert fresh(token).revoked_at is None
    assert authenticate_anew(secret) is not None
    assert "Portal" not in page


def test_revoking_needs_the_csrf_token(app: Flask, client: FlaskClient) -> None:
    token, _secret = tokens.create_token(new_user(), "Portal")
    login(client, "ola@example.org", GOOD_PASSWORD)

    response = client.post(f"/account/tokens/{token.id}/revoke", data={"csrf_token": "forged"})

    assert response.status_code == 400
    assert fresh(token).revoked_at is None
