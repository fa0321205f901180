"""Plain text out of stored material files, so a case is found by what its slides say.

Every file here is user input that has only passed a type check, so nothing in this module
trusts it: a broken, truncated or hostile file raises ``Unreadable``. ZIP-based formats are
read member by member with the declared sizes checked and the reads capped (zip bombs); their
XML goes through ``defusedxml`` with DTDs forbidden, since no office format needs one (a byte
check for ``<!DOCTYPE`` misses a part encoded in UTF-16); a PDF's pages are read within a
budget of drawing instructions.

These checks bound the work of well-formed files only. The app never calls this module in
its own process: ``sandbox`` runs it as a script (``main`` below) in a child
with CPU, memory and time limits, which are the real guard against a parser stuck on a
hostile file. Run as a script, it imports only the standard library, pypdf and defusedxml.
"""

from __future__ import annotations

import io
import logging
import re
import sys
import zipfile
from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import Path
from xml.etree import ElementTree as ET

from defusedxml import DTDForbidden
from defusedxml import ElementTree as SafeET

logger = logging.getLogger(__name__)

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT = "application/vnd.oasis.opendocument.text"
ODP = "application/vnd.oasis.opendocument.presentation"

#: A member whose declared uncompressed size is larger than this is refused (zip bombs).
MAX_MEMBER_BYTES = 50 * 1024 * 1024
#: All members read from one package together may not inflate to more than this.
MAX_PACKAGE_BYTES = 200 * 1024 * 1024
#: Pages of a PDF and slides of a presentation past these are not read: the index needs the
#: gist of a document, and a hostile file must not keep a worker busy for minutes.
MAX_PDF_PAGES = 500
MAX_SLIDES = 1000
#: Decoded content streams (drawing instructions) read from one PDF, all pages together.
#: pypdf works through about 1 MB of them a second; a report of a hundred text-heavy pages
#: holds about 2 MB. Past this the pages read so far are the text, or, if none gave any, the
#: file is unreadable (one page of 200,000 operators is 4 MB).
MAX_PDF_CONTENT_BYTES = 2 * 1024 * 1024

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"

_SLIDE_NAME = re.compile(r"ppt/slides/slide(\d+)\.xml")
# Control characters (C0 and C1, DEL), lone surrogates and the non-characters U+FFFE/U+FFFF:
# none belongs in an index, and PostgreSQL refuses NUL in text outright.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
_LINE_BREAK = re.compile("[\n\x85\u2028\u2029]")
_SPACES = re.compile(r"[^\S\n]+")


class Unreadable(ValueError):
    """A file whose text cannot be read: broken, or one we decline to read."""


class _Refused(Unreadable):
    """A file we decline to read (too large when inflated, a DTD, too much to draw)."""


def has_text_format(content_type: str) -> bool:
    """Whether files of this type can hold text we read (images cannot)."""
    return content_type in _EXTRACTORS


def extract_text(path: Path, content_type: str, *, max_chars: int = 200_000) -> str:
    """Plain text of a stored file for the search index; raises ``Unreadable``.

    "" for types without text (images). Paragraphs come out one a line with runs of
    whitespace collapsed and control characters removed, and the result is at most
    ``max_chars`` long: the index wants words, not layout, and one huge upload must not
    swell it.
    """
    extractor = _EXTRACTORS.get(content_type)
    if extractor is None or max_chars <= 0:
        return ""
    try:
        paragraphs = extractor(path)
        try:
            return _collect(paragraphs, max_chars)
        finally:
            paragraphs.close()  # stops early readers, closing the file
    except (Unreadable, MemoryError):  # a memory limit is the process's, not the file's fault
        raise
    except Exception as exc:  # a hostile file can make any parser fail in any way
        raise Unreadable(f"{type(exc).__name__}: {exc}") from exc


def _collect(paragraphs: Iterable[str], max_chars: int) -> str:
    """Normalise paragraphs and join them, stopping once ``max_chars`` is reached."""
    lines: list[str] = []
    total = 0
    for paragraph in paragraphs:
        for line in normalise(paragraph).split("\n"):
            if not line:
                continue
            lines.append(line)
            total += len(line) + 1
            if total > max_chars:
                return _cut("\n".join(lines), max_chars)
    return "\n".join(lines)


def normalise(text: str) -> str:
    """Text without control characters, with single spaces and one newline between paragraphs."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = _LINE_BREAK.sub("\n", text.replace("\v", "\n").replace("\f", "\n"))
    text = _CONTROL.sub("", text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def _cut(text: str, max_chars: int) -> str:
    """The first ``max_chars`` characters, without a word cut in half where we can avoid it."""
    if len(text) <= max_chars:
        return text
    head = text[:max_chars]
    if not text[max_chars].isspace():
        boundary = max(head.rfind(" "), head.rfind("\n"))
        if boundary > 0:
            head = head[:boundary]
    return head.rstrip()


# --- PDF -------------------------------------------------------------------------------


def _pdf_paragraphs(path: Path) -> Generator[str, None, None]:
    """Page texts from pypdf, one page at a time so that reading stops when enough is had."""
    from pypdf import PdfReader  # imported late: only indexing needs it

    reader = PdfReader(path)
    if reader.is_encrypted and not reader.decrypt(""):
        raise _Refused("the PDF is encrypted with a password")
    content_bytes = 0
    any_text = False
    for number, page in enumerate(reader.pages):
        if number >= MAX_PDF_PAGES:
            logger.info("%s: only the first %d pages indexed", path.name, MAX_PDF_PAGES)
            return
        content_bytes += _content_size(page)
        if content_bytes > MAX_PDF_CONTENT_BYTES:
            if not any_text:
                raise _Refused(f"the pages draw more than {MAX_PDF_CONTENT_BYTES} bytes")
            logger.info("%s: only the first %d pages indexed (work budget)", path.name, number)
            return
        try:
            text = page.extract_text()
        except Exception as exc:  # one damaged page should not cost the others
            logger.warning(
                "page %d of %s skipped: %s: %s", number + 1, path.name, type(exc).__name__, exc
            )
            continue
        if text:
            any_text = True
            yield text


def _content_size(page: object) -> int:
    """Bytes of a page's decoded drawing instructions (cheap next to interpreting them)."""
    contents = page.get_contents()  # type: ignore[attr-defined]
    return 0 if contents is None else len(contents.get_data())


# --- ZIP packages ----------------------------------------------------------------------


class _Package:
    """A ZIP package whose members are read with their sizes checked and capped."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.inflated = 0

    def names(self) -> list[str]:
        return self.archive.namelist()

    def read(self, name: str) -> bytes:
        info = self.archive.getinfo(name)
        if info.file_size > MAX_MEMBER_BYTES:
            raise _Refused(f"member {name!r} declares {info.file_size} bytes uncompressed")
        if self.inflated + info.file_size > MAX_PACKAGE_BYTES:
            raise _Refused("the package inflates to too much in total")
        with self.archive.open(info) as member:
            # zipfile stops at the declared size, but cap the read ourselves all the same.
            data = member.read(MAX_MEMBER_BYTES + 1)
        if len(data) > MAX_MEMBER_BYTES:
            raise _Refused(f"member {name!r} inflates past its limit")
        self.inflated += len(data)
        return data


def _package_paragraphs(
    path: Path, read: Callable[[_Package], Iterator[str]]
) -> Generator[str, None, None]:
    with zipfile.ZipFile(path) as archive:
        yield from read(_Package(archive))


def _parse(data: bytes) -> Iterator[tuple[str, ET.Element]]:
    """Start and end events of an XML document; one with a DTD (in any encoding) is refused.

    Without a DTD there are no entities to expand (billion laughs) nor external ones to fetch.
    """
    events = SafeET.iterparse(io.BytesIO(data), events=("start", "end"), forbid_dtd=True)
    try:
        yield from events
    except DTDForbidden as exc:
        raise _Refused("the XML declares a DOCTYPE") from exc


def _ooxml_paragraphs(
    data: bytes, paragraph: str, text: str, extras: dict[str, str]
) -> Iterator[str]:
    """Paragraphs of a WordprocessingML or DrawingML part: text runs joined per paragraph.

    ``extras`` maps empty elements such as tabs and line breaks to the text they stand for.
    """
    parts: list[str] = []
    for event, element in _parse(data):
        if event != "end":
            continue
        if element.tag == text:
            parts.append(element.text or "")
        elif element.tag in extras:
            parts.append(extras[element.tag])
        elif element.tag == paragraph:
            if parts:
                yield "".join(parts)
                parts = []
            element.clear()
    if parts:
        yield "".join(parts)


def _docx(package: _Package) -> Iterator[str]:
    """The body of a Word document, ``word/document.xml``."""
    yield from _ooxml_paragraphs(
        package.read("word/document.xml"),
        f"{_W}p",
        f"{_W}t",
        {f"{_W}tab": " ", f"{_W}br": "\n", f"{_W}cr": "\n"},
    )


def _pptx(package: _Package) -> Iterator[str]:
    """Slide texts in slide-number order (slide2 before slide10), not archive order."""
    slides = sorted(
        (int(match.group(1)), name)
        for name in package.names()
        if (match := _SLIDE_NAME.fullmatch(name))
    )
    for _, name in slides[:MAX_SLIDES]:
        yield from _ooxml_paragraphs(package.read(name), f"{_A}p", f"{_A}t", {f"{_A}br": "\n"})


_ODF_PARAGRAPHS = {f"{_TEXT}p", f"{_TEXT}h"}
_ODF_SKIPPED = {f"{_TEXT}note-citation", f"{_TEXT}tracked-changes"}


def _odf(package: _Package) -> Iterator[str]:
    """Paragraphs and headings (``text:p``, ``text:h``) of an ODF ``content.xml``.

    ODF text is mixed content (``<text:p>a <text:span>b</text:span> c</text:p>``), so a
    paragraph's text is gathered from the element tree when it ends. A paragraph nested in
    another (a footnote, a caption) is given on its own and skipped within its parent.
    """
    depth = 0
    for event, element in _parse(package.read("content.xml")):
        if element.tag not in _ODF_PARAGRAPHS:
            continue
        if event == "start":
            depth += 1
            continue
        depth -= 1
        parts: list[str] = []
        _odf_text(element, parts)
        yield "".join(parts)
        if depth == 0:
            # Only an outermost paragraph: clearing drops the tail, which for a nested one
            # is still part of its parent's text.
            element.clear()


def _odf_text(element: ET.Element, parts: list[str]) -> None:
    parts.append(element.text or "")
    for child in element:
        tag = child.tag
        if tag == f"{_TEXT}s":
            count = child.get(f"{_TEXT}c", "1")
            parts.append(" " * min(int(count) if count.isdigit() else 1, 100))
        elif tag == f"{_TEXT}tab":
            parts.append(" ")
        elif tag == f"{_TEXT}line-break":
            parts.append("\n")
        elif tag not in _ODF_PARAGRAPHS and tag not in _ODF_SKIPPED:
            _odf_text(child, parts)
        parts.append(child.tail or "")


_EXTRACTORS: dict[str, Callable[[Path], Generator[str, None, None]]] = {
    PDF: _pdf_paragraphs,
    DOCX: lambda path: _package_paragraphs(path, _docx),
    PPTX: lambda path: _package_paragraphs(path, _pptx),
    ODT: lambda path: _package_paragraphs(path, _odf),
    ODP: lambda path: _package_paragraphs(path, _odf),
}


# --- the child process -------------------------------------------------------------------

#: Exit status of a child that found the file unreadable (anything else non-zero: a limit).
EXIT_UNREADABLE = 3
#: Exit status of a child that ran out of its address space.
EXIT_OUT_OF_MEMORY = 4


def limit_self(cpu_seconds: int, memory_bytes: int) -> None:
    """Hard limits on this process: CPU time (SIGXCPU, then SIGKILL a second later), address
    space, no core dump, no file written."""
    import resource  # Unix only, like the servers this runs on

    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def main(argv: list[str]) -> int:
    """``reader.py PATH CONTENT_TYPE MAX_CHARS CPU_SECONDS MEMORY_BYTES``: the text on stdout.

    Limits first, before the file is opened; a reason on stderr when the file is unreadable.
    """
    path, content_type, max_chars, cpu_seconds, memory_bytes = argv
    limit_self(int(cpu_seconds), int(memory_bytes))
    try:
        text = extract_text(Path(path), content_type, max_chars=int(max_chars))
    except Unreadable as exc:
        sys.stderr.write(f"{exc}\n")
        return EXIT_UNREADABLE
    except MemoryError:
        return EXIT_OUT_OF_MEMORY
    sys.stdout.buffer.write(text.encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
