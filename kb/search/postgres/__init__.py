"""PostgreSQL full-text search: the same interface as Whoosh, the index in the database.

``schema`` holds the DDL (applied by migration 0007), ``tsquery`` turns a query plan into
text-search queries, ``backend`` is the ``SearchBackend`` itself.
"""

from __future__ import annotations

from kb.search.postgres.backend import PostgresBackend

__all__ = ["PostgresBackend"]
