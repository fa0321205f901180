"""PostgreSQL search: the project's own analysed terms in the vectors; nothing on SQLite

Revision ID: 0012_search_terms
Revises: 0011_pending_uploads
Create Date: 2026-12-07 11:00:00.000000

Searches are planned once for both backends (``kb.search.planner``), so PostgreSQL now
stores the terms the project's analysis produces (``<lang>:<stem>`` weighted by field, and
every word folded) instead of analysing text with its own Snowball configurations. The
per-field document frequencies the planner asks for live in ``kb_search.terms`` (it
replaces ``lexemes``); ``config`` is no longer used. The old rows cannot be searched with
the new plans: they are emptied, and ``kb search-check`` lists every case as missing until
``kb reindex``. The SQL is frozen here, as a migration must not import live code.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0012_search_terms"
down_revision = "0011_pending_uploads"
branch_labels = None
depends_on = None

UPGRADE = [
    "DELETE FROM kb_search.documents",
    "DELETE FROM kb_search.words",
    "DROP TABLE kb_search.lexemes",
    """CREATE TABLE kb_search.terms (
        field text COLLATE "C" NOT NULL,
        term text COLLATE "C" NOT NULL,
        ndoc integer NOT NULL,
        PRIMARY KEY (field, term)
    )""",
    "ALTER TABLE kb_search.documents DROP COLUMN config",
]

DOWNGRADE = [
    "DELETE FROM kb_search.documents",
    "DELETE FROM kb_search.words",
    "DROP TABLE kb_search.terms",
    """CREATE TABLE kb_search.lexemes (
        language text NOT NULL,
        lexeme text COLLATE "C" NOT NULL,
        ndoc integer NOT NULL,
        PRIMARY KEY (language, lexeme)
    )""",
    "ALTER TABLE kb_search.documents ADD COLUMN config regconfig NOT NULL "
    "DEFAULT 'kb_search.simple'",
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
