"""A plain text PDF (a title and paragraphs), written with pypdf, which the app already uses
to read uploads: the demo makes its handouts at load time instead of keeping binaries in git.

Helvetica with WinAnsi encoding covers the Nordic letters of nb, sv, da and fi; others
(Icelandic ð, þ are in it too) fall back to "?".
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

_WIDTH, _HEIGHT = 595, 842  # A4 in points
_MARGIN = 64
_LINES_PER_PAGE = 48
#: Characters per line of 11 pt Helvetica across the text width (an average, not a measure).
_LINE_CHARS = 88


def _literal(text: str) -> bytes:
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return b"(" + escaped.encode("cp1252", errors="replace") + b")"


def _lines(title: str, paragraphs: list[str]) -> list[tuple[int, str]]:
    """(font size, text) per line: the title, then the wrapped paragraphs with a gap."""
    lines = [(16, line) for line in textwrap.wrap(title, _LINE_CHARS * 11 // 16)]
    for paragraph in paragraphs:
        lines.append((11, ""))
        lines += [(11, line) for line in textwrap.wrap(paragraph, _LINE_CHARS)]
    return lines


def _page_stream(lines: list[tuple[int, str]]) -> bytes:
    parts = [b"BT", f"{_MARGIN} {_HEIGHT - _MARGIN} Td".encode()]
    for size, text in lines:
        parts.append(f"/F1 {size} Tf 0 -{round(size * 1.4)} Td".encode())
        parts.append(_literal(text) + b" Tj")
    parts.append(b"ET")
    return b"\n".join(parts)


def write_pdf(path: Path, title: str, paragraphs: list[str]) -> Path:
    """Write ``title`` and ``paragraphs`` as a PDF whose text a PDF reader can extract."""
    writer = PdfWriter()
    # ``_add_object`` is how pypdf adds an indirect object; it has no public name for it.
    font = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
                NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
            }
        )
    )
    lines = _lines(title, paragraphs)
    for start in range(0, len(lines), _LINES_PER_PAGE):
        page = writer.add_blank_page(width=_WIDTH, height=_HEIGHT)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        content = DecodedStreamObject()
        content.set_data(_page_stream(lines[start : start + _LINES_PER_PAGE]))
        page[NameObject("/Contents")] = writer._add_object(content)
    writer.add_metadata({"/Title": title, "/Producer": "Nordic Good Practice KB demo"})
    with path.open("wb") as out:
        writer.write(out)
    return path
