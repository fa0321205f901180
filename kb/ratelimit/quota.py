"""Counting against a limit from inside a view or service, where the key is known only there.

Flask-Limiter's decorators count a request before the view runs, so they cannot count per
recipient of a message (known once the form is read), and their refusal is a bare error
page that loses what the visitor wrote. ``spend`` counts in the same shared storage
(SQLite file or Redis), so these limits too hold across worker processes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable

from flask import current_app
from limits import parse_many

from kb.extensions import limiter


def spend(limits: str, scope: str, keys: Iterable[str]) -> int:
    """Count one hit for each key under each of ``limits`` ("5 per minute;30 per hour").

    Returns 0 when every limit allowed it, else the seconds until the refusing limits'
    windows end (for ``Retry-After``). Every hit is counted, a refused one too (as
    Flask-Limiter does): trying again at once does not help. Each count is one atomic
    increment in the storage, so workers counting at the same moment never both get the
    last allowed hit.
    """
    if not limiter.enabled:
        return 0
    keys = list(keys)
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or ""
    strategy = limiter.limiter
    reset_at = 0.0
    for item in parse_many(limits):
        for key in keys:
            identifiers = [prefix, scope, key] if prefix else [scope, key]
            if not strategy.hit(item, *identifiers):
                reset_at = max(reset_at, strategy.get_window_stats(item, *identifiers).reset_time)
    return max(1, math.ceil(reset_at - time.time())) if reset_at else 0
