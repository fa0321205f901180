"""restore proposals: a revision may propose a version without applying it, or decline one

Revision ID: 0013_restore_proposals
Revises: 0012_search_terms
Create Date: 2026-12-07 11:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013_restore_proposals"
down_revision = "0012_search_terms"
branch_labels = None
depends_on = None

#: The values of kb.models.RevisionAction before and after this revision.
BEFORE = (
    "original",
    "saved",
    "submitted",
    "edited",
    "changes_requested",
    "published",
    "unpublished",
    "archived",
    "restored",
)
AFTER = (*BEFORE, "proposed", "declined")


def _allow(actions: tuple[str, ...]) -> None:
    with op.batch_alter_table("case_revision", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_case_revision_action"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_case_revision_action"),
            "action IN ({})".format(", ".join(f"'{a}'" for a in actions)),
        )


def upgrade():
    _allow(AFTER)


def downgrade():
    revisions = sa.table("case_revision", sa.column("action", sa.String))
    op.execute(
        revisions.delete().where(revisions.c.action.in_([a for a in AFTER if a not in BEFORE]))
    )
    _allow(BEFORE)
