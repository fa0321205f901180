"""Import case studies, events and people: validate everything, then write all or nothing.

Idempotent: cases are matched on ``ref`` (then on ``slug``), events on their title,
sessions on event and title, organisations on name, people on e-mail or on name and
organisation. Importing the same file twice changes nothing the second time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from flask import current_app
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select

from kb.database import write_transaction
from kb.extensions import db
from kb.models import (
    Case,
    CaseContact,
    CaseLink,
    CasePresentation,
    CaseStatus,
    Event,
    KeyFigure,
    Material,
    Organisation,
    Person,
    Session,
    SessionPerson,
    User,
    Vocabulary,
)
from kb.models.base import utcnow
from kb.models.event import EVENT_DETAILS
from kb.services.exchange.schema import (
    TEMPLATE_KEYS,
    CaseIn,
    DumpIn,
    EventIn,
    MaterialIn,
    OrganisationIn,
    PersonIn,
    Problem,
    problems_from,
)
from kb.services.materials import sniff_file
from kb.services.slugs import unique_slug
from kb.services.vocabulary import terms_by_key

T = TypeVar("T")
M = TypeVar("M")
Progress = Callable[[int], None]


class UnknownPlace(LookupError):
    """A case names an event or session that does not exist, and may not create it.

    ``field`` is where in the record (``sessions-0-event``), ``title`` what was not found.
    """

    def __init__(self, field: str, title: str) -> None:
        super().__init__(f"{field}: no such event or session {title!r}")
        self.field = field
        self.title = title


class ImportRejected(Exception):
    """The file has problems; nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the import file")
        self.problems = problems


@dataclass
class ImportPlan:
    """A validated file, ready to be written."""

    organisations: list[OrganisationIn] = field(default_factory=list)
    events: list[EventIn] = field(default_factory=list)
    cases: list[CaseIn] = field(default_factory=list)


@dataclass
class ImportResult:
    cases_created: int = 0
    cases_updated: int = 0
    events: int = 0
    organisations: int = 0


def read_document(raw: bytes) -> Any:
    """Decode strict UTF-8 JSON, reporting where it is broken."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRejected([_file_problem(f"not valid UTF-8 at byte {exc.start}")]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportRejected(
            [_file_problem(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")]
        ) from None


def plan_import(document: Any) -> ImportPlan:
    """Validate a whole document against the format and the database's vocabularies."""
    problems: list[Problem] = []
    organisations: list[tuple[int, OrganisationIn]] = []
    events: list[tuple[int, EventIn]] = []
    if isinstance(document, list):
        raw_cases: list[Any] = document
    elif isinstance(document, dict):
        try:
            dump = DumpIn.model_validate(document)
        except ValidationError as exc:
            raise ImportRejected(problems_from(exc, "file", 0, None)) from None
        organisations = _validate_each(OrganisationIn, dump.organisations, "organisation", problems)
        events = _validate_each(EventIn, dump.events, "event", problems)
        raw_cases = dump.cases
    else:
        raise ImportRejected([_file_problem("expected a JSON list of cases or a full dump")])
    cases = _validate_each(CaseIn, raw_cases, "case", problems)
    problems += _cross_check(events, cases)
    if problems:
        raise ImportRejected(problems)
    return ImportPlan(
        organisations=[org for _, org in organisations],
        events=[event for _, event in events],
        cases=[case for _, case in cases],
    )


def import_plan(plan: ImportPlan, progress: Progress | None = None) -> ImportResult:
    """Write a validated plan in one transaction."""
    result = ImportResult()
    with write_transaction():
        writer = _Writer()
        for org in plan.organisations:
            writer.organisation(org.name, org)
            result.organisations += 1
        for event in plan.events:
            writer.event(event)
            result.events += 1
        for case_in in plan.cases:
            created = writer.case(case_in)
            if created:
                result.cases_created += 1
            else:
                result.cases_updated += 1
            if progress:
                progress(1)
    return result


def _file_problem(message: str) -> Problem:
    return Problem(section="file", position=0, ref=None, field="", message=message)


def _validate_each(
    model: type[M], items: Iterable[Any], section: str, problems: list[Problem]
) -> list[tuple[int, M]]:
    """The valid records with their 1-based positions; problems of the others are collected."""
    valid = []
    adapter = TypeAdapter(model)
    for position, item in enumerate(items, start=1):
        ref = item.get("ref") if isinstance(item, dict) else None
        ref = ref if isinstance(ref, str) else None
        try:
            valid.append((position, adapter.validate_python(item)))
        except ValidationError as exc:
            problems += problems_from(exc, section, position, ref)
    return valid


def _cross_check(
    events: list[tuple[int, EventIn]], cases: list[tuple[int, CaseIn]]
) -> list[Problem]:
    """Checks that span records or need the database, run on the records that are valid."""
    problems: list[Problem] = []
    vocabularies = {
        "themes": set(terms_by_key(Vocabulary.THEME)),
        "target_groups": set(terms_by_key(Vocabulary.TARGET_GROUP)),
    }
    upload_dir = Path(current_app.config["UPLOAD_DIR"])
    seen: dict[tuple[str, str], int] = {}

    def report(section: str, position: int, ref: str | None, where: str, message: str) -> None:
        problems.append(
            Problem(section=section, position=position, ref=ref, field=where, message=message)
        )

    def check_unique(
        kind: str, value: str | None, section: str, position: int, ref: str | None
    ) -> None:
        if value is None:
            return
        first = seen.setdefault((kind, value), position)
        if first != position:
            report(section, position, ref, kind, f"{value!r} is also used by {section} #{first}")

    def check_files(
        materials: list[MaterialIn], section: str, position: int, where: str, ref: str | None
    ) -> None:
        for i, material in enumerate(materials):
            if material.file and not (upload_dir / material.file).is_file():
                report(
                    section,
                    position,
                    ref,
                    f"{where}materials.{i}.file",
                    f"file {material.file!r} is not in the upload folder {upload_dir}; copy "
                    "the exported uploads folder there first",
                )

    for position, event in events:
        check_unique("event title", event.title, "event", position, None)
        for s, session in enumerate(event.sessions):
            check_files(session.materials, "event", position, f"sessions.{s}.", None)
    for position, case in cases:
        check_unique("ref", case.ref, "case", position, case.ref)
        check_unique("slug", case.slug, "case", position, case.ref)
        for name, known in vocabularies.items():
            for i, key in enumerate(getattr(case, name)):
                if key not in known:
                    report(
                        "case",
                        position,
                        case.ref,
                        f"{name}.{i}",
                        f"unknown vocabulary key {key!r} (known: {', '.join(sorted(known))}; "
                        "editors add keys with `kb vocabulary add`)",
                    )
        check_files(case.materials, "case", position, "", case.ref)
    return problems


def _sync(
    existing: list[T],
    wanted: list[tuple[Hashable, dict[str, Any]]],
    key: Callable[[T], Hashable],
    make: Callable[[], T],
) -> list[T]:
    """Reuse objects whose key matches (so unique keys never clash), create the rest.

    Objects not wanted are left out of the returned list; a delete-orphan cascade removes them.
    """
    by_key = {key(obj): obj for obj in existing}
    result = []
    for k, attrs in wanted:
        obj = by_key.pop(k, None) or make()
        for name, value in attrs.items():
            setattr(obj, name, value)
        result.append(obj)
    return result


def apply_case(
    case: Case,
    data: CaseIn,
    *,
    recorded_by: User | None = None,
    may_update: Callable[[Person], bool] | None = None,
    may_create_places: bool = True,
) -> Case:
    """Make ``case`` say what ``data`` says: the submission form and restoring a revision.

    Call inside ``write_transaction()``. ``recorded_by`` is who stated the contacts'
    consent; ``may_update`` decides whether details of an existing person may be changed
    (a speaker may add a contact but not rewrite someone else's details). Events and
    sessions are public at once, so only editors create them: without
    ``may_create_places`` an unknown one raises ``UnknownPlace`` (roll back).
    """
    writer = _Writer(
        recorded_by=recorded_by, may_update=may_update, may_create_places=may_create_places
    )
    writer.case(data, case)
    return case


def _same_email(stored: str | None, given: str) -> bool:
    """E-mail addresses are compared without regard to case; the stored form is kept."""
    return stored is not None and stored.lower() == given.lower()


def _known_person(data: PersonIn, org: Organisation | None) -> Person | None:
    """The person a record means: by e-mail (any case), else by name and organisation.

    A record that adds an e-mail to someone known by name and organisation means them, not
    a newcomer; without an organisation only someone with no e-mail yet is taken for them,
    since two people of one name may have no organisation in common.
    """
    if data.email:
        found = db.session.scalars(
            select(Person)
            .where(db.func.lower(Person.email) == data.email.lower())
            .order_by(Person.id)
            .limit(1)
        ).first()
        if found is not None:
            return found
    query = select(Person).where(
        Person.name == data.name, Person.organisation_id == (org.id if org else None)
    )
    if data.email and org is None:
        query = query.where(Person.email.is_(None))
    return db.session.scalars(query.order_by(Person.id).limit(1)).first()


class _Writer:
    """Find-or-create with per-import caches, so each name is looked up once."""

    def __init__(
        self,
        *,
        recorded_by: User | None = None,
        may_update: Callable[[Person], bool] | None = None,
        may_create_places: bool = True,
    ) -> None:
        self.recorded_by = recorded_by
        self.may_update = may_update or (lambda _person: True)
        self.may_create_places = may_create_places
        self.themes = terms_by_key(Vocabulary.THEME)
        self.target_groups = terms_by_key(Vocabulary.TARGET_GROUP)
        self.organisations: dict[str, Organisation] = {}
        self.people: dict[tuple[str, ...], Person] = {}
        self.events: dict[str, Event] = {}

    def organisation(self, name: str, details: OrganisationIn | None = None) -> Organisation:
        org = self.organisations.get(name) or db.session.scalar(
            select(Organisation).where(Organisation.name == name)
        )
        if org is None:
            preferred = details.slug if details else None
            org = Organisation(name=name, slug=unique_slug(Organisation, name, preferred=preferred))
            db.session.add(org)
        if details:
            org.country = details.country
            org.website = details.website
        self.organisations[name] = org
        return org

    def person(self, data: PersonIn) -> Person:
        org = self.organisation(data.organisation) if data.organisation else None
        if org is not None and org.id is None:
            db.session.flush()  # a new organisation needs its id for the look-up below
        key = ("email", data.email.lower()) if data.email else ("name", data.name, org and org.name)
        person = self.people.get(key) or _known_person(data, org)
        if person is None:
            person = Person(name=data.name, slug=unique_slug(Person, data.name), organisation=org)
            db.session.add(person)
        if person.id is None or self.may_update(person):
            for attr in ("title", "phone"):
                if getattr(data, attr) is not None:
                    setattr(person, attr, getattr(data, attr))
            if data.email is not None and not _same_email(person.email, data.email):
                person.email = data.email
            if data.consent_to_publish_contact is not None:
                person.set_consent(data.consent_to_publish_contact, by=self.recorded_by)
        self.people[key] = person
        return person

    def event(self, data: EventIn | str) -> Event:
        title = data if isinstance(data, str) else data.title
        event = self._find_event(title)
        if event is None:
            preferred = None if isinstance(data, str) else data.slug
            event = Event(title=title, slug=unique_slug(Event, title, preferred=preferred))
            db.session.add(event)
        self.events[title] = event
        if isinstance(data, EventIn):
            for attr in EVENT_DETAILS:
                setattr(event, attr, getattr(data, attr))
            event.organisers = [self.organisation(name) for name in data.organisers]
            for position, session_in in enumerate(data.sessions):
                session = self.session(event, session_in.title, session_in.slug)
                session.position = position
                for attr in ("starts_at", "ends_at", "room", "description"):
                    setattr(session, attr, getattr(session_in, attr))
                people = [(self.person(p), p.role) for p in session_in.people]
                session.participants = _sync(
                    session.participants,
                    [
                        ((person, role), {"person": person, "role": role, "position": i})
                        for i, (person, role) in enumerate(people)
                    ],
                    key=lambda sp: (sp.person, sp.role),
                    make=SessionPerson,
                )
                session.materials = self.materials(session.materials, session_in.materials)
        return event

    def session(self, event: Event, title: str, preferred_slug: str | None = None) -> Session:
        for session in event.sessions:
            if session.title == title:
                return session
        if event.id is None:
            db.session.flush()
        session = Session(
            event=event,
            title=title,
            slug=unique_slug(Session, title, preferred=preferred_slug, event_id=event.id),
            position=len(event.sessions),
        )
        db.session.add(session)
        return session

    def _existing_event(self, title: str, field: str) -> Event:
        """The event a case was presented at; created only when this writer may."""
        if not self.may_create_places and self._find_event(title) is None:
            raise UnknownPlace(field, title)
        return self.event(title)

    def _existing_session(self, event: Event, title: str, field: str) -> Session:
        if not self.may_create_places and all(s.title != title for s in event.sessions):
            raise UnknownPlace(field, title)
        return self.session(event, title)

    def _find_event(self, title: str) -> Event | None:
        return self.events.get(title) or db.session.scalar(
            select(Event).where(Event.title == title)
        )

    def materials(self, existing: list[Material], wanted: list[MaterialIn]) -> list[Material]:
        def identity(m: Material | MaterialIn) -> Hashable:
            return (m.url, m.stored_name if isinstance(m, Material) else m.file)

        return _sync(
            existing,
            [
                (
                    identity(m),
                    {
                        "kind": m.kind,
                        "title": m.title,
                        "language": m.language,
                        "url": m.url,
                        "stored_name": m.file,
                        "original_filename": m.original_filename,
                        "position": i,
                        **(self._file_facts(m.file) if m.file else {}),
                    },
                )
                for i, m in enumerate(wanted)
            ],
            key=identity,
            make=Material,
        )

    @staticmethod
    def _file_facts(stored_name: str) -> dict[str, Any]:
        path = Path(current_app.config["UPLOAD_DIR"]) / stored_name
        kind = sniff_file(path)
        return {
            "size_bytes": path.stat().st_size,
            "content_type": kind.content_type if kind else "application/octet-stream",
        }

    def case(self, data: CaseIn, case: Case | None = None) -> bool:
        """Create or update one case (``case``, or found by ref or slug); True when created."""
        if case is None and data.ref:
            case = db.session.scalar(select(Case).where(Case.ref == data.ref))
        if case is None and data.slug:
            case = db.session.scalar(select(Case).where(Case.slug == data.slug))
        created = case is None
        if case is None:
            case = Case(slug=unique_slug(Case, data.title, preferred=data.slug))
        for attr in (
            "ref",
            "title",
            "language",
            "country",
            "municipality",
            "region",
            "population_band",
            "urban_rural",
            "target_description",
            "summary",
            "body",
            *TEMPLATE_KEYS,
        ):
            setattr(case, attr, getattr(data, attr))
        db.session.add(case)
        case.outcomes = data.outcomes or ""
        case.start_year, case.end_year = data.years
        case.themes = [self.themes[key] for key in dict.fromkeys(data.themes)]
        case.target_groups = [self.target_groups[key] for key in dict.fromkeys(data.target_groups)]
        case.key_figures = [
            KeyFigure(
                label=k.label, value=k.value, unit=k.unit, year=k.year, source=k.source, position=i
            )
            for i, k in enumerate(data.key_figures)
        ]
        case.links = [
            CaseLink(url=link.url, title=link.title, position=i)
            for i, link in enumerate(data.links)
        ]
        # A person named twice (by e-mail once, by name once) is one contact, with the first role.
        roles: dict[Person, str | None] = {}
        for contact in data.contacts:
            roles.setdefault(self.person(contact), contact.role)
        case.contacts = _sync(
            case.contacts,
            [
                (p, {"person": p, "role": role, "position": i})
                for i, (p, role) in enumerate(roles.items())
            ],
            key=lambda cc: cc.person,
            make=CaseContact,
        )
        places = []
        for i, presentation in enumerate(data.sessions):
            event = self._existing_event(presentation.event, f"sessions-{i}-event")
            session = None
            if presentation.session:
                session = self._existing_session(
                    event, presentation.session, f"sessions-{i}-session"
                )
            places.append((event, session))
        case.presentations = _sync(
            case.presentations,
            [((e, s), {"event": e, "session": s}) for e, s in dict.fromkeys(places)],
            key=lambda p: (p.event, p.session),
            make=CasePresentation,
        )
        case.materials = self.materials(case.materials, data.materials)
        self._set_status(case, data.status)
        return created

    @staticmethod
    def _set_status(case: Case, status: CaseStatus) -> None:
        if status == CaseStatus.PUBLISHED and (
            case.status != CaseStatus.PUBLISHED or case.last_confirmed_at is None
        ):
            case.last_confirmed_at = utcnow()  # publishing confirms (kb.services.freshness)
        case.status = status
        if status == CaseStatus.PUBLISHED and case.published_at is None:
            case.published_at = utcnow()
