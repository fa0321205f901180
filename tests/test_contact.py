"""The contact form of case and person pages: who gets the message, what each side sees,
and what is (not) kept. Mail goes to the tests' real SMTP server; every name and address
here is made up."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import String, Text, select

from kb.database import write_transaction
from kb.extensions import db
from kb.i18n import LANGUAGE_COOKIE
from kb.models import Case, CaseContact, CaseStatus, Person, Role
from kb.services import accounts, contact_messages
from tests.conftest import Inbox, RequestIsolatingClient, close_app, make_app
from tests.web_helpers import GOOD_PASSWORD, csrf_token, login

CONTACT = "ingrid.testdal@example.org"
QUIET = "olav.stille@example.org"
VISITOR = "visitor.sender@example.org"
EDITORS = ("editor.one@example.org", "editor.two@example.org")


def case_with_contacts(
    slug: str,
    *,
    language: str = "sv",
    status: str = CaseStatus.PUBLISHED,
    contacts: tuple[tuple[str, str | None, bool], ...] = (),
) -> Case:
    """A case with made-up contacts: (name, e-mail, consent)."""
    with write_transaction():
        case = Case(
            slug=slug,
            title=f"Språkcafé i {slug.title()}",
            summary="Nyanlända övar svenska med volontärer.",
            language=language,
            country="SE",
            status=status,
            published_at=datetime.now(UTC) if status == CaseStatus.PUBLISHED else None,
        )
        for position, (name, email, consent) in enumerate(contacts):
            person = Person(slug=f"{slug}-{position}", name=name, email=email)
            person.set_consent(consent)
            case.contacts.append(CaseContact(person=person, position=position))
        db.session.add(case)
    return case


@pytest.fixture
def editors(app: Flask) -> tuple[str, ...]:
    """Two editors, and a speaker who must never get the editors' mail."""
    for address in EDITORS:
        accounts.create_user(address, Role.EDITOR)
    accounts.create_user("speaker.only@example.org", Role.SPEAKER)
    return EDITORS


def _send(client: FlaskClient, page: str, **fields: str) -> object:
    """Fill in the contact form of ``page`` as a person would, and send it."""
    token = csrf_token(client.get(page).text)
    data = {
        "csrf_token": token,
        "name": "Vera Visitor",
        "email": VISITOR,
        "message": "Hur fick ni volontärerna att stanna?",
        **fields,
    }
    return client.post(f"{page}/contact", data=data)


def _everything(message: Message) -> str:
    """Headers and body of a mail: all that its reader can see."""
    return "\n".join(f"{k}: {v}" for k, v in message.items()) + "\n" + message.get_content()


def test_the_message_goes_to_the_consenting_contact_with_the_visitor_as_reply_to(
    app: Flask, client: FlaskClient, inbox: Inbox, editors: tuple[str, ...]
) -> None:
    case_with_contacts(
        "lund", contacts=(("Ingrid Testdal", CONTACT, True), ("Olav Stille", QUIET, False))
    )

    sent = _send(client, "/cases/lund")

    assert sent.status_code == 303
    confirmation = client.get(sent.headers["Location"])
    assert "Thank you. Your message has been sent." in confirmation.text
    assert CONTACT not in confirmation.text and "editor" not in confirmation.text
    [mail] = inbox.messages
    assert mail["To"] == CONTACT
    assert mail["Reply-To"] == f"Vera Visitor <{VISITOR}>"
    body = mail.get_content()
    # The frame is in the case's language (Swedish), the visitor's text as written.
    assert body.startswith("Hej!")
    assert "Hur fick ni volontärerna att stanna?" in body
    assert "https://kb.example.org/cases/lund" in body
    assert QUIET not in _everything(mail)


def test_without_a_consenting_contact_the_editors_get_it_to_forward(
    app: Flask, client: FlaskClient, inbox: Inbox, editors: tuple[str, ...]
) -> None:
    case_with_contacts(
        "malmo", contacts=(("Olav Stille", QUIET, False), ("Nils Utanpost", None, True))
    )
    page = client.get("/cases/malmo").text
    assert "goes to the editors of the knowledge base" in page

    sent = _send(client, "/cases/malmo")

    confirmation = client.get(sent.headers["Location"]).text
    assert "It has gone to the editors, who will forward it." in confirmation
    assert not any(address in confirmation for address in editors)
    [mail] = inbox.messages
    assert mail["To"] == ", ".join(editors)
    assert mail["Reply-To"] == f"Vera Visitor <{VISITOR}>"
    # Editors get the frame in the site's default language, asked to forward it.
    assert "please forward it to the right person" in mail.get_content()
    assert QUIET not in _everything(mail)


def test_a_copy_goes_to_the_sender_only_when_asked_and_names_no_recipient(
    app: Flask, client: FlaskClient, inbox: Inbox, editors: tuple[str, ...]
) -> None:
    case_with_contacts("umea", contacts=(("Ingrid Testdal", CONTACT, True),))

    _send(client, "/cases/umea")
    assert [m["To"] for m in inbox.messages] == [CONTACT]

    client.set_cookie(LANGUAGE_COOKIE, "nb")
    _send(client, "/cases/umea", copy="y")

    assert [m["To"] for m in inbox.messages] == [CONTACT, CONTACT, VISITOR]
    copy = inbox.messages[-1]
    assert copy["Reply-To"] is None
    assert "Hur fick ni volontärerna att stanna?" in copy.get_content()
    assert copy.get_content().startswith("Hei Vera Visitor,")  # the sender's language
    assert CONTACT not in _everything(copy)


def test_a_filled_in_honeypot_looks_sent_but_sends_and_counts_nothing(
    app: Flask, client: FlaskClient, inbox: Inbox, editors: tuple[str, ...]
) -> None:
    case = case_with_contacts("kiruna", contacts=(("Ingrid Testdal", CONTACT, True),))

    sent = _send(client, "/cases/kiruna", website="https://spam.example.org")

    assert sent.status_code == 303
    assert "Your message has been sent" in client.get(sent.headers["Location"]).text
    assert inbox.messages == []
    assert contact_messages.message_counts([case.id]) == {}


def test_a_draft_case_and_a_person_without_a_public_page_cannot_be_contacted(
    app: Flask, client: FlaskClient, inbox: Inbox, editors: tuple[str, ...]
) -> None:
    case_with_contacts(
        "draft", status=CaseStatus.DRAFT, contacts=(("Ingrid Testdal", CONTACT, True),)
    )
    case_with_contacts("visible", contacts=(("Olav Stille", QUIET, False),))
    token = csrf_token(client.get("/cases/visible").text)
    data = {"csrf_token": token, "name": "Bot", "email": VISITOR, "message": "Hello"}

    assert client.post("/cases/draft/contact", data=data).status_code == 404
    assert client.get("/cases/draft/contact").status_code == 404
    # The draft's contact has no public page, so no form either.
    assert client.post("/people/draft-0/contact", data=data).status_code == 404
    assert client.get("/people/draft-0").status_code == 404
    assert inbox.messages == []


def test_the_form_needs_its_csrf_token(
    app: Flask, client: FlaskClient, inbox: Inbox, editors: tuple[str, ...]
) -> None:
    case_with_contacts("gavle", contacts=(("Ingrid Testdal", CONTACT, True),))

    refused = client.post(
        "/cases/gavle/contact", data={"name": "Vera", "email": VISITOR, "message": "Hej"}
    )

    assert refused.status_code == 400
    assert inbox.messages == []


def test_problems_are_shown_at_their_fields_in_the_visitors_language(
    app: Flask, client: FlaskClient, inbox: Inbox, editors: tuple[str, ...]
) -> None:
    case_with_contacts("boras", contacts=(("Ingrid Testdal", CONTACT, True),))
    client.set_cookie(LANGUAGE_COOKIE, "nb")

    page = _send(client, "/cases/boras", email="not an address", message="")

    assert page.status_code == 422
    assert 'id="email-errors"' in page.text and 'id="message-errors"' in page.text
    assert "Fyll ut dette feltet." in page.text
    assert 'value="Vera Visitor"' in page.text  # what was typed is kept
    assert inbox.messages == []


def test_the_message_is_not_kept_only_counted(
    app: Flask, client: FlaskClient, inbox: Inbox, editors: tuple[str, ...]
) -> None:
    case = case_with_contacts("ystad", contacts=(("Ingrid Testdal", CONTACT, True),))
    marker = "Unikt-spårord-7731"

    for _ in range(2):
        _send(client, "/cases/ystad", message=f"Fråga {marker}", name="Vera Spårsdóttir")

    assert len(inbox.messages) == 2
    assert contact_messages.message_counts([case.id]) == {case.id: 2}
    for table in db.metadata.sorted_tables:
        texts = [c for c in table.columns if isinstance(c.type, String | Text)]
        if not texts:
            continue
        for row in db.session.execute(select(*texts)):
            assert not any(marker in str(v) or "Spårsdóttir" in str(v) for v in row), table.name
    instance = Path(app.instance_path)
    for path in instance.glob("*.sqlite3*"):
        assert marker.encode() not in path.read_bytes(), path.name
        assert VISITOR.encode() not in path.read_bytes(), path.name


def test_editors_see_the_count_on_the_case_and_in_the_queue(
    app: Flask, client: FlaskClient, inbox: Inbox, editors: tuple[str, ...]
) -> None:
    case = case_with_contacts("lulea", contacts=(("Ingrid Testdal", CONTACT, True),))
    for _ in range(3):
        _send(client, "/cases/lulea")
    editor = accounts.create_user("counting.editor@example.org", Role.EDITOR)
    accounts.set_password(editor, GOOD_PASSWORD)

    login(client, "counting.editor@example.org", GOOD_PASSWORD)

    review_page = client.get(f"/editor/cases/{case.id}").text
    assert "3 messages from visitors" in review_page
    assert 'id="contact-form"' not in review_page  # the form is the public page's only
    queue = client.get("/editor/?status=published").text
    assert "Messages from visitors" in queue and "<td>3</td>" in queue


def test_a_person_page_form_reaches_the_person_or_else_the_editors(
    app: Flask, client: FlaskClient, inbox: Inbox, editors: tuple[str, ...]
) -> None:
    case_with_contacts("orebro", language="da", contacts=(("Ingrid Testdal", CONTACT, True),))
    case_with_contacts("visby", contacts=(("Olav Stille", QUIET, False),))

    _send(client, "/people/orebro-0")
    _send(client, "/people/visby-0")

    to_person, to_editors = inbox.messages
    assert to_person["To"] == CONTACT
    assert to_person.get_content().startswith("Hej,")  # Danish: the language of her case
    assert "Ingrid Testdal" in to_person["Subject"]
    assert to_editors["To"] == ", ".join(editors)
    assert "Olav Stille" in to_editors.get_content()
    assert QUIET not in _everything(to_editors)


def test_a_recipient_takes_only_so_many_messages_a_day(
    app: Flask, client: FlaskClient, inbox: Inbox, editors: tuple[str, ...]
) -> None:
    app.config["CONTACT_LIMIT_PER_RECIPIENT"] = "2 per day"
    case_with_contacts("sundsvall", contacts=(("Ingrid Testdal", CONTACT, True),))

    statuses = [_send(client, "/cases/sundsvall").status_code for _ in range(3)]

    assert statuses == [303, 303, 429]
    assert len(inbox.messages) == 2
    refused = _send(client, "/cases/sundsvall")
    assert 0 < int(refused.headers["Retry-After"]) <= 24 * 3600


def test_when_the_mail_server_is_down_the_visitor_is_told_and_keeps_the_text(
    app: Flask, client: FlaskClient, inbox: Inbox, editors: tuple[str, ...]
) -> None:
    case = case_with_contacts("falun", contacts=(("Ingrid Testdal", CONTACT, True),))
    app.config["MAIL_PORT"] = 1  # nothing listens there

    page = _send(client, "/cases/falun")

    assert page.status_code == 503
    assert "could not be sent just now" in page.text
    assert "Hur fick ni volontärerna att stanna?" in page.text
    assert contact_messages.message_counts([case.id]) == {}


REDIS_URL = os.environ.get("KB_TEST_REDIS_URL")


@pytest.mark.parametrize("storage", ["sqlite-file", "redis"])
def test_the_sixth_message_in_a_minute_is_refused_across_two_app_instances(
    app: Flask, inbox: Inbox, editors: tuple[str, ...], storage: str
) -> None:
    """Two apps on one instance folder (as two workers) count in one storage: the default
    SQLite file, or Redis (``KB_TEST_REDIS_URL``, a key prefix of its own)."""
    config = {k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "MAIL_SERVER", "MAIL_PORT")}
    if storage == "redis":
        if not REDIS_URL:
            pytest.skip("KB_TEST_REDIS_URL is not set")
        config.update(RATELIMIT_STORAGE_URI=REDIS_URL, RATELIMIT_KEY_PREFIX=uuid.uuid4().hex)
    case_with_contacts("kalmar", contacts=(("Ingrid Testdal", CONTACT, True),))
    workers = [make_app(Path(app.instance_path), **config) for _ in range(2)]
    clients = []
    for worker in workers:
        worker.test_client_class = RequestIsolatingClient
        clients.append(worker.test_client())
        clients[-1].set_cookie(LANGUAGE_COOKIE, "sv")

    statuses = []
    for number in range(6):
        with workers[number % 2].app_context():
            statuses.append(_send(clients[number % 2], "/cases/kalmar").status_code)

    assert statuses == [303] * 5 + [429]
    assert len(inbox.messages) == 5
    with workers[0].app_context():
        refused = _send(clients[0], "/cases/kalmar", message="Min sjätte fråga")
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert "Min sjätte fråga" in refused.text  # the text is kept
    assert "flera meddelanden" in refused.text  # in the visitor's language (Swedish)
    for worker in workers:
        with worker.app_context():
            close_app(worker)


def test_a_line_break_in_the_name_or_address_never_reaches_a_mail_header(
    app: Flask, client: FlaskClient, inbox: Inbox, editors: tuple[str, ...]
) -> None:
    case_with_contacts("hoor", contacts=(("Ingrid Testdal", CONTACT, True),))

    by_name = _send(client, "/cases/hoor", name="Vera\r\nBcc: victim@example.org")
    by_address = _send(client, "/cases/hoor", email=f"{VISITOR}\r\nBcc: victim@example.org")

    # The name is taken as one line; the address is refused.
    assert (by_name.status_code, by_address.status_code) == (303, 422)
    [mail] = inbox.messages
    assert mail["Reply-To"] == f'"Vera Bcc: victim@example.org" <{VISITOR}>'
    assert mail["Bcc"] is None and "victim" not in mail["To"]
