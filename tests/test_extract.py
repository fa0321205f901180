"""Text extraction for the search index, on real small files built here (no mocks)."""

from __future__ import annotations

import io
import random
import struct
import zipfile
from pathlib import Path

import pytest
from flask import Flask

from kb.database import write_transaction
from kb.extensions import db
from kb.models import Case, TextStatus
from kb.services.extraction.reader import (
    DOCX,
    MAX_MEMBER_BYTES,
    MAX_PDF_CONTENT_BYTES,
    ODP,
    ODT,
    PDF,
    PPTX,
    Unreadable,
    extract_text,
    normalise,
)
from kb.services.materials import attach_file, path_of, sniff_file
from tests.factories import (
    W_NS,
    docx_xml,
    make_docx,
    make_odf,
    make_pdf,
    make_pptx,
    pdf_with_stream,
    slide_xml,
    write_zip,
)

# --- the formats -------------------------------------------------------------------------


def test_docx_paragraphs_come_out_one_a_line(tmp_path: Path) -> None:
    document = docx_xml(
        "Flyktninger i arbeid på Nærøy",
        "",
        "  Nyanlända   i\tjobb  ",
    ).replace(
        '<w:t xml:space="preserve">Flyktninger i arbeid på Nærøy</w:t></w:r>',
        '<w:t xml:space="preserve">Flyktninger i arbeid</w:t></w:r>'
        '<w:r><w:tab/><w:t xml:space="preserve">på </w:t></w:r>'
        "<w:r><w:t>Nærøy</w:t></w:r>",
    )
    path = make_docx(tmp_path / "a1b2.docx", document)

    assert extract_text(path, DOCX) == "Flyktninger i arbeid på Nærøy\nNyanlända i jobb"


def test_pptx_slides_come_in_slide_number_order(tmp_path: Path) -> None:
    path = make_pptx(
        tmp_path / "c3d4.pptx",
        {
            10: slide_xml("Tiende lysbilde"),
            1: slide_xml("Flyktninger i arbeid", "på Nærøy"),
            2: slide_xml("Nyanlända i jobb"),
        },
    )

    assert extract_text(path, PPTX) == (
        "Flyktninger i arbeid\npå Nærøy\nNyanlända i jobb\nTiende lysbilde"
    )


def test_odt_text_with_spans_spaces_and_headings(tmp_path: Path) -> None:
    body = (
        "<office:text>"
        "<text:h text:outline-level='1'>Flyktninger i arbeid</text:h>"
        "<text:p>på <text:span>Nærøy</text:span><text:s text:c='3'/>kommune"
        "<text:line-break/>Nyanlända<text:tab/>i jobb</text:p>"
        "<text:p/>"
        "</office:text>"
    )
    path = make_odf(tmp_path / "e5f6.odt", ODT, body)

    assert extract_text(path, ODT) == ("Flyktninger i arbeid\npå Nærøy kommune\nNyanlända i jobb")


def test_odp_text_from_frames(tmp_path: Path) -> None:
    body = (
        "<office:presentation><draw:page draw:name='s1'>"
        "<draw:frame><draw:text-box><text:p>Flyktninger i arbeid</text:p></draw:text-box>"
        "</draw:frame>"
        "<draw:frame><draw:text-box><text:p><text:span>Nyanlända</text:span> i jobb</text:p>"
        "</draw:text-box></draw:frame>"
        "</draw:page></office:presentation>"
    )
    path = make_odf(tmp_path / "a7b8.odp", ODP, body)

    assert extract_text(path, ODP) == "Flyktninger i arbeid\nNyanlända i jobb"


def test_pdf_text_comes_out_page_by_page(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "c9d0.pdf", "Sysselsetting av innvandrere", "på Nærøy (2024)")

    text = extract_text(path, PDF)

    assert text.splitlines() == ["Sysselsetting av innvandrere", "på Nærøy (2024)"]


def test_images_and_unknown_types_have_no_text(tmp_path: Path) -> None:
    png = tmp_path / "e1f2.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    docx = make_docx(tmp_path / "a3b4.docx", docx_xml("Nyanlända i jobb"))

    assert extract_text(png, "image/png") == ""
    assert extract_text(docx, "application/octet-stream") == ""


# --- limits and hostile files ------------------------------------------------------------


def test_output_is_capped_without_cutting_a_word(tmp_path: Path) -> None:
    path = make_docx(tmp_path / "c5d6.docx", docx_xml(*["Flyktninger i arbeid på Nærøy"] * 1000))

    first = "Flyktninger i arbeid på Nærøy\n"
    assert extract_text(path, DOCX, max_chars=50) == first + "Flyktninger i arbeid"
    assert extract_text(path, DOCX, max_chars=45) == first + "Flyktninger i"
    assert len(extract_text(path, DOCX, max_chars=5000)) <= 5000
    assert extract_text(path, DOCX, max_chars=0) == ""


def test_control_characters_are_stripped_and_whitespace_collapsed() -> None:
    raw = "  Nyanlända\x00 i\x1b   jobb \r\n\r\n\x0c Nærøy\u2028kommune\x85\xa0 slutt\ufffe "

    assert normalise(raw) == "Nyanlända i jobb\nNærøy\nkommune\nslutt"


@pytest.mark.parametrize("content_type", [PDF, DOCX, PPTX, ODT, ODP])
def test_random_bytes_are_unreadable(tmp_path: Path, content_type: str) -> None:
    path = tmp_path / "f7a8.bin"
    path.write_bytes(random.Random(7).randbytes(4096))  # noqa: S311 - repeatable junk

    with pytest.raises(Unreadable):
        extract_text(path, content_type)


def test_a_broken_zip_is_unreadable(tmp_path: Path) -> None:
    good = make_docx(tmp_path / "good.docx", docx_xml("Nyanlända i jobb"))
    broken = tmp_path / "b9c0.docx"
    broken.write_bytes(good.read_bytes()[:-40])
    not_a_zip = tmp_path / "d1e2.pptx"
    not_a_zip.write_bytes(b"PK\x03\x04 not really a zip")

    for path, content_type in (
        (broken, DOCX),
        (not_a_zip, PPTX),
        (tmp_path / "missing.docx", DOCX),
    ):
        with pytest.raises(Unreadable):
            extract_text(path, content_type)


def test_a_package_without_its_main_part_is_unreadable(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "f3a4.odt", {"mimetype": ODT})

    with pytest.raises(Unreadable):
        extract_text(path, ODT)


def test_a_truncated_pdf_is_unreadable(tmp_path: Path) -> None:
    whole = make_pdf(tmp_path / "whole.pdf", "Sysselsetting av innvandrere").read_bytes()
    path = tmp_path / "b5c6.pdf"
    path.write_bytes(whole[: whole.index(b"stream")])

    with pytest.raises(Unreadable):
        extract_text(path, PDF)


def test_a_member_declaring_a_huge_size_is_refused_unread(tmp_path: Path) -> None:
    path = make_docx(tmp_path / "d7e8.docx", docx_xml("Nyanlända i jobb"))
    data = bytearray(path.read_bytes())
    # Patch the central directory entry of word/document.xml: uncompressed size at +24.
    entry = data.index(b"PK\x01\x02")
    while True:
        name_length = struct.unpack_from("<H", data, entry + 28)[0]
        if data[entry + 46 : entry + 46 + name_length] == b"word/document.xml":
            break
        entry = data.index(b"PK\x01\x02", entry + 4)
    struct.pack_into("<I", data, entry + 24, 2**31 - 1)
    path.write_bytes(bytes(data))
    assert zipfile.ZipFile(path).getinfo("word/document.xml").file_size > MAX_MEMBER_BYTES

    with pytest.raises(Unreadable, match="declares"):
        extract_text(path, DOCX)


def test_a_member_inflating_past_its_declared_size_is_cut_off(tmp_path: Path) -> None:
    path = make_docx(tmp_path / "f9a0.docx", docx_xml("Nyanlända i jobb" * 10_000))
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            struct.pack_into("<I", data, start + offset, 100)
            start += 4
    path.write_bytes(bytes(data))

    with pytest.raises(Unreadable):
        extract_text(path, DOCX)


def test_xml_with_a_doctype_is_refused(tmp_path: Path) -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE w:document ['
        '<!ENTITY a "aaaaaaaaaa">'
        + "".join(
            f'<!ENTITY {name} "{("&" + previous + ";") * 10}">'
            for previous, name in zip("abcdefgh", "bcdefghi", strict=True)
        )
        + "]>"
        + f'<w:document xmlns:w="{W_NS}"><w:body><w:p><w:r><w:t>&i;</w:t></w:r></w:p>'
        "</w:body></w:document>"
    )
    path = make_docx(tmp_path / "b1c2.docx", bomb)

    with pytest.raises(Unreadable, match="DOCTYPE"):
        extract_text(path, DOCX)


def test_a_doctype_in_a_utf16_part_is_refused_too(tmp_path: Path) -> None:
    """A byte search for ``<!DOCTYPE`` misses it in UTF-16; the parser itself must refuse."""
    xml = (
        '<?xml version="1.0" encoding="UTF-16"?>'
        '<!DOCTYPE w:document [<!ENTITY a "Nyanlända">]>'
        f'<w:document xmlns:w="{W_NS}"><w:body><w:p><w:r><w:t>&a;</w:t></w:r></w:p>'
        "</w:body></w:document>"
    ).encode("utf-16")
    assert b"<!DOCTYPE" not in xml
    path = make_docx(tmp_path / "c3d4.docx", xml)  # type: ignore[arg-type]

    with pytest.raises(Unreadable, match="DOCTYPE"):
        extract_text(path, DOCX)


def test_a_utf16_part_without_a_doctype_is_read(tmp_path: Path) -> None:
    xml = docx_xml("Nyanlända i jobb").replace("UTF-8", "UTF-16").encode("utf-16")
    path = make_docx(tmp_path / "e5f6.docx", xml)  # type: ignore[arg-type]

    assert extract_text(path, DOCX) == "Nyanlända i jobb"


def test_a_pdf_drawing_too_much_before_any_text_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a9b0.pdf"
    path.write_bytes(pdf_with_stream(b"0 0 Td\n" * (MAX_PDF_CONTENT_BYTES // 7 + 1), pages=1))

    with pytest.raises(Unreadable, match="draw more than"):
        extract_text(path, PDF)


@pytest.mark.slow
def test_a_pdf_past_its_work_budget_keeps_the_pages_read_before(tmp_path: Path) -> None:
    stream = (
        b"0 0 Td\n" * (MAX_PDF_CONTENT_BYTES // 7 // 3 - 10) + b"BT /F1 12 Tf (Velkommen) Tj ET"
    )
    path = tmp_path / "c1d2.pdf"
    path.write_bytes(pdf_with_stream(stream, pages=10))

    assert extract_text(path, PDF).split() == ["Velkommen"] * 3


# --- ODT uploads ---------------------------------------------------------------------------


def test_an_odt_upload_is_accepted_and_its_text_extracted(app: Flask, tmp_path: Path) -> None:
    source = make_odf(
        tmp_path / "rapport.odt",
        ODT,
        "<office:text><text:p>Flyktninger i arbeid på Nærøy</text:p></office:text>",
    )
    assert sniff_file(source) is not None and sniff_file(source).extension == ".odt"
    with write_transaction():
        case = Case(slug="hurtigspor-odt", title="Hurtigspor", language="nb", country="NO")
        db.session.add(case)

    material = attach_file(
        case, io.BytesIO(source.read_bytes()), title="Rapport", original_filename="rapport.odt"
    )

    assert material.stored_name.endswith(".odt")
    assert material.content_type == ODT
    assert path_of(material).read_bytes() == source.read_bytes()
    assert (material.text_status, material.extracted_text) == (
        TextStatus.OK,
        "Flyktninger i arbeid på Nærøy",
    )
