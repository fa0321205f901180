"""What Snowball does not do for our languages: Icelandic lemmas, and a few rules that
bring the forms of one word together, as rewrites of the word before Snowball stems it or
as endings trimmed from the stem after.

- Icelandic has no Snowball stemmer. Words are looked up in BÍN (the Database of Icelandic
  Morphology, ~6.5 million inflected forms, through the ``islenska`` package): *Hornafirði*
  -> *Hornafjörður*, *fiskvinnslu* -> *fiskvinnsla*, *flóttamenn* -> *flóttamaður*. BÍN's
  own compounder handles compounds it does not list. A word BÍN does not know (a foreign
  name) is kept as written.
- Norwegian (bokmål and Nynorsk): Snowball stems an agent noun's singular and plural apart
  (*lærer* -> *lær*, *lærere* -> *lærer*, *lærerne* -> *lærern*; Nynorsk *lærar* -> *lær*,
  *lærarar* -> *lærar*), and a verb's infinitive and participle apart from its present
  (*kombinere* -> *kombiner*); a stem left ending in *-er*, *-ern* or *-ar* loses that too.
- Nynorsk: *-heit* is bokmål *-het*, *-leg* bokmål *-lig*; rewritten so that Snowball's
  bokmål rules apply and a bokmål query meets a Nynorsk text.
- Finnish: the forms of a "-nen" word (*nainen*, *naiset*, *naisten*) meet on the "-s" stem.
- Swedish: *-stad* words (*bostad*, *bostäder*, *bostaden*) stem to three different stems;
  they are brought to *-stad*.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

#: (pattern, replacement) applied to a lowercase word before Snowball, per language.
_REWRITES: dict[str, list[tuple[re.Pattern[str], str]]] = {
    "nn": [
        (re.compile(r"(?<=\w{3})heit(?:a|en|er|ane|ene)?$"), "het"),
        (re.compile(r"(?<=\w{3})leg(e|t)?$"), r"lig\1"),
    ],
    "sv": [
        (re.compile(r"st(?:äder|ad)(?:na|nas|en|ens|s)?$"), "stad"),
    ],
}

#: Endings cut from a Snowball stem (a stem keeps at least three letters), per language.
_TRIM = {
    "nb": re.compile(r"(?<=\w{3})(?:ern|er|ar)$"),
    "nn": re.compile(r"(?<=\w{3})(?:ern|er|ar)$"),
}

#: Words these endings are kept as rewritten (Snowball would cut them again).
_KEEP = {"sv": re.compile(r"stad$")}

#: Part-of-speech preference when a form has several lemmas: nouns first (what people
#: search for), then adjectives, verbs, and the rest.
_CATEGORY_ORDER = {"kk": 0, "kvk": 0, "hk": 0, "lo": 1, "so": 2}


def rewrite(word: str, language: str) -> str:
    """The word with the endings Snowball handles badly replaced (see the module)."""
    for pattern, replacement in _REWRITES.get(language, ()):
        word = pattern.sub(replacement, word)
    return word


def trim(root: str, word: str, language: str) -> str:
    """A Snowball stem of ``word`` with the endings it leaves on some forms and not others
    cut off."""
    if language == "fi":
        return _finnish_nen(root, word)
    pattern = _TRIM.get(language)
    return pattern.sub("", root) if pattern else root


def _finnish_nen(root: str, word: str) -> str:
    """Finnish "-nen" words inflect on a "-se-" stem that Snowball leaves apart from the
    nominative: *pakolainen* -> *pakolain*, *nainen* -> *naine*, *naiset* -> *naise*,
    *pakolaisten* -> *pakolaist*, where *pakolaisia* -> *pakolais*. All go to "-s"."""
    if word.endswith("nen") and root.endswith("ne"):
        return root[:-2] + "s"
    if word.endswith("nen") and root.endswith("n"):
        return root[:-1] + "s"
    if word.endswith("set") and root.endswith("se"):
        return root[:-1]
    if word.endswith("sten") and root.endswith("st"):
        return root[:-1]
    return root


def keep_whole(word: str, language: str) -> bool:
    """Whether a rewritten word is already its stem."""
    pattern = _KEEP.get(language)
    return bool(pattern and pattern.search(word))


def icelandic_lemma(word: str) -> str:
    """The BÍN lemma of a lowercase Icelandic word (the word itself when BÍN has none)."""
    found = _icelandic().lookup_lemmas_and_cats(word)
    if not found:
        return word
    lemma, _ = min(found, key=lambda item: (_CATEGORY_ORDER.get(item[1], 3), item[0]))
    return lemma.replace("-", "").lower()


@cache
def _icelandic() -> Any:
    """BÍN, opened on first use (0.25 s, ~20 MB: its compressed data is memory-mapped)."""
    from islenska import Bin

    return Bin()
