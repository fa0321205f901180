"""What every backend indexes of a case: the same analysed words, field by field.

Both backends index these lists as they are (Whoosh as ready terms, PostgreSQL as a
tsvector built from them), so a term the planner asks for means the same in both.
"""

from __future__ import annotations

from kb.search.analysis import language_terms, neutral_terms, words
from kb.search.backend import IndexDocument
from kb.search.plan import NEUTRAL_FIELD, TEXT_FIELDS, text_field


def field_words(doc: IndexDocument) -> dict[str, list[str]]:
    """The words of each text field, in order (places and plugins' text count as body)."""
    return {
        "title": words(doc.title),
        "summary": words(doc.summary),
        "body": words(f"{doc.body}\n{doc.places}\n{doc.extra_text}"),
        "files": words(doc.files_text),
    }


def indexed_terms(doc: IndexDocument) -> dict[str, list[str]]:
    """Field -> its terms in order: ``<field>_<language>`` the stems of the case's language
    (stop words left out, so neighbours stay neighbours for phrases) and ``text_all``
    every word folded, the fields one after another."""
    texts = field_words(doc)
    terms = {NEUTRAL_FIELD: neutral_terms([w for name in TEXT_FIELDS for w in texts[name]])}
    for name in TEXT_FIELDS:
        if texts[name]:
            terms[text_field(name, doc.language)] = language_terms(texts[name], doc.language)
    return terms
