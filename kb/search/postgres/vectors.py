"""A case's search vectors, built in Python from the terms every backend indexes.

PostgreSQL does not analyse the text: the vector is written as tsvector text from
``kb.search.indexed.indexed_terms`` (the project's own stems, Icelandic lemmas, Nynorsk and
Finnish rules, folded words), so the planner's terms mean the same as in Whoosh. A stem is
stored as ``<lang>:<stem>`` (``<lang>/<stem>`` in attached files) with its field as the
weight (A title, B summary, C body, D files); its positions count within the
field's stems, one field after another with a gap (a phrase never spans two fields). A
folded word is stored as itself, positions counted over all fields in a row (as Whoosh's
``text_all``).
"""

from __future__ import annotations

from kb.search.backend import IndexDocument
from kb.search.indexed import field_words, indexed_terms
from kb.search.plan import NEUTRAL_FIELD, TEXT_FIELDS, text_field
from kb.search.postgres.compile import WEIGHTS, lexeme, quoted

#: tsvector limits: positions above this are stored as it; at most so many per lexeme.
MAX_POSITION = 16383
MAX_POSITIONS = 256
#: Longest lexeme PostgreSQL stores (bytes).
MAX_LEXEME_BYTES = 2046


def vectors(doc: IndexDocument) -> tuple[str, str]:
    """(head, vector) as tsvector text: the title and summary alone, and everything."""
    terms = indexed_terms(doc)
    sizes = {name: len(found) for name, found in field_words(doc).items()}
    places: dict[str, list[str]] = {}
    head: dict[str, list[str]] = {}
    start = 1
    for name in TEXT_FIELDS:
        field = text_field(name, doc.language)
        for offset, term in enumerate(terms.get(field, ())):
            key = lexeme(field, term)
            _add(places, key, start + offset, WEIGHTS[name])
            if name in ("title", "summary"):
                _add(head, key, start + offset, WEIGHTS[name])
        start += len(terms.get(text_field(name, doc.language), ())) + 1
    neutral = terms[NEUTRAL_FIELD]
    position = 1
    for name in TEXT_FIELDS:
        for word in neutral[position - 1 : position - 1 + sizes[name]]:
            _add(places, word, position, WEIGHTS[name])
            if name in ("title", "summary"):
                _add(head, word, position, WEIGHTS[name])
            position += 1
    return _text(head), _text(places)


def _add(places: dict[str, list[str]], key: str, position: int, weight: str) -> None:
    found = places.setdefault(key, [])
    if len(found) < MAX_POSITIONS:
        found.append(f"{min(position, MAX_POSITION)}{weight}")


def _text(places: dict[str, list[str]]) -> str:
    return " ".join(
        f"{quoted(key)}:{','.join(dict.fromkeys(found))}"
        for key, found in places.items()
        if len(key.encode("utf-8")) <= MAX_LEXEME_BYTES
    )
