"""The plugin's pages: asking for an alert, confirming it, unsubscribing, managing them all.

Nothing here needs JavaScript: every step is a page with a form. The forms carry CSRF tokens,
except the unsubscribe POST, which mail clients send on their own (RFC 8058): there the
signed token in the URL is the authorisation. Asking for an alert or for a manage link is
rate-limited per client and per address, so nobody can flood an inbox through the site.
"""

from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from kb import toolkit
from kb.toolkit import _

from . import follows, mailing, subscriptions
from .forms import AskManageForm, CancelForm, ConfirmForm, SubscribeForm
from .subscriptions import LinkInvalid

bp = Blueprint("plugin_alerts", __name__, url_prefix="/alerts")

#: Per client address, and per e-mail address named: a few honest retries, no flood.
CLIENT_LIMITS = "10 per minute;30 per hour"
ADDRESS_LIMITS = "3 per hour;10 per day"
FORM_PREFIX = "alert"


def _address_key() -> str:
    """Count requests per e-mail address asked for, whoever asks."""
    for name in (f"{FORM_PREFIX}-email", "email"):
        if request.form.get(name):
            return "alerts:" + toolkit.normal_address(request.form[name])[:320]
    return "alerts:"


def _private(response: ResponseReturnValue) -> Response:
    """Pages reached by a signed link: never cached, never indexed, never a Referer."""
    page = make_response(response)
    page.headers["Cache-Control"] = "no-store"
    page.headers["X-Robots-Tag"] = "noindex, nofollow"
    page.headers["Referrer-Policy"] = "no-referrer"
    return page


def subscribe_form(kind: str, target: str) -> SubscribeForm:
    """The form that asks for an alert on ``target``, for a page section."""
    return SubscribeForm(formdata=None, prefix=FORM_PREFIX, kind=kind, target=target)


def _invalid_link(error: LinkInvalid) -> ResponseReturnValue:
    return _private((render_template("alerts/link_invalid.html", message=str(error)), 400))


@bp.route("/subscribe", methods=["GET", "POST"])
@toolkit.rate_limit(CLIENT_LIMITS)
@toolkit.rate_limit(ADDRESS_LIMITS, key=_address_key)
def subscribe() -> ResponseReturnValue:
    """GET: the form on a page of its own (``?kind=search&target=q%3Dx``); POST: ask."""
    if request.method == "GET":
        form = subscribe_form(request.args.get("kind", "search"), request.args.get("target", ""))
    else:
        form = SubscribeForm(prefix=FORM_PREFIX)
    try:
        search = follows.search_of(form.kind.data or "", form.target.data or "")
    except follows.UnknownTarget:
        return render_template("alerts/link_invalid.html", message=_("There is no such page.")), 404
    kind = form.kind.data if form.kind.data in subscriptions.KINDS else "search"
    target = form.target.data if kind == "event" else follows.search_target(search)
    title = follows.title(kind, target)
    if request.method == "GET" or not form.validate():
        status = 400 if request.method == "POST" else 200
        return render_template("alerts/subscribe.html", form=form, title=title), status
    email = toolkit.normal_address(form.email.data)
    language = toolkit.current_language()
    token = subscriptions.request(email, kind, target, form.frequency.data, language)
    mailing.send_confirmation(email, kind, target, form.frequency.data, language, token)
    return render_template("alerts/asked.html", email=email, title=title)


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> ResponseReturnValue:
    try:
        found, frequency = subscriptions.pending(token)
    except LinkInvalid as error:
        return _invalid_link(error)
    form = ConfirmForm()
    title = follows.title(found.kind, found.target)
    if form.validate_on_submit():
        confirmed = subscriptions.confirm(token)
        return _private(
            render_template(
                "alerts/confirmed.html",
                title=title,
                how_often=mailing.HOW_OFTEN[confirmed.frequency],
                unsubscribe_url=mailing.unsubscribe_url(confirmed),
            )
        )
    return _private(
        render_template(
            "alerts/confirm.html",
            form=form,
            title=title,
            email=found.email,
            how_often=mailing.HOW_OFTEN[frequency],
        )
    )


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@toolkit.csrf_exempt
def unsubscribe(token: str) -> ResponseReturnValue:
    """GET asks to confirm with a button; POST (that button, or a mail client's one-click
    ``List-Unsubscribe=One-Click``) cancels. Cancelling twice is no error."""
    try:
        found, email = subscriptions.by_unsubscribe_token(token)
    except LinkInvalid as error:
        return _invalid_link(error)
    title = follows.title(found.kind, found.target) if found else None
    if request.method == "POST":
        if found is not None:
            subscriptions.cancel(found.id, found.email)
        return _private(render_template("alerts/unsubscribed.html", title=title, email=email))
    return _private(render_template("alerts/unsubscribe.html", title=title, found=found))


@bp.route("/manage", methods=["GET", "POST"])
@toolkit.rate_limit(CLIENT_LIMITS)
@toolkit.rate_limit(ADDRESS_LIMITS, key=_address_key)
def ask_manage() -> ResponseReturnValue:
    """Ask for a link to one's alerts; the answer is the same whether there are any."""
    form = AskManageForm()
    if form.validate_on_submit():
        email = toolkit.normal_address(form.email.data)
        if subscriptions.of_address(email):
            token = subscriptions.manage_token(email)
            mailing.send_manage_link(email, toolkit.current_language(), token)
        return render_template("alerts/ask_manage.html", form=form, sent=True)
    return render_template("alerts/ask_manage.html", form=form, sent=False)


@bp.route("/manage/<token>", methods=["GET", "POST"])
def manage(token: str) -> ResponseReturnValue:
    try:
        email = subscriptions.address_of_manage_token(token)
    except LinkInvalid as error:
        return _invalid_link(error)
    form = CancelForm()
    if form.validate_on_submit():
        chosen = form.subscription.data
        owned = subscriptions.of_address(email)
        ids = [s.id for s in owned if chosen in ("all", str(s.id))]
        for subscription_id in ids:
            subscriptions.cancel(subscription_id, email)
        flash(_("Alerts cancelled: %(n)d.", n=len(ids)))
        return redirect(url_for("plugin_alerts.manage", token=token))
    alerts = [
        (s, follows.title(s.kind, s.target), mailing.FREQUENCY_LABELS[s.frequency])
        for s in subscriptions.of_address(email)
    ]
    return _private(render_template("alerts/manage.html", email=email, alerts=alerts))
