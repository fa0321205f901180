"""alerts: e-mail alert subscriptions to searches and events

Revision ID: alerts_0001
Revises:
Create Date: 2026-12-07 14:30:00.000000

The plugin's own branch: it starts from nothing and needs the core's schema up to 0013.
``kb db downgrade-plugin alerts`` drops the table (and with it every subscription).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "alerts_0001"
down_revision = None
branch_labels = ("alerts",)
depends_on = "0013_restore_proposals"


def upgrade():
    op.create_table(
        "alerts_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("target", sa.String(1000), nullable=False),
        sa.Column("frequency", sa.String(10), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("sent_until", sa.DateTime(), nullable=True),
        sa.Column("last_sent_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alerts_subscription"),
        sa.UniqueConstraint("email", "kind", "target", name="uq_alerts_subscription_email"),
        sa.CheckConstraint("kind IN ('search', 'event')", name="ck_alerts_subscription_kind"),
        sa.CheckConstraint(
            "frequency IN ('weekly', 'monthly')", name="ck_alerts_subscription_frequency"
        ),
    )


def downgrade():
    op.drop_table("alerts_subscription")
