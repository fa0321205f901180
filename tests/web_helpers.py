"""Helpers for tests that use forms and accounts through the web, as a browser would."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

GOOD_PASSWORD = "fjord lantern 42 oats"


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token in the form"
    return match.group(1)


def post_form(client: FlaskClient, url: str, **fields: str) -> Any:
    token = csrf_token(client.get(url).text)
    return client.post(url, data={"csrf_token": token, **fields})


def login(client: FlaskClient, email_: str, password: str, next_: str = "") -> Any:
    url = "/login" + (f"?next={next_}" if next_ else "")
    token = csrf_token(client.get(url).text)
    return client.post(
        url, data={"csrf_token": token, "email": email_, "password": password, "next": next_}
    )


def path_of(link: str) -> str:
    return re.sub(r"^https?://[^/]+", "", link)
