"""The search interface: what views and services may ask of any search engine.

Whoosh (``kb.search.whoosh_backend``, the default) and PostgreSQL (``kb.search.postgres``)
implement it. Both receive ``IndexDocument``s, which ``kb.services.indexing`` builds from the
models. Neither decides what a query means: both run ``kb.search.searching.search``, which
plans with ``kb.search.planner`` and asks the engine only for its primitives.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from kb.paging import page_count

#: Facets offered with every search, in display order.
FACETS: tuple[str, ...] = (
    "country",
    "population_band",
    "urban_rural",
    "language",
    "theme",
    "target_group",
    "event",
    "year",
    "practice_status",
    "budget_band",
)
#: The facets of the municipality's profile: one value or none per case.
PROFILE_FACETS: tuple[str, ...] = ("population_band", "urban_rural")
#: ``confirmed``: the most recently confirmed as still accurate first (``confirmed_at``).
SORTS: tuple[str, ...] = ("relevance", "newest", "confirmed")

#: Index and remove in one commit: ``write(documents, removed_ids)``.
Write = Callable[[Iterable["IndexDocument"], Iterable[int]], None]


class IndexBusy(RuntimeError):
    """Another writer held the index's write lock for longer than the caller would wait."""


@dataclass(frozen=True)
class IndexDocument:
    """Everything the index needs to know about one published case."""

    id: int
    ref: str | None
    slug: str
    version: str
    language: str
    country: str
    title: str
    summary: str
    body: str
    places: str
    files_text: str
    themes: tuple[str, ...]
    target_groups: tuple[str, ...]
    events: tuple[str, ...]
    years: tuple[int, ...]
    published_at: datetime | None
    #: The practice template's choices ("" when not stated): where the practice stands, and
    #: its budget band.
    practice_status: str = ""
    budget_band: str = ""
    #: What plugins add (``index_extras``): text searched in every language, facet values.
    extra_text: str = ""
    extra_facets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: The municipality's profile (``PROFILE_FACETS``): its values, "" where not known.
    population_band: str = ""
    urban_rural: str = ""
    #: When the case was last confirmed as still accurate (freshness: sort and filter).
    confirmed_at: datetime | None = None

    def profile(self) -> dict[str, tuple[str, ...]]:
        """The profile's facet values (none for a part not known)."""
        return {name: (value,) if (value := getattr(self, name)) else () for name in PROFILE_FACETS}


@dataclass(frozen=True)
class SearchRequest:
    q: str = ""
    #: Facet filters: facet name -> accepted values (AND between facets, OR within one).
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20
    #: The facets to count: the core's and those plugins add.
    facets: tuple[str, ...] = FACETS
    #: Only cases confirmed as still accurate at or after this moment (None: any).
    confirmed_since: datetime | None = None


@dataclass(frozen=True)
class SearchHit:
    id: int
    ref: str | None
    slug: str
    title: str
    summary: str
    language: str
    country: str
    score: float
    #: HTML with <mark> around matches; everything else escaped.
    title_html: str
    snippet_html: str
    #: False for cases found only through related words or other languages.
    direct: bool = True
    #: True for cases that match only some of the words (shown after those matching all).
    partial: bool = False


@dataclass
class SearchResults:
    """One page of a search's result set (``kb.search.results``) and what counts it."""

    request: SearchRequest
    #: Every case of the set within the filters: hits on all pages, every facet sums to it.
    total: int
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]]
    suggestion: str | None = None
    notices: list[str] = field(default_factory=list)
    #: Of ``total``, the cases that match only some of the words (they come last).
    partial_total: int = 0

    @property
    def pages(self) -> int:
        return page_count(self.total, self.request.per_page)


@dataclass
class ConsistencyReport:
    missing: list[int] = field(default_factory=list)
    stale: list[int] = field(default_factory=list)
    unexpected: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.stale or self.unexpected)


class SearchBackend(abc.ABC):
    """A full-text index of published cases."""

    @abc.abstractmethod
    def index(self, documents: Iterable[IndexDocument]) -> None:
        """Add or replace these documents (one commit for all)."""

    @abc.abstractmethod
    def remove(self, ids: Iterable[int]) -> None:
        """Remove these cases from the index; unknown ids are ignored."""

    @abc.abstractmethod
    def apply(self, documents: Iterable[IndexDocument], removed: Iterable[int]) -> None:
        """Index and remove in one commit (used by the outbox drain after each change)."""

    @contextmanager
    def writer(self, timeout: float | None = None) -> Iterator[Write]:
        """Hold the index's write lock for the block; what it writes commits at the end.

        The outbox drain reads the database inside the block, so writers apply what they read in
        the order they read it. Waits at most ``timeout`` seconds (``None``: the engine's
        own limit) for the lock, then raises ``IndexBusy``. An engine without a lock of
        its own (PostgreSQL locks each case as it writes) commits each ``write`` at once.
        """
        yield self.apply

    @abc.abstractmethod
    def rebuild(
        self, documents: Iterable[IndexDocument], progress: Callable[[int], None] | None = None
    ) -> int:
        """Replace the whole index with these documents; returns how many were indexed."""

    @abc.abstractmethod
    def search(self, request: SearchRequest) -> SearchResults:
        """Run a search; any query string gives results or an empty result, never an error."""

    @abc.abstractmethod
    def suggest(self, text: str, limit: int = 5) -> list[str]:
        """Words in the index close to ``text`` (for misspellings and autocomplete)."""

    @abc.abstractmethod
    def related(self, case_id: int, limit: int = 4) -> list[SearchHit]:
        """Published cases like this one, best first, in any language the engine can bridge;
        never the case itself, and ``[]`` when the case is not indexed."""

    @abc.abstractmethod
    def versions(self) -> dict[int, str]:
        """Every indexed case id with the version it was indexed at."""

    def close(self) -> None:
        """Let go of this process's open index files, connections and background work
        (before the process forks workers, or when done); the next use opens them again."""
        return None  # an engine that holds nothing has nothing to let go of

    def check(self, expected: dict[int, str]) -> ConsistencyReport:
        """Compare the index with the published cases (id -> version) in the database."""
        indexed = self.versions()
        return ConsistencyReport(
            missing=sorted(set(expected) - set(indexed)),
            stale=sorted(i for i in expected.keys() & indexed.keys() if expected[i] != indexed[i]),
            unexpected=sorted(set(indexed) - set(expected)),
        )
