"""URL helpers shared by the blueprints: safe redirect targets and bounded numbers."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, request
from werkzeug.routing import IntegerConverter, Map

#: The largest id a database column holds (a signed 64-bit integer): anything above is
#: no row, and passing it to SQLite raises OverflowError (a 500) instead of finding none.
LARGEST_ID = 2**63 - 1


def is_local_path(target: str | None) -> bool:
    """Only paths on this site ("/cases/x?q=1"), never "//evil.example" or "http://...",
    and never one with control characters (CR/LF would split the Location header)."""
    if not target:
        return False
    parts = urlsplit(target)
    return (
        target.startswith("/")
        and not target.startswith("//")
        and not parts.scheme
        and not parts.netloc
        and "\\" not in target
        and target.isprintable()
    )


class BoundedInt(IntegerConverter):
    """Werkzeug's ``int`` with a ceiling: ``/cases/99999999999999999999`` is a 404, not a 500."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        super().__init__(url_map, *args, **kwargs)
        self.max = LARGEST_ID if self.max is None else min(self.max, LARGEST_ID)


def as_id(text: str | None) -> int | None:
    """A database id written in decimal digits, or None (also for one too large to exist)."""
    if not text or not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    number = int(text)
    return number if number <= LARGEST_ID else None


def id_arg(name: str) -> int | None:
    """A query parameter naming a row by id; a missing, malformed or impossible one is None."""
    return as_id(request.args.get(name))


def init_app(app: Flask) -> None:
    """Every ``<int:...>`` in a route is bounded; before any blueprint adds its rules."""
    app.url_map.converters["int"] = BoundedInt
