"""Registers a blueprint whose name could clash with the core's."""

from flask import Blueprint

from kb.toolkit import hookimpl

bp = Blueprint("public", __name__, url_prefix="/elsewhere")


@hookimpl
def register_blueprints() -> list[Blueprint]:
    return [bp]
