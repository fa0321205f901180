"""Text analysis for the Nordic languages: tokens, stop words, stems, folded diacritics.

Each case is analysed in its own language. Stems come from PyStemmer (current Snowball,
in C); Whoosh's bundled Snowball is an older port. Icelandic has no Snowball stemmer, so
it is lemmatised with simplemma's small Icelandic dictionary; Nynorsk uses the Norwegian
stemmer with extra Nynorsk stop words. Finnish "-nen" words are aligned with their
inflected "-se-" stem (pakolainen ~ pakolaiset), which Snowball leaves apart.
Diacritics are folded after stemming, so "Nærøy" matches "Naeroy"; stored text is untouched.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from functools import lru_cache

import Stemmer
from whoosh.analysis import (
    Analyzer,
    Filter,
    LowercaseFilter,
    RegexTokenizer,
    StopFilter,
    Token,
)
from whoosh.lang.stopwords import stoplists

from kb.models.choices import CONTENT_LANGUAGES

SNOWBALL = {
    "nb": "norwegian",
    "nn": "norwegian",
    "sv": "swedish",
    "da": "danish",
    "fi": "finnish",
    "en": "english",
}

_EXTRA_STOPS = {
    "nn": {
        "eg",
        "ikkje",
        "dei",
        "dykk",
        "kva",
        "korleis",
        "kvifor",
        "noko",
        "nokon",
        "berre",
        "frå",
        "òg",
        "vore",
        "vere",
        "ein",
        "eit",
        "sidan",
        "mellom",
        "kven",
        "ho",
        "henne",
    },
    "is": {
        "og",
        "að",
        "í",
        "á",
        "sem",
        "er",
        "til",
        "með",
        "um",
        "af",
        "fyrir",
        "við",
        "var",
        "ekki",
        "en",
        "eða",
        "þessi",
        "þetta",
        "hann",
        "hún",
        "það",
        "þeir",
        "þær",
        "þau",
        "frá",
        "hafa",
        "hefur",
        "voru",
        "vera",
        "eru",
        "sé",
        "þá",
        "því",
        "svo",
        "hjá",
        "eftir",
        "upp",
        "út",
        "yfir",
        "undir",
        "einnig",
        "sína",
        "sinni",
        "sínum",
    },
}

_STOPLIST_OF = {"nb": "no", "nn": "no", "sv": "sv", "da": "da", "fi": "fi", "en": "en"}

# Letters that Unicode does not decompose into a base letter and a mark.
_FOLD = str.maketrans(
    {"æ": "ae", "ø": "o", "œ": "oe", "ð": "d", "þ": "th", "ß": "ss", "ł": "l", "đ": "d"}
)

WORD_PATTERN = r"\w+(?:['’]\w+)*"


def fold(text: str) -> str:
    """Lowercase ASCII-ish form for matching: "Nærøy" -> "naeroy", "Þórshöfn" -> "thorshofn"."""
    text = text.lower().translate(_FOLD)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def stop_words(language: str) -> frozenset[str]:
    base = stoplists.get(_STOPLIST_OF.get(language, ""), frozenset())
    return frozenset(base) | _EXTRA_STOPS.get(language, set())


@lru_cache(maxsize=8)
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(SNOWBALL[language])


@lru_cache(maxsize=200_000)
def stem(word: str, language: str) -> str:
    """The folded stem of one lowercase word in ``language``."""
    if language == "is":
        import simplemma  # its Icelandic dictionary is loaded on first use only

        return fold(simplemma.lemmatize(word, lang="is"))
    if language not in SNOWBALL:
        return fold(word)
    root = _stemmer(language).stemWord(word)
    if language == "fi" and word.endswith("nen") and root.endswith("n"):
        root = root[:-1] + "s"
    return fold(root)


class StemFoldFilter(Filter):
    """Replace each token by its folded stem in one language."""

    def __init__(self, language: str) -> None:
        self.language = language

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StemFoldFilter) and other.language == self.language

    def __hash__(self) -> int:
        return hash(("StemFoldFilter", self.language))

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for token in tokens:
            if not token.stopped:
                token.text = stem(token.text, self.language)
            yield token


class FoldFilter(Filter):
    """Fold diacritics without stemming (the language-neutral field)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FoldFilter)

    def __hash__(self) -> int:
        return hash("FoldFilter")

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for token in tokens:
            token.text = fold(token.text)
            yield token


def language_analyzer(language: str) -> Analyzer:
    """Tokens -> lowercase -> stop words -> stem -> fold, for one content language."""
    return (
        RegexTokenizer(WORD_PATTERN)
        | LowercaseFilter()
        | StopFilter(stoplist=stop_words(language), minsize=1)
        | StemFoldFilter(language)
    )


def neutral_analyzer() -> Analyzer:
    """Language-neutral tokens: lowercase and folded, every word kept as written."""
    return RegexTokenizer(WORD_PATTERN) | LowercaseFilter() | FoldFilter()


def spelling_analyzer() -> Analyzer:
    """Words as written, lowercased: what a "did you mean" may propose."""
    return RegexTokenizer(WORD_PATTERN) | LowercaseFilter()


def words(text: str) -> list[str]:
    """Lowercase words of a text, for query processing outside Whoosh."""
    return [t.text for t in RegexTokenizer(WORD_PATTERN)(text.lower())]


ANALYZED_LANGUAGES: tuple[str, ...] = CONTENT_LANGUAGES
