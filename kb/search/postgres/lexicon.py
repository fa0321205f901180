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

#: Every kind of question in one statement: (kind, number of the question, term, value).
_QUESTIONS = f"""
    SELECT 'df', x.i, NULL, greatest(coalesce(t.ndoc, 0), 0)
    FROM unnest(CAST(:df_fields AS text[]), CAST(:df_terms AS text[]))
        WITH ORDINALITY AS x(f, t, i)
    LEFT JOIN {SCHEMA}.terms AS t ON t.field = x.f AND t.term = x.t COLLATE "C"
    UNION ALL
    SELECT 'prefix', x.i, p.term, p.ndoc
    FROM unnest(CAST(:prefix_fields AS text[]), CAST(:prefix_terms AS text[]),
        CAST(:prefix_limits AS integer[])) WITH ORDINALITY AS x(f, t, n, i)
    CROSS JOIN LATERAL (
        SELECT t.term, t.ndoc FROM {SCHEMA}.terms AS t
        WHERE t.field = x.f AND t.term >= x.t COLLATE "C"
          AND t.term < (x.t || chr(1114111)) COLLATE "C" AND t.ndoc > 0
        ORDER BY t.term LIMIT x.n
    ) AS p
    UNION ALL
    SELECT 'prefix_df', x.i, NULL, (
        SELECT coalesce(sum(s.ndoc), 0) FROM (
            SELECT t.ndoc FROM {SCHEMA}.terms AS t
            WHERE t.field = x.f AND t.term >= x.t COLLATE "C"
              AND t.term < (x.t || chr(1114111)) COLLATE "C" AND t.ndoc > 0
            ORDER BY t.term LIMIT x.n
        ) AS s)
    FROM unnest(CAST(:prefix_df_fields AS text[]), CAST(:prefix_df_terms AS text[]),
        CAST(:prefix_df_limits AS integer[])) WITH ORDINALITY AS x(f, t, n, i)
"""
_CASES = f"""
    UNION ALL
    SELECT 'cases', 0, language, count(*) FROM {SCHEMA}.documents GROUP BY language
"""
_KINDS = ("df", "prefix", "prefix_df")


class PostgresLexicon:
    """The ``kb.search.planner.Lexicon`` of one search's connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.rounds = 0
        self._answers: dict[tuple, Any] = {}
        self._asked: dict[tuple, None] = {}

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
        found = self._answer(("cases", "", "", 0), {})
        return sum(found.values()) if language is None else found.get(language, 0)

    def count(self, node: Node) -> int:
        return self._answer(("count", node), 0)

    def complete(self) -> bool:
        """Fetch every question asked and not answered; True when there were none.

        How many cases a node matches is asked only once the terms are known: the nodes
        built on provisional answers are not the ones the planner keeps.
        """
        asked = [key for key in self._asked if key not in self._answers]
        self._asked.clear()
        if not asked:
            return True
        self.rounds += 1
        terms = [key for key in asked if key[0] != "count"]
        if terms:
            self._terms(terms)
        else:
            self._counts(asked)
        return False

    def _terms(self, keys: list[tuple]) -> None:
        by_kind: dict[str, list[tuple]] = {kind: [] for kind in _KINDS}
        for key in keys:
            by_kind.setdefault(key[0], []).append(key)
        params: dict[str, list] = {}
        for kind in _KINDS:
            params[f"{kind}_fields"] = [k[1] for k in by_kind[kind]]
            params[f"{kind}_terms"] = [k[2] for k in by_kind[kind]]
            if kind != "df":
                params[f"{kind}_limits"] = [k[3] for k in by_kind[kind]]
        statement = _QUESTIONS + (_CASES if by_kind.get("cases") else "")
        prefixes: dict[int, list[str]] = {}
        cases: dict[str, int] = {}
        for kind, i, term, value in self.connection.execute(text(statement), params):
            if kind == "prefix":
                prefixes.setdefault(i, []).append(term)
                field = by_kind["prefix"][i - 1][1]
                self._answers[("df", field, term, 0)] = int(value)
            elif kind == "cases":
                cases[term] = int(value)
            else:
                self._answers[by_kind[kind][i - 1]] = int(value)
        for i, key in enumerate(by_kind["prefix"], 1):
            self._answers[key] = tuple(prefixes.get(i, ()))
        if by_kind.get("cases"):
            self._answers[("cases", "", "", 0)] = cases

    def _counts(self, keys: list[tuple]) -> None:
        """Each count by the GIN index alone (one scalar subquery a node): a condition
        tested on the rows (``count(*) FILTER``) would decompress every match's vector."""
        conditions = Conditions()
        columns = ", ".join(
            f"(SELECT count(*) FROM {SCHEMA}.documents AS d WHERE {conditions.match(key[1])})"
            for key in keys
        )
        row = self.connection.execute(text(f"SELECT {columns}"), conditions.params).one()
        for key, value in zip(keys, row, strict=True):
            self._answers[key] = int(value)
