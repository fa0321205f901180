"""Text extraction for the search index, on real small files built here (no mocks)."""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from flask import Flask

from kb.database import write_transaction
from kb.extensions import db
from kb.models import Case, TextStatus
from kb.search.extract import (
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

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
P_NS = "http://schemas.openxmlformats.org/presentationml/2006/main"
ODF_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0"'
)
XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


# --- builders ----------------------------------------------------------------------------


def write_zip(path: Path, members: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            compression = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            archive.writestr(name, content, compress_type=compression)
    return path


def docx_xml(*paragraphs: str) -> str:
    body = "".join(
        f'<w:p><w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>' for text in paragraphs
    )
    return f'{XML_DECL}<w:document xmlns:w="{W_NS}"><w:body>{body}</w:body></w:document>'


def make_docx(path: Path, document_xml: str) -> Path:
    return write_zip(
        path,
        {
            "[Content_Types].xml": (
                '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                '<Override PartName="/word/document.xml" ContentType="application/'
                'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
            ),
            "word/document.xml": document_xml,
        },
    )


def slide_xml(*paragraphs: str) -> str:
    body = "".join(f"<a:p><a:r><a:t>{text}</a:t></a:r></a:p>" for text in paragraphs)
    return (
        f'{XML_DECL}<p:sld xmlns:a="{A_NS}" xmlns:p="{P_NS}"><p:cSld><p:spTree><p:sp>'
        f"<p:txBody>{body}</p:txBody></p:sp></p:spTree></p:cSld></p:sld>"
    )


def make_pptx(path: Path, slides: dict[int, str]) -> Path:
    return write_zip(
        path,
        {
            "[Content_Types].xml": (
                '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                '<Override PartName="/ppt/presentation.xml" ContentType="application/'
                'vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"/>'
                "</Types>"
            ),
            **{f"ppt/slides/slide{number}.xml": xml for number, xml in slides.items()},
        },
    )


def make_odf(path: Path, content_type: str, body: str) -> Path:
    content = (
        f'{XML_DECL}<office:document-content {ODF_NS} office:version="1.3">'
        f"<office:body>{body}</office:body></office:document-content>"
    )
    return write_zip(path, {"mimetype": content_type, "content.xml": content})


def make_pdf(path: Path, *pages: str) -> Path:
    """A minimal valid PDF: one Helvetica line a page, with a correct xref table."""
    count = len(pages)
    font_number = 3 + 2 * count
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids ["
        + b" ".join(f"{3 + 2 * i} 0 R".encode() for i in range(count))
        + f"] /Count {count} >>".encode(),
    ]
    for i, text in enumerate(pages):
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = b"BT /F1 18 Tf 72 720 Td (" + escaped.encode("cp1252") + b") Tj ET"
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 {font_number} 0 R >> >> >>".encode()
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream")
    objects.append(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    )

    path.write_bytes(_pdf_file(objects))
    return path


def pdf_with_stream(stream: bytes, *, pages: int) -> bytes:
    """A PDF of ``pages`` pages that all draw the same compressed content stream."""
    data = zlib.compress(stream, 9)
    kids = " ".join(f"{5 + i} 0 R" for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        f"<< /Length {len(data)} /Filter /FlateDecode >>\nstream\n".encode()
        + data
        + b"\nendstream",
        *[
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 3 0 R >> >> >>"
        ]
        * pages,
    ]
    return _pdf_file(objects)


def _pdf_file(objects: list[bytes]) -> bytes:
    """Numbered objects with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


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
