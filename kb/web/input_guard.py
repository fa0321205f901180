"""Refuse malformed text at the door: invalid UTF-8, NUL bytes and JSON nested too deeply
get a clear 400.

Werkzeug decodes bad bytes to U+FFFD without complaint, and PostgreSQL refuses NUL in
text with an error that would otherwise surface as a 500. Checking the raw bytes of the
path, query string and form body once, before any view runs, covers every route.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any
from urllib.parse import unquote_to_bytes

from flask import Flask, abort, request

from kb.i18n import _

_FORM_URLENCODED = "application/x-www-form-urlencoded"
#: Levels of arrays and objects a JSON body may nest: a case record needs four; Python's
#: parser (and any recursive walk of the result) fails with RecursionError near 1,000.
MAX_JSON_DEPTH = 32
#: What every parameter and form field holds once past this guard, as a JSON Schema pattern
#: (for the API's description).
NO_NUL_PATTERN = r"^[^\u0000]*$"
#: What a field of a multipart form holds: there U+FFFD is how Werkzeug marks bytes that
#: were not UTF-8, so the guard cannot tell one typed on purpose and refuses it too.
MULTIPART_TEXT_PATTERN = r"^[^\u0000\uFFFD]*$"
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


def json_depth(raw: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest, counted without parsing it
    (brackets inside strings do not count), so any depth is measured without recursion."""
    steps = (1 if m[0] in b"[{" else -1 for m in _JSON_BRACKET.finditer(_JSON_STRING.sub(b"", raw)))
    return max(accumulate(steps, initial=0))


def _bad_text(raw: bytes) -> bool:
    if b"\x00" in raw:
        return True
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _bad_encoded_pairs(raw: bytes) -> bool:
    """Check every key and value of ``a=1&b=2`` after percent-decoding."""
    for pair in raw.replace(b"+", b" ").split(b"&"):
        for part in pair.split(b"=", 1):
            if _bad_text(unquote_to_bytes(part)):
                return True
    return False


def _bad_decoded(values: Any, bad: tuple[str, ...] = ("\x00", "\ufffd")) -> bool:
    """Decoded values; after Werkzeug's lenient decoding U+FFFD marks bytes that were not UTF-8."""
    if isinstance(values, str):
        return any(char in values for char in bad)
    if isinstance(values, dict):
        return any(_bad_decoded(k, bad) or _bad_decoded(v, bad) for k, v in values.items())
    if isinstance(values, list):
        return any(_bad_decoded(v, bad) for v in values)
    return False


def _raw_path(environ: dict[str, Any]) -> bytes:
    """The path as the client sent it: servers keep it in RAW_URI/REQUEST_URI (percent-encoded)."""
    raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw_uri:
        return unquote_to_bytes(raw_uri.split("?", 1)[0])
    return environ.get("PATH_INFO", "").encode("latin-1", "replace")


def check_request() -> None:
    environ = request.environ
    if _bad_text(_raw_path(environ)):
        abort(
            400,
            _(
                "The address contains characters that are not allowed (invalid UTF-8 or "
                "a NUL byte)."
            ),
        )
    if _bad_encoded_pairs(environ.get("QUERY_STRING", "").encode("latin-1", "replace")):
        abort(400, _("A parameter in the address contains invalid UTF-8 or a NUL byte."))
    if request.method in ("GET", "HEAD", "OPTIONS") or not request.content_length:
        return
    mimetype = request.mimetype
    if mimetype == _FORM_URLENCODED:
        bad = _bad_encoded_pairs(request.get_data(cache=True))
    elif mimetype == "multipart/form-data":
        bad = _bad_decoded(request.form.to_dict(flat=False)) or any(
            _bad_decoded(f.filename or "") for f in request.files.values()
        )
    elif request.is_json:
        raw = request.get_data(cache=True)
        if json_depth(raw) > MAX_JSON_DEPTH:
            abort(
                400,
                _(
                    "The JSON body is nested too deeply (at most %(n)d levels of arrays and "
                    "objects).",
                    n=MAX_JSON_DEPTH,
                ),
            )
        bad = _bad_text(raw) or _bad_decoded(_json_or_none(raw), bad=("\x00",))
    else:
        return
    if bad:
        abort(400, _("A submitted field contains invalid UTF-8 or a NUL byte."))


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def init_app(app: Flask) -> None:
    app.before_request(check_request)
