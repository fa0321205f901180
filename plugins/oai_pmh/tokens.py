"""Resumption tokens: the rest of a list written into the token itself, no state on the server.

A token is URL-safe base64 of a small JSON object: the verb, the harvester's original
arguments, where the last page ended and how many items came before. It is opaque to
harvesters but not secret: whatever a forged token says is checked like the arguments of
a new request, so it can ask for nothing a plain request could not.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime

from kb.toolkit import HarvestPosition

from .records import LARGEST_ID

#: The list arguments a token carries over (``verb`` and ``resumptionToken`` aside).
CARRIED = frozenset({"metadataPrefix", "from", "until", "set"})
_KEYS = {"verb", "arguments", "after", "case", "cursor"}


class BadToken(ValueError):
    """Not a token this repository issued (garbled, truncated or made up)."""


@dataclass(frozen=True)
class Resumption:
    verb: str
    arguments: dict[str, str]
    after: HarvestPosition
    #: How many items the earlier pages of the list held.
    cursor: int


def encode(resumption: Resumption) -> str:
    payload = {
        "verb": resumption.verb,
        "arguments": resumption.arguments,
        "after": resumption.after.updated_at.isoformat(),
        "case": resumption.after.case_id,
        "cursor": resumption.cursor,
    }
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode(token: str) -> Resumption:
    """The token's content; ``BadToken`` for anything this repository would not issue."""
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
        payload = json.loads(raw.decode("utf-8"))
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise BadToken("not a resumption token") from exc
    if not isinstance(payload, dict) or set(payload) != _KEYS:
        raise BadToken("not a resumption token")
    verb, arguments = payload["verb"], payload["arguments"]
    case_id, cursor = payload["case"], payload["cursor"]
    if not (
        isinstance(verb, str)
        and isinstance(arguments, dict)
        and set(arguments) <= CARRIED
        and all(isinstance(value, str) for value in arguments.values())
        and _is_count(case_id, minimum=1, maximum=LARGEST_ID)
        and _is_count(cursor, minimum=0)
    ):
        raise BadToken("not a resumption token")
    return Resumption(verb, arguments, HarvestPosition(_moment(payload["after"]), case_id), cursor)


def _is_count(value: object, *, minimum: int, maximum: int | None = None) -> bool:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        return False
    return maximum is None or value <= maximum


def _moment(value: object) -> datetime:
    if not isinstance(value, str):
        raise BadToken("not a resumption token")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise BadToken("not a resumption token") from exc
    if moment.tzinfo is None:
        raise BadToken("not a resumption token")
    return moment
