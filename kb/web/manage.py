"""Editors manage events, sessions, people, organisations, materials and vocabularies.

Every page here is for editors (and admins) only. Each object has a list, a "new" form
and an edit form; they share one pattern (``_form_page``): GET shows the form, a valid
POST saves through a service and redirects, an invalid one is shown again with 422 and
everything the editor typed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from kb.i18n import _, _l
from kb.models import MaterialKind, Session, Vocabulary
from kb.services import catalogue, contacts, personal_data, programme, vocabulary
from kb.services.materials import MaterialRejected
from kb.services.unique_names import Taken
from kb.web import manage_forms as forms
from kb.web.access import current_account, editor_required
from kb.web.menus import add_editor_link
from kb.web.uploads import rejection_message

bp = Blueprint("manage", __name__, url_prefix="/editor")
T = TypeVar("T")


def _found(item: T | None) -> T:
    if item is None:
        abort(404)
    return item


def _form_page(
    form: FlaskForm, template: str, save: Callable[[], str], **context: object
) -> ResponseReturnValue:
    """Show ``form``; on a valid POST run ``save`` (which returns where to go next).

    A name or title already in use is put next to its field, as a validation error.
    """
    if form.validate_on_submit():
        try:
            target = save()
        except Taken as taken:
            form[taken.field].errors.append(taken.message)
        else:
            flash(_("Your changes have been saved."))
            return redirect(target)
    status = 422 if form.is_submitted() else 200
    return render_template(template, form=form, **context), status


# Events


@bp.get("/events/")
@editor_required
def events() -> ResponseReturnValue:
    return render_template("manage/events.html", events=catalogue.events())


@bp.route("/events/new", methods=["GET", "POST"])
@editor_required
def new_event() -> ResponseReturnValue:
    form = forms.EventForm(organisations=contacts.organisation_choices())

    def save() -> str:
        event = programme.create_event(form.fields())
        return url_for("manage.event", event_id=event.id)

    return _form_page(form, "manage/event.html", save, event=None)


@bp.route("/events/<int:event_id>", methods=["GET", "POST"])
@editor_required
def event(event_id: int) -> ResponseReturnValue:
    event = _found(programme.find_event(event_id))
    form = forms.EventForm(
        obj=event,
        organisations=contacts.organisation_choices(),
        organisers=[org.id for org in event.organisers],
    )

    def save() -> str:
        programme.update_event(event, form.fields())
        return url_for("manage.event", event_id=event_id)

    return _form_page(form, "manage/event.html", save, event=event)


# Sessions


@bp.route("/events/<int:event_id>/sessions/new", methods=["GET", "POST"])
@editor_required
def new_session(event_id: int) -> ResponseReturnValue:
    event = _found(programme.find_event(event_id))
    form = forms.SessionForm(people=contacts.people_choices(), position=len(event.sessions))

    def save() -> str:
        session = programme.create_session(event, form.fields())
        return url_for("manage.session", session_id=session.id)

    return _form_page(form, "manage/session.html", save, event=event, session=None)


def _session_form(session: Session, **kwargs: object) -> forms.SessionForm:
    return forms.SessionForm(
        obj=session,
        people=contacts.people_choices(),
        speakers=[p.id for p in session.speakers],
        moderators=[p.id for p in session.moderators],
        **kwargs,
    )


def _session_context(
    session: Session,
    link_form: forms.LinkForm | None = None,
    upload_form: forms.UploadForm | None = None,
) -> dict[str, object]:
    """The session page holds three forms; the two for material post to their own URLs."""
    return {
        "event": session.event,
        "session": session,
        "link_form": link_form or forms.LinkForm(formdata=None),
        "upload_form": upload_form or forms.UploadForm(formdata=None),
        "confirm_form": forms.ConfirmForm(formdata=None),
    }


def _refused_material(
    session: Session,
    link_form: forms.LinkForm | None = None,
    upload_form: forms.UploadForm | None = None,
) -> ResponseReturnValue:
    """The session page again, with the refused material form's errors and input."""
    return render_template(
        "manage/session.html",
        form=_session_form(session, formdata=None),
        **_session_context(session, link_form, upload_form),
    ), 422


@bp.route("/sessions/<int:session_id>", methods=["GET", "POST"])
@editor_required
def session(session_id: int) -> ResponseReturnValue:
    session = _found(programme.find_session(session_id))
    form = _session_form(session)

    def save() -> str:
        programme.update_session(session, form.fields())
        return url_for("manage.session", session_id=session_id)

    return _form_page(form, "manage/session.html", save, **_session_context(session))


@bp.post("/sessions/<int:session_id>/links")
@editor_required
def add_link(session_id: int) -> ResponseReturnValue:
    session = _found(programme.find_session(session_id))
    form = forms.LinkForm()
    if not form.validate_on_submit():
        return _refused_material(session, link_form=form)
    programme.add_link(
        session, title=form.title.data, url=form.url.data, kind=MaterialKind(form.kind.data)
    )
    flash(_("The link has been added."))
    return redirect(url_for("manage.session", session_id=session_id, _anchor="materials"))


@bp.post("/sessions/<int:session_id>/files")
@editor_required
def add_file(session_id: int) -> ResponseReturnValue:
    session = _found(programme.find_session(session_id))
    form = forms.UploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            programme.add_file(
                session,
                upload.stream,
                title=form.title.data,
                original_filename=upload.filename or "",
                kind=MaterialKind(form.kind.data),
            )
        except MaterialRejected as rejected:
            form.file.errors.append(rejection_message(rejected))
        else:
            flash(_("The file has been added."))
            return redirect(url_for("manage.session", session_id=session_id, _anchor="materials"))
    return _refused_material(session, upload_form=form)


@bp.post("/materials/<int:material_id>/remove")
@editor_required
def remove_material(material_id: int) -> ResponseReturnValue:
    material = _found(programme.find_material(material_id))
    session_id = material.session_id
    if session_id is None:  # a case's material is managed with the case
        abort(404)
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    programme.remove_material(material)
    flash(_("The material has been removed."))
    return redirect(url_for("manage.session", session_id=session_id, _anchor="materials"))


# People


@bp.get("/people/")
@editor_required
def people_list() -> ResponseReturnValue:
    search = request.args.get("q", "").strip()[:200]
    found, total = contacts.people(search)
    return render_template("manage/people.html", people=found, total=total, search=search)


@bp.route("/people/new", methods=["GET", "POST"])
@editor_required
def new_person() -> ResponseReturnValue:
    form = forms.PersonForm(organisations=contacts.organisation_choices())

    def save() -> str:
        person = contacts.create_person(form.fields(), by=current_account())
        return url_for("manage.person", person_id=person.id)

    return _form_page(form, "manage/person.html", save, person=None)


@bp.route("/people/<int:person_id>", methods=["GET", "POST"])
@editor_required
def person(person_id: int) -> ResponseReturnValue:
    person = _found(contacts.find_person(person_id))
    form = forms.PersonForm(
        obj=person,
        organisations=contacts.organisation_choices(),
        organisation=str(person.organisation_id or ""),
        consent=person.consent_to_publish_contact,
    )

    def save() -> str:
        contacts.update_person(person, form.fields(), by=current_account())
        return url_for("manage.person", person_id=person_id)

    return _form_page(form, "manage/person.html", save, person=person)


@bp.get("/people/<int:person_id>/export")
@editor_required
def export_person(person_id: int) -> ResponseReturnValue:
    """All data about the person, as a JSON download (for a data-subject request)."""
    person = _found(contacts.find_person(person_id))
    body = json.dumps(personal_data.person_data(person), ensure_ascii=False, indent=2)
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="person-{person.id}.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/people/<int:person_id>/erase", methods=["GET", "POST"])
@editor_required
def erase_person(person_id: int) -> ResponseReturnValue:
    person = _found(contacts.find_person(person_id))
    form = forms.ConfirmForm()
    if form.validate_on_submit():
        name = person.name
        personal_data.erase_person(person)
        flash(_("%(name)s has been erased. The cases and sessions are kept.", name=name))
        return redirect(url_for("manage.people_list"))
    return render_template(
        "manage/person_erase.html", form=form, person=person, data=personal_data.person_data(person)
    )


# Organisations


@bp.get("/organisations/")
@editor_required
def organisations() -> ResponseReturnValue:
    return render_template("manage/organisations.html", organisations=contacts.organisations())


@bp.route("/organisations/new", methods=["GET", "POST"])
@editor_required
def new_organisation() -> ResponseReturnValue:
    form = forms.OrganisationForm()

    def save() -> str:
        organisation = contacts.create_organisation(form.fields())
        return url_for("manage.organisation", organisation_id=organisation.id)

    return _form_page(form, "manage/organisation.html", save, organisation=None)


@bp.route("/organisations/<int:organisation_id>", methods=["GET", "POST"])
@editor_required
def organisation(organisation_id: int) -> ResponseReturnValue:
    organisation = _found(contacts.find_organisation(organisation_id))
    form = forms.OrganisationForm(obj=organisation)

    def save() -> str:
        contacts.update_organisation(organisation, form.fields())
        return url_for("manage.organisation", organisation_id=organisation_id)

    return _form_page(form, "manage/organisation.html", save, organisation=organisation)


# Vocabularies


@bp.get("/vocabularies/")
@editor_required
def vocabularies() -> ResponseReturnValue:
    return render_template(
        "manage/vocabularies.html",
        vocabularies=[(forms.VOCABULARY_LABELS[v], catalogue.vocabulary(v)) for v in Vocabulary],
        languages=forms.LABEL_LANGUAGES,
    )


@bp.route("/vocabularies/new", methods=["GET", "POST"])
@editor_required
def new_term() -> ResponseReturnValue:
    form = forms.NewTermForm(vocabulary=request.args.get("vocabulary", Vocabulary.THEME.value))

    def save() -> str:
        vocabulary.create_term(Vocabulary(form.vocabulary.data), form.key.data, form.labels())
        return url_for("manage.vocabularies")

    return _form_page(form, "manage/term.html", save, term=None)


@bp.route("/vocabularies/<int:term_id>", methods=["GET", "POST"])
@editor_required
def term(term_id: int) -> ResponseReturnValue:
    term = _found(vocabulary.find_term(term_id))
    form = forms.TermForm(
        data={f"label_{code}": label for code, label in (term.labels or {}).items()}
    )

    def save() -> str:
        vocabulary.update_labels(term, form.labels())
        return url_for("manage.vocabularies")

    return _form_page(form, "manage/term.html", save, term=term)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    for endpoint, label in (
        ("manage.events", _l("Events")),
        ("manage.people_list", _l("People")),
        ("manage.organisations", _l("Organisations")),
        ("manage.vocabularies", _l("Vocabularies")),
    ):
        add_editor_link(app, endpoint, label)
