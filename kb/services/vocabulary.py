"""Managed vocabularies: the default terms, look-ups and additions by editors."""

from __future__ import annotations

import json
from importlib import resources

from sqlalchemy import func, select

from kb.database import write_transaction
from kb.extensions import db
from kb.i18n import _
from kb.models import Vocabulary, VocabularyTerm
from kb.services.unique_names import Taken, unique_write


def default_terms() -> dict[Vocabulary, list[dict]]:
    """The terms shipped with the app (``kb/data/vocabulary.json``)."""
    data = json.loads(resources.files("kb.data").joinpath("vocabulary.json").read_text("utf-8"))
    return {vocabulary: data[vocabulary.value] for vocabulary in Vocabulary}


def ensure_default_terms() -> int:
    """Add shipped terms that are missing; never overwrite what editors changed.

    Returns the number of terms added.
    """
    added = 0
    with write_transaction():
        for vocabulary, terms in default_terms().items():
            existing = set(terms_by_key(vocabulary))
            for position, term in enumerate(terms):
                if term["key"] not in existing:
                    db.session.add(
                        VocabularyTerm(
                            vocabulary=vocabulary,
                            key=term["key"],
                            labels=term["labels"],
                            position=position,
                        )
                    )
                    added += 1
    return added


def terms_by_key(vocabulary: Vocabulary) -> dict[str, VocabularyTerm]:
    rows = db.session.scalars(
        select(VocabularyTerm)
        .where(VocabularyTerm.vocabulary == vocabulary)
        .order_by(VocabularyTerm.position, VocabularyTerm.key)
    )
    return {term.key: term for term in rows}


def add_term(vocabulary: Vocabulary, key: str, labels: dict[str, str]) -> VocabularyTerm:
    """Add a new key (at the end of the list) or relabel an existing one."""
    with write_transaction():
        term = terms_by_key(vocabulary).get(key)
        if term is None:
            last = db.session.scalar(
                select(func.max(VocabularyTerm.position)).where(
                    VocabularyTerm.vocabulary == vocabulary
                )
            )
            term = VocabularyTerm(
                vocabulary=vocabulary, key=key, labels={}, position=(last or 0) + 1
            )
            db.session.add(term)
        term.labels = {**(term.labels or {}), **labels}
    return term


def find_term(term_id: int) -> VocabularyTerm | None:
    return db.session.get(VocabularyTerm, term_id)


def create_term(vocabulary: Vocabulary, key: str, labels: dict[str, str]) -> VocabularyTerm:
    """A new term for editors; unlike ``add_term`` an existing key is refused, not relabelled."""
    with unique_write("key", _term_taken):
        if key in terms_by_key(vocabulary):
            raise Taken("key", _term_taken())
        return add_term(vocabulary, key, {code: label for code, label in labels.items() if label})


def _term_taken() -> str:
    return _("This vocabulary already has a term with this key.")


def update_labels(term: VocabularyTerm, labels: dict[str, str]) -> None:
    """Replace a term's labels; the key (used in links and imports) stays."""
    with write_transaction():
        db.session.add(term)
        term.labels = {code: label for code, label in labels.items() if label}
