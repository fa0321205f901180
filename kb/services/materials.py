"""Follow-up material: links, and files stored under generated names after a type check.

The type is decided by the file's content (its magic bytes, and for the ZIP-based office
formats the package's own manifest), never by the name or the browser's claim, so a
script renamed to ``slides.pdf`` is refused. A file's text is read once, when it is stored
(``kb.services.extraction``, in a child process with limits), and kept with the material.
"""

from __future__ import annotations

import logging
import secrets
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from flask import current_app
from sqlalchemy import select

from kb.database import write_transaction
from kb.extensions import db
from kb.models import Case, Material, MaterialKind, Session, TextStatus
from kb.services.extraction.sandbox import Extraction, extract_file

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileKind:
    extension: str
    content_type: str


PDF = FileKind(".pdf", "application/pdf")
PPTX = FileKind(
    ".pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"
)
DOCX = FileKind(".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
ODP = FileKind(".odp", "application/vnd.oasis.opendocument.presentation")
ODT = FileKind(".odt", "application/vnd.oasis.opendocument.text")
PNG = FileKind(".png", "image/png")
JPEG = FileKind(".jpg", "image/jpeg")
WEBP = FileKind(".webp", "image/webp")
GIF = FileKind(".gif", "image/gif")

_MAGIC: list[tuple[bytes, FileKind]] = [
    (b"%PDF-", PDF),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
]
_ODF_KINDS = {kind.content_type.encode(): kind for kind in (ODP, ODT)}
_OOXML_MAIN = {
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": PPTX,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": DOCX,
}


class MaterialRejected(ValueError):
    """An upload that is too large or of a type we do not store.

    ``reason`` ("too_large", "empty" or "type") lets the web layer say it in the user's language.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def sniff(head: bytes, path: Path | None = None) -> FileKind | None:
    """The kind of a file from its first bytes (and, for ZIP packages, its manifest)."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"PK\x03\x04") and path is not None:
        return _sniff_package(path)
    return None


def sniff_file(path: Path) -> FileKind | None:
    with path.open("rb") as fh:
        return sniff(fh.read(64), path)


_MANIFEST_LIMIT = 64 * 1024


def _sniff_package(path: Path) -> FileKind | None:
    try:
        with zipfile.ZipFile(path) as package:
            names = set(package.namelist())
            if "mimetype" in names and package.getinfo("mimetype").file_size <= 256:
                odf_kind = _ODF_KINDS.get(package.read("mimetype").strip())
                if odf_kind is not None:
                    return odf_kind
            if "[Content_Types].xml" in names:
                # Read at most 64 kB: a manifest is small, a zip bomb is not.
                with package.open("[Content_Types].xml") as member:
                    manifest = member.read(_MANIFEST_LIMIT).decode("utf-8", "replace")
                for main_type, kind in _OOXML_MAIN.items():
                    if main_type in manifest:
                        return kind
    except (zipfile.BadZipFile, KeyError, OSError):
        return None
    return None


def upload_dir() -> Path:
    path = Path(current_app.config["UPLOAD_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def path_of(material: Material) -> Path:
    if material.stored_name is None:
        raise ValueError("this material is a link, not a file")
    return Path(current_app.config["UPLOAD_DIR"]) / material.stored_name


def delete_files(paths: list[Path]) -> None:
    """Delete stored files whose materials are gone (call after the commit, never before)."""
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            log.warning("Could not delete the stored file %s of a removed material", path)


@dataclass(frozen=True)
class StoredFile:
    """An upload written to the upload folder, typed and with its text read; no row yet."""

    stored_name: str
    original_filename: str
    kind: FileKind
    size: int
    text: Extraction

    def columns(self) -> dict[str, Any]:
        """The file's columns, the same on a material and on an upload held for a form."""
        return {
            "stored_name": self.stored_name,
            "original_filename": self.original_filename,
            "content_type": self.kind.content_type,
            "size_bytes": self.size,
            "text_status": self.text.status,
            "extracted_text": self.text.text,
        }


def store_upload(stream: BinaryIO, original_filename: str) -> StoredFile:
    """Write an upload under a generated name, check its type, and read its text.

    Call it outside a write transaction: reading the text takes up to
    ``EXTRACT_TIMEOUT_SECONDS`` and must not hold the database's write lock. Raises
    ``MaterialRejected`` (nothing is kept then).
    """
    limit = current_app.config["MATERIAL_MAX_BYTES"]
    target_dir = upload_dir()
    tmp = target_dir / f".upload-{secrets.token_hex(8)}"
    size = 0
    try:
        with tmp.open("wb") as out:
            while chunk := stream.read(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise MaterialRejected(
                        f"the file is larger than {limit // (1024 * 1024)} MB", "too_large"
                    )
                out.write(chunk)
        if size == 0:
            raise MaterialRejected("the file is empty", "empty")
        file_kind = sniff_file(tmp)
        if file_kind is None:
            raise MaterialRejected(
                "this type of file is not accepted "
                "(PDF, PPTX, DOCX, ODP, ODT, PNG, JPEG, WebP, GIF)",
                "type",
            )
        stored_name = secrets.token_hex(16) + file_kind.extension
        final = target_dir / stored_name
        tmp.rename(final)
    finally:
        tmp.unlink(missing_ok=True)
    return StoredFile(
        stored_name=stored_name,
        original_filename=Path(original_filename).name[:255] or stored_name,
        kind=file_kind,
        size=size,
        text=extract_file(final, file_kind.content_type),
    )


@contextmanager
def kept_upload(stream: BinaryIO, original_filename: str) -> Iterator[StoredFile]:
    """``store_upload``, with the file deleted again if the block (its transaction) fails."""
    stored = store_upload(stream, original_filename)
    try:
        yield stored
    except BaseException:
        (upload_dir() / stored.stored_name).unlink(missing_ok=True)
        raise


def attach_stored(
    owner: Case | Session,
    stored: StoredFile,
    *,
    title: str,
    kind: MaterialKind = MaterialKind.OTHER,
    language: str | None = None,
) -> Material:
    """Attach a stored upload to a case or session (joining an open write transaction)."""
    material = Material(kind=kind, title=title, language=language, **stored.columns())
    with write_transaction():
        db.session.add(owner)
        owner.materials.append(material)
    return material


def attach_file(
    owner: Case | Session,
    stream: BinaryIO,
    *,
    title: str,
    original_filename: str,
    kind: MaterialKind = MaterialKind.OTHER,
    language: str | None = None,
) -> Material:
    """Store an uploaded file, read its text and attach it to a case or session."""
    with kept_upload(stream, original_filename) as stored:
        return attach_stored(owner, stored, title=title, kind=kind, language=language)


def reextract(material: Material) -> Extraction:
    """Read a stored file's text again (limits as at upload) and save the outcome.

    A file missing from the upload folder is an error of the installation, not of the file:
    ``FileNotFoundError``, and the material is left as it was.
    """
    path = path_of(material)
    if not path.is_file():
        raise FileNotFoundError(f"the file {path} of material {material.id} is missing")
    outcome = extract_file(path, material.content_type or "")
    with write_transaction():
        db.session.add(material)
        material.text_status = outcome.status
        material.extracted_text = outcome.text
    return outcome


def files_to_reextract(*, pending_only: bool = False) -> list[int]:
    """Ids of the stored files whose text `kb materials reextract` reads, oldest first."""
    query = select(Material.id).where(Material.stored_name.is_not(None)).order_by(Material.id)
    if pending_only:
        query = query.where(Material.text_status == TextStatus.PENDING)
    return list(db.session.scalars(query))
