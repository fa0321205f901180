"""case confirmation: when a case was last said to be still accurate, and the yearly reminders

Revision ID: 0016_case_confirmation
Revises: 0015_contact_counts
Create Date: 2026-12-07 14:00:00.000000

Published cases start as confirmed when they were published (else when they last
changed). On PostgreSQL the search index gets the same date, so sorting and filtering by
freshness work without a reindex.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0016_case_confirmation"
down_revision = "0015_contact_counts"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("case_study", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_confirmed_at", sa.DateTime(timezone=True)))
        batch_op.create_index(
            batch_op.f("ix_case_study_last_confirmed_at"), ["last_confirmed_at"], unique=False
        )
    op.execute(
        "UPDATE case_study SET last_confirmed_at = COALESCE(published_at, updated_at) "
        "WHERE status = 'published'"
    )
    op.create_table(
        "case_reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("update_opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case_study.id"],
            name=op.f("fk_case_reminder_case_id_case_study"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_reminder")),
    )
    with op.batch_alter_table("case_reminder", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_reminder_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_reminder_sent_at"), ["sent_at"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE kb_search.documents ADD COLUMN confirmed_at timestamptz")
        op.execute(
            "UPDATE kb_search.documents AS d SET confirmed_at = c.last_confirmed_at "
            "FROM case_study AS c WHERE c.id = d.case_id"
        )
        op.execute(
            "CREATE INDEX documents_confirmed ON kb_search.documents (confirmed_at DESC NULLS LAST)"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE kb_search.documents DROP COLUMN confirmed_at")
    with op.batch_alter_table("case_reminder", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_reminder_sent_at"))
        batch_op.drop_index(batch_op.f("ix_case_reminder_case_id"))
    op.drop_table("case_reminder")
    # Not in batch mode: on SQLite that copies case_study, and dropping the old table would
    # cascade to every row that refers to it (revisions, contacts...). SQLite 3.35+ drops
    # an unindexed column in place.
    op.drop_index(op.f("ix_case_study_last_confirmed_at"), table_name="case_study")
    op.drop_column("case_study", "last_confirmed_at")
