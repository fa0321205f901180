"""Text analysis for the Nordic languages: tokens, stop words, stems, folded diacritics.

Each case is analysed in its own language. Stems come from PyStemmer (current Snowball,
in C); Whoosh's bundled Snowball is an older port. Icelandic has no Snowball stemmer, so
it is lemmatised with BÍN (``kb.search.morphology``, which also rewrites the endings
Snowball handles badly first); Nynorsk uses the Norwegian stemmer with its own rewrites
and extra stop words. Finnish "-nen" words are aligned with their
inflected "-se-" stem (pakolainen ~ pakolaiset), which Snowball leaves apart.
Diacritics are folded after stemming, so "Nærøy" matches "Naeroy"; stored text is untouched.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

import Stemmer
from whoosh.lang.stopwords import stoplists

from kb.search.morphology import icelandic_lemma, keep_whole, rewrite, trim

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


#: Words up to this length are remembered by ``fold`` and ``stem``; a longer "word" (a URL,
#: a run of letters someone pasted) is worked out each time, so the caches stay small.
CACHED_WORD = 64


def fold(text: str) -> str:
    """Lowercase ASCII-ish form for matching: "Nærøy" -> "naeroy", "Þórshöfn" -> "thorshofn"."""
    return _fold_word(text) if len(text) <= CACHED_WORD else _fold(text)


@lru_cache(maxsize=200_000)
def _fold_word(text: str) -> str:
    return _fold(text)


def _fold(text: str) -> str:
    text = text.lower().translate(_FOLD)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@cache
def stop_words(language: str) -> frozenset[str]:
    base = stoplists.get(_STOPLIST_OF.get(language, ""), frozenset())
    return frozenset(base) | _EXTRA_STOPS.get(language, set())


@lru_cache(maxsize=8)
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(SNOWBALL[language])


def stem(word: str, language: str) -> str:
    """The folded stem of one lowercase word in ``language``."""
    return _stem_word(word, language) if len(word) <= CACHED_WORD else _stem(word, language)


@lru_cache(maxsize=200_000)
def _stem_word(word: str, language: str) -> str:
    return _stem(word, language)


def _stem(word: str, language: str) -> str:
    if language == "is":
        return fold(icelandic_lemma(word))
    if language not in SNOWBALL:
        return fold(word)
    word = rewrite(word, language)
    if keep_whole(word, language):
        return fold(word)
    return fold(trim(_stemmer(language).stemWord(word), word, language))


#: A word, as the index and the highlighter see it.
WORD = re.compile(WORD_PATTERN)


def words(text: str) -> list[str]:
    """Lowercase words of a text, in order: the one tokenizer for indexing and queries."""
    return WORD.findall(text.lower())


def language_terms(text_words: list[str], language: str) -> list[str]:
    """The folded stems of a text's words in ``language``, stop words left out, in order
    (so neighbouring stems are neighbours in the text, as a phrase needs)."""
    stops = stop_words(language)
    return [stem(w, language) for w in text_words if w not in stops]


def neutral_terms(text_words: list[str]) -> list[str]:
    """Every word folded, none stemmed or left out: names and words of any language."""
    return [fold(w) for w in text_words]


#: The languages analysed above: every content language a case may be written in
#: (``kb.models.CONTENT_LANGUAGES``, which a test keeps equal; search reads no models).
ANALYZED_LANGUAGES: tuple[str, ...] = ("nb", "nn", "sv", "da", "fi", "is", "en")
