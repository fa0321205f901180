"""Engine-neutral pieces of the search backends: weights, compound splitting, spelling.

Both backends read these so that they rank, split compounds and shorten text alike.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from rapidfuzz.distance import OSA

#: Weight of a word found through the cross-language vocabulary.
EXPANDED_BOOST = 0.5
#: An expansion's weight is EXPANDED_BOOST times its specificity: the square root of the IDF
#: of the cases the concept's terms match (in any language) over that of a single case, so a
#: concept that nearly every case names (*refugee*) adds little and a rare one nearly all.
#: Never below this floor, so a concept still finds the cases that use only its terms.
MIN_SPECIFICITY = 0.1
#: Weight of indexed words that merely start with the query word ("arbeid" -> "arbeids...").
PREFIX_BOOST = 0.3
#: Weight of the parts of a compound query word found written apart.
COMPOUND_BOOST = 0.5
#: Shortest stem that also matches as a prefix.
MIN_PREFIX = 5
#: Shortest part of a compound; a word is split only if both parts can be this long.
MIN_PART = 4
#: Letters that may link the two parts of a compound ("glesbygd-s-kommuner").
LINKING = "se"
#: Languages whose compounds are not split: none. Finnish is split as the others are, against
#: the index's own words (*maahanmuuttajanuoret* finds *maahanmuuttaja* ... *nuoret*).
NO_SPLIT: frozenset[str] = frozenset()
#: A "did you mean" proposes words at most this many edits away.
MAX_EDITS = 2


def idf(matched: int, cases: int) -> float:
    """BM25's inverse document frequency of a term ``matched`` cases of ``cases`` have."""
    return math.log(1 + (cases - matched + 0.5) / (matched + 0.5))


def specificity(matched: int, cases: int) -> float:
    """How specific a concept is, from how many of ``cases`` its terms match (0-1]."""
    if cases <= 1 or matched <= 0:
        return 1.0
    return max(MIN_SPECIFICITY, min(1.0, math.sqrt(idf(matched, cases) / idf(1, cases))))


def split_candidates(word: str) -> Iterator[tuple[str, str]]:
    """(head, tail) pairs a compound word may be made of, in the order they are tried.

    A head ending in a linking letter is also tried without it.
    """
    if len(word) < 2 * MIN_PART + 1:
        return
    for cut in range(MIN_PART, len(word) - MIN_PART + 1):
        head, tail = word[:cut], word[cut:]
        yield head, tail
        if head[-1] in LINKING and len(head) > MIN_PART:
            yield head[:-1], tail


def edit_distance(a: str, b: str, limit: int = MAX_EDITS) -> int:
    """Levenshtein distance with adjacent transpositions; ``limit + 1`` once it exceeds it."""
    return OSA.distance(a, b, score_cutoff=limit)


def shorten(text: str, limit: int = 240) -> str:
    """The start of a text, cut at a word, for a snippet without a match."""
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"
