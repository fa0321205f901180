"""The editors' desk: the review queue, one case with its changes and history, decisions,
and invitations to speakers."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from kb.i18n import _, _l
from kb.models import Case, CaseRevision, CaseStatus, Event, Session
from kb.services import (
    accounts,
    catalogue,
    contact_messages,
    invitations,
    programme,
    restoring,
    review,
    revision_diff,
    revisions,
    submissions,
)
from kb.web.access import current_account, editor_required
from kb.web.change_words import change_words
from kb.web.errors import CSRF_MESSAGE
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
    proposals = restoring.cases_with_proposals() if status == CaseStatus.SUBMITTED else []
    cases = review.cases_with_status(status)
    return render_template(
        "editor/queue.html",
        cases=cases,
        message_counts=contact_messages.message_counts([case.id for case in cases]),
        proposals=proposals,
        status=status,
        tabs=STATUS_TABS,
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
        (rev, revision_diff.changes(before.data if before else None, rev.data))
        for rev, before in zip(history, older, strict=True)
    ]
    proposal = restoring.pending_proposal(case)
    return render_template(
        "editor/case.html",
        case=case,
        form=form,
        decisions=review.allowed_decisions(case),
        baseline=baseline,
        changes=revision_diff.changes(baseline.data if baseline else None, current),
        steps=steps,
        proposal=proposal,
        message_count=contact_messages.message_counts([case.id]).get(case.id, 0),
        proposal_changes=restoring.what_changes(case, proposal) if proposal else [],
        restorable={rev.number for rev in history[1:]}
        if restoring.modes(current_account(), case)
        else set(),
        **change_words(case, show_details=True),
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


RESTORED_MESSAGES = {
    restoring.RESTORE: _l("Version %(number)d is back. The status did not change."),
    restoring.PROPOSE: _l(
        "Version %(number)d is proposed. The published case stays as it is until an editor "
        "publishes the proposal."
    ),
    restoring.PUBLISH: _l("Version %(number)d is back and published."),
}


@bp.route("/cases/<int:case_id>/revisions/<int:number>/restore", methods=["GET", "POST"])
@login_required
def restore(case_id: int, number: int) -> ResponseReturnValue:
    """What restoring a version would change, and the choice to do it (editors, and the
    case's author within ``restoring.modes``)."""
    case = _case(case_id)
    account = current_account()
    modes = restoring.modes(account, case)
    if not modes:
        abort(403)
    revision = restoring.find_revision(case, number)
    if revision is None:
        abort(404)
    form = ConfirmForm()
    if form.validate_on_submit():
        mode = request.form.get("mode", "")
        if mode not in modes:
            abort(400, _("Choose how to restore this version."))
        try:
            restoring.restore(case, revision, account, mode)
        except restoring.RestoreRefused as refused:
            return _restore_page(case, revision, form, modes, str(refused), 409)
        flash(str(RESTORED_MESSAGES[mode]) % {"number": number})
        if submissions.is_editor(account):
            return redirect(url_for(".case", case_id=case.id))
        return redirect(url_for("submission.mine"))
    refused = str(CSRF_MESSAGE) if form.is_submitted() else None
    return _restore_page(case, revision, form, modes, refused, 400 if refused else 200)


def _restore_page(
    case: Case,
    revision: CaseRevision,
    form: ConfirmForm,
    modes: list[str],
    refused: str | None,
    status: int,
) -> ResponseReturnValue:
    return render_template(
        "editor/restore.html",
        case=case,
        revision=revision,
        form=form,
        modes=modes,
        changes=restoring.what_changes(case, revision),
        keeps_files=restoring.keeps_current_files(case, revision),
        refused=refused,
        **change_words(case, show_details=submissions.is_editor(current_account())),
    ), status


@bp.post("/cases/<int:case_id>/proposal")
@editor_required
def proposal(case_id: int) -> ResponseReturnValue:
    """Publish or decline the version proposed for a published case."""
    case = _case(case_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        return _review_page(case, form, 400)
    pending = restoring.pending_proposal(case)
    if pending is None:
        form.message.errors = [_("There is no proposed version any more.")]
        return _review_page(case, form, 409)
    if request.form.get("decision") == "publish":
        restoring.publish_proposal(case, pending, current_account())
        flash(_("The proposed version is published."))
    elif request.form.get("decision") == "decline":
        restoring.decline_proposal(case, pending, current_account(), form.message.data or "")
        flash(_("The proposal was declined; the published case stays as it is."))
    else:
        abort(400, _("Choose to publish or decline the proposal."))
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
