"""The planner's questions to the PostgreSQL index, answered in rounds.

The planner asks many small questions (does this stem occur in this field, which words
start with it, ...). Asked one by one they would cost a round trip each; here they are
answered provisionally (a term exists, starts nothing, a plan matches nothing), collected,
and fetched together (``complete``); the planner then plans again with the real answers.
After a few rounds each new question is fetched at once. Answers hold for one search.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from kb.search.plan import Node
from kb.search.postgres.compile import Conditions
from kb.search.postgres.schema import SCHEMA

#: Rounds of provisional answers before each question is fetched as it is asked.
ROUNDS = 3

_FREQUENCIES = text(
    f"""
    SELECT x.i, greatest(coalesce(t.ndoc, 0), 0)
    FROM unnest(CAST(:fields AS text[]), CAST(:terms AS text[])) WITH ORDINALITY AS x(f, t, i)
    LEFT JOIN {SCHEMA}.terms AS t ON t.field = x.f AND t.term = x.t COLLATE "C"
    """
)
_PREFIX_TERMS = text(
    f"""
    SELECT x.i, p.term
    FROM unnest(CAST(:fields AS text[]), CAST(:terms AS text[]), CAST(:limits AS integer[]))
        WITH ORDINALITY AS x(f, t, n, i)
    CROSS JOIN LATERAL (
        SELECT t.term FROM {SCHEMA}.terms AS t
        WHERE t.field = x.f AND t.term >= x.t COLLATE "C"
          AND t.term < (x.t || chr(1114111)) COLLATE "C" AND t.ndoc > 0
        ORDER BY t.term LIMIT x.n
    ) AS p
    ORDER BY x.i, p.term
    """
)
_PREFIX_FREQUENCIES = text(
    f"""
    SELECT x.i, (
        SELECT coalesce(sum(s.ndoc), 0) FROM (
            SELECT t.ndoc FROM {SCHEMA}.terms AS t
            WHERE t.field = x.f AND t.term >= x.t COLLATE "C"
              AND t.term < (x.t || chr(1114111)) COLLATE "C" AND t.ndoc > 0
            ORDER BY t.term LIMIT x.n
        ) AS s)
    FROM unnest(CAST(:fields AS text[]), CAST(:terms AS text[]), CAST(:limits AS integer[]))
        WITH ORDINALITY AS x(f, t, n, i)
    """
)
_CASES = text(f"SELECT language, count(*) FROM {SCHEMA}.documents GROUP BY language")


class PostgresLexicon:
    """The ``kb.search.planner.Lexicon`` of one search's connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.rounds = 0
        self._answers: dict[tuple, Any] = {}
        self._asked: dict[tuple, None] = {}
        self._nodes: dict[tuple, Node] = {}
        self._cases: dict[str, int] | None = None

    def _answer(self, key: tuple, provisional: Any) -> Any:
        if key in self._answers:
            return self._answers[key]
        self._asked[key] = None
        if self.rounds >= ROUNDS:
            self.complete()
            return self._answers[key]
        return provisional

    def frequency(self, field: str, term: str) -> int:
        return self._answer(("df", field, term, 0), 1)

    def prefix_terms(self, field: str, prefix: str, limit: int) -> tuple[str, ...]:
        return self._answer(("prefix", field, prefix, limit), ())

    def prefix_frequency(self, field: str, prefix: str, limit: int) -> int:
        return self._answer(("prefix_df", field, prefix, limit), 1)

    def cases(self, language: str | None = None) -> int:
        if self._cases is None:
            self._cases = dict(self.connection.execute(_CASES).all())
        if language is None:
            return sum(self._cases.values())
        return self._cases.get(language, 0)

    def count(self, node: Node) -> int:
        key = ("count", repr(node))
        self._nodes[key] = node
        return self._answer(key, 0)

    def complete(self) -> bool:
        """Fetch every question asked and not answered; True when there were none."""
        asked = [key for key in self._asked if key not in self._answers]
        self._asked.clear()
        if not asked:
            return True
        self.rounds += 1
        by_kind: dict[str, list[tuple]] = {}
        for key in asked:
            by_kind.setdefault(key[0], []).append(key)
        for kind, keys in by_kind.items():
            if kind == "count":
                self._counts(keys)
                continue
            params = {
                "fields": [k[1] for k in keys],
                "terms": [k[2] for k in keys],
                "limits": [k[3] for k in keys],
            }
            if kind == "prefix":
                found: dict[int, list[str]] = {}
                for i, term in self.connection.execute(_PREFIX_TERMS, params):
                    found.setdefault(i, []).append(term)
                for i, key in enumerate(keys, 1):
                    self._answers[key] = tuple(found.get(i, ()))
            else:
                statement = _FREQUENCIES if kind == "df" else _PREFIX_FREQUENCIES
                if kind == "df":
                    del params["limits"]
                for i, value in self.connection.execute(statement, params):
                    self._answers[keys[i - 1]] = int(value)
        return False

    def _counts(self, keys: list[tuple]) -> None:
        conditions = Conditions()
        matches = [conditions.match(self._nodes[key]) for key in keys]
        columns = ", ".join(f"count(*) FILTER (WHERE {m})" for m in matches)
        row = self.connection.execute(
            text(f"SELECT {columns} FROM {SCHEMA}.documents AS d WHERE {' OR '.join(matches)}"),
            conditions.params,
        ).one()
        for key, value in zip(keys, row, strict=True):
            self._answers[key] = int(value)
