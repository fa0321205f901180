"""PostgreSQL full-text search: the same interface as Whoosh, the index in the database.

``schema`` holds the DDL (applied by migration 0007), ``tsquery`` turns a query plan into
text-search queries, ``related`` finds cases like a case, ``backend`` is the
``SearchBackend`` itself (``PostgresBackend(engine_or_url, vocabulary)``).
"""

from __future__ import annotations

from kb.search.postgres.backend import PostgresBackend

__all__ = ["PostgresBackend"]
