"""publog: the publication log's table

Revision ID: publog_0001
Revises:
Create Date: 2026-12-07 14:00:00.000000

A branch of its own (``branch_labels``), starting from nothing and needing the core's
schema from 0013 on (``depends_on``). Like the core's migrations, it never imports live code.
"""

import sqlalchemy as sa
from alembic import op

revision = "publog_0001"
down_revision = None
branch_labels = ("publog",)
depends_on = "0013_restore_proposals"


def upgrade():
    op.create_table(
        "publog_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(200), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_publog_entry"),
    )


def downgrade():
    op.drop_table("publog_entry")
