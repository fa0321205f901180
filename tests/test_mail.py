"""Outgoing mail over one connection for a run (``one_connection``), against a real SMTP
server on localhost: a dropped connection is opened again, a refused mail spoils nothing."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask

from kb.services import mail
from tests.conftest import Inbox


class _Refusing(Inbox):
    """An inbox whose server refuses the addresses at ``refused.example.org``."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address.endswith("@refused.example.org"):
            return "550 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"


class _Server:
    """An SMTP server that can be restarted on the same port (dropping its connections)."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.inbox = _Refusing()
        self.controller = self._started()

    def _started(self) -> Controller:
        controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        controller.start()
        return controller

    def restart(self) -> None:
        self.controller.stop()
        self.controller = self._started()


@pytest.fixture
def server() -> Iterator[_Server]:
    running = _Server()
    yield running
    running.controller.stop()


@pytest.fixture
def app(server: _Server) -> Flask:
    app = Flask(__name__)
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_SENDER="kb@example.org")
    return app


def test_mails_in_one_batch_share_a_connection_and_others_do_not(
    app: Flask, server: _Server
) -> None:
    with app.app_context():
        with mail.one_connection():
            for number in range(3):
                mail.send_text(f"p{number}@example.org", "Digest", "New cases.")
        mail.send_text("alone@example.org", "Reset", "A link.")

    assert len(server.inbox.messages) == 4
    assert len(server.inbox.connections) == 2


def test_a_batch_connects_again_when_the_server_dropped_the_connection(
    app: Flask, server: _Server
) -> None:
    with app.app_context(), mail.one_connection():
        mail.send_text("first@example.org", "Digest", "New cases.")
        server.restart()  # e.g. the server closing a session idle for too long
        mail.send_text("second@example.org", "Digest", "New cases.")

    assert [m["To"] for m in server.inbox.messages] == ["first@example.org", "second@example.org"]


def test_a_refused_mail_in_a_batch_raises_and_the_next_one_goes(
    app: Flask, server: _Server
) -> None:
    with app.app_context(), mail.one_connection():
        with pytest.raises(mail.MailNotSent):
            mail.send_text("gone@refused.example.org", "Digest", "New cases.")
        mail.send_text("next@example.org", "Digest", "New cases.")

    assert [m["To"] for m in server.inbox.messages] == ["next@example.org"]
