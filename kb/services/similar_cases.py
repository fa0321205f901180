"""Cases that look like the one being written, so a speaker sees an existing case before
sending a second copy of it (a warning, never a refusal).

Titles are compared after normalising them (case, accents and punctuation ignored) with
difflib's ratio: a plain comparison that needs no search index and no new dependency. The
bar is lower for a case from the same municipality, where a similar title is a likelier
duplicate.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher

from sqlalchemy import select

from kb.extensions import db
from kb.models import Case, CaseStatus

#: How alike two normalised titles must be (difflib ratio, 0..1) to count as similar.
TITLE_SIMILARITY = 0.8
#: The same, for cases from the same municipality.
SAME_MUNICIPALITY_SIMILARITY = 0.6
#: Titles shorter than this (normalised) say too little to compare.
MIN_TITLE_LENGTH = 8
MAX_SHOWN = 3
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class SimilarCase:
    id: int
    title: str
    slug: str
    status: str
    similarity: float

    @property
    def published(self) -> bool:
        return self.status == CaseStatus.PUBLISHED


def normalised(text: str | None) -> str:
    """ "Språkpraksis i lokale bedrifter!" -> "sprakpraksis i lokale bedrifter"."""
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_WORD.findall(plain))


def _municipalities(text: str | None) -> set[str]:
    """ "Nærøy, Vikna" -> {"nærøy", "vikna"}: a case may name several."""
    return {name for part in (text or "").split(",") if (name := normalised(part))}


def similar_cases(
    title: str | None, municipality: str | None = None, exclude: int | None = None
) -> list[SimilarCase]:
    """Published and submitted cases whose title is close to ``title``, most alike first."""
    wanted = normalised(title)
    if len(wanted) < MIN_TITLE_LENGTH:
        return []
    places = _municipalities(municipality)
    query = select(Case.id, Case.title, Case.slug, Case.status, Case.municipality).where(
        Case.status.in_([CaseStatus.PUBLISHED, CaseStatus.SUBMITTED])
    )
    if exclude is not None:
        query = query.where(Case.id != exclude)
    matcher = SequenceMatcher(None, b=wanted, autojunk=False)
    found = []
    for row in db.session.execute(query):
        bar = (
            SAME_MUNICIPALITY_SIMILARITY
            if places & _municipalities(row.municipality)
            else TITLE_SIMILARITY
        )
        matcher.set_seq1(normalised(row.title))
        if matcher.real_quick_ratio() < bar or matcher.quick_ratio() < bar:
            continue
        ratio = matcher.ratio()
        if ratio >= bar:
            found.append(SimilarCase(row.id, row.title, row.slug, row.status, ratio))
    found.sort(key=lambda c: (-c.similarity, c.id))
    return found[:MAX_SHOWN]
