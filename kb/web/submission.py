"""Speakers write and submit their cases here; editors use the same form to edit any case."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from kb.i18n import _
from kb.models import (
    Case,
    Event,
    MaterialKind,
    PendingUpload,
    Person,
    Session,
    User,
    Vocabulary,
)
from kb.services import (
    catalogue,
    pending_uploads,
    programme,
    restoring,
    review,
    revisions,
    submissions,
)
from kb.services.language import propose_language
from kb.services.materials import MaterialRejected
from kb.services.similar_cases import SimilarCase, similar_cases
from kb.web import case_preview, uploads
from kb.web.access import current_account
from kb.web.case_form import CaseForm, add_blank_rows, fill_choices, form_data, record_fields
from kb.web.downloads import send_material
from kb.web.errors import render_error
from kb.web.uploads import FILE_FORMS, max_upload_bytes, rejection_message
from kb.web.urls import id_arg

bp = Blueprint("submission", __name__, url_prefix="/submissions")

#: The country a new case starts with for a speaker we know nothing more of: the one of the
#: language they read the site in (Swedish is also Finland's, but Sweden is the likelier).
UI_LANGUAGE_COUNTRIES = {"nb": "NO", "sv": "SE", "da": "DK", "fi": "FI", "is": "IS"}


@bp.get("/")
@login_required
def mine() -> ResponseReturnValue:
    """The speaker's cases, each with what they can do next: a draft the editors sent back
    shows their request; a published case is the editors' to change (no edit link)."""
    cases = catalogue.cases_owned_by(current_account())
    return render_template(
        "submission/mine.html",
        cases=cases,
        requests={case.id: review.latest_request(case) for case in cases},
        editable={case.id for case in cases if may_edit(case)},
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> ResponseReturnValue:
    return _case_form(None)


@bp.route("/<int:case_id>", methods=["GET", "POST"])
@login_required
def edit(case_id: int) -> ResponseReturnValue:
    case = catalogue.any_case(case_id)
    if case is None:
        abort(404)
    if not may_edit(case):
        abort(403, _("Only the editors can change a case once it is published."))
    return _case_form(case)


@bp.get("/<int:case_id>/files/<int:material_id>/<path:filename>")
@login_required
def material_file(case_id: int, material_id: int, filename: str) -> ResponseReturnValue:
    """A case's file for its author and the editors, whatever the case's status (the review
    page and the preview open files before they are public)."""
    case = catalogue.any_case(case_id)
    if case is None:
        abort(404)
    account = current_account()
    if not (submissions.is_editor(account) or case.owner_id == account.id):
        abort(403)
    material = next((m for m in case.materials if m.id == material_id and m.is_file), None)
    if material is None:
        abort(404)
    return send_material(material, max_age=0, store=False)


@bp.errorhandler(RequestEntityTooLarge)
def body_too_large(error: RequestEntityTooLarge) -> ResponseReturnValue:
    """A body beyond ``FORM_MAX_CONTENT_LENGTH`` is not read at all: the form as last saved,
    with the reason next to the file field, instead of a bare error page."""
    case_id = (request.view_args or {}).get("case_id")
    case = catalogue.any_case(case_id) if case_id is not None else None
    allowed = current_user.is_authenticated and request.endpoint in FILE_FORMS
    if not allowed or (case_id is not None and (case is None or not may_edit(case))):
        return render_error(error)
    return _case_form(case, body_refused=True)


def _case_form(case: Case | None, *, body_refused: bool = False) -> ResponseReturnValue:
    events = catalogue.events_with_sessions()
    if request.method == "GET" or body_refused:
        initial = (
            form_data(
                _version_to_edit(case),
                case,
                shows_details=submissions.may_change_person(current_account()),
            )
            if case
            else _new_case_data(events)
        )
        form = CaseForm(formdata=None, data=initial)
    else:
        form = CaseForm()
    fill_choices(
        form,
        events=events,
        themes=catalogue.vocabulary(Vocabulary.THEME),
        target_groups=catalogue.vocabulary(Vocabulary.TARGET_GROUP),
        case=case,
        max_bytes=max_upload_bytes(),
    )
    preview = None
    failed = False
    proposed = None
    held = None
    similar: list[SimilarCase] = []
    if request.method == "GET" or body_refused:
        add_blank_rows(form)
        if body_refused:
            form.attachment.errors = [rejection_message(MaterialRejected("", "too_large"))]
            failed = True
    else:
        held, file_errors = _held_upload(form)
        proposed = propose_language(
            " ".join(f.data or "" for f in (form.title, form.summary, form.body, form.outcomes))
        )
        if form.preview.data:
            form.language.data = form.language.data or proposed or ""
            preview = case_preview.from_form(form, case, events, form.language.data)
            form.attachment.errors = file_errors
            similar = _similar(form, case)
        else:
            language = _checked_language(form, proposed, file_errors)
            if language is None:
                failed = True
            elif (
                form.send.data and not form.similar_seen.data and (similar := _similar(form, case))
            ):
                # Not saved yet: the speaker looks at the similar cases, then sends anyway.
                form.similar_seen.data = "y"
            else:
                saved = _save(form, case, events, language, held)
                if saved is not None:
                    return saved
                failed = True
    return render_template(
        "submission/form.html",
        form=form,
        case=case,
        preview=preview,
        proposed=proposed,
        held=held,
        failed=failed,
        similar=similar,
        body_refused=body_refused,
        request_for_changes=review.latest_request(case) if case else None,
    ), (413 if body_refused else 422 if failed else 200)


def _version_to_edit(case: Case) -> dict[str, Any]:
    """The case as the form shows it: the version its author proposed while that waits for
    the editors (so a second visit goes on from it), else the case itself."""
    proposal = restoring.pending_proposal(case)
    if proposal is not None and proposal.author_id == current_account().id:
        return revisions.restored_record(case, proposal)
    return revisions.snapshot(case)


def _similar(form: CaseForm, case: Case | None) -> list[SimilarCase]:
    return similar_cases(
        form.title.data, form.municipality.data, exclude=case.id if case is not None else None
    )


def may_edit(case: Case) -> bool:
    """Whether the form opens: to change the case, or to propose a new version of it."""
    account = current_account()
    return submissions.may_edit(account, case) or submissions.may_propose(account, case)


def _held_upload(form: CaseForm) -> tuple[PendingUpload | None, list[str]]:
    """The file this form carries: one stored on an earlier post, or the one chosen now
    (stored at once, so it survives Preview and errors). Returns it and the file's errors."""
    account = current_account()
    errors: list[str] = []
    held = None
    if form.pending_upload.data:
        held = pending_uploads.find(form.pending_upload.data, account)
        if held is None:
            errors.append(_("The file chosen earlier is no longer kept; choose it again."))
    if held is not None and form.discard_upload.data:
        pending_uploads.release(held)
        held = None
    file = form.attachment.data
    if file and file.filename:
        try:
            chosen = pending_uploads.hold(file.stream, file.filename, account)
        except MaterialRejected as rejected:
            errors.append(rejection_message(rejected))
        else:
            if held is not None:
                pending_uploads.release(held)
            held = chosen
    form.pending_upload.data = pending_uploads.reference(held) if held else ""
    form.discard_upload.data = False
    return held, errors


def _checked_language(form: CaseForm, proposed: str | None, file_errors: list[str]) -> str | None:
    """The case's language if the form can be saved; else None, with every problem next to
    its field (every check runs, so all problems show in one round)."""
    valid = form.validate()
    form.attachment.errors = [*form.attachment.errors, *file_errors]
    language = form.language.data or proposed
    if language is None:
        form.language.errors = [
            *form.language.errors,
            _("The language could not be told from the text; choose it."),
        ]
    if not valid or file_errors or language is None:
        return None
    return language


def _save(
    form: CaseForm,
    case: Case | None,
    events: list[Event],
    language: str,
    held: PendingUpload | None,
) -> ResponseReturnValue | None:
    """Save and redirect, or put the exchange format's objections next to their fields and
    return None."""
    submission = submissions.Submission(
        fields=record_fields(form, language, _places(events)),
        submit=bool(form.send.data),
        held=(
            submissions.HeldAttachment(
                upload_id=held.id,
                title=form.attachment_title.data or "",
                kind=MaterialKind(form.attachment_kind.data),
            )
            if held is not None
            else None
        ),
        remove_materials=set(form.remove_materials.data or []),
    )
    proposing = submissions.proposes(current_account(), case)
    try:
        saved = submissions.save(case, submission, current_account())
    except submissions.SubmissionInvalid as invalid:
        _show_problems(form, invalid.problems)
        return None
    if proposing:
        flash(
            _(
                "Thank you! Your update was sent to the editors. The published case stays as "
                "it is until they publish it."
            )
        )
        return redirect(url_for(".mine"))
    if submission.submit and saved.status == "submitted":
        flash(_("Thank you! Your case was sent to the editors for review."))
    else:
        flash(_("Saved."))
    if submissions.may_edit(current_account(), saved):
        return redirect(url_for(".edit", case_id=saved.id))
    return redirect(url_for(".mine"))


def _places(events: list[Event]) -> dict[str, dict[str, Any]]:
    places: dict[str, dict[str, Any]] = {}
    for event in events:
        places[f"e{event.id}"] = {"event": event.title, "session": None}
        for session in event.sessions:
            places[f"s{session.id}"] = {"event": event.title, "session": session.title}
    return places


def _show_problems(form: CaseForm, problems: dict[str, str]) -> None:
    """The exchange format's last word, next to the field it concerns (or at the top)."""
    general = []
    for path, _message in problems.items():
        name = {"sessions": "presented_at", "period": "start_year"}.get(path, path)
        field = _field_at(form, name)
        text = _("This value is not accepted.")
        if field is None:
            general.append(text)
        else:
            field.errors = [*field.errors, text]
    if general:
        form.form_errors.extend(general)


def _field_at(form: Any, path: str) -> Any:
    """``key_figures-0-value`` -> the ``value`` field of the first key-figure row."""
    head, _sep, rest = path.partition("-")
    field = form._fields.get(head) if hasattr(form, "_fields") else None
    if field is None or not rest:
        return field
    index, _sep, rest = rest.partition("-")
    entries = getattr(field, "entries", None)
    if entries is None or not index.isdigit() or int(index) >= len(entries):
        return field
    return _field_at(entries[int(index)].form, rest) if rest else entries[int(index)]


def _new_case_data(events: list[Event]) -> dict[str, Any]:
    """A new case from an invitation: its session chosen, the speaker as first contact, and
    the speaker's country (never the event's: a Norwegian at a Copenhagen conference)."""
    place: Session | Event | None = None
    if (session_id := id_arg("session")) is not None:
        place = programme.find_session(session_id)
    elif (event_id := id_arg("event")) is not None:
        place = programme.find_event(event_id)
    user = current_account()
    person = _person_of(user, place)
    data: dict[str, Any] = {
        "contacts": [_contact_of(user, person)],
        "country": _home_country(person),
    }
    if isinstance(place, Session):
        data["presented_at"] = [f"s{place.id}"]
    elif isinstance(place, Event):
        data["presented_at"] = [f"e{place.id}"]
    return data


def _person_of(user: User, place: Session | Event | None) -> Person | None:
    """The speaker as a known person: their account's, or the session's speaker with their
    e-mail."""
    if user.person is not None or not isinstance(place, Session):
        return user.person
    return next((p for p in place.speakers if p.email and p.email.lower() == user.email), None)


def _home_country(person: Person | None) -> str:
    """Their organisation's country if known, else the country of the language they read the
    site in (English says nothing), else none: the speaker chooses."""
    if person is not None and person.organisation is not None and person.organisation.country:
        return person.organisation.country
    return UI_LANGUAGE_COUNTRIES.get(str(get_locale()), "")


def _contact_of(user: User, person: Person | None) -> dict[str, Any]:
    if person is None:
        return {"email": user.email}
    return {
        "name": person.name,
        "title": person.title or "",
        "organisation": person.organisation.name if person.organisation else "",
        "email": person.email or user.email,
        "phone": person.phone or "",
        "consent": person.consent_to_publish_contact,
    }


def init_app(app: Flask) -> None:
    uploads.init_app(app)
    app.register_blueprint(bp)
