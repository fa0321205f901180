"""recorder: a table of notes, to show a plugin's own migration branch

Revision ID: recorder_0001
Revises:
Create Date: 2026-12-07 14:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "recorder_0001"
down_revision = None
branch_labels = ("recorder",)
depends_on = "0013_restore_proposals"


def upgrade():
    op.create_table(
        "recorder_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_recorder_note"),
    )


def downgrade():
    op.drop_table("recorder_note")
