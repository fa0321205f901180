"""The write side of the API: create and change cases, attach files, with a bearer token.

A speaker's token submits cases for review; an editor's may set any status. Writes are
rate-limited per token and exempt from CSRF: they accept no cookies, only the token.
"""

from __future__ import annotations

import hashlib
from pathlib import PurePath
from typing import Any

from flask import Response, abort, current_app, g, request
from flask.typing import ResponseReturnValue
from flask_limiter.util import get_remote_address

from kb.extensions import csrf, limiter
from kb.i18n import _
from kb.models import Case, MaterialKind, User, Vocabulary
from kb.services import catalogue, submissions, tokens
from kb.services.exchange.schema import CaseIn
from kb.services.materials import MaterialRejected
from kb.services.vocabulary import terms_by_key
from kb.web.api import schemas, serialise
from kb.web.api.http import error_response
from kb.web.api.read import api, bp
from kb.web.input_guard import MULTIPART_TEXT_PATTERN
from kb.web.uploads import rejection_message
from kb.web.urls import as_id

WRITE_ERRORS = (401, 403, 413, 415, 422, 429)
#: A material's title, as its column holds it.
MAX_TITLE = 300
VOCABULARY_FIELDS = (("themes", Vocabulary.THEME), ("target_groups", Vocabulary.TARGET_GROUP))


def _write_limit() -> str:
    return str(current_app.config["API_WRITE_LIMIT"])


def _client_key() -> str:
    """Count writes per token (per address for requests without one)."""
    header = request.headers.get("Authorization", "")
    return hashlib.sha256(header.encode()).hexdigest() if header else get_remote_address()


#: One count for all write routes, so API_WRITE_LIMIT is a token's writes, whichever route.
write_limit = limiter.shared_limit(_write_limit, scope="api-write", key_func=_client_key)


def _author() -> User:
    user = tokens.authenticate_header(request.headers.get("Authorization"))
    if user is None:
        abort(401, description=_("Send a valid API token: Authorization: Bearer <token>."))
    g.api_user = user
    return user


def _json_body() -> dict[str, Any]:
    if not request.is_json:
        abort(415, description=_("Send the case as JSON (Content-Type: application/json)."))
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(422, description=_("The body must be a JSON object."))
    return body


def _editable(key: str, author: User) -> Case:
    """The case with this id (as in the URL), if this token's account may change it."""
    number = as_id(key)
    case = catalogue.any_case(number) if number is not None else None
    if case is None:
        abort(404, description=_("There is no such item, or it is not public."))
    if not submissions.may_edit(author, case):
        abort(403, description=_("This token's account may not change this case."))
    return case


@bp.errorhandler(submissions.SubmissionInvalid)
def _invalid(invalid: submissions.SubmissionInvalid) -> Response:
    message = _("The case breaks some rules; see the fields.")
    return error_response(422, message, {"fields": invalid.problems})


@bp.errorhandler(submissions.RefTaken)
def _ref_taken(taken: submissions.RefTaken) -> Response:
    return error_response(409, str(taken), {"field": "ref"})


@bp.errorhandler(MaterialRejected)
def _file_refused(rejected: MaterialRejected) -> Response:
    status = 413 if rejected.reason == "too_large" else 422
    message = rejection_message(rejected)
    return error_response(status, message, {"fields": {"file": message}})


def _case_response(case: Case, status: int = 200) -> Response:
    return Response(serialise.case(case).model_dump_json(), status, mimetype="application/json")


def _case_schema(*, partial: bool):
    """The exchange format's case, as an API client writes it (files are uploaded apart)."""

    def describe(components: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        schema = CaseIn.model_json_schema(ref_template="#/components/schemas/{model}")
        definitions = schema.pop("$defs", {})
        material = definitions["MaterialIn"]
        fields = material["properties"]
        for server_side in ("file", "original_filename"):
            fields.pop(server_side)
        # Without a file, a material is a link: its url is required (and not null).
        fields["url"] = next(s for s in fields["url"]["anyOf"] if s.get("type") == "string")
        material["required"] = sorted({*material.get("required", []), "url"})
        components.update(definitions)
        properties = {k: v for k, v in schema["properties"].items() if k in submissions.API_KEYS}
        for name, vocabulary in (
            ("themes", Vocabulary.THEME),
            ("target_groups", Vocabulary.TARGET_GROUP),
        ):
            properties[name] = {
                "type": "array",
                "items": {"enum": sorted(terms_by_key(vocabulary))},
            }
        required = [] if partial else [k for k in schema.get("required", []) if k in properties]
        return "application/json", {
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        }

    return describe


_UPLOAD_FIELDS: dict[str, dict[str, Any]] = {
    "file": {"type": "string", "format": "binary"},
    "title": {"type": "string", "maxLength": MAX_TITLE, "pattern": MULTIPART_TEXT_PATTERN},
    "kind": {"type": "string", "enum": [k.value for k in MaterialKind]},
}


def _upload_schema(_components: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "multipart/form-data", {
        "type": "object",
        "properties": _UPLOAD_FIELDS,
        "required": ["file"],
        "additionalProperties": False,
    }


@api.route(
    "/cases",
    "post",
    summary="Create a case",
    response=schemas.Case,
    body=_case_schema(partial=False),
    errors=(*WRITE_ERRORS, 409),
    success=201,
)
@write_limit
def create_case() -> ResponseReturnValue:
    """The exchange format's fields. A speaker's case is `submitted` for review whatever
    status it asks for; an editor's token may set any status, e.g. `published`."""
    author = _author()  # before reading the body: without a token, nothing else matters
    case = submissions.save_record(None, _json_body(), author)
    response = _case_response(case, 201)
    response.headers["Location"] = serialise.api_case_url(case.id)
    return response


@api.route(
    "/cases/<key>",
    "patch",
    summary="Change a case",
    response=schemas.Case,
    body=_case_schema(partial=True),
    errors=(*WRITE_ERRORS, 404, 409),
)
@write_limit
def update_case(key: str) -> ResponseReturnValue:
    """Only the fields sent change. Speakers change their own cases until they are
    published (and send them back to review); editors change any case."""
    author = _author()
    case = _editable(key, author)
    return _case_response(submissions.save_record(case, _json_body(), author))


@api.route(
    "/cases/<key>/materials",
    "post",
    summary="Attach a file to a case",
    response=schemas.Case,
    body=_upload_schema,
    errors=(*WRITE_ERRORS, 404),
    success=201,
)
@write_limit
def attach_material(key: str) -> ResponseReturnValue:
    """A slide deck, report or picture (PDF, PPTX, DOCX, ODP, ODT, PNG, JPEG, WebP, GIF)."""
    author = _author()
    case = _editable(key, author)
    unknown = sorted({*request.form, *request.files} - set(_UPLOAD_FIELDS))
    if unknown:
        message = _("This field cannot be written.")
        return error_response(422, message, {"fields": dict.fromkeys(unknown, message)})
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        return error_response(422, _("Choose a file."), {"fields": {"file": _("Choose a file.")}})
    kind = request.form.get("kind") or MaterialKind.OTHER
    if kind not in {k.value for k in MaterialKind}:
        return error_response(422, _("Unknown kind of material."), {"fields": {"kind": kind}})
    title = request.form.get("title", "")
    if len(title) > MAX_TITLE:
        message = _("At most %(max)d characters, please.", max=MAX_TITLE)
        return error_response(422, message, {"fields": {"title": message}})
    # Without a title, the file's name is shown (cut to what a title holds).
    title = title or PurePath(sent.filename).name[:MAX_TITLE]
    upload = submissions.Upload(sent.stream, sent.filename, title, MaterialKind(kind))
    submissions.add_upload(case, upload, author)
    return _case_response(case, 201)


csrf.exempt(bp)
