"""revisions refer to people by id: backfill person_id in kept revisions' contacts

Revision ID: 0009_revision_people
Revises: 0008_material_text
Create Date: 2026-12-07 08:30:00.000000

Erasure finds a person in old revisions by id, whatever their name or e-mail was then.
A kept contact is matched, in this order, to a person with the same e-mail (any case), to
one of the case's present contacts with the same name, or to a person with the same name
and organisation. A contact that matches nobody is left without an id (erasure then
falls back to comparing name, organisation and e-mail).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009_revision_people"
down_revision = "0008_material_text"
branch_labels = None
depends_on = None

PERSON_ID = "person_id"

case_revision = sa.table(
    "case_revision",
    sa.column("id", sa.Integer),
    sa.column("case_id", sa.Integer),
    sa.column("data", sa.JSON),
)
person = sa.table(
    "person",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("email", sa.String),
    sa.column("organisation_id", sa.Integer),
)
organisation = sa.table("organisation", sa.column("id", sa.Integer), sa.column("name", sa.String))
case_contact = sa.table(
    "case_contact", sa.column("case_id", sa.Integer), sa.column("person_id", sa.Integer)
)


def _people(bind):
    rows = bind.execute(
        sa.select(person.c.id, person.c.name, person.c.email, organisation.c.name.label("org"))
        .select_from(person.outerjoin(organisation, person.c.organisation_id == organisation.c.id))
        .order_by(person.c.id)
    )
    by_email, by_name = {}, {}
    names = {}
    for row in rows:
        if row.email:
            by_email.setdefault(row.email.lower(), row.id)
        by_name.setdefault((row.name, row.org), row.id)
        names[row.id] = row.name
    return by_email, by_name, names


def upgrade():
    bind = op.get_bind()
    by_email, by_name, names = _people(bind)
    contacts_of = {}
    for row in bind.execute(sa.select(case_contact.c.case_id, case_contact.c.person_id)):
        contacts_of.setdefault(row.case_id, []).append(row.person_id)

    def match(case_id, contact):
        email = contact.get("email")
        if email and email.lower() in by_email:
            return by_email[email.lower()]
        for person_id in contacts_of.get(case_id, []):
            if names.get(person_id) == contact.get("name"):
                return person_id
        return by_name.get((contact.get("name"), contact.get("organisation")))

    revisions = bind.execute(
        sa.select(case_revision.c.id, case_revision.c.case_id, case_revision.c.data)
    )
    for row in revisions.all():
        contacts = (row.data or {}).get("contacts") or []
        if not any(PERSON_ID not in contact for contact in contacts):
            continue
        filled = [
            contact if PERSON_ID in contact else {**contact, PERSON_ID: match(row.case_id, contact)}
            for contact in contacts
        ]
        bind.execute(
            case_revision.update()
            .where(case_revision.c.id == row.id)
            .values(data={**row.data, "contacts": filled})
        )


def downgrade():
    bind = op.get_bind()
    revisions = bind.execute(sa.select(case_revision.c.id, case_revision.c.data))
    for row in revisions.all():
        contacts = (row.data or {}).get("contacts") or []
        if not any(PERSON_ID in contact for contact in contacts):
            continue
        stripped = [{k: v for k, v in c.items() if k != PERSON_ID} for c in contacts]
        bind.execute(
            case_revision.update()
            .where(case_revision.c.id == row.id)
            .values(data={**row.data, "contacts": stripped})
        )
