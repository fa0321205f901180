"""Who may open a page: checked on the server for every route that is not public."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import abort
from flask_login import current_user, login_required

from kb.models import Role, User

P = ParamSpec("P")
R = TypeVar("R")


def role_required(*roles: Role) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Anonymous visitors are sent to log in; a logged-in user without the role gets 403."""

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return login_required(guarded)

    return decorate


editor_required = role_required(Role.EDITOR)


def current_account() -> User:
    """The logged-in user as a model object (not Flask-Login's proxy), for recording who."""
    return current_user._get_current_object()
