"""PostgreSQL search: a text search configuration for Icelandic; nothing on SQLite

Revision ID: 0010_search_languages
Revises: 0009_revision_people
Create Date: 2026-12-07 09:00:00.000000

Icelandic text now reaches PostgreSQL lemmatised in Python (BÍN) and is analysed with
``kb_search.icelandic``, a copy of ``kb_search.simple``. Rows indexed before are marked
stale (their vectors hold the words unlemmatised): ``kb search-check`` lists them and
``kb reindex`` rebuilds them. The SQL is frozen here, as a migration must not import live code.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0010_search_languages"
down_revision = "0009_revision_people"
branch_labels = None
depends_on = None

UPGRADE = [
    "CREATE TEXT SEARCH CONFIGURATION kb_search.icelandic (COPY = kb_search.simple)",
    "UPDATE kb_search.documents SET config = 'kb_search.icelandic', version = 'stale' "
    "WHERE language = 'is'",
]

DOWNGRADE = [
    "UPDATE kb_search.documents SET config = 'kb_search.simple', version = 'stale' "
    "WHERE language = 'is'",
    "DROP TEXT SEARCH CONFIGURATION kb_search.icelandic",
]


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in UPGRADE:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in DOWNGRADE:
        op.execute(statement)
