"""PostgreSQL full-text search (schema kb_search); nothing on SQLite

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 09:00:00.000000

Each Snowball language gets a configuration with its stop words checked before ``unaccent``
folds diacritics, then the stemmer; ``kb_search.simple`` folds and lowercases only. The SQL is
frozen here, as a migration must not import live code: a language added to the search later
comes with a migration of its own, so every database gets the same steps.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_TOKENS = "asciiword, asciihword, hword_asciipart, word, hword, hword_part"


def _snowball(name: str) -> list[str]:
    """A copy of PostgreSQL's ``name`` configuration: stop words, ``unaccent``, stemmer."""
    return [
        f"CREATE TEXT SEARCH DICTIONARY kb_search.{name}_stop "
        f"(TEMPLATE = pg_catalog.simple, STOPWORDS = {name}, ACCEPT = false)",
        f"CREATE TEXT SEARCH CONFIGURATION kb_search.{name} (COPY = pg_catalog.{name})",
        f"ALTER TEXT SEARCH CONFIGURATION kb_search.{name} ALTER MAPPING FOR {_TOKENS} "
        f"WITH kb_search.{name}_stop, unaccent, pg_catalog.{name}_stem",
    ]


UPGRADE = [
    # Both are trusted extensions (PostgreSQL 13+): a database owner may create them.
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE SCHEMA kb_search",
    *_snowball("danish"),
    *_snowball("english"),
    *_snowball("finnish"),
    *_snowball("norwegian"),
    *_snowball("swedish"),
    "CREATE TEXT SEARCH CONFIGURATION kb_search.simple (COPY = pg_catalog.simple)",
    f"ALTER TEXT SEARCH CONFIGURATION kb_search.simple ALTER MAPPING FOR {_TOKENS} "
    "WITH unaccent, pg_catalog.simple",
    """CREATE TABLE kb_search.documents (
        case_id integer PRIMARY KEY,
        version text NOT NULL,
        ref text,
        slug text NOT NULL,
        language text NOT NULL,
        config regconfig NOT NULL,
        country text NOT NULL,
        title text NOT NULL,
        summary text NOT NULL,
        body text NOT NULL,
        -- every facet value as "facet:value" (country:NO, theme:employment, year:1996,
        -- and plugins' facets): one GIN index filters them all, one unnest counts them all
        facet_keys text[] NOT NULL,
        published_at timestamptz,
        words text[] NOT NULL,
        -- title (A) and summary (B) alone: small enough to rank many matches quickly
        head tsvector NOT NULL,
        vector tsvector NOT NULL
    )""",
    # lz4 decompresses several times faster than pglz (where the server has it).
    """DO $$ BEGIN
        ALTER TABLE kb_search.documents ALTER COLUMN vector SET COMPRESSION lz4;
    EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN NULL;
    END $$""",
    "CREATE INDEX documents_vector ON kb_search.documents USING gin (vector)",
    "CREATE INDEX documents_facet_keys ON kb_search.documents USING gin (facet_keys)",
    "CREATE INDEX documents_country ON kb_search.documents (country)",
    "CREATE INDEX documents_language ON kb_search.documents (language)",
    "CREATE INDEX documents_published ON kb_search.documents (published_at DESC NULLS LAST)",
    # In how many cases of a language each lexeme occurs: compound splitting and
    # "related" need document frequencies, and ts_stat over every row is far too slow.
    """CREATE TABLE kb_search.lexemes (
        language text NOT NULL,
        lexeme text COLLATE "C" NOT NULL,
        ndoc integer NOT NULL,
        PRIMARY KEY (language, lexeme)
    )""",
    # Words as written (lowercase, not folded) with their document counts: "did you mean".
    """CREATE TABLE kb_search.words (
        word text COLLATE "C" PRIMARY KEY,
        ndoc integer NOT NULL
    )""",
    "CREATE INDEX words_trigrams ON kb_search.words USING gin (word gin_trgm_ops)",
]

DOWNGRADE = ["DROP SCHEMA IF EXISTS kb_search CASCADE"]


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
