"""Helpers for tests that use forms, accounts and search through the web, as a browser would."""

from __future__ import annotations

import re
from html.parser import HTMLParser
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


class _FormReader(HTMLParser):
    """The values a browser would send for the forms of a page (submit buttons left out)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, Any]] = []
        self._select: str | None = None
        self._option: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "fields": []})
        elif not self.forms:
            return
        fields = self.forms[-1]["fields"]
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "file", "button"):
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in a:
                    fields.append((name, a.get("value", "y")))
            else:
                fields.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self._select = name
            self._select_multiple = "multiple" in a
            self._options: list[str] = []
            self._chosen = False
        elif tag == "option" and self._select:
            self._options.append(a.get("value", ""))
            if "selected" in a:
                fields.append((self._select, a.get("value", "")))
                self._chosen = True
        elif tag == "textarea" and name:
            self._textarea = name
            fields.append((name, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select:
            # A single choice with nothing selected sends its first option.
            if not self._chosen and not self._select_multiple and self._options:
                self.forms[-1]["fields"].append((self._select, self._options[0]))
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea and self.forms:
            fields = self.forms[-1]["fields"]
            name, value = fields[-1]
            # The HTML spec drops one newline right after <textarea>.
            data = data.replace("\r\n", "\n")
            fields[-1] = (name, (value + data) if value else data.removeprefix("\n"))


def form_values(html: str, action: str = "") -> list[tuple[str, str]]:
    """The fields of the first form whose action contains ``action``, as a browser sends them."""
    reader = _FormReader()
    reader.feed(html)
    for form in reader.forms:
        if action in form["action"]:
            return list(form["fields"])
    raise AssertionError(f"no form with action {action!r}")


def with_values(fields: list[tuple[str, str]], **changes: Any) -> dict[str, Any]:
    """Form data with some fields replaced (a list value sends the field several times)."""
    changes = {name.replace("__", "-"): value for name, value in changes.items()}
    data: dict[str, Any] = {}
    for name, value in fields:
        if name in changes:
            continue
        data.setdefault(name, []).append(value)
    return data | changes


# -- the submission form ------------------------------------------------------------------

CASE_BODY = (
    "Kommunen og bedriftene i regionen laget sammen et løp der flyktninger får språkpraksis "
    "og fagopplæring i lokale bedrifter. Etter to år var de fleste i arbeid eller utdanning."
)


def new_case_form(client: FlaskClient, url: str = "/submissions/new") -> list[tuple[str, str]]:
    page = client.get(url)
    assert page.status_code == 200
    return form_values(page.text, "/submissions/")


def case_fields(**changes: Any) -> dict[str, Any]:
    """A case a speaker would submit, with ``changes`` (``contacts__0__name`` for dashes)."""
    return {
        "title": "Språkpraksis i lokale bedrifter",
        "summary": "Flyktninger lærer norsk på jobb i lokale bedrifter.",
        "body": CASE_BODY,
        "country": "NO",
        "themes": ["employment", "language-training"],
        "contacts__0__name": "Kari Nordmann",
        **changes,
    }


# -- search -------------------------------------------------------------------------------


def search(client: FlaskClient, q: str, **params: Any) -> dict[str, Any]:
    """The JSON API's answer to a search (which must succeed)."""
    response = client.get("/api/v1/search", query_string={"q": q, **params})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def refs(data: dict[str, Any]) -> list[str]:
    return [hit["ref"] for hit in data["results"]]


def strict_refs(data: dict[str, Any]) -> list[str]:
    """Cases that match every word (partial matches may follow them)."""
    return [hit["ref"] for hit in data["results"] if not hit["partial"]]
