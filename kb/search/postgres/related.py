""" "More like this" in PostgreSQL: a case's most distinctive words and the concepts it names.

The words are the case's own lexemes ranked by tf-idf within its language (the counts in
``kb_search.lexemes``); the concepts, found with the vocabulary in its title, summary and
body, are searched as their terms in every language, so related cases cross languages.
A case with themes is related only to cases that share one; shared themes and target
groups add to the score.
"""

from __future__ import annotations

import math
import re

from sqlalchemy import Connection, text

from kb.search.analysis import words
from kb.search.concepts import MAX_SPAN, Vocabulary
from kb.search.postgres.schema import SCHEMA, config_for
from kb.search.postgres.tsquery import Leaf, LeafCache

RELATED_WORDS = 24
RELATED_CONCEPTS = 8
RELATED_MIN_COUNT = 2
RELATED_MIN_STEM = 4
CONCEPT_WEIGHT = 2.0
FACET_WEIGHT = 0.1

_CASE = text(
    f"SELECT language, title, summary, body, facet_keys FROM {SCHEMA}.documents WHERE case_id = :id"
)

# Lexemes of the title (A, counted 4 times), summary (B, twice) and body (C); attached
# files (D) are left out. A word must occur twice and in another case too.
_WORDS = text(
    f"""
    WITH me AS (SELECT language, vector FROM {SCHEMA}.documents WHERE case_id = :id),
    cases AS (SELECT count(*) + 1 AS n FROM {SCHEMA}.documents
               WHERE language = (SELECT language FROM me)),
    terms AS (
        SELECT u.lexeme, l.ndoc,
            (SELECT sum(CASE w WHEN 'A' THEN 4 WHEN 'B' THEN 2 WHEN 'C' THEN 1 ELSE 0 END)
               FROM unnest(u.weights) AS w) AS count
        FROM me CROSS JOIN LATERAL unnest(me.vector) AS u
        JOIN {SCHEMA}.lexemes AS l ON l.language = me.language AND l.lexeme = u.lexeme
    )
    SELECT terms.lexeme, (1 + ln(terms.count)) * ln(cases.n / terms.ndoc) AS weight
    FROM terms, cases
    WHERE terms.count >= :min_count AND terms.ndoc > 1 AND length(terms.lexeme) >= :min_stem
      AND terms.lexeme !~ '^[0-9]+$'
    ORDER BY weight DESC, terms.lexeme LIMIT :limit
    """
)


def _concepts(vocabulary: Vocabulary, language: str, texts: list[str]) -> list[int]:
    """The concepts a case names, most mentioned first."""
    counts: dict[int, int] = {}
    for value in texts:
        tokens = words(value or "")
        for start in range(len(tokens)):
            for end in range(start + 1, min(start + MAX_SPAN, len(tokens)) + 1):
                for number in vocabulary.concepts_for(tuple(tokens[start:end]), language):
                    counts[number] = counts.get(number, 0) + 1
    return sorted(counts, key=lambda n: (-counts[n], n))[:RELATED_CONCEPTS]


_LEXEME = re.compile(r"'((?:[^']|'')*)'")


def _concept_features(
    connection: Connection, queries: list[list[str]]
) -> list[tuple[float, str, bool]]:
    """A concept weighs by its rarity: "upper secondary school" tells more than "refugee".

    How many cases name it is estimated from the lexeme counts (each term counts the
    cases of its rarest word), which is cheap, unlike counting matches.
    """
    if not queries:
        return []
    lexemes = {m.replace("''", "'") for parts in queries for p in parts for m in _LEXEME.findall(p)}
    counts = dict(
        connection.execute(
            text(
                f"SELECT lexeme, sum(ndoc) FROM {SCHEMA}.lexemes "
                "WHERE lexeme = ANY(CAST(:lexemes AS text[])) GROUP BY lexeme"
            ),
            {"lexemes": sorted(lexemes)},
        ).all()
    )
    cases = connection.scalar(text(f"SELECT count(*) FROM {SCHEMA}.documents")) or 0
    ceiling = math.log(cases + 1) or 1.0
    features = []
    for parts in queries:
        found = 0
        for part in parts:
            words_of = [m.replace("''", "'") for m in _LEXEME.findall(part)]
            found += min((int(counts.get(w, 0)) for w in words_of), default=0)
        rarity = math.log((cases + 1) / (min(found, cases) + 1)) / ceiling
        features.append((CONCEPT_WEIGHT * rarity, " | ".join(f"( {p} )" for p in parts), False))
    return features


def related_cases(
    connection: Connection, vocabulary: Vocabulary, leaves: LeafCache, case_id: int, limit: int
) -> list[tuple[int, float, bool]]:
    """(case id, score, in the same language) of the cases most like this one."""
    me = connection.execute(_CASE, {"id": case_id}).one_or_none()
    if me is None:
        return []
    chosen = connection.execute(
        _WORDS,
        {
            "id": case_id,
            "min_count": RELATED_MIN_COUNT,
            "min_stem": RELATED_MIN_STEM,
            "limit": RELATED_WORDS,
        },
    ).all()
    # (weight, tsquery, only in the case's language): its words count in its language
    # only (another language's word may look alike and mean something else).
    features: list[tuple[float, str, bool]] = []
    top = float(chosen[0].weight) if chosen else 1.0
    for row in chosen:
        escaped = row.lexeme.replace("\\", "\\\\").replace("'", "''")
        features.append((float(row.weight) / (top or 1.0), f"'{escaped}'", True))
    concepts = _concepts(vocabulary, me.language, [me.title, me.summary, me.body])
    queries = []
    for number in concepts:
        expanded = vocabulary.expansions({number}, ())
        options = [Leaf("plain", config_for(lang), unit.text) for lang, unit in expanded]
        resolved = leaves.resolve(connection, options)
        parts = list(dict.fromkeys(v for v in resolved.values() if v))
        if parts:
            queries.append(parts)
    features += _concept_features(connection, queries)
    themes = [k for k in me.facet_keys if k.startswith("theme:")]
    shared = themes + [k for k in me.facet_keys if k.startswith("target_group:")]
    if not features and not shared:
        return []
    params: dict[str, object] = {
        "id": case_id,
        "themes": themes,
        "shared": shared,
        "limit": limit,
        "facet": FACET_WEIGHT,
    }
    terms, matches = [], []
    for i, (weight, query, own_language) in enumerate(features):
        params[f"q{i}"] = query
        params[f"w{i}"] = weight
        match = f"d.vector @@ CAST(:q{i} AS tsquery)"
        matches.append(f"(d.language = :language AND {match})" if own_language else match)
        terms.append(f"CASE WHEN {matches[-1]} THEN :w{i} ELSE 0 END")
    params["language"] = me.language
    any_feature = " OR ".join(matches)
    where = [f"({any_feature})" if any_feature else "FALSE", "d.case_id <> :id"]
    if themes:
        where.append("d.facet_keys && CAST(:themes AS text[])")
    score = " + ".join(
        [
            *terms,
            ":facet * cardinality(ARRAY(SELECT unnest(d.facet_keys) INTERSECT "
            "SELECT unnest(CAST(:shared AS text[]))))",
        ]
    )
    rows = connection.execute(
        text(
            f"SELECT d.case_id, d.language, {score} AS score FROM {SCHEMA}.documents AS d "
            f"WHERE {' AND '.join(where)} ORDER BY score DESC, d.case_id LIMIT :limit"
        ),
        params,
    ).all()
    return [(row.case_id, float(row.score), row.language == me.language) for row in rows]
