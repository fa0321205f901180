"""Closed lists the domain relies on: content languages, countries, statuses."""

from __future__ import annotations

from enum import StrEnum

#: Languages a case may be written in (ISO 639-1; Norwegian split into bokmål and nynorsk).
CONTENT_LANGUAGES: tuple[str, ...] = ("nb", "nn", "sv", "da", "fi", "is", "en")

#: The Nordic countries and the self-governing Åland, Faroe Islands and Greenland.
COUNTRIES: tuple[str, ...] = ("NO", "SE", "DK", "FI", "IS", "AX", "FO", "GL")


def check_country(_model: object, _key: str, country: str | None) -> str | None:
    """Validator shared by the models that have a country (``None`` allowed where nullable)."""
    if country is not None and country not in COUNTRIES:
        raise ValueError(f"unknown country code {country!r}")
    return country


#: Languages the user interface speaks.
UI_LANGUAGES: tuple[str, ...] = ("en", "nb", "sv", "da", "fi", "is")


class CaseStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class PracticeStatus(StrEnum):
    """Where the practice itself stands (not the case's publication ``CaseStatus``)."""

    PLANNED = "planned"
    RUNNING = "running"
    ENDED = "ended"
    PERMANENT = "permanent"  # made permanent, or scaled up
    DISCONTINUED = "discontinued"


class EvaluatedBy(StrEnum):
    """Who measured the results: the owner themselves, an outside evaluator, or researchers."""

    SELF = "self"
    EXTERNAL = "external"
    RESEARCH = "research"


class BudgetBand(StrEnum):
    """The practice's total budget in euros, in bands wide enough to facet on
    (docs/editorial.md says how to count it)."""

    UNDER_100K = "under-100k"
    FROM_100K = "100k-500k"
    FROM_500K = "500k-2m"
    OVER_2M = "over-2m"

    @property
    def euros(self) -> tuple[int, int | None]:
        """The band's range in euros: at least the first, under the second (None: no limit)."""
        return _BUDGET_EUROS[self]


_BUDGET_EUROS = {
    BudgetBand.UNDER_100K: (0, 100_000),
    BudgetBand.FROM_100K: (100_000, 500_000),
    BudgetBand.FROM_500K: (500_000, 2_000_000),
    BudgetBand.OVER_2M: (2_000_000, None),
}


class MaterialKind(StrEnum):
    SLIDES = "slides"
    REPORT = "report"
    RECORDING = "recording"
    LINK = "link"
    OTHER = "other"


class TextStatus(StrEnum):
    """How far a stored file's text was read for search (links have none)."""

    PENDING = "pending"  # not read yet: `kb materials reextract --pending` reads it
    OK = "ok"
    EMPTY = "empty"  # a file without text, such as an image or a scanned PDF
    FAILED = "failed"  # unreadable, or it went past a limit of the extraction process


class SessionRole(StrEnum):
    SPEAKER = "speaker"
    MODERATOR = "moderator"


class Role(StrEnum):
    ADMIN = "admin"
    EDITOR = "editor"
    SPEAKER = "speaker"


class Vocabulary(StrEnum):
    THEME = "theme"
    TARGET_GROUP = "target_group"
