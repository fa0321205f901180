"""The public pages, and what every route does with malformed input."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from kb.database import write_transaction
from kb.extensions import db
from kb.models import Case, CaseStatus
from kb.services.exchange.importer import import_plan, plan_import


def page_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_home_page_shows_latest_cases_and_events(client: FlaskClient, demo: None) -> None:
    html = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)

    assert '<html lang="en">' in html
    assert "Nyanlända i jobb – en tillväxtfaktor för kommuner" in html
    assert html.count('class="card"') >= 6


def test_the_event_page_shows_the_programme_in_order(client: FlaskClient, demo: None) -> None:
    html = client.get("/events/integrering-i-norden-2018").get_data(as_text=True)
    text = page_text(html)

    titles = [
        "Åpning: Hva kan vi lære av hverandre?",
        "Hva virker?",
        "Lansering: Nordic comparative",
    ]
    positions = [text.index(t) for t in titles]
    assert positions == sorted(positions)
    assert "09:30" in text and "Dagfinn Høybråten" in text
    assert "København" in text


def test_the_session_page_has_its_material_cases_and_speakers(
    client: FlaskClient, demo: None
) -> None:
    response = client.get("/events/nyanlanda-i-jobb/sysselsetting-av-innvandrere")
    text = page_text(response.get_data(as_text=True))

    assert response.status_code == 200
    assert "Marianne Solbakken" in text
    assert "marianne.solbakken@kdu.no" in text  # consent given in the announcement
    assert "Herøy: tilflyttere, frivilligsentral" in text
    assert "Oppsummering av seminaret (demo-dokument)" in text


def test_a_material_file_downloads_as_an_attachment(client: FlaskClient, demo: None) -> None:
    html = client.get("/events/nyanlanda-i-jobb/sysselsetting-av-innvandrere").get_data(
        as_text=True
    )
    link = re.search(r'href="(/materials/\d+/[^"]+)"', html).group(1)

    with client.get(link) as response:
        assert response.status_code == 200
        assert response.mimetype == "application/pdf"
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        # Only the reader's browser may keep it: a shared cache would serve it on after
        # the material's case or session is no longer public.
        assert "private" in response.cache_control and "public" not in response.cache_control
        assert response.data.startswith(b"%PDF-")


def test_the_case_page_shows_the_session_it_was_presented_in(
    client: FlaskClient, demo: None
) -> None:
    slug = db.session.scalar(select(Case.slug).where(Case.ref == "c04"))
    html = client.get(f"/cases/{slug}").get_data(as_text=True)

    assert 'href="/events/nyanlanda-i-jobb/naeroy"' in html
    assert 'lang="nb"' in html
    assert "Lars Fredrik Mørch" in html


def test_a_person_page_shows_contact_details_only_with_consent(
    client: FlaskClient, demo: None
) -> None:
    with_consent = page_text(client.get("/people/helena-lagercrantz").get_data(as_text=True))
    without = client.get("/people/lars-fredrik-morch")

    assert "helena.lagercrantz@nordregio.se" in with_consent
    assert "+46 70 254 80 02" in with_consent
    assert without.status_code == 200
    assert "mailto:" not in without.get_data(as_text=True)


def test_unpublished_cases_are_not_shown(app: Flask, client: FlaskClient, demo: None) -> None:
    with write_transaction():
        case = db.session.scalar(select(Case).where(Case.ref == "c01"))
        case.status = CaseStatus.DRAFT
        slug = case.slug

    assert client.get(f"/cases/{slug}").status_code == 404
    assert slug not in client.get("/").get_data(as_text=True)


def test_case_content_is_escaped_and_markdown_is_sanitised(
    app: Flask, client: FlaskClient, demo: None
) -> None:
    with write_transaction():
        case = db.session.scalar(select(Case).where(Case.ref == "c01"))
        case.title = "<script>alert('title')</script>"
        case.body = (
            "**Bold** <script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=y>"
        )
        slug = case.slug

    html = client.get(f"/cases/{slug}").get_data(as_text=True)

    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;title&#39;)" in html
    assert "<strong>Bold</strong>" in html
    assert 'href="javascript:' not in html
    assert "onerror" not in html.replace("&lt;img src=x onerror=y&gt;", "")


@pytest.mark.parametrize(
    "url", ["/missing", "/cases/no-such-case", "/events/x", "/people/x", "/cases/?page=99"]
)
def test_missing_pages_get_a_friendly_404(client: FlaskClient, demo: None, url: str) -> None:
    response = client.get(url, headers={"Accept-Language": "en"})

    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "url",
    [
        "/cases/a%00b",
        "/cases/%FF%FE",
        "/cases/?page=%00",
        "/?q=%C3%28",
        "/events/x%00/y",
    ],
)
def test_nul_bytes_and_invalid_utf8_in_the_url_get_a_clear_400(
    client: FlaskClient, url: str
) -> None:
    response = client.get(url, headers={"Accept-Language": "en"})

    assert response.status_code == 400
    assert "invalid UTF-8 or a NUL byte" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"title=a%00b", "application/x-www-form-urlencoded"),
        (b"title=%FF", "application/x-www-form-urlencoded"),
        (b'{"title": "a\\u0000b"}', "application/json"),
        (b'{"title": "\xff"}', "application/json"),
        (
            b'--B\r\nContent-Disposition: form-data; name="title"\r\n\r\na\x00b\r\n--B--\r\n',
            "multipart/form-data; boundary=B",
        ),
        (
            b'--B\r\nContent-Disposition: form-data; name="title"\r\n\r\n\xff\xfe\r\n--B--\r\n',
            "multipart/form-data; boundary=B",
        ),
    ],
)
def test_nul_bytes_and_invalid_utf8_in_a_form_field_get_a_clear_400(
    client: FlaskClient, body: bytes, content_type: str
) -> None:
    response = client.post("/", data=body, content_type=content_type)

    assert response.status_code == 400
    assert "A submitted field contains invalid UTF-8 or a NUL byte." in response.get_data(
        as_text=True
    )


def test_good_input_passes_the_guard(client: FlaskClient) -> None:
    assert client.get("/?q=flyktning%C3%A6r").status_code == 200
    assert client.post("/", data={"title": "Nærøy"}).status_code == 405


def test_a_request_body_over_the_limit_gets_413(app: Flask, client: FlaskClient) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1024

    response = client.post("/", data={"title": "x" * 2048}, headers={"Accept-Language": "en"})

    assert response.status_code == 413
    assert "The upload is too large" in response.get_data(as_text=True)


def test_pages_forbid_outside_scripts_and_framing(client: FlaskClient) -> None:
    for response in (client.get("/"), client.get("/missing")):
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_key_figures_are_shown_with_the_readers_number_format(
    app: Flask, client: FlaskClient
) -> None:
    record = {
        "ref": "kf",
        "title": "Jobbsjansen i Trondheim",
        "language": "nb",
        "country": "NO",
        "status": "published",
        "key_figures": [{"label": "i arbeid etter to år", "value": "64,5", "unit": "%"}],
    }
    import_plan(plan_import([record]))
    slug = db.session.scalar(select(Case.slug).where(Case.ref == "kf"))

    english = page_text(client.get(f"/cases/{slug}", headers={"Accept-Language": "en"}).text)
    norwegian = page_text(client.get(f"/cases/{slug}", headers={"Accept-Language": "nb"}).text)

    assert "i arbeid etter to år" in english
    assert "64.5 %" in english
    assert "64,5 %" in norwegian


def test_over_https_cookies_are_secure_and_browsers_told_to_stay(client: FlaskClient) -> None:
    plain = client.get("/language/sv?next=/")
    secure = client.get("/language/sv?next=/", base_url="https://kb.example.org")

    assert "Secure" not in plain.headers["Set-Cookie"]
    assert "Strict-Transport-Security" not in plain.headers
    cookie = secure.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"


@pytest.mark.parametrize(
    ("accept", "cookie", "expected"),
    [
        ("nn-NO,nn;q=0.9", None, "nb"),
        ("no", None, "nb"),
        ("sv-FI,sv;q=0.8,en;q=0.5", None, "sv"),
        ("de-DE,de;q=0.9", None, "en"),
        ("de-DE,fi;q=0.5", None, "fi"),
        ("sv", "is", "is"),
        ("sv", "xx", "sv"),
    ],
)
def test_the_ui_language_is_the_choice_then_the_browser_then_english(
    client: FlaskClient, accept: str, cookie: str | None, expected: str
) -> None:
    if cookie:
        client.set_cookie("kb_lang", cookie)

    html = client.get("/about", headers={"Accept-Language": accept}).text

    assert f'<html lang="{expected}">' in html


@pytest.mark.parametrize(
    "target", ["//evil.example", "https://evil.example/", "/\\evil.example", "javascript:x"]
)
def test_the_language_switch_only_returns_to_this_site(client: FlaskClient, target: str) -> None:
    response = client.get("/language/da", query_string={"next": target})

    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_the_language_switch_returns_to_the_same_page(client: FlaskClient) -> None:
    response = client.get("/language/fi", query_string={"next": "/search?q=pakolainen"})

    assert response.headers["Location"] == "/search?q=pakolainen"
    assert client.get("/language/de").status_code == 404


def test_every_page_links_the_icon_and_favicon_ico_answers_with_it(client: FlaskClient) -> None:
    page = client.get("/about").text
    icon = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page)
    assert icon is not None
    with client.get(icon.group(1)) as linked, client.get("/favicon.ico") as asked:
        assert linked.status_code == asked.status_code == 200
        assert asked.mimetype == "image/svg+xml"
        assert asked.data == linked.data and asked.data.startswith(b"<svg")


def test_every_page_skips_to_its_content_and_the_search_page_to_its_results(
    client: FlaskClient,
) -> None:
    about = client.get("/about").text
    search = client.get("/search", query_string={"q": "x"}).text

    assert '<a class="skip-link" href="#main">' in about and 'id="main"' in about
    assert search.index('href="#results"') < search.index('href="#main"')
    assert 'id="results"' in search
    assert 'class="filters"' not in search  # nothing found: no filters to fold away
