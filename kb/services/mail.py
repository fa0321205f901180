"""Outgoing e-mail: SMTP configured by ``KB_MAIL_*``; without a server, printed to the console.

Links in messages are built from ``BASE_URL``, never from the request's Host header,
so a forged Host cannot turn a password link into a link to someone else's site.
"""

from __future__ import annotations

import logging
import smtplib
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from email.message import EmailMessage
from typing import Any

from flask import current_app, g, render_template

log = logging.getLogger(__name__)

#: Set from the configuration and the call itself, never by ``headers``.
PROTECTED_HEADERS = ("from", "to", "subject", "reply-to")


class MailNotSent(Exception):
    """The mail server refused or could not be reached: the caller tells the user to try
    again later (a page answers 503 when nobody catches it), nothing is half-done."""


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL on the configured base URL (works outside a request too)."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["BASE_URL"].rstrip("/") + path


def console_text(message: EmailMessage) -> str:
    """The message as a person reads it: headers and the decoded body, so that a link copied
    from the console is whole (the wire form breaks long lines with quoted-printable ``=``)."""
    headers = "\n".join(
        f"{name}: {message[name]}"
        for name in ("From", "To", "Reply-To", "Subject")
        if message[name] is not None
    )
    return f"--- e-mail (KB_MAIL_SERVER is not set) ---\n{headers}\n\n{message.get_content()}"


def send_mail(
    to: str | Sequence[str],
    subject: str,
    template: str,
    *,
    reply_to: str | None = None,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> EmailMessage:
    """Render ``templates/mail/<template>.txt`` in the current language and send it."""
    body = render_template(f"mail/{template}.txt", **context)
    return send_text(to, subject, body, reply_to=reply_to, headers=headers)


def send_text(
    to: str | Sequence[str],
    subject: str,
    body: str,
    *,
    reply_to: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    """Send a plain-text message.

    ``to`` may name several recipients (one message, every address in ``To``); ``reply_to``
    is where a recipient's answer goes when it is not the site's own sender address (a
    visitor who wrote through a contact form); ``headers`` adds others
    (``List-Unsubscribe``...), never replacing From, To, Subject or Reply-To. SMTP failures
    (refused, unreachable, timed out) raise ``MailNotSent``."""
    config = current_app.config
    recipients = [to] if isinstance(to, str) else list(to)
    message = EmailMessage()
    message["From"] = config["MAIL_SENDER"]
    message["To"] = ", ".join(recipients)
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = subject
    for name, value in (headers or {}).items():
        if name.lower() in PROTECTED_HEADERS:
            raise ValueError(f"The {name} header is the mail service's own.")
        message[name] = value
    message.set_content(body)
    if not config.get("MAIL_SERVER"):
        print(console_text(message), file=sys.stderr)
        return message
    batch: _Batch | None = g.get(_BATCH)
    try:
        if batch is None:
            with _connect() as smtp:
                smtp.send_message(message)
        else:
            batch.send(message)
    except (smtplib.SMTPException, OSError) as error:
        log.error("Could not send %r to %s: %s", subject, message["To"], error)
        raise MailNotSent(str(error)) from error
    log.info("Sent %r to %s", subject, message["To"])
    return message


@contextmanager
def one_connection() -> Iterator[None]:
    """The mails sent inside share one connection to the mail server: a run of reminders or
    digests opens one (and logs in once), where each mail would open its own. Nested use
    keeps the outer one; without ``KB_MAIL_SERVER`` nothing is opened."""
    if g.get(_BATCH) is not None or not current_app.config.get("MAIL_SERVER"):
        yield
        return
    batch = g.setdefault(_BATCH, _Batch())
    try:
        yield
    finally:
        g.pop(_BATCH, None)
        batch.close()


#: ``g`` attribute: the ``_Batch`` of ``one_connection``.
_BATCH = "kb_mail_batch"


class _Batch:
    """One connection for several mails, opened on the first and again when the server
    has dropped it (servers close idle or long sessions); after a failed mail the next one
    starts on a fresh connection, so one refusal does not leave the rest in a bad state."""

    def __init__(self) -> None:
        self.smtp: smtplib.SMTP | None = None

    def send(self, message: EmailMessage) -> None:
        try:
            if self.smtp is None:
                self.smtp = _connect()
            try:
                self.smtp.send_message(message)
            except smtplib.SMTPServerDisconnected:
                self.smtp = _connect()
                self.smtp.send_message(message)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is not None:
            with suppress(smtplib.SMTPException, OSError):
                smtp.quit()
            smtp.close()


def _connect() -> smtplib.SMTP:
    """A connection to the configured server, TLS and login done."""
    config = current_app.config
    smtp = smtplib.SMTP(config["MAIL_SERVER"], int(config["MAIL_PORT"]), timeout=15)
    try:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
    except BaseException:
        smtp.close()
        raise
    return smtp
