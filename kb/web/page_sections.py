"""Template slots: core pages call ``plugin_sections(slot)`` where plugins may add to them."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, has_request_context, render_template, request
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
    sections = plugins.flatten(
        plugins.hook().page_sections(slot=slot, context=_page_variables(context))
    )
    rendered = [
        render_template(section.template, **section.context)
        for section in sorted(sections, key=lambda section: section.priority)
    ]
    # Each piece comes from an autoescaped template.
    return Markup("\n".join(rendered))  # noqa: S704


def _page_variables(context: Context) -> dict[str, Any]:
    """What the view gave the template (and the template set), without the global helpers:
    ``session`` is a programme session here, never Flask's cookie session."""
    shared = dict(context.environment.globals)
    if has_request_context():  # Flask's context processor gives the objects, not proxies
        shared |= {"g": g._get_current_object(), "request": request._get_current_object()}
    return {
        name: value
        for name, value in context.get_all().items()
        if name not in shared or value is not shared[name]
    }


def init_app(app: Flask) -> None:
    app.jinja_env.globals["plugin_sections"] = plugin_sections
