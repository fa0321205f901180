"""The PostgreSQL search schema: the names the backend shares with its migrations.

Everything lives in the schema ``kb_search`` so the application's own tables (and the
migration test that compares them with the models) never see it. Migrations 0007, 0010,
0012, 0016 and 0019 create it on PostgreSQL only, with their SQL written out in them (a
migration runs the same steps on every database whenever it runs); SQLite databases get
nothing.

A case is two rows (migration 0019): ``documents``, narrow, holds what matching, filtering,
counting and sorting read for every match (the vector stored out of line); ``shown`` holds
what a hit shows, ``head`` and the spelling words, read for a page's hits and for ranking
many matches by title and summary. A ``shown`` row goes with its ``documents`` row
(``ON DELETE CASCADE``).

Since migration 0012 the vectors hold the project's own analysed terms, written from Python
(``kb.search.postgres.vectors``), so PostgreSQL's text search configurations that 0007
created are no longer used by searches, and ``terms`` replaces ``lexemes``.
"""

from __future__ import annotations

SCHEMA = "kb_search"
#: Namespace of the advisory locks that serialise writes of one case's search row.
LOCK_NAMESPACE = 0x6B62

DOCUMENTS = f"{SCHEMA}.documents"
SHOWN = f"{SCHEMA}.shown"
#: Tables that hold the index (emptied by a rebuild, and by the test fixtures, in this
#: order: a ``shown`` row refers to its ``documents`` row).
TABLES = (SHOWN, DOCUMENTS, f"{SCHEMA}.terms", f"{SCHEMA}.words")
