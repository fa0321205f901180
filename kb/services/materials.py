"""Follow-up material: links, and files stored under generated names after a type check.

The type is decided by the file's content (its magic bytes, and for the ZIP-based office
formats the package's own manifest), never by the name or the browser's claim, so a
script renamed to ``slides.pdf`` is refused.
"""

from __future__ import annotations

import logging
import secrets
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app

from kb.database import write_transaction
from kb.extensions import db
from kb.models import Case, Material, MaterialKind, Session

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


def attach_file(
    owner: Case | Session,
    stream: BinaryIO,
    *,
    title: str,
    original_filename: str,
    kind: MaterialKind = MaterialKind.OTHER,
    language: str | None = None,
) -> Material:
    """Store an uploaded file under a generated name and attach it to a case or session."""
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
    material = Material(
        kind=kind,
        title=title,
        language=language,
        stored_name=stored_name,
        original_filename=Path(original_filename).name[:255] or stored_name,
        content_type=file_kind.content_type,
        size_bytes=size,
    )
    try:
        with write_transaction():
            db.session.add(owner)
            owner.materials.append(material)
    except BaseException:
        final.unlink(missing_ok=True)
        raise
    return material
