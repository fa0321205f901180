"""Uploaded files in forms: what to tell the user when a file is refused."""

from __future__ import annotations

from flask import current_app

from kb.i18n import _
from kb.services.materials import MaterialRejected


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
