"""The PostgreSQL search schema: the names the backend shares with its migrations.

Everything lives in the schema ``kb_search`` so the application's own tables (and the
migration test that compares them with the models) never see it. Migrations 0007, 0010 and
0012 create it on PostgreSQL only, with their SQL written out in them (a migration runs the
same steps on every database whenever it runs); SQLite databases get nothing.

Since migration 0012 the vectors hold the project's own analysed terms, written from Python
(``kb.search.postgres.vectors``), so PostgreSQL's text search configurations that 0007
created are no longer used by searches, and ``terms`` replaces ``lexemes``.
"""

from __future__ import annotations

SCHEMA = "kb_search"
#: Namespace of the advisory locks that serialise writes of one case's search row.
LOCK_NAMESPACE = 0x6B62

#: Tables that hold the index (emptied by a rebuild, and by the test fixtures).
TABLES = (f"{SCHEMA}.documents", f"{SCHEMA}.terms", f"{SCHEMA}.words")
