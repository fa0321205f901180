"""cache generation: a number raised with each change to data the workers keep in memory

Revision ID: 0018_cache_generation
Revises: 0017_municipality_profile
Create Date: 2026-12-07 17:00:00.000000

No row is needed: the first change writes it, and a missing row reads as generation 0.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0018_cache_generation"
down_revision = "0017_municipality_profile"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "cache_generation",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_cache_generation")),
    )


def downgrade():
    op.drop_table("cache_generation")
