"""Matches marked in stored text: ``<mark>`` around them, everything else escaped.

Whoosh's highlighter runs the whole analyzer chain over each shown text and scores every
possible fragment; here each word of a text is looked up in what this search already
knows (stemming only words it has not seen), and the best one or two windows around the
matches are shown.

A page of 20 hits scans about 8,000 words, and a Python step per word was most of a
search's CPU. So a text is split at whitespace (in C), each piece's stems come from a
process-wide cache (a piece is tokenized and stemmed once, whatever the search), and
whether a piece holds a match is asked only once per search of each different piece, in C
(``map``, ``compress``); Python works only on the few pieces that hold a match.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import compress, repeat
from operator import not_

from markupsafe import Markup, escape

from kb.search.analysis import WORD, stem, stop_words
from kb.search.common import shorten

#: A snippet is at most two windows of about this many characters.
WINDOW = 220
#: A snippet comes from the first part of this many characters that has a match.
SCAN = 2000
#: Context kept before a window's first match.
BEFORE = 60
FRAGMENTS = 2
SEPARATOR = " … "
_SPACE = re.compile(r"\s+")
#: Pieces of text (between whitespace) whose stems each process remembers, for every
#: search (about 250 bytes each, 5 MB when full): the pieces of the shown cases recur. The
#: few pieces that hold a match are tokenized again to find where.
PIECES_REMEMBERED = 20_000


class Highlighter:
    """Marks one search's matches in the texts it shows.

    Each different piece of text is asked once per search whether it holds a match (its
    stems from the process's cache); the same pieces recur from hit to hit, so for most
    of a text marking is one dictionary lookup per piece, done in C.
    """

    def __init__(self, terms: dict[str, set[str]]) -> None:
        #: The stems to mark, per language.
        self.terms = terms
        #: Per language, each piece of text between whitespace -> whether it holds a match.
        self._marked: dict[str, dict[str, bool]] = {}

    def mark(self, text: str, language: str, *, whole: bool) -> str:
        """The text (``whole``) or its best snippet, matches marked, safe as HTML."""
        if not text:
            return ""
        if whole:
            return _marked(text, 0, len(text), self.matches(text, language))
        found: list[tuple[int, int, str]] = []
        for start, end in _parts(text):  # the first part with a match will do
            found = self.matches(text, language, start, end)
            if found:
                break
        return snippet(text, found)

    def matches(
        self, text: str, language: str, start: int = 0, end: int | None = None
    ) -> list[tuple[int, int, str]]:
        """(start, end, word as written, lowercased) of the words that match, in the text
        or in the part of it from ``start`` to about ``end`` (not cutting a word)."""
        terms = self.terms.get(language)
        if not terms:
            return []
        if start or end is not None:
            start = _word_start(text, start) if start else 0
            cut = len(text) if end is None else _word_end(text, min(len(text), end), start)
            return [
                (a + start, b + start, w) for a, b, w in self.matches(text[start:cut], language)
            ]
        # A word never spans whitespace, so the words of a text are those of its pieces.
        pieces = text.split()
        marked = self._marked.setdefault(language, {})
        new = list(set(pieces).difference(marked))
        stems = map(_piece_stems, new, repeat(language))
        marked.update(zip(new, map(not_, map(terms.isdisjoint, stems)), strict=True))
        found: list[tuple[int, int, str]] = []
        position = 0
        for piece in compress(pieces, map(marked.__getitem__, pieces)):
            position = _piece_at(text, piece, position)
            found += [
                (position + a, position + b, word)
                for a, b, word, word_stem in _piece_words(piece, language)
                if word_stem in terms
            ]
            position += len(piece)
        return found


def _piece_words(piece: str, language: str) -> tuple[tuple[int, int, str, str | None], ...]:
    """(start, end, word lowercased, its stem; None for a stop word) of a piece's words."""
    stops = stop_words(language)
    found = []
    for match in WORD.finditer(piece):
        word = match.group().lower()
        found.append(
            (match.start(), match.end(), word, None if word in stops else stem(word, language))
        )
    return tuple(found)


@lru_cache(maxsize=PIECES_REMEMBERED)
def _piece_stems(piece: str, language: str) -> tuple[str, ...]:
    """The stems of a piece's words (stop words left out)."""
    return tuple(word_stem for *_, word_stem in _piece_words(piece, language) if word_stem)


def snippet(text: str, found: list[tuple[int, int, str]]) -> str:
    """The best windows of a text around its matches ((start, end, word) each), matches
    marked, safe as HTML; the start of the text when nothing matched. Both backends show
    snippets this way."""
    if not found:
        return str(escape(shorten(text)))
    return SEPARATOR.join(
        _marked(text, start, end, found) for start, end in _best_windows(text, found)
    )


def _best_windows(text: str, found: list[tuple[int, int, str]]) -> list[tuple[int, int]]:
    """Up to FRAGMENTS windows, in text order: the one marking the most different words
    first, then those that show words (as written) not shown yet."""
    windows = _windows(text, found)
    chosen: list[tuple[int, int, set[str]]] = []
    shown: set[str] = set()
    while windows and len(chosen) < FRAGMENTS:
        best = max(windows, key=lambda w: (len(w[2] - shown), len(w[2]), -w[0]))
        windows.remove(best)
        chosen.append(best)
        shown |= best[2]
    return sorted((start, end) for start, end, _ in chosen)


def _windows(text: str, found: list[tuple[int, int, str]]) -> list[tuple[int, int, set[str]]]:
    """(start, end, words marked as written) of windows that do not overlap, in text order."""
    windows: list[tuple[int, int, set[str]]] = []
    i, floor = 0, 0
    while i < len(found):
        start = max(floor, min(_word_start(text, max(0, found[i][0] - BEFORE)), found[i][0]))
        limit = start + WINDOW
        j = i
        while j + 1 < len(found) and found[j + 1][1] <= limit:
            j += 1
        end = _word_end(text, min(len(text), max(found[j][1], limit)), after=found[j][1])
        marked = {word for _, _, word in found[i : j + 1]}
        windows.append((start, end, marked))
        i, floor = j + 1, end
        while i < len(found) and found[i][0] < end:
            i += 1
    return windows


def _piece_at(text: str, piece: str, position: int) -> int:
    """Where the next piece of ``text`` between whitespace that is ``piece`` starts, at or
    after ``position`` (the same characters inside a longer piece are skipped)."""
    end = len(text)
    while True:
        at = text.find(piece, position)
        after = at + len(piece)
        if (at == 0 or text[at - 1].isspace()) and (after == end or text[after].isspace()):
            return at
        position = at + 1


def _parts(text: str) -> list[tuple[int, int]]:
    """The text in parts of about SCAN characters, cut between words."""
    parts, start = [], 0
    while start < len(text):
        end = start + SCAN
        if end < len(text):
            space = text.rfind(" ", start, end)
            end = space if space > start else end
        parts.append((start, min(end, len(text))))
        start = end
    return parts


def _word_start(text: str, index: int) -> int:
    """Move a cut forward to the start of a word, so no word is shown in part (however
    long the word: a window shows less context rather than "olketallsutviklingen")."""
    if index == 0 or text[index - 1].isspace():
        return index
    space = _SPACE.search(text, index)
    return space.end() if space else len(text)


def _word_end(text: str, index: int, after: int) -> int:
    """Move a cut back to the end of a word, but not before the last match (then on to
    the end of the word it falls in)."""
    if index >= len(text) or text[index].isspace():
        return index
    space = max(text.rfind(" ", after, index), text.rfind("\n", after, index))
    if space != -1:
        return space
    following = _SPACE.search(text, index)
    return following.start() if following else len(text)


def _marked(text: str, start: int, end: int, found: list[tuple[int, int, str]]) -> str:
    out, position = [], start
    for match_start, match_end, _ in found:
        if match_start < position or match_end > end:
            continue
        out.append(str(escape(text[position:match_start])))
        out.append(f"<mark>{escape(text[match_start:match_end])}</mark>")
        position = match_end
    out.append(str(escape(text[position:end])))
    return str(Markup("".join(out)))  # noqa: S704 - every piece is escaped above
