"""Freshness on the web: the links of the yearly reminder, the "Still accurate" button of
owners and editors, and the editors' list of cases that may be out of date."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from kb.i18n import _, _l
from kb.services import catalogue, freshness, reminders
from kb.services.accounts import LinkInvalid
from kb.web.access import current_account, editor_required
from kb.web.manage_forms import ConfirmForm
from kb.web.menus import add_editor_link

bp = Blueprint("freshness", __name__)

#: Where the button sends its user back to: the page it was on.
BACK = {
    "mine": lambda case: url_for("submission.mine"),
    "case": lambda case: url_for("review.case", case_id=case.id),
    "stale": lambda case: url_for(".stale"),
}


def _used_page(used: reminders.LinkUsed, action: str) -> ResponseReturnValue:
    case = reminders.case_of(used.reminder)
    return render_template(
        "freshness/link_used.html", case=case, used=used.when, action=action
    ), 410


@bp.route("/reminders/still-accurate/<token>", methods=["GET", "POST"])
def confirm_link(token: str) -> ResponseReturnValue:
    """The reminder's *still accurate* link: no login, the signature is the proof. A GET
    only asks (mail scanners open links); the button's POST confirms."""
    try:
        reminder = reminders.reminder_for(token, reminders.CONFIRM)
    except reminders.LinkUsed as used:
        return _used_page(used, reminders.CONFIRM)
    except LinkInvalid as invalid:
        return render_template("auth/link_invalid.html", message=str(invalid)), 400
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            case = reminders.use_confirm_link(reminder)
        except reminders.LinkUsed as used:
            return _used_page(used, reminders.CONFIRM)
        return render_template("freshness/confirmed.html", case=case)
    status = 400 if form.is_submitted() else 200
    case = reminders.case_of(reminder)
    return render_template("freshness/confirm.html", case=case, form=form), status


@bp.get("/reminders/update/<token>")
def update_link(token: str) -> ResponseReturnValue:
    """The reminder's *update it* link: on to the case form (the login asks who it is)."""
    try:
        reminder = reminders.reminder_for(token, reminders.UPDATE)
    except reminders.LinkUsed as used:
        return _used_page(used, reminders.UPDATE)
    except LinkInvalid as invalid:
        return render_template("auth/link_invalid.html", message=str(invalid)), 400
    case = reminders.use_update_link(reminder)
    if case.owner_id is None:
        return render_template("freshness/no_owner.html", case=case)
    return redirect(url_for("submission.edit", case_id=case.id))


@bp.post("/cases/<int:case_id>/confirm")
@login_required
def confirm(case_id: int) -> ResponseReturnValue:
    """The "Still accurate" button of the case's owner (their list) and of editors."""
    case = catalogue.any_case(case_id)
    if case is None:
        abort(404)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        freshness.confirm(case, current_account())
    except freshness.ConfirmRefused:
        abort(403)
    flash(_("Thank you: “%(title)s” is confirmed as still accurate.", title=case.title))
    back = BACK.get(request.form.get("back", ""), BACK["mine"])
    return redirect(back(case))


@bp.get("/editor/stale")
@editor_required
def stale() -> ResponseReturnValue:
    """Published cases nobody has confirmed for two years: to confirm, ask about or archive."""
    return render_template(
        "editor/stale.html",
        cases=freshness.stale_cases(),
        years=freshness.STALE_AFTER_YEARS,
    )


def init_app(app: Flask) -> None:
    app.jinja_env.globals["may_be_out_of_date"] = freshness.is_stale
    app.jinja_env.globals["new_confirm_form"] = ConfirmForm
    add_editor_link(app, "freshness.stale", _l("May be out of date"))
    app.register_blueprint(bp)
