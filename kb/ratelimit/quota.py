"""Counting against a limit from inside a view or service, where the key is known only there.

Flask-Limiter's decorators count a request before the view runs, so they cannot count per
recipient of a message (known once the form is read), and their refusal is a bare error
page that loses what the visitor wrote. ``spend`` counts in the same shared storage
(SQLite file or Redis), so these limits too hold across worker processes.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import current_app
from limits import parse_many

from kb.extensions import limiter


def spend(limits: str, scope: str, keys: Iterable[str]) -> bool:
    """Count one hit for each key under each of ``limits`` ("5 per minute;30 per hour");
    False when any of them was spent already.

    Every hit is counted, a refused one too (as Flask-Limiter does): trying again at once
    does not help. Each count is one atomic increment in the storage, so workers counting
    at the same moment never both get the last allowed hit.
    """
    if not limiter.enabled:
        return True
    keys = list(keys)
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or ""
    allowed = True
    for item in parse_many(limits):
        for key in keys:
            identifiers = [prefix, scope, key] if prefix else [scope, key]
            allowed = limiter.limiter.hit(item, *identifiers) and allowed
    return allowed
