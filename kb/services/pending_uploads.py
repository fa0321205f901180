"""Files chosen on the case form, stored at once and held until the case is saved.

A browser sends a chosen file once; if the form then comes back (Preview, or an error in
any field) the file field is empty again. So the file is stored, typed and its text read
when the form is first posted (``materials.store_upload``, the same single extraction a
material gets), held here for its uploader, and the form carries a signed reference to it.
Saving the case turns it into a material (its text is not read again); a file left
behind is deleted ``PENDING_UPLOAD_HOURS`` after it was chosen.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from kb.database import write_transaction
from kb.extensions import db
from kb.models import Case, Material, MaterialKind, PendingUpload, User
from kb.models.base import utcnow
from kb.services.extraction.sandbox import Extraction
from kb.services.materials import FileKind, StoredFile, attach_stored, store_upload, upload_dir

log = logging.getLogger(__name__)

_SALT = "kb-pending-upload"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _max_age() -> timedelta:
    return timedelta(hours=float(current_app.config["PENDING_UPLOAD_HOURS"]))


def hold(stream: BinaryIO, filename: str, owner: User) -> PendingUpload:
    """Store a chosen file for its uploader; ``MaterialRejected`` keeps nothing.

    Abandoned uploads of anyone are cleaned up first, so no scheduled job is needed.
    """
    clean_abandoned()
    stored = store_upload(stream, filename)
    try:
        with write_transaction():
            pending = PendingUpload(user_id=owner.id, **stored.columns())
            db.session.add(pending)
    except BaseException:
        _delete_file(stored.stored_name)
        raise
    _keep_newest(owner)
    return pending


def _keep_newest(owner: User) -> None:
    """At most ``PENDING_UPLOADS_PER_USER`` held files each (one per open form is the
    usual need), so Preview cannot be used to fill the disk for a day."""
    keep = int(current_app.config["PENDING_UPLOADS_PER_USER"])
    surplus = list(
        db.session.scalars(
            select(PendingUpload)
            .where(PendingUpload.user_id == owner.id)
            .order_by(PendingUpload.created_at.desc(), PendingUpload.id.desc())
            .offset(keep)
        )
    )
    for old in surplus:
        release(old)


def reference(pending: PendingUpload) -> str:
    """What the form carries: signed, so a forged or altered value is refused."""
    return _serializer().dumps(pending.id)


def find(signed: str, owner: User) -> PendingUpload | None:
    """The upload behind a form's reference, if it is genuine, the owner's and still held."""
    try:
        upload_id = _serializer().loads(signed, max_age=_max_age().total_seconds())
    except BadSignature:
        return None
    if not isinstance(upload_id, int):
        return None
    pending = db.session.get(PendingUpload, upload_id)
    if pending is None or pending.user_id != owner.id:
        return None
    return pending


def release(pending: PendingUpload) -> None:
    """Forget a held upload (the user removed or replaced it) and delete its file."""
    stored_name = pending.stored_name
    with write_transaction():
        db.session.delete(pending)
    _delete_file(stored_name)


def adopt(
    pending: PendingUpload, case: Case, *, title: str, kind: MaterialKind, language: str | None
) -> Material:
    """Attach a held upload to a case as a material (joining the case's write transaction);
    the file stays where it is and its text is not read again."""
    stored = StoredFile(
        stored_name=pending.stored_name,
        original_filename=pending.original_filename,
        kind=FileKind(Path(pending.stored_name).suffix, pending.content_type),
        size=pending.size_bytes,
        text=Extraction(pending.text_status, pending.extracted_text),
    )
    with write_transaction():
        material = attach_stored(
            case, stored, title=title or pending.original_filename, kind=kind, language=language
        )
        db.session.delete(pending)
    return material


def clean_abandoned() -> int:
    """Delete the uploads held longer than ``PENDING_UPLOAD_HOURS``; returns how many."""
    cutoff = utcnow() - _max_age()
    abandoned = select(PendingUpload).where(PendingUpload.created_at < cutoff)
    if db.session.scalar(abandoned.with_only_columns(PendingUpload.id).limit(1)) is None:
        return 0  # the usual case: no write transaction to wait for
    with write_transaction():
        old = list(db.session.scalars(abandoned))
        names = [p.stored_name for p in old]
        for pending in old:
            db.session.delete(pending)
    for name in names:
        _delete_file(name)
    return len(names)


def _delete_file(stored_name: str) -> None:
    try:
        (upload_dir() / stored_name).unlink(missing_ok=True)
    except OSError:
        log.warning("Could not delete the held upload %s", stored_name)
