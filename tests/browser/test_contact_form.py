"""A visitor writes to the people behind a case in Chromium, through two server processes.

Two gunicorn servers on one instance folder stand for two workers: they share the
database and the rate-limit file, so the sixth message in a minute is refused whichever
process answers it. Mail goes to the tests' real SMTP server. Every name and address is
made up.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from kb.extensions import db
from kb.models import Role
from kb.services import accounts
from tests import load
from tests.browser.test_browser import (  # noqa: F401 (fixtures)
    browser,
    serious_violations,
    shoot,
    translated,
)
from tests.conftest import Inbox, instance_from, make_app
from tests.test_contact import CONTACT, EDITORS, QUIET, case_with_contacts

VISITOR = "kari.besoker@example.org"


@dataclass(frozen=True)
class Site:
    first: str
    second: str
    inbox: Inbox


@pytest.fixture(scope="module")
def site(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Two cases (one with a consenting contact, one without), two editors, two servers."""
    folder = tmp_path_factory.mktemp("contact")
    instance = instance_from(sqlite_template, folder / "instance")
    app = make_app(instance)
    with app.app_context():
        case_with_contacts("lund", contacts=(("Ingrid Testdal", CONTACT, True),))
        case_with_contacts("malmo", contacts=(("Olav Stille", QUIET, False),))
        for address in EDITORS:
            accounts.create_user(address, Role.EDITOR)
        db.session.remove()
        db.engine.dispose()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    env = {**load._settings(instance), "KB_MAIL_SERVER": "127.0.0.1", "KB_MAIL_PORT": str(port)}
    with ExitStack() as servers:
        first, second = (
            servers.enter_context(load._gunicorn("wsgi:app", env, 1, folder / f"{name}.log"))
            for name in ("first", "second")
        )
        yield Site(first.base, second.base, inbox)
    smtp.stop()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:  # noqa: F811
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    yield page
    context.close()


def _write(page: Any, base: str, slug: str, message: str, copy: bool = False) -> None:
    page.goto(f"{base}/cases/{slug}")
    form = page.locator("#contact-form")
    form.get_by_label("Your name").fill("Kari Besøker")
    form.get_by_label("Your e-mail address").fill(VISITOR)
    form.get_by_label("Message").fill(message)
    if copy:
        form.get_by_label("Send me a copy").check()
    form.get_by_role("button", name="Send the message").click()
    page.wait_for_load_state()


def _everything(message: Any) -> str:
    return "\n".join(f"{k}: {v}" for k, v in message.items()) + message.get_content()


@pytest.mark.slow
def test_a_visitor_writes_to_a_case_and_the_sixth_message_in_a_minute_is_refused(
    browser: Any,  # noqa: F811
    page: Any,
    site: Site,
) -> None:
    # The form in a Nordic language, as a Swedish reader sees it.
    swedish = browser.new_context(locale="sv-SE")
    try:
        in_swedish = swedish.new_page()
        in_swedish.goto(f"{site.first}/cases/lund")
        in_swedish.locator("#contact-form").scroll_into_view_if_needed()
        assert (
            translated("sv", "Send a message") in in_swedish.locator("#contact-form").inner_text()
        )
        shoot(in_swedish, "case-contact-form-sv")
    finally:
        swedish.close()

    page.goto(f"{site.first}/cases/lund")
    form = page.locator("#contact-form")
    form.scroll_into_view_if_needed()
    assert CONTACT not in form.inner_html()
    assert not serious_violations(page), serious_violations(page)
    shoot(page, "case-contact-form")

    # 1 (first server): to the consenting contact, with a copy to the visitor.
    _write(page, site.first, "lund", "Hur fick ni volontärerna att stanna?", copy=True)
    assert "/cases/lund/contact" in page.url
    assert "Your message has been sent." in page.content()
    assert CONTACT not in page.content()
    to_contact, copy = site.inbox.messages
    assert to_contact["To"] == CONTACT
    assert to_contact["Reply-To"] == f"Kari Besøker <{VISITOR}>"
    assert to_contact.get_content().startswith("Hej!")  # the case's language
    assert "Hur fick ni volontärerna att stanna?" in to_contact.get_content()
    assert copy["To"] == VISITOR and CONTACT not in _everything(copy)

    # 2 (second server): no consenting contact, so the editors get it to forward.
    _write(page, site.second, "malmo", "Vem kan jag ringa om språkcaféet?")
    assert "It has gone to the editors, who will forward it." in page.content()
    assert not any(address in page.content() for address in (*EDITORS, QUIET))
    to_editors = site.inbox.messages[-1]
    assert to_editors["To"] == ", ".join(EDITORS)
    assert to_editors["Reply-To"] == f"Kari Besøker <{VISITOR}>"
    assert QUIET not in _everything(to_editors)

    # 3 to 5 alternate between the servers; the 6th is refused, with the text kept.
    for number, base in ((3, site.first), (4, site.second), (5, site.first)):
        _write(page, base, "lund", f"Fråga nummer {number}")
        assert "Your message has been sent." in page.content(), number
    _write(page, site.second, "lund", "Fråga nummer 6")
    assert "You have sent several messages in a short time." in page.content()
    assert page.locator("#message").input_value() == "Fråga nummer 6"
    assert len(site.inbox.messages) == 6  # 5 messages and 1 copy
