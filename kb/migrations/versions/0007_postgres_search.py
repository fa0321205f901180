"""PostgreSQL full-text search (schema kb_search); nothing on SQLite

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 09:00:00.000000

"""

from alembic import op

from kb.search.postgres import schema

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in schema.UPGRADE_0007:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in schema.DOWNGRADE_0007:
        op.execute(statement)
