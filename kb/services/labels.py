"""Vocabulary terms and event titles, kept in each worker's memory until they change.

The search page names up to a hundred facet values per request (themes, target groups,
events); reading them from the database took three queries and a few hundred ORM objects per
request, for data that changes a few times a year. Each worker keeps them with the
generation they were read at (``CacheGeneration``). Any flush that adds, changes or deletes a
term or an event raises that generation in the same transaction, and each request reads the
one number once: a rename committed by one worker shows on the next request of every
worker, on SQLite and PostgreSQL alike, with no timer involved. Writes that bypass the ORM
(Core ``insert``/``update`` on these tables) must call ``changed()`` themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app, g, has_request_context
from sqlalchemy import event, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from kb.extensions import db
from kb.models import CacheGeneration, Event, Vocabulary, VocabularyTerm
from kb.models.vocabulary import label_in

#: The row of ``cache_generation`` these labels follow.
GENERATION = "labels"
#: The models whose changes raise it.
WATCHED = (VocabularyTerm, Event)
_EXTENSION = "kb.labels"
#: ``g`` attribute: the generation this request has seen (read once per request).
_SEEN = "kb_labels_generation"
#: That one read, built once of the table's columns (no ORM compile step on every request).
_GENERATION = select(CacheGeneration.__table__.c.generation).where(
    CacheGeneration.__table__.c.name == GENERATION
)


@dataclass(frozen=True)
class Term:
    """A vocabulary term as read once; ``term_label`` names it like a ``VocabularyTerm``."""

    id: int
    vocabulary: str
    key: str
    labels: Mapping[str, str]
    position: int

    def label(self, locale: str | None) -> str:
        return label_in(self.labels, self.key, locale)


@dataclass(frozen=True)
class Labels:
    generation: int
    #: Vocabulary -> key -> term, in the vocabulary's order.
    terms: Mapping[str, Mapping[str, Term]]
    by_id: Mapping[int, Term]
    #: Event slug -> title.
    event_titles: Mapping[str, str]


def current() -> Labels:
    """The labels as of the last committed change (one query per request at most)."""
    generation = _generation()
    cached: Labels | None = current_app.extensions.get(_EXTENSION)
    if cached is None or cached.generation != generation:
        cached = _load(generation)
        current_app.extensions[_EXTENSION] = cached
    return cached


def terms(vocabulary: Vocabulary) -> Mapping[str, Term]:
    return current().terms.get(vocabulary.value, {})


def changed(session: Session) -> None:
    """Raise the generation in ``session``'s transaction: every worker reloads after commit."""
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.connection().execute(
        insert(CacheGeneration)
        .values(name=GENERATION, generation=1)
        .on_conflict_do_update(
            index_elements=[CacheGeneration.name],
            set_={"generation": CacheGeneration.generation + 1},
        )
    )
    if has_request_context():
        g.pop(_SEEN, None)


def _generation() -> int:
    if has_request_context() and _SEEN in g:
        return g.get(_SEEN)
    generation = db.session.scalar(_GENERATION) or 0
    if has_request_context():
        setattr(g, _SEEN, generation)
    return generation


def _load(generation: int) -> Labels:
    rows = db.session.execute(
        select(
            VocabularyTerm.id,
            VocabularyTerm.vocabulary,
            VocabularyTerm.key,
            VocabularyTerm.labels,
            VocabularyTerm.position,
        ).order_by(VocabularyTerm.vocabulary, VocabularyTerm.position, VocabularyTerm.key)
    )
    by_id = {
        row.id: Term(row.id, row.vocabulary, row.key, row.labels or {}, row.position)
        for row in rows
    }
    terms: dict[str, dict[str, Term]] = {vocabulary.value: {} for vocabulary in Vocabulary}
    for term in by_id.values():
        terms.setdefault(term.vocabulary, {})[term.key] = term
    titles = dict(db.session.execute(select(Event.slug, Event.title)).all())
    return Labels(generation, terms, by_id, titles)


def _raise_on_change(session: Session, _context: Any) -> None:
    """After a flush that wrote a term or an event (the pre-flush state is still visible)."""
    touched = any(isinstance(obj, WATCHED) for obj in (*session.new, *session.deleted)) or any(
        isinstance(obj, WATCHED) and session.is_modified(obj, include_collections=False)
        for obj in session.dirty
    )
    if touched:
        changed(session)


event.listen(db.session, "after_flush", _raise_on_change)
