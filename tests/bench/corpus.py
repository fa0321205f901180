"""Synthetic case studies for the benchmark: realistic words, Zipf-like frequencies.

Each language's vocabulary and word ranks come from the 52 sample cases in that language,
so stems, compounds and stop words are real. Documents are drawn with Zipf-distributed
ranks (s ≈ 1.07, as in natural text), about 700 words each, with countries, themes, target
groups and years spread the way the samples spread them. The same seed gives the same
corpus.
"""

from __future__ import annotations

import bisect
import itertools
import json
import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources

from kb.search.backend import IndexDocument

WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*", re.UNICODE)
ZIPF_S = 1.07
BODY_WORDS = 700
SEED = 20261122


@dataclass(frozen=True)
class Language:
    code: str
    countries: tuple[str, ...]
    words: tuple[str, ...]
    cumulative: tuple[float, ...]

    def draw(self, rng: random.Random, count: int) -> list[str]:
        total = self.cumulative[-1]
        return [
            self.words[bisect.bisect_left(self.cumulative, rng.random() * total)]
            for _ in range(count)
        ]


def _samples() -> list[dict]:
    return json.loads(resources.files("kb.data").joinpath("cases.json").read_text("utf-8"))


def languages() -> dict[str, Language]:
    """Per sample language: its words by frequency, with Zipf weights by rank."""
    texts: dict[str, Counter[str]] = {}
    countries: dict[str, set[str]] = {}
    for case in _samples():
        text = " ".join(str(case.get(k) or "") for k in ("title", "summary", "body", "outcomes"))
        texts.setdefault(case["language"], Counter()).update(WORD.findall(text.lower()))
        countries.setdefault(case["language"], set()).add(case["country"])
    found = {}
    for code, counts in texts.items():
        words = tuple(word for word, _count in counts.most_common())
        weights = itertools.accumulate(1 / (rank**ZIPF_S) for rank in range(1, len(words) + 1))
        found[code] = Language(code, tuple(sorted(countries[code])), words, tuple(weights))
    return found


def documents(count: int, seed: int = SEED) -> Iterator[IndexDocument]:
    """``count`` synthetic published cases, ready for any search backend."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible corpus, not secrets
    by_language = languages()
    codes = sorted(by_language)
    samples = _samples()
    themes = sorted({t for case in samples for t in case.get("themes", [])})
    groups = sorted({t for case in samples for t in case.get("target_groups", [])})
    epoch = datetime(2015, 1, 1, tzinfo=UTC)
    for number in range(1, count + 1):
        language = by_language[rng.choice(codes)]
        title = " ".join(language.draw(rng, rng.randint(5, 10))).capitalize()
        summary = " ".join(language.draw(rng, rng.randint(30, 50)))
        paragraphs = [
            " ".join(language.draw(rng, rng.randint(60, 120))) for _ in range(BODY_WORDS // 90)
        ]
        start = rng.randint(2005, 2024)
        yield IndexDocument(
            id=number,
            ref=f"bench-{number}",
            slug=f"bench-case-{number}",
            version="1",
            language=language.code,
            country=rng.choice(language.countries),
            title=title,
            summary=summary,
            body="\n\n".join(paragraphs),
            places="",
            files_text="",
            themes=tuple(sorted(rng.sample(themes, rng.randint(1, 3)))),
            target_groups=tuple(sorted(rng.sample(groups, rng.randint(1, 2)))),
            events=(),
            years=tuple(range(start, min(start + rng.randint(0, 4), 2025) + 1)),
            published_at=epoch + timedelta(days=rng.randint(0, 3600)),
        )
