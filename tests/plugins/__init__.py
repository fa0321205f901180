"""Test-only plugins, enabled by module path (``KB_PLUGINS=default,tests.plugins.recorder``)."""

from __future__ import annotations

import inspect

from kb import hookspecs


def hook_names() -> list[str]:
    """Every hook the core specifies: the meta-tests want a test and docs for each."""
    return sorted(
        name
        for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(function, f"{hookspecs.PROJECT}_spec")
    )
