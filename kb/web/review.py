"""The editors' desk: the review queue, one case with its changes and history, decisions,
and invitations to speakers."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from kb.i18n import _, _l
from kb.models import Case, CaseStatus, Event, Session
from kb.services import accounts, catalogue, invitations, programme, review, revisions
from kb.web.access import current_account, editor_required
from kb.web.manage_forms import ConfirmForm
from kb.web.menus import add_editor_link
from kb.web.urls import as_id, id_arg

bp = Blueprint("review", __name__, url_prefix="/editor")

STATUS_TABS = (
    (CaseStatus.SUBMITTED, _l("Waiting for review")),
    (CaseStatus.DRAFT, _l("Drafts")),
    (CaseStatus.PUBLISHED, _l("Published")),
    (CaseStatus.ARCHIVED, _l("Archived")),
)


class DecisionForm(FlaskForm):
    message = TextAreaField(
        _l("Message to the speaker"),
        [Length(max=5000)],
        description=_l("Needed when you ask for changes; it is e-mailed to the speaker."),
    )


class InviteForm(FlaskForm):
    email = EmailField(_l("Speaker's e-mail"), [DataRequired(), Length(max=320)])
    place = SelectField(_l("Session"), validate_choice=True)


def _case(case_id: int) -> Case:
    case = catalogue.any_case(case_id)
    if case is None:
        abort(404)
    return case


@bp.get("/")
@editor_required
def queue() -> ResponseReturnValue:
    try:
        status = CaseStatus(request.args.get("status", CaseStatus.SUBMITTED))
    except ValueError:
        abort(404)
    return render_template(
        "editor/queue.html", cases=review.cases_with_status(status), status=status, tabs=STATUS_TABS
    )


@bp.get("/cases/<int:case_id>")
@editor_required
def case(case_id: int) -> ResponseReturnValue:
    return _review_page(_case(case_id), DecisionForm())


def _review_page(case: Case, form: DecisionForm, status: int = 200) -> ResponseReturnValue:
    history = revisions.history(case)
    baseline = revisions.last_reviewed(case)
    current = revisions.snapshot(case)
    older = [*history[1:], None] if history else []
    steps = [
        (rev, revisions.changes(before.data if before else None, rev.data))
        for rev, before in zip(history, older, strict=True)
    ]
    return render_template(
        "editor/case.html",
        case=case,
        form=form,
        decisions=review.allowed_decisions(case),
        baseline=baseline,
        changes=revisions.changes(baseline.data if baseline else None, current),
        steps=steps,
    ), status


@bp.post("/cases/<int:case_id>/decision")
@editor_required
def decide(case_id: int) -> ResponseReturnValue:
    case = _case(case_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        return _review_page(case, form, 400)
    decision = request.form.get("decision", "")
    try:
        review.decide(case, decision, current_account(), form.message.data or "")
    except review.DecisionRefused as refused:
        form.message.errors = [str(refused)]
        return _review_page(case, form, 409)
    flash(_("Done: the case is now “%(status)s”.", status=_status_label(case.status)))
    return redirect(url_for(".case", case_id=case.id))


@bp.post("/cases/<int:case_id>/revisions/<int:number>/restore")
@editor_required
def restore(case_id: int, number: int) -> ResponseReturnValue:
    case = _case(case_id)
    if not DecisionForm().validate_on_submit():
        abort(400)
    revision = next((r for r in revisions.history(case) if r.number == number), None)
    if revision is None:
        abort(404)
    revisions.restore(case, revision, current_account())
    flash(_("Version %(number)d is back. The status did not change.", number=number))
    return redirect(url_for(".case", case_id=case.id))


@bp.route("/cases/<int:case_id>/delete", methods=["GET", "POST"])
@editor_required
def delete(case_id: int) -> ResponseReturnValue:
    case = _case(case_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        title = case.title
        review.delete_case(case)
        flash(_("“%(title)s” has been deleted.", title=title))
        return redirect(url_for(".queue"))
    return render_template("editor/case_delete.html", case=case, form=form)


@bp.route("/invitations", methods=["GET", "POST"])
@editor_required
def invite() -> ResponseReturnValue:
    events = catalogue.events_with_sessions()
    form = InviteForm(place=_preselected_place())
    form.place.choices = {
        event.title: [(f"e{event.id}", _l("The event as a whole"))]
        + [(f"s{s.id}", s.title) for s in event.sessions]
        for event in events
    }
    status = 200
    if form.validate_on_submit():
        place = _place(form.place.data or "")
        try:
            invitations.invite(form.email.data or "", place, invited_by=current_account())
        except (accounts.AccountError, ValueError) as exc:
            form.email.errors = [str(exc)]
            status = 422
        else:
            flash(_("The invitation was sent to %(email)s.", email=form.email.data))
            return redirect(url_for(".invite"))
    elif form.is_submitted():
        status = 422
    return render_template(
        "editor/invitations.html", form=form, invitations=invitations.recent()
    ), status


def _preselected_place() -> str | None:
    if (session_id := id_arg("session_id")) is not None:
        return f"s{session_id}"
    if (event_id := id_arg("event_id")) is not None:
        return f"e{event_id}"
    return None


def _place(value: str) -> Session | Event:
    kind, number = value[:1], value[1:]
    place = None
    if (number_id := as_id(number)) is not None:
        place = (programme.find_session if kind == "s" else programme.find_event)(number_id)
    if place is None:
        abort(400)
    return place


def _status_label(status: str) -> str:
    return str(dict(STATUS_TABS).get(CaseStatus(status), status))


def init_app(app: Flask) -> None:
    add_editor_link(app, "review.queue", _l("Review"))
    add_editor_link(app, "review.invite", _l("Invitations"))
    app.register_blueprint(bp)
