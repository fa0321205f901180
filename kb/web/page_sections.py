"""Template slots: core pages call ``plugin_sections(slot)`` where plugins may add to them."""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from kb import plugins
from kb.hookspecs import SLOTS


@pass_context
def plugin_sections(context: Context, slot: str) -> Markup:
    """The slot's sections, rendered in priority order (plugin order breaks ties)."""
    if slot not in SLOTS:
        raise ValueError(f"Unknown template slot {slot!r}; slots are {', '.join(SLOTS)}.")
    page: dict[str, Any] = context.get_all()
    sections = plugins.flatten(plugins.hook().page_sections(slot=slot, context=page))
    rendered = [
        render_template(section.template, **section.context)
        for section in sorted(sections, key=lambda section: section.priority)
    ]
    # Each piece comes from an autoescaped template.
    return Markup("\n".join(rendered))  # noqa: S704


def init_app(app: Flask) -> None:
    app.jinja_env.globals["plugin_sections"] = plugin_sections
