"""Menus: the core's entries plus the links plugins add (``menu_links``), for templates."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, request, url_for
from flask_babel import LazyString

from kb import plugins
from kb.hookspecs import MENUS, MenuLink

_EDITOR_MENU = "kb.editor_menu"
#: The core's own entries come before plugins' links of the default priority.
CORE_PRIORITY = 0


@dataclass(frozen=True)
class ShownLink:
    label: str | LazyString
    url: str
    current: bool


def add_editor_link(app: Flask, endpoint: str, label: LazyString | str) -> None:
    """The core's blueprints list their editorial pages here (plugins use ``menu_links``)."""
    link = MenuLink(label=label, endpoint=endpoint, priority=CORE_PRIORITY)
    app.extensions.setdefault(_EDITOR_MENU, []).append(link)


def menu(name: str) -> list[ShownLink]:
    """A menu's links, lowest priority first (core entries keep their order)."""
    if name not in MENUS:
        raise ValueError(f"Unknown menu {name!r}; menus are {', '.join(MENUS)}.")
    core = current_app.extensions.get(_EDITOR_MENU, []) if name == "editor" else []
    added = plugins.flatten(plugins.hook().menu_links(menu=name))
    links = sorted([*core, *added], key=lambda link: link.priority)
    endpoint = request.endpoint if request else None
    return [
        ShownLink(link.label, url_for(link.endpoint, **link.values), link.endpoint == endpoint)
        for link in links
    ]


def init_app(app: Flask) -> None:
    app.jinja_env.globals["menu"] = menu
