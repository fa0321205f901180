"""What the Whoosh index holds for a case, and how a case becomes its fields.

Every text is tokenized once, in Python (``kb.search.analysis``), and handed to Whoosh as
ready terms: Whoosh's analyzer chains would tokenize the same text once per field and build
a token object per word, which was half of the indexing time. The fields are:

- per content language ``title_<lang>``, ``summary_<lang>``, ``body_<lang>`` (stems, stop
  words left out, with positions for phrases) and ``files_<lang>`` (the same without
  positions: a file's words count, its phrases are not worth their space);
- ``text_all``: every word folded, not stemmed (names, words of other languages), with
  positions; its terms are also the word list of "did you mean";
- keyword fields for the facets, the publication and confirmation dates and each case's
  version as columns, and the few stored texts a result shows (title, summary, body).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from whoosh import columns, formats
from whoosh.analysis import IDTokenizer
from whoosh.fields import COLUMN, DATETIME, ID, KEYWORD, STORED, FieldType, Schema
from whoosh.system import pack_uint

from kb.search.analysis import ANALYZED_LANGUAGES
from kb.search.backend import IndexDocument
from kb.search.indexed import indexed_terms
from kb.search.plan import NEUTRAL_FIELD, PHRASE_FIELDS, TEXT_FIELDS

#: Bump when the schema or the analysis changes: a new, empty index is created beside the
#: old one and `kb search-check` reports every case missing until `kb reindex`.
INDEX_NAME = "cases_v5"

VERSION_COLUMN = "case_version"
#: Facets added by plugins live in dynamic fields, so enabling one needs no new schema.
PLUGIN_FACET_PREFIX = "facet_"
#: The core facets that are fields of their own name. Facets added since (the practice
#: status, the budget band, the municipality's profile) live in dynamic ``facet_`` fields like
#: plugins' facets: an index built before them needs no new schema, and stays right until its
#: cases get values.
OWN_FIELD_FACETS = ("country", "language", "theme", "target_group", "event", "year")


def facet_field(name: str) -> str:
    """A facet's field: its own name for the first core facets, else a ``facet_`` field."""
    return name if name in OWN_FIELD_FACETS else f"{PLUGIN_FACET_PREFIX}{name}"


class AnalysedText(FieldType):
    """A text field whose value is the list of its terms, already analysed.

    With ``positions`` each term's places in the list are kept, so two terms are
    neighbours in a phrase when they were neighbours in the text (stop words left out).
    """

    def __init__(self, *, positions: bool) -> None:
        fmt = formats.Positions() if positions else formats.Frequency()
        super().__init__(fmt, IDTokenizer(), scorable=True)
        self.positions = positions

    def index(self, value: Any, **_kwargs: Any) -> Iterator[tuple[bytes, int, float, bytes]]:
        if not isinstance(value, list):
            raise ValueError(f"{value!r} is not a list of terms")
        if not self.positions:
            for term, count in Counter(value).items():
                yield term.encode("utf-8"), count, float(count), pack_uint(count)
            return
        places: dict[str, list[int]] = {}
        for place, term in enumerate(value):
            places.setdefault(term, []).append(place)
        for term, found in places.items():
            yield term.encode("utf-8"), len(found), float(len(found)), self.format.encode(found)


def build_schema() -> Schema:
    fields: dict[str, object] = {
        "id": ID(stored=True, unique=True),
        "ref": STORED,
        "slug": STORED,
        "version": STORED,
        # "id version" again, in a column: `kb search-check` reads it without the texts.
        VERSION_COLUMN: COLUMN(columns.VarBytesColumn()),
        "title_text": STORED,
        "summary_text": STORED,
        "body_text": STORED,
        "language": ID(stored=True),
        "country": ID(stored=True),
        "theme": KEYWORD(commas=True),
        "target_group": KEYWORD(commas=True),
        "event": KEYWORD(commas=True),
        "year": KEYWORD(commas=True),
        "published": DATETIME(sortable=True),
        "confirmed": DATETIME(sortable=True),
        NEUTRAL_FIELD: AnalysedText(positions=True),
    }
    for language in ANALYZED_LANGUAGES:
        for name in TEXT_FIELDS:
            fields[f"{name}_{language}"] = AnalysedText(positions=name in PHRASE_FIELDS)
    schema = Schema(**fields)
    schema.add(f"{PLUGIN_FACET_PREFIX}*", KEYWORD(commas=True), glob=True)
    return schema


def fields_of(doc: IndexDocument) -> dict[str, object]:
    """The Whoosh fields of one case: each text tokenized once, then stemmed and folded."""
    fields: dict[str, object] = {
        "id": str(doc.id),
        "ref": doc.ref,
        "slug": doc.slug,
        "version": doc.version,
        VERSION_COLUMN: f"{doc.id} {doc.version}".encode(),
        "title_text": doc.title,
        "summary_text": doc.summary,
        "body_text": doc.body,
        "language": doc.language,
        "country": doc.country,
        "theme": ",".join(doc.themes),
        "target_group": ",".join(doc.target_groups),
        "event": ",".join(doc.events),
        "year": ",".join(str(y) for y in doc.years),
    }
    for name, values in _added_facets(doc).items():
        fields[facet_field(name)] = ",".join(values)
    if doc.published_at is not None:
        fields["published"] = doc.published_at.replace(tzinfo=None)
    if doc.confirmed_at is not None:
        fields["confirmed"] = doc.confirmed_at.replace(tzinfo=None)
    fields.update(indexed_terms(doc))
    return fields


def _added_facets(doc: IndexDocument) -> dict[str, tuple[str, ...]]:
    """The facets kept in dynamic fields: the core's newer ones, then the plugins'."""
    core = {"practice_status": (doc.practice_status,), "budget_band": (doc.budget_band,)}
    added = core | doc.profile() | dict(doc.extra_facets)
    return {name: values for name, values in added.items() if any(values)}
