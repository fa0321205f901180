"""The UI in six languages: complete catalogues, compiled, and no English left on any page."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, gettext, refresh
from sqlalchemy import select

from kb.extensions import db
from kb.i18n import LANGUAGE_COOKIE
from kb.models import Case, Person, Role, Vocabulary
from kb.services import accounts, submissions
from kb.services import catalogue as content
from tests.web_helpers import GOOD_PASSWORD, form_values, login, with_values

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("nb", "sv", "da", "fi", "is")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
KEYWORDS = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)}
#: As the app's Jinja environment (kb/app.py), and loud: a template the extractor cannot
#: parse would otherwise give no messages at all, so a missing translation went unseen.
JINJA_OPTIONS = {"extensions": "jinja2.ext.do", "silent": "false"}


@dataclass(frozen=True)
class Domain:
    """Where messages are written and where their catalogues live: the core, or a plugin."""

    name: str
    source: Path
    translations: Path
    method_map: tuple[tuple[str, str], ...]


CORE = Domain(
    "core",
    ROOT,
    ROOT / "kb" / "translations",
    (("kb/**.py", "python"), ("templates/**.html", "jinja2"), ("templates/**.txt", "jinja2")),
)
PLUGIN_MAP = (
    ("**.py", "python"),
    ("templates/**.html", "jinja2"),
    ("templates/**.xml", "jinja2"),
)
PLUGINS = tuple(
    Domain(folder.name, folder, folder / "translations", PLUGIN_MAP)
    for folder in sorted((ROOT / "plugins").iterdir())
    if (folder / "__init__.py").exists()
)
DOMAINS = (CORE, *PLUGINS)


def source_messages(domain: Domain = CORE) -> set[str]:
    """Every UI message in the code and templates, extracted as `make translations` does."""
    found = set()
    options = {
        pattern: JINJA_OPTIONS for pattern, method in domain.method_map if method == "jinja2"
    }
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(domain.source), list(domain.method_map), options_map=options, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def catalogue(language: str, domain: Domain = CORE) -> Catalog:
    with (domain.translations / language / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=language)


def _catalogue_cases() -> list[tuple[Domain, str]]:
    """Every (domain, language) that has messages to translate."""
    return [
        (domain, language)
        for domain in DOMAINS
        if domain is CORE or source_messages(domain)
        for language in LANGUAGES
    ]


CATALOGUES = pytest.mark.parametrize(
    ("domain", "language"), _catalogue_cases(), ids=lambda v: v.name if isinstance(v, Domain) else v
)


@CATALOGUES
def test_every_ui_message_is_translated(domain: Domain, language: str) -> None:
    translations = catalogue(language, domain)
    problems = []
    for msgid in sorted(source_messages(domain)):
        message = translations.get(msgid)
        strings = (
            []
            if message is None
            else (list(message.string) if isinstance(message.string, tuple) else [message.string])
        )
        if message is None or not all(strings):
            problems.append(f"missing: {msgid!r}")
        elif message.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
        elif not all(
            set(PLACEHOLDER.findall(msgid)) <= set(PLACEHOLDER.findall(s)) for s in strings
        ):
            problems.append(f"placeholders differ: {msgid!r}")
    assert not problems, f"{domain.name}/{language}: " + "; ".join(problems[:20])


def test_messages_in_templates_using_the_apps_jinja_extensions_are_found(tmp_path: Path) -> None:
    """A template the extractor cannot parse used to give no messages, in silence: the form
    macros' error summary was English in every language and this file did not notice."""
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "form.html").write_text(
        '{% set ids = [] %}{% do ids.append("x") %}<p>{{ _("Fix the fields marked below") }}</p>'
    )
    domain = Domain("t", tmp_path, tmp_path / "translations", (("templates/**.html", "jinja2"),))

    assert source_messages(domain) == {"Fix the fields marked below"}


@CATALOGUES
def test_compiled_catalogues_match_the_sources(domain: Domain, language: str) -> None:
    with (domain.translations / language / "LC_MESSAGES" / "messages.mo").open("rb") as fh:
        compiled = read_mo(fh)
    source = catalogue(language, domain)

    assert _strings(compiled) == _strings(source), "run `make translations` to compile them"


def _strings(catalog: Catalog) -> dict[str, tuple[str, ...]]:
    """msgid -> its translation(s), the same shape whether read from .po or .mo."""
    return {
        (m.id if isinstance(m.id, str) else m.id[0]): (
            (m.string,) if isinstance(m.string, str) else tuple(m.string)
        )
        for m in catalog
        if m.id
    }


class _UiText(HTMLParser):
    """Visible text outside content that is marked with its own ``lang`` (case texts etc.)."""

    def __init__(self) -> None:
        super().__init__()
        self.depth_in_content = 0
        self.stack: list[tuple[str, bool]] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "img", "input", "meta", "link", "hr", "source"):
            return
        content = tag != "html" and any(name == "lang" for name, _ in attrs)
        self.stack.append((tag, content))
        self.depth_in_content += content

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            open_tag, content = self.stack.pop()
            self.depth_in_content -= content
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if (
            not self.depth_in_content
            and self.stack
            and self.stack[-1][0] not in ("script", "style")
        ):
            self.parts.append(data)


def ui_text(html: str) -> str:
    parser = _UiText()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts))


@pytest.fixture
def demo_slugs(app: Flask, demo: None) -> dict[str, str]:
    case = db.session.scalar(select(Case.slug).where(Case.ref == "c04"))
    person = db.session.scalar(select(Person.slug).where(Person.name == "Marianne Solbakken"))
    return {"case": case, "person": person}


PAGES = (
    "/",
    "/cases/",
    "/cases/{case}",
    "/events/",
    "/events/nyanlanda-i-jobb",
    "/events/nyanlanda-i-jobb/sysselsetting-av-innvandrere",
    "/events/integrering-i-norden-2018",
    "/people/{person}",
    "/organisations/nordregio",
    "/themes/employment",
    "/about",
    "/search?q=flyktning",
    "/search?q=flyktnnger",
    "/search?q=zzzzqqq",
    "/search?country=XX",
    "/login",
    "/password/forgot",
    "/password/set/not-a-valid-link",
    "/no-such-page",
)


EDITOR_PAGES = (
    "/account",
    "/submissions/",
    "/submissions/new",
    "/submissions/{draft}",
    "/editor/",
    "/editor/?status=published",
    "/editor/cases/{draft}",
    "/editor/cases/{draft}/revisions/1/restore",
    "/editor/invitations",
    "/editor/events/",
    "/editor/events/new",
    "/editor/events/{event}",
    "/editor/sessions/{session}",
    "/editor/people/",
    "/editor/people/{person_id}",
    "/editor/people/{person_id}/erase",
    "/editor/organisations/",
    "/editor/organisations/{organisation}",
    "/editor/vocabularies/",
    "/editor/vocabularies/{term}",
)


def _english_leftovers(
    client: FlaskClient, language: str, pages: tuple[str, ...], values: dict[str, str]
) -> dict[str, list[str]]:
    """UI messages still in English on the pages, found by their English text."""
    english = {
        fragment
        for domain in DOMAINS
        if (domain.translations / language).exists()
        for message in catalogue(language, domain)
        if message.id and message.string
        for msgid in ([message.id] if isinstance(message.id, str) else list(message.id))
        for fragment in PLACEHOLDER.split(msgid)
        if len(fragment.strip()) >= 12 and fragment.strip() not in str(message.string)
    }
    client.set_cookie(LANGUAGE_COOKIE, language)
    leftovers = {}
    for page in pages:
        response = client.get(page.format(**values))
        html = response.get_data(as_text=True)
        assert f'<html lang="{language}">' in html, page
        text = ui_text(html)
        found = sorted(f.strip() for f in english if f.strip() in text)
        if found:
            leftovers[page] = found
    return leftovers


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_speaks_the_chosen_language(
    client: FlaskClient, demo_slugs: dict[str, str], language: str
) -> None:
    leftovers = _english_leftovers(client, language, PAGES, demo_slugs)
    assert not leftovers, f"English left in {language}: {leftovers}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_editors_pages_speak_the_chosen_language(
    client: FlaskClient, demo_slugs: dict[str, str], language: str
) -> None:
    editor = accounts.create_user("editor@example.org", Role.EDITOR)
    accounts.set_password(editor, GOOD_PASSWORD)
    draft = submissions.save(
        None,
        submissions.Submission(fields={"title": "Utkast", "language": "nb", "country": "NO"}),
        editor,
    )
    event = content.event("nyanlanda-i-jobb")
    values = {
        "draft": str(draft.id),
        "event": str(event.id),
        "session": str(content.session(event.slug, "naeroy").id),
        "person_id": str(
            db.session.scalar(select(Person.id).where(Person.slug == demo_slugs["person"]))
        ),
        "organisation": str(content.organisation("nordregio").id),
        "term": str(content.term(Vocabulary.THEME, "employment").id),
    }
    assert login(client, "editor@example.org", GOOD_PASSWORD).status_code == 302
    leftovers = _english_leftovers(client, language, EDITOR_PAGES, values)
    assert not leftovers, f"English left in {language}: {leftovers}"


def _english_fragments(language: str) -> set[str]:
    """The English text of every message in the core's code and templates that the catalogue
    does not turn into something else: a message missing from it counts too."""
    translations = catalogue(language)
    fragments = set()
    for msgid in source_messages():
        message = translations.get(msgid)
        translated = str(message.string) if message is not None and message.string else ""
        fragments |= {
            f.strip()
            for f in PLACEHOLDER.split(msgid)
            if len(f.strip()) >= 12 and f.strip() not in translated
        }
    return fragments


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_case_form_with_every_kind_of_problem_speaks_the_chosen_language(
    client: FlaskClient, language: str
) -> None:
    accounts.set_password(accounts.create_user("speaker@example.org", Role.SPEAKER), GOOD_PASSWORD)
    login(client, "speaker@example.org", GOOD_PASSWORD)
    client.set_cookie(LANGUAGE_COOKIE, language)
    fields = form_values(client.get("/submissions/new").text, "/submissions/")
    data = with_values(
        fields,
        title="",
        body="xq zv",
        country="XX",
        start_year="tjue",
        links__0__url="ftp:/x",
        key_figures__0__label="Deltakere",
        key_figures__0__value="mange",
        contacts__0__email="nei",
        contacts__0__phone="abc",
        send="y",
    )
    data["attachment"] = (io.BytesIO(b"#!/bin/sh\n"), "slides.pdf")

    page = client.post("/submissions/new", data=data)

    assert page.status_code == 422
    assert page.text.count('class="errors"') >= 9
    text = ui_text(page.text)
    english = sorted(f for f in _english_fragments(language) if f in text)
    assert not english, f"English left in {language}: {english}"


def test_templates_follow_a_language_forced_in_the_middle_of_a_page(app: Flask) -> None:
    """A mail rendered in its recipient's language during a request (an invitation) is in
    that language, and the page around it stays in the reader's: templates find their
    translations once per request, but again whenever the language changes."""
    template = app.jinja_env.from_string("{{ _('Search') }}")
    with app.test_request_context("/", headers={"Accept-Language": "sv"}):
        swedish = template.render()
        with force_locale("fi"):
            finnish = template.render()
            assert finnish == gettext("Search")
        assert template.render() == swedish == gettext("Search")
        refresh()
        assert template.render() == swedish
    assert len({swedish, finnish, "Search"}) == 3
