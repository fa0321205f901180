"""The API's HTTP manners: JSON bodies checked against their model, ETags, page links,
errors as JSON in the caller's language, and CORS for reading from other sites."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlencode

from flask import Response, current_app, request, url_for
from pydantic import BaseModel
from werkzeug.exceptions import HTTPException

from kb.paging import page_count
from kb.web.api.schemas import Error, ErrorDetail

#: HTTP status -> the error code clients can rely on.
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
    500: "internal_error",
}


def conditional(
    body: bytes | str, media_type: str, headers: dict[str, str] | None = None
) -> Response:
    """A 200 with an ETag of its content, or a 304 when the caller has that version."""
    data = body.encode() if isinstance(body, str) else body
    response = Response(data, mimetype=media_type, headers=headers)
    response.set_etag(hashlib.sha256(data).hexdigest()[:32])
    return response.make_conditional(request)


def json_response(model: BaseModel, headers: dict[str, str] | None = None) -> Response:
    """The model as JSON; built through the model, so it always matches the description."""
    return conditional(model.model_dump_json(), "application/json", headers)


def page_links(page: int, per_page: int, total: int) -> dict[str, str]:
    """An RFC 8288 ``Link`` header to the first, previous, next and last pages."""
    last = page_count(total, per_page)
    args = request.args.to_dict(flat=False)

    def link(number: int, rel: str) -> str:
        query = urlencode({**args, "page": [str(number)]}, doseq=True)
        base = url_for(request.endpoint or "", _external=True, **(request.view_args or {}))
        return f'<{base}?{query}>; rel="{rel}"'

    links = [link(1, "first")]
    if page > 1:
        links.append(link(min(page - 1, last), "prev"))
    if page < last:
        links.append(link(page + 1, "next"))
    links.append(link(last, "last"))
    return {"Link": ", ".join(links), "X-Total-Count": str(total)}


def error_response(status: int, message: str, details: dict[str, Any] | None = None) -> Response:
    body = Error(
        error=ErrorDetail(code=CODES.get(status, "error"), message=message, details=details or {})
    )
    response = Response(body.model_dump_json(), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def from_http_exception(error: HTTPException, message: str) -> Response:
    response = error_response(error.code or 500, message)
    if error.code == 405 and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    if error.code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def add_cors(response: Response) -> Response:
    """Let pages on the configured origins read the API (never with cookies)."""
    origin = request.headers.get("Origin")
    allowed = _origins()
    if not origin or not allowed:
        return response
    if "*" in allowed:
        response.headers["Access-Control-Allow-Origin"] = "*"
    elif origin in allowed:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.vary.add("Origin")
    else:
        return response
    response.headers["Access-Control-Expose-Headers"] = "ETag, Link, X-Total-Count"
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, If-None-Match"
        response.headers["Access-Control-Max-Age"] = "86400"
    return response


def _origins() -> set[str]:
    setting = current_app.config["API_CORS_ORIGINS"]
    items = setting.split(",") if isinstance(setting, str) else list(setting or [])
    return {item.strip().rstrip("/") for item in items if item.strip()}
