"""analytics: the searches people make (no personal data) and their monthly totals

Revision ID: analytics_0001
Revises:
Create Date: 2026-12-07 14:00:00.000000

The plugin's own branch: it starts from nothing (``down_revision = None``) and needs the
core's schema up to 0013. Downgrading it (``kb db downgrade-plugin analytics``) drops both
tables and leaves the core's alone.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "analytics_0001"
down_revision = None
branch_labels = ("analytics",)
depends_on = "0013_restore_proposals"


def _group_columns() -> list[sa.Column]:
    """What a search is counted by: its month, the page's language, its words and filters."""
    return [
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("query", sa.String(200), nullable=False),
        sa.Column("filters", sa.String(500), nullable=False),
    ]


def upgrade():
    op.create_table(
        "analytics_search",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(16), nullable=False),
        *_group_columns(),
        sa.Column("results", sa.Integer(), nullable=False),
        sa.Column("page", sa.Integer(), nullable=False),
        sa.Column("opens", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name="pk_analytics_search"),
        sa.UniqueConstraint("token", name="uq_analytics_search_token"),
    )
    op.create_index("ix_analytics_search_month", "analytics_search", ["month"])
    op.create_table(
        "analytics_month",
        *_group_columns(),
        sa.Column("searches", sa.Integer(), nullable=False),
        sa.Column("zero_results", sa.Integer(), nullable=False),
        sa.Column("opened", sa.Integer(), nullable=False),
        sa.Column("results", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month", "language", "query", "filters", name="pk_analytics_month"),
    )


def downgrade():
    op.drop_table("analytics_month")
    op.drop_index("ix_analytics_search_month", table_name="analytics_search")
    op.drop_table("analytics_search")
