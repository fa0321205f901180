"""PostgreSQL search: a narrow table to match in, the shown texts beside it; nothing on SQLite

Revision ID: 0019_search_narrow_rows
Revises: 0018_cache_generation
Create Date: 2026-12-08 01:00:00.000000

A search reads the row of every case it matches, several times (counts per language, each
level's matches, the direct hits, the facets). With the titles, summaries and ``head``
(70 % of a row) in those rows, 100,000 cases made a 149 MB heap that did not fit in the
server's shared buffers. ``kb_search.documents`` now keeps what matching, filtering,
counting and sorting need (case, version, language, country, facet keys, dates, vector);
``kb_search.shown`` keeps what a hit shows and ranks many matches by (ref, slug, title,
summary, body, ``head``) and the words "did you mean" counts, one row per case, removed
with its case's row.

The rows are copied here, so an upgraded deployment finds what it found before without a
reindex (about a minute per 100,000 cases, mostly the vector index built again); the
document frequencies (``terms``, ``words``) do not change. The SQL is frozen here, as a
migration must not import live code.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0019_search_narrow_rows"
down_revision = "0018_cache_generation"
branch_labels = None
depends_on = None

#: The indexes of ``kb_search.documents``, renamed with the table they leave.
_NAMED = (
    "documents_pkey",
    "documents_vector",
    "documents_facet_keys",
    "documents_country",
    "documents_language",
    "documents_published",
    "documents_confirmed",
)
_INDEXES = [
    "CREATE INDEX documents_vector ON kb_search.documents USING gin (vector)",
    "CREATE INDEX documents_facet_keys ON kb_search.documents USING gin (facet_keys)",
    "CREATE INDEX documents_country ON kb_search.documents (country)",
    "CREATE INDEX documents_language ON kb_search.documents (language)",
    "CREATE INDEX documents_published ON kb_search.documents (published_at DESC NULLS LAST)",
    "CREATE INDEX documents_confirmed ON kb_search.documents (confirmed_at DESC NULLS LAST)",
]
# lz4 decompresses several times faster than pglz (where the server has it).
_LZ4 = """DO $$ BEGIN
    ALTER TABLE kb_search.documents ALTER COLUMN vector SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN NULL;
END $$"""

UPGRADE = [
    "ALTER TABLE kb_search.documents RENAME TO wide",
    *(f"ALTER INDEX kb_search.{name} RENAME TO wide_{name}" for name in _NAMED),
    """CREATE TABLE kb_search.documents (
        case_id integer PRIMARY KEY,
        version text NOT NULL,
        language text NOT NULL,
        country text NOT NULL,
        facet_keys text[] NOT NULL,
        published_at timestamptz,
        confirmed_at timestamptz,
        vector tsvector NOT NULL
    )""",
    _LZ4,
    """CREATE TABLE kb_search.shown (
        case_id integer PRIMARY KEY
            REFERENCES kb_search.documents (case_id) ON DELETE CASCADE,
        ref text,
        slug text NOT NULL,
        title text NOT NULL,
        summary text NOT NULL,
        body text NOT NULL,
        words text[] NOT NULL,
        head tsvector NOT NULL
    )""",
    "INSERT INTO kb_search.documents SELECT case_id, version, language, country, facet_keys, "
    "published_at, confirmed_at, vector FROM kb_search.wide ORDER BY case_id",
    "INSERT INTO kb_search.shown SELECT case_id, ref, slug, title, summary, body, words, head "
    "FROM kb_search.wide ORDER BY case_id",
    "DROP TABLE kb_search.wide",
    *_INDEXES,
    "ANALYZE kb_search.documents",
    "ANALYZE kb_search.shown",
]

DOWNGRADE = [
    "ALTER TABLE kb_search.documents RENAME TO narrow",
    *(f"ALTER INDEX kb_search.{name} RENAME TO narrow_{name}" for name in _NAMED),
    """CREATE TABLE kb_search.documents (
        case_id integer PRIMARY KEY,
        version text NOT NULL,
        ref text,
        slug text NOT NULL,
        language text NOT NULL,
        country text NOT NULL,
        title text NOT NULL,
        summary text NOT NULL,
        body text NOT NULL,
        facet_keys text[] NOT NULL,
        published_at timestamptz,
        words text[] NOT NULL,
        head tsvector NOT NULL,
        vector tsvector NOT NULL,
        confirmed_at timestamptz
    )""",
    _LZ4,
    "INSERT INTO kb_search.documents SELECT n.case_id, n.version, s.ref, s.slug, n.language, "
    "n.country, s.title, s.summary, s.body, n.facet_keys, n.published_at, s.words, s.head, "
    "n.vector, n.confirmed_at FROM kb_search.narrow AS n JOIN kb_search.shown AS s "
    "ON s.case_id = n.case_id ORDER BY n.case_id",
    "DROP TABLE kb_search.shown",
    "DROP TABLE kb_search.narrow",
    *_INDEXES,
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
