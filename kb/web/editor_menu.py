"""The editors' second navigation: each blueprint adds its own entry points."""

from __future__ import annotations

from flask import Flask, current_app
from flask_babel import LazyString

_MENU = "kb.editor_menu"


def add_editor_link(app: Flask, endpoint: str, label: LazyString | str) -> None:
    app.extensions.setdefault(_MENU, []).append((endpoint, label))


def editor_menu() -> list[tuple[str, LazyString | str]]:
    return list(current_app.extensions.get(_MENU, []))


def init_app(app: Flask) -> None:
    app.jinja_env.globals["editor_menu"] = editor_menu
