"""A stored file sent as a download: one rule for the public file route and the route that
opens a case's files for its author and the editors before publication."""

from __future__ import annotations

from flask import Response, send_file

from kb.models import Material
from kb.services.materials import path_of


def send_material(material: Material, *, max_age: int, store: bool = True) -> Response:
    """The file as an attachment, never inline (an uploaded HTML or SVG file cannot run in
    the site's origin), under the name it was uploaded with. Always private: a shared cache
    would go on serving it after its case is unpublished; ``store=False`` keeps it out of
    the browser's cache too (a file not yet public)."""
    response = send_file(
        path_of(material),
        mimetype=material.content_type,
        as_attachment=True,
        download_name=material.original_filename or material.stored_name,
        max_age=max_age,
    )
    response.cache_control.public = False
    response.cache_control.private = True
    if not store:
        response.cache_control.no_store = True
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
