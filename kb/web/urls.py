"""URL helpers shared by the blueprints."""

from __future__ import annotations

from urllib.parse import urlsplit


def is_local_path(target: str | None) -> bool:
    """Only paths on this site ("/cases/x?q=1"), never "//evil.example" or "http://..."."""
    if not target:
        return False
    parts = urlsplit(target)
    return (
        target.startswith("/")
        and not target.startswith("//")
        and not parts.scheme
        and not parts.netloc
        and "\\" not in target
    )
