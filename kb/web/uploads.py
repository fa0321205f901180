"""Uploaded files in forms: how a too-large file is received, and what the user is told.

A request body over ``MAX_CONTENT_LENGTH`` is normally refused before it is read, and a
browser then shows a bare error page: everything typed into the form is gone. The forms
with a file field (``FILE_FORMS``) instead read bodies up to ``FORM_MAX_CONTENT_LENGTH``
and keep only the first ``MATERIAL_MAX_BYTES`` + 1 bytes of a file (the rest is read and
dropped, never stored), so the form comes back with the user's text and "the file is
larger than 50 MB" next to the field. Beyond that, the form comes back as last saved.
"""

from __future__ import annotations

import tempfile
from typing import IO, Any

from flask import Flask, current_app
from flask.wrappers import Request

from kb.i18n import _
from kb.services.materials import MaterialRejected

#: The endpoints whose forms carry a file field.
FILE_FORMS = frozenset({"submission.new", "submission.edit"})
#: Files up to this size stay in memory while a request is parsed.
_SPOOL_BYTES = 500 * 1024


def max_upload_bytes() -> int:
    return int(current_app.config["MATERIAL_MAX_BYTES"])


def max_upload_mb() -> int:
    return max_upload_bytes() // (1024 * 1024)


def rejection_message(rejected: MaterialRejected) -> str:
    """The refusal in the user's language."""
    if rejected.reason == "too_large":
        return _("The file is larger than %(mb)d MB.", mb=max_upload_mb())
    if rejected.reason == "empty":
        return _("The file is empty.")
    return _(
        "This type of file is not accepted. Upload PDF, PowerPoint (PPTX), Word (DOCX), "
        "OpenDocument (ODP, ODT) or an image (PNG, JPEG, WebP, GIF)."
    )


class _CappedFile(tempfile.SpooledTemporaryFile):  # type: ignore[type-arg]
    """Keeps the first ``cap`` bytes written and drops the rest: enough to tell that a file
    is too large, without storing it."""

    def __init__(self, cap: int) -> None:
        super().__init__(max_size=_SPOOL_BYTES, mode="w+b")
        self._room = cap

    def write(self, data: Any) -> int:
        kept = bytes(data[: max(self._room, 0)])
        self._room -= len(kept)
        if kept:
            super().write(kept)
        return len(data)


class FileFormRequest(Request):
    """A request that receives the file forms' bodies as the module doc says."""

    @property
    def _file_form(self) -> bool:
        return self.endpoint in FILE_FORMS

    @property
    def max_content_length(self) -> int | None:
        if self._file_form and self._max_content_length is None and current_app:
            return int(current_app.config["FORM_MAX_CONTENT_LENGTH"])
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        if self._file_form:
            return _CappedFile(max_upload_bytes() + 1)
        return super()._get_file_stream(
            total_content_length, content_type, filename, content_length
        )


def init_app(app: Flask) -> None:
    app.request_class = FileFormRequest
