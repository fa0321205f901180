"""Managed vocabularies: the default terms, look-ups and additions by editors."""

from __future__ import annotations

import json
from importlib import resources

from sqlalchemy import func, select

from kb.database import write_transaction
from kb.extensions import db
from kb.models import Vocabulary, VocabularyTerm


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
