"""contact counts: how many messages visitors sent about each case (never the messages)

Revision ID: 0015_contact_counts
Revises: 0014_practice_template
Create Date: 2026-12-07 14:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015_contact_counts"
down_revision = "0014_practice_template"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "case_contact_count",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case_study.id"],
            name=op.f("fk_case_contact_count_case_id_case_study"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_contact_count")),
    )


def downgrade():
    op.drop_table("case_contact_count")
