"""PostgreSQL full-text search: the same interface as Whoosh, the index in the database.

``schema`` holds the DDL of migration 0007 (0010 and 0012 changed it), ``vectors`` builds
a case's vectors from the terms every backend indexes, ``compile`` turns the planner's
nodes into SQL conditions, ``lexicon`` answers the planner's questions, ``backend`` is the
``SearchBackend`` itself (``PostgresBackend(engine_or_url, vocabulary)``).
"""

from __future__ import annotations

from kb.search.postgres.backend import PostgresBackend

__all__ = ["PostgresBackend"]
