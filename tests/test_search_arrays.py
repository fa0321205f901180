"""The Whoosh index's memory-mapped arrays: the same answers as Whoosh's own blocks, and a
missing, stale or foreign file never used."""

from __future__ import annotations

import pickle
import struct
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kb.search import whoosh_arrays, whoosh_blocks
from kb.search.backend import SearchRequest
from kb.search.concepts import default_vocabulary
from kb.search.whoosh_backend import WhooshBackend, _by_relevance
from kb.search.whoosh_matching import ArrayCache, Found, Matcher
from tests.bench.corpus import documents

QUERIES = [
    "arbeid",
    "kommune språk",
    '"nye innbyggere"',
    "flyktning",
    "integration -stockholm",
    "arbete OR työ",
]


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[WhooshBackend]:
    """A small index of two segments (two commits) with deleted and replaced cases."""
    found = WhooshBackend(tmp_path / "index", default_vocabulary())
    cases = list(documents(60))
    found.index(cases[:40])
    found.apply([replace(cases[3], title="Ny tittel om arbeid"), *cases[40:]], [7, 8])
    yield found
    found.arrays.wait()
    found.close()


def segments(backend: WhooshBackend) -> list:
    return [leaf.reader for leaf in backend._matcher().leaves]


def answers(backend: WhooshBackend) -> list[tuple]:
    """What each query finds: total, facets, and the cases with their scores."""
    found = []
    for text in QUERIES:
        result = backend.search(SearchRequest(q=text, facets=("country", "theme", "year")))
        hits = [(hit.id, hit.score) for hit in result.hits]
        found.append((text, result.total, result.facets, hits))
    return found


def test_every_segment_gets_arrays_after_its_commit(backend: WhooshBackend) -> None:
    matcher = backend._matcher()

    assert len(matcher.leaves) == 2
    assert all(leaf.mapped for leaf in matcher.leaves)
    names = {p.name for p in backend.arrays.folder.iterdir()}
    assert names == {backend.arrays.path(leaf.segment).name for leaf in matcher.leaves}
    for leaf in segments(backend):  # the Whoosh files the arrays were built from
        files = backend.arrays.expected(leaf)["files"]
        assert f"{leaf.segment().segment_id()}.seg" in files, files


@pytest.mark.parametrize("mapped_from", [0, whoosh_arrays.MAPPED_FROM], ids=["mapped", "pread"])
def test_the_arrays_hold_what_whooshs_blocks_hold(
    backend: WhooshBackend, mapped_from: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read through the mapping or, a short list, with ``pread``: the same postings."""
    monkeypatch.setattr(whoosh_arrays, "MAPPED_FROM", mapped_from)
    for leaf in segments(backend):
        arrays = backend.arrays.open(leaf)
        assert arrays is not None
        for field in ("title_nb", "body_sv", "text_all", "theme", "language", "files_fi"):
            for btext in (
                list(leaf.lexicon(field))[:200] if field in leaf.indexed_field_names() else ()
            ):
                ids, weights = arrays.postings(field, btext)
                expected_ids, expected_weights = whoosh_blocks.postings(leaf, field, btext)
                assert ids.tolist() == expected_ids.tolist()
                assert weights.tolist() == expected_weights.tolist()
                assert arrays.doc_frequency(field, btext) == leaf.doc_frequency(field, btext)
                if field != "theme" and field != "language" and not field.startswith("files"):
                    docs, places = arrays.positions_of(field, btext)
                    expected_docs, expected_places = whoosh_blocks.positions(leaf, field, btext)
                    assert docs.tolist() == expected_docs.tolist()
                    assert places.tolist() == expected_places.tolist()
            if leaf.schema[field].scorable:
                assert arrays.lengths(field).tolist() == whoosh_blocks.lengths(leaf, field).tolist()
        assert arrays.postings("text_all", b"no-such-word") == (
            whoosh_blocks.EMPTY_IDS,
            whoosh_blocks.EMPTY_WEIGHTS,
        ) or not len(arrays.postings("text_all", b"no-such-word")[0])
        assert np.array_equal(arrays.column("published"), whoosh_blocks.column(leaf, "published"))


def test_searches_answer_the_same_from_arrays_and_from_blocks(backend: WhooshBackend) -> None:
    mapped = answers(backend)
    backend._local.matcher = Matcher(backend.ix.searcher(), ArrayCache())  # blocks only
    assert not any(leaf.mapped for leaf in backend._local.matcher.leaves)

    assert answers(backend) == mapped
    assert any(total for _, total, _, _ in mapped)


def test_a_missing_sidecar_is_read_from_blocks_then_rebuilt(backend: WhooshBackend) -> None:
    expected = answers(backend)
    segment = segments(backend)[0]
    path = backend.arrays.path(segment.segment().segment_id())
    backend.close()
    path.unlink()

    matcher = backend._matcher()
    assert [leaf.mapped for leaf in matcher.leaves] == [False, True]
    assert answers(backend) == expected

    backend.arrays.wait()  # built in the background, from Whoosh's segment
    assert path.exists()
    matcher.leaves[0].retry_at = 0.0
    assert all(leaf.mapped for leaf in backend._matcher().leaves)
    assert answers(backend) == expected


@pytest.mark.parametrize("damage", ["version", "segment", "cut short", "not a sidecar"])
def test_a_stale_or_damaged_sidecar_is_never_used(backend: WhooshBackend, damage: str) -> None:
    expected = answers(backend)
    first, second = (backend.arrays.path(s.segment().segment_id()) for s in segments(backend))
    backend.close()
    data = first.read_bytes()
    if damage == "version":  # a file of another format version
        data = data[:8] + struct.pack("<I", whoosh_arrays.FORMAT_VERSION + 1) + data[12:]
    elif damage == "segment":  # another segment's arrays under this one's name
        data = second.read_bytes()
    elif damage == "cut short":
        data = data[: len(data) // 2]
    else:
        data = b"garbage" * 3
    first.write_bytes(data)

    assert [leaf.mapped for leaf in backend._matcher().leaves] == [False, True]
    assert answers(backend) == expected
    backend.arrays.wait()
    assert first.read_bytes() != data  # rebuilt


def test_a_segment_another_process_writes_is_mapped_and_merged_ones_are_removed(
    backend: WhooshBackend,
) -> None:
    other = WhooshBackend(backend.directory, default_vocabulary())  # another worker
    before = backend.search(SearchRequest(q="")).total
    old = {p.name for p in backend.arrays.folder.iterdir()}

    other.index(list(documents(70))[60:])

    assert backend.search(SearchRequest(q="")).total == before + 10
    assert all(leaf.mapped for leaf in backend._matcher().leaves)
    other.rebuild(documents(20))  # every old segment replaced
    assert backend.search(SearchRequest(q="")).total == 20
    assert all(leaf.mapped for leaf in backend._matcher().leaves)
    assert not old & {p.name for p in backend.arrays.folder.iterdir()}
    other.close()


def test_a_big_segment_written_by_a_request_gets_its_arrays_in_the_background(
    backend: WhooshBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(whoosh_arrays, "BUILD_NOW_DOCS", 0)  # every segment is "big"
    expected = answers(backend)
    backend.apply([replace(next(documents(1)), title="Endret tittel")], [])

    assert answers(backend) != expected  # the change is found at once
    backend.arrays.wait()
    for leaf in backend._matcher().leaves:
        leaf.retry_at = 0.0
    assert all(leaf.mapped for leaf in backend._matcher().leaves)


def test_big_segments_written_at_once_get_their_arrays_from_processes_of_their_own(
    backend: WhooshBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As after a multiprocess rebuild: two big segments without arrays, waited for."""
    monkeypatch.setattr(whoosh_arrays, "BUILD_NOW_DOCS", 0)  # every segment is "big"
    expected = answers(backend)
    backend.close()
    for path in backend.arrays.folder.iterdir():
        path.unlink()

    backend.write_arrays(wait=True)

    assert len(list(backend.arrays.folder.iterdir())) == 2  # no temporary file left
    assert all(leaf.mapped for leaf in backend._matcher().leaves)
    assert answers(backend) == expected


def _positions_value(first: int, count: int) -> bytes:
    """A ``Positions`` value as Whoosh writes it: the count, then the pickled deltas."""
    return struct.pack(">I", count) + pickle.dumps([first] + [1] * (count - 1), 2)


@pytest.mark.parametrize("count", [1, 2, 3, 4, 128])
@pytest.mark.parametrize("repeated", [False, True])
def test_a_blocks_values_read_in_batches_are_what_whoosh_pickled(
    count: int, repeated: bool
) -> None:
    """Small tuples, memo numbers past 255 and high bytes; a value pickled twice (a memo
    get, not the usual shape) is read by unpickling."""
    values = [_positions_value(n * 37 % 300, 1 + n % 5) for n in range(count)]
    if repeated and count > 1:
        values[-1] = values[0]
    block = pickle.dumps((tuple(range(count)), None, tuple(values)), 2)
    deltas, weights, packed = whoosh_blocks._split(block, count)
    joined, sizes = whoosh_blocks._unpack([packed, packed])

    assert (deltas, weights) == (tuple(range(count)), None)
    assert joined == b"".join(values) * 2
    assert sizes.tolist() == [len(v) for v in values] * 2


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 3), st.booleans(), st.booleans(), st.sampled_from([0.5, 1.0, 2.0, 3.5])
        ),
        min_size=1,
        max_size=60,
    ),
    st.integers(1, 25),
)
def test_a_page_of_partial_matches_is_the_start_of_the_whole_order(
    cases: list[tuple[int, bool, bool, float]], limit: int
) -> None:
    """Only the groups that fill the page are sorted: the page is still the first
    ``limit`` cases of the whole order (level, direct first, score, document number)."""
    matched = np.array([m for _, m, _, _ in cases])
    level = np.array([lv for lv, _, _, _ in cases], np.int8)
    level[0] = max(level[0], 1)  # at least one partial match
    is_direct = np.array([d for _, _, d, _ in cases])
    score = np.array([s for _, _, _, s in cases]) * matched
    found = Found(matched, score)
    docs = np.flatnonzero(matched)
    whole = docs[np.lexsort([docs, -score[docs], ~is_direct[docs], level[docs]])]
    assert _by_relevance(found, is_direct, level, limit).tolist() == whole[:limit].tolist()
