"""Matches marked in stored text: ``<mark>`` around them, everything else escaped.

Whoosh's highlighter runs the whole analyzer chain over each shown text and scores every
possible fragment; here one pass of the word pattern over the text, with the (cached) stem
of each word, finds the matches, and the best one or two windows around them are shown.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from kb.search.analysis import stem, stop_words, word_spans

#: A snippet is at most two windows of about this many characters.
WINDOW = 220
#: Context kept before a window's first match.
BEFORE = 60
FRAGMENTS = 2
SEPARATOR = " … "


def matches(text: str, terms: set[str], language: str) -> list[tuple[int, int, str]]:
    """(start, end, stem) of the words of ``text`` whose stem is one of ``terms``."""
    if not terms:
        return []
    stops = stop_words(language)
    found = []
    for start, end, word in word_spans(text):
        if word not in stops:
            root = stem(word, language)
            if root in terms:
                found.append((start, end, root))
    return found


def highlight(text: str, terms: set[str], language: str, *, whole: bool) -> str:
    """The text (``whole``) or the best snippet of it, matches marked, safe as HTML."""
    if not text:
        return ""
    found = matches(text, terms, language)
    if not found:
        return str(escape(text if whole else shorten(text)))
    if whole:
        return _marked(text, 0, len(text), found)
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
        start = max(floor, _word_start(text, max(0, found[i][0] - BEFORE)))
        limit = start + WINDOW
        j = i
        while j + 1 < len(found) and found[j + 1][1] <= limit:
            j += 1
        end = _word_end(text, min(len(text), max(found[j][1], limit)), after=found[j][1])
        marked = {text[a:b].lower() for a, b, _ in found[i : j + 1]}
        windows.append((start, end, marked))
        i, floor = j + 1, end
        while i < len(found) and found[i][0] < end:
            i += 1
    return windows


def _word_start(text: str, index: int) -> int:
    """Move a cut forward to the start of a word, so no word is shown in part."""
    if index == 0:
        return 0
    space = text.find(" ", index)
    return index if space == -1 or space - index > 20 else space + 1


def _word_end(text: str, index: int, after: int) -> int:
    """Move a cut back to the end of a word, but not before the last match."""
    if index >= len(text):
        return len(text)
    space = text.rfind(" ", after, index)
    return index if space == -1 or index - space > 20 else space


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


def shorten(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"
