"""Marking a search's words in a shown text (``kb.search.highlight``).

The highlighter splits a text at whitespace and looks each piece up in caches, so that a
page of hits costs little; what it marks must stay exactly what marking word by word
marks: every word (``WORD``) whose stem is one of the search's, stop words never.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kb.search.analysis import WORD, stem, stop_words
from kb.search.highlight import Highlighter

#: Words that share letters, so one appears inside another ("arbeid" in "arbeidsliv").
WORDS = ["arbeid", "Arbeid", "arbeidsliv", "ARBEIDET", "og", "i", "kommune", "kommuner", "l"]
GLUE = [" ", "  ", "\n", "\t", "\u00a0", "\u2003", ",", ".", "'", "’", "-", "(", ")", "«", "»", ""]


def _word_by_word(text: str, language: str, stems: set[str]) -> list[tuple[int, int, str]]:
    stops = stop_words(language)
    found = []
    for match in WORD.finditer(text):
        word = match.group().lower()
        if word not in stops and stem(word, language) in stems:
            found.append((match.start(), match.end(), word))
    return found


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(GLUE)), max_size=40))
def test_the_words_marked_are_those_marking_word_by_word_marks(
    parts: list[tuple[str, str]],
) -> None:
    text = "".join(word + glue for word, glue in parts)
    stems = {stem("arbeid", "nb"), stem("kommuner", "nb"), stem("og", "nb")}
    marker = Highlighter({"nb": stems})

    assert marker.matches(text, "nb") == _word_by_word(text, "nb", stems)
    # Asked again (the pieces now known to this search and to the process): the same.
    assert marker.matches(text, "nb") == _word_by_word(text, "nb", stems)


def test_a_part_of_a_text_marks_only_its_own_words() -> None:
    text = "arbeid i kommunen, arbeid og arbeid"
    marker = Highlighter({"nb": {stem("arbeid", "nb")}})

    assert marker.matches(text, "nb", 19, 26) == [(19, 25, "arbeid")]
    assert [a for a, _, _ in marker.matches(text, "nb")] == [0, 19, 29]
