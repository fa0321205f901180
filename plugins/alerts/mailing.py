"""The plugin's mail: the confirmation link, the manage link, and the digests.

Each is written in the language its reader chose the alert in. Every digest carries a
one-click unsubscribe: a link in the text, and the ``List-Unsubscribe`` and
``List-Unsubscribe-Post`` headers (RFC 8058), which let a mail client unsubscribe with one
POST of its own; the signed token in the URL is what authorises it.
"""

from __future__ import annotations

from kb import toolkit
from kb.toolkit import _, _l

from . import follows
from .follows import News
from .subscriptions import LINK_MAX_AGE, Subscription, unsubscribe_token

#: How often, as a column heading shows it ("Weekly") and inside a sentence ("once a week").
FREQUENCY_LABELS = {"weekly": _l("Weekly"), "monthly": _l("Monthly")}
HOW_OFTEN = {"weekly": _l("once a week"), "monthly": _l("once a month")}


def unsubscribe_url(subscription: Subscription) -> str:
    return toolkit.external_url("plugin_alerts.unsubscribe", token=unsubscribe_token(subscription))


def unsubscribe_headers(url: str) -> dict[str, str]:
    """The headers of RFC 2369 and RFC 8058 for a one-click unsubscribe by ``url``."""
    return {
        "List-Unsubscribe": f"<{url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def send_confirmation(
    email: str, kind: str, target: str, frequency: str, language: str, token: str
) -> None:
    with toolkit.in_language(language):
        toolkit.send_mail(
            email,
            _("Confirm your e-mail alert"),
            "alerts/mail/confirm.txt",
            link=toolkit.external_url("plugin_alerts.confirm", token=token),
            title=follows.title(kind, target),
            how_often=str(HOW_OFTEN[frequency]),
            days=LINK_MAX_AGE.days,
        )


def send_manage_link(email: str, language: str, token: str) -> None:
    with toolkit.in_language(language):
        toolkit.send_mail(
            email,
            _("Your e-mail alerts"),
            "alerts/mail/manage.txt",
            link=toolkit.external_url("plugin_alerts.manage", token=token),
            days=LINK_MAX_AGE.days,
        )


def send_digest(subscription: Subscription, news: News) -> None:
    """Mail one digest (SMTP failures raise)."""
    url = unsubscribe_url(subscription)
    with toolkit.in_language(subscription.language):
        title = follows.title(subscription.kind, subscription.target)
        toolkit.send_mail(
            subscription.email,
            _("Your alert: %(title)s", title=title),
            "alerts/mail/digest.txt",
            headers=unsubscribe_headers(url),
            title=title,
            news=news,
            page_url=follows.page_url(subscription.kind, subscription.target),
            unsubscribe_url=url,
            manage_url=toolkit.external_url("plugin_alerts.ask_manage"),
            case_url=lambda case: toolkit.case_url(case, external=True),
            session_url=lambda session: toolkit.session_url(session, external=True),
            material_url=lambda material: (
                material.url or toolkit.material_url(material, external=True)
            ),
        )
