"""The PostgreSQL search schema: text search configurations, tables and indexes.

Everything lives in the schema ``kb_search`` so the application's own tables (and the
migration test that compares them with the models) never see it. Migrations 0007 and 0010
create it on PostgreSQL only (their SQL is frozen in them); SQLite databases get nothing.
A language added to ``analysis.SNOWBALL`` needs a new migration that creates its
configuration here.

Each case is analysed with its language's configuration. The configurations are copies
of PostgreSQL's Snowball ones with two dictionaries in front of the stemmer: the
language's stop words (checked *before* diacritics are folded, so "på" and "för" stay
stop words) and ``unaccent`` (so "Nærøy" matches "Naeroy"). Icelandic has no Snowball
stemmer: its text reaches PostgreSQL already lemmatised in Python (``prepare``; migration
0010 adds the configuration ``kb_search.icelandic``, a copy of the simple one). Any other
language uses ``kb_search.simple``: folded, lowercased, no stemming.
"""

from __future__ import annotations

from kb.search.analysis import SNOWBALL, language_terms, words

SCHEMA = "kb_search"
SIMPLE = f"{SCHEMA}.simple"
#: Content language -> text search configuration (anything else: SIMPLE): PostgreSQL's
#: Snowball configurations have the same names as the Snowball stemmers.
CONFIGS = {language: f"{SCHEMA}.{name}" for language, name in SNOWBALL.items()}
ICELANDIC = f"{SCHEMA}.icelandic"
CONFIGS["is"] = ICELANDIC

#: Namespace of the advisory locks that serialise writes of one case's search row.
LOCK_NAMESPACE = 0x6B62


def config_for(language: str) -> str:
    return CONFIGS.get(language, SIMPLE)


def prepare(config: str, text: str) -> str:
    """The text PostgreSQL analyses with ``config``: for Icelandic, BÍN's lemmas of its
    words, stop words left out (as the Whoosh index holds them); other text as it is."""
    if config != ICELANDIC:
        return text
    return " ".join(language_terms(words(text), "is"))


#: Tables that hold the index (emptied by a rebuild, and by the test fixtures).
TABLES = (f"{SCHEMA}.documents", f"{SCHEMA}.lexemes", f"{SCHEMA}.words")
