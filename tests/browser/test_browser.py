"""The app in a real browser: Debian's Chromium driven by Playwright, checked with axe-core.

Skipped with a reason where Chromium or Playwright is missing; CI sets
``KB_REQUIRE_BROWSER=1`` so that there a missing browser fails instead. Screenshots go to
a temporary folder, so a test run leaves the checkout clean; ``make screenshots`` writes
them to ``docs/screenshots`` (``KB_SCREENSHOTS_DIR``).
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from kb import schema
from kb.cli import main
from kb.extensions import db
from kb.models import Case, Role
from kb.search import get_backend
from kb.services import accounts, catalogue, invitations
from kb.services.exchange.importer import import_plan, plan_import
from tests import review_scenario
from tests.conftest import ALL_PLUGINS, instance_from, make_app
from tests.factories import make_pdf
from tests.web_helpers import GOOD_PASSWORD, path_of

CHROMIUM = Path(os.environ.get("KB_CHROMIUM", "/usr/bin/chromium"))
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(
    os.environ.get("KB_SCREENSHOTS_DIR") or Path(tempfile.gettempdir()) / "kb-screenshots"
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def _unavailable(reason: str) -> None:
    if os.environ.get("KB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests are required (KB_REQUIRE_BROWSER=1) but {reason}")
    pytest.skip(reason)


sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")


@pytest.fixture(scope="module")
def live_app(served: tuple[Flask, str]) -> str:
    return served[1]


@pytest.fixture(scope="module")
def served(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Flask, str]]:
    """The demo served on a free localhost port, from a thread of this process."""
    app: Flask = make_app(instance_from(sqlite_template, tmp_path_factory.mktemp("browser")))
    with app.app_context():
        result = app.test_cli_runner().invoke(main, ["demo"])
        assert result.exit_code == 0, result.output
        for role in (Role.SPEAKER, Role.EDITOR):
            accounts.set_password(accounts.create_user(f"{role}@example.org", role), GOOD_PASSWORD)
        db.session.remove()
    with _serving(app) as url:
        yield app, url


@contextmanager
def _serving(app: Flask) -> Iterator[str]:
    """``app`` on a free localhost port, from a thread of this process; yields its URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    with app.app_context():
        get_backend().close()
        db.engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="nb-NO", accept_downloads=True)
    page = context.new_page()
    yield page
    context.close()


def shoot(page: Any, name: str, full_page: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def serious_violations(page: Any) -> list[str]:
    results = axe_module.Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} - {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def translated(language: str, message: str) -> str:
    path = ROOT / "kb" / "translations" / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        text = read_po(fh).get(message).string
    assert text and text != message, f"{message!r} is not translated to {language}"
    return text


def test_from_a_norwegian_search_to_the_follow_up_material(page: Any, live_app: str) -> None:
    page.goto(live_app)
    assert page.locator("html").get_attribute("lang") == "nb"
    shoot(page, "home")
    assert not serious_violations(page), serious_violations(page)

    page.get_by_role("searchbox").first.fill("flyktning")
    page.get_by_role("searchbox").first.press("Enter")
    page.wait_for_url("**/search?q=flyktning*")
    assert page.locator("mark").count() > 0
    page.locator(".facets a", has_text="Norge").first.click()
    page.wait_for_url("**country=NO*")
    shoot(page, "search")
    assert not serious_violations(page), serious_violations(page)
    assert page.locator(".hit .card__meta", has_text="Danmark").count() == 0

    page.locator(".hit h3 a", has_text="Herøy").click()
    page.wait_for_url("**/cases/heroy-*")
    shoot(page, "case")
    assert not serious_violations(page), serious_violations(page)

    page.locator("a[href='/events/nyanlanda-i-jobb/sysselsetting-av-innvandrere']").first.click()
    page.wait_for_url("**/sysselsetting-av-innvandrere")
    shoot(page, "session")
    assert not serious_violations(page), serious_violations(page)
    with page.expect_download() as download_info:
        page.locator("a", has_text="Oppsummering av seminaret").click()
    download = download_info.value
    assert download.suggested_filename == "oppsummering-nyanlanda-i-jobb.pdf"
    assert Path(download.path()).read_bytes().startswith(b"%PDF-")


def test_the_event_page_passes_axe(page: Any, live_app: str) -> None:
    page.goto(f"{live_app}/events/integrering-i-norden-2018")
    shoot(page, "event")
    assert not serious_violations(page), serious_violations(page)
    assert page.locator("text=Dagfinn Høybråten").count() > 0


def test_switching_to_swedish_keeps_the_page(page: Any, live_app: str) -> None:
    page.goto(f"{live_app}/events/nyanlanda-i-jobb")
    page.locator(".language-switcher a[hreflang='sv']").click()
    page.wait_for_url("**/events/nyanlanda-i-jobb")

    assert page.locator("html").get_attribute("lang") == "sv"
    nav = page.locator(".site-nav").inner_text()
    assert translated("sv", "Events") in nav
    assert translated("sv", "Search") in nav
    page.goto(live_app)  # the choice is remembered
    assert page.locator("html").get_attribute("lang") == "sv"


def test_pages_fit_a_phone(browser: Any, live_app: str) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 800}, locale="da-DK")
    page = context.new_page()
    try:
        for path in ("/", "/search?q=flygtning", "/events/nyanlanda-i-jobb"):
            page.goto(live_app + path)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"
        page.goto(live_app)
        shoot(page, "phone-home")
    finally:
        context.close()


def _log_in(page: Any, live_app: str, email: str, lands_on: str = "/submissions/") -> None:
    page.goto(f"{live_app}/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(GOOD_PASSWORD)
    page.locator("#password").press("Enter")
    page.wait_for_url(f"**{lands_on}")


def test_a_speaker_submits_a_case_and_an_editor_reviews_it(
    browser: Any, page: Any, live_app: str
) -> None:
    _log_in(page, live_app, "speaker@example.org")
    page.goto(f"{live_app}/submissions/new")
    assert not serious_violations(page), serious_violations(page)
    page.locator("#title").fill("Språkvenner i Bygdeby")
    page.locator("#summary").fill("Nyankomne og frivillige møtes hver uke for å snakke norsk.")
    page.locator("#body").fill(
        "Vi startet **språkvenner** i 2021. Det er ikke dyrt, og det virker."
    )
    page.locator("#country").select_option("NO")
    page.locator("input[name=themes][value=language-training]").check()
    # "Presented at": a click on a second session keeps the first (checkboxes, not a list box).
    sessions = page.locator("#presented_at-group input[type=checkbox]")
    sessions.nth(1).click()
    sessions.nth(2).click()
    assert sessions.nth(1).is_checked() and sessions.nth(2).is_checked()
    sessions.nth(2).click()
    page.locator("#contacts-0-name").fill("Kari Nordmann")
    # The main action stands out: filled, while Preview and Save draft are outlined.
    background = "el => getComputedStyle(el).backgroundColor"
    send_colour = page.locator("#send").evaluate(background)
    assert page.locator("#preview").evaluate(background) == "rgb(255, 255, 255)"
    assert page.locator("#save").evaluate(background) == "rgb(255, 255, 255)"
    assert send_colour != "rgb(255, 255, 255)"
    page.locator("#preview").click()
    assert page.locator(".preview strong", has_text="språkvenner").count() == 1
    assert page.locator("#language").input_value() == "nb"
    shoot(page, "submission-form")
    assert not serious_violations(page), serious_violations(page)
    page.locator("#send").click()
    page.wait_for_url("**/submissions/*")
    assert page.locator(".notice[role=status]").count() == 1

    editor = browser.new_context(locale="nb-NO").new_page()
    try:
        _log_in(editor, live_app, "editor@example.org", lands_on="/editor/")
        editor.goto(f"{live_app}/editor/")
        editor.locator("a", has_text="Språkvenner i Bygdeby").click()
        assert editor.locator(".diff ins").count() > 0
        # The history numbers each entry once ("Version 1 · ..."), not also as a list.
        editor.wait_for_load_state()
        assert (
            editor.locator(".history").evaluate("el => getComputedStyle(el).listStyleType")
            == "none"
        )
        assert not serious_violations(editor), serious_violations(editor)
        shoot(editor, "review")
        editor.locator("button[value=publish]").click()
        editor.wait_for_url("**/editor/cases/*")
        editor.goto(f"{live_app}/search?q=spr%C3%A5kvenner")
        assert editor.locator(".hit h3 a", has_text="Språkvenner i Bygdeby").count() == 1
    finally:
        editor.context.close()

    # The same title again: a warning links to the published case; "Send likevel" sends.
    page.goto(f"{live_app}/submissions/new")
    page.locator("#title").fill("Språkvenner i Bygdeby")
    page.locator("#summary").fill("Frivillige og nyankomne snakker norsk sammen.")
    page.locator("#body").fill("En ny gruppe i nabobygda, etter samme modell.")
    page.locator("#country").select_option("NO")
    page.locator("input[name=themes][value=language-training]").check()
    page.locator("#contacts-0-name").fill("Ola Nordmann")
    page.locator("#send").click()
    page.wait_for_load_state()
    warning = page.locator("#similar-cases")
    assert warning.locator("a", has_text="Språkvenner i Bygdeby").count() == 1
    assert page.evaluate("document.activeElement.id") == "similar-cases"
    assert not serious_violations(page), serious_violations(page)
    warning.locator("button", has_text=translated("nb", "Submit anyway")).click()
    page.wait_for_url(re.compile(r"/submissions/\d+$"))
    assert page.locator("#similar-cases").count() == 0


SPEAKER_LANGUAGES = {"nb": "nb-NO", "fi": "fi-FI"}


def _invitation_path(app: Flask, email: str) -> str:
    with app.app_context():
        session = catalogue.session("nyanlanda-i-jobb", "naeroy")
        link = invitations.invite(email, session)
        db.session.remove()
    return path_of(link)


def _case_with(app: Flask, title: str) -> Case:
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.title == title))
        assert case is not None
        case.materials  # noqa: B018 (loaded while the session is open)
        db.session.expunge_all()
        db.session.remove()
    return case


def _sixty_megabytes(folder: Path) -> Path:
    big = folder / "opptak.pdf"
    with big.open("wb") as out:
        out.write(b"%PDF-1.4\n")
        out.truncate(60 * 1000 * 1000)
    return big


@pytest.mark.slow
@pytest.mark.serial
@pytest.mark.parametrize("language", SPEAKER_LANGUAGES)
def test_a_speaker_from_invitation_through_errors_and_a_refused_file_to_submission(
    browser: Any, served: tuple[Flask, str], tmp_path: Path, language: str
) -> None:
    app, live = served
    # Titles unlike each other: the same title twice would (rightly) warn of a similar case.
    title = {"nb": "Språkpraksis i bedrifter", "fi": "Työpaikkakieli yrityksissä"}[language]
    slides = make_pdf(tmp_path / "slides.pdf", "Lysbilder om språkpraksis")
    context = browser.new_context(
        locale=SPEAKER_LANGUAGES[language],
        viewport={"width": 390, "height": 844} if language == "fi" else None,
    )
    page = context.new_page()
    try:
        # The invitation: a password, then the case form linked to the session.
        page.goto(live + _invitation_path(app, f"speaker-{language}@example.org"))
        assert page.locator("html").get_attribute("lang") == language
        page.locator("#password").fill(GOOD_PASSWORD)
        page.locator("#confirm").fill(GOOD_PASSWORD)
        page.locator("#confirm").press("Enter")
        page.wait_for_url("**/submissions/new?session=*")
        # The invited session is ticked; long session titles wrap instead of widening the page.
        assert page.locator("#presented_at-group input:checked").count() == 1
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the case form scrolls sideways by {overflow}px"

        # Text and a file, then Preview: the file is kept, shown by name and size.
        page.locator("#title").fill(title)
        page.locator("#summary").fill("Nyankomne lærer norsk på jobb i lokale bedrifter.")
        page.locator("#body").fill(
            "Kommunen og bedriftene laget et løp der flyktninger får språkpraksis. "
            "Etter to år var de fleste i arbeid eller utdanning."
        )
        page.locator("#country").select_option("NO")
        page.locator("input[name=themes][value=employment]").check()
        page.locator("#contacts-0-name").fill("Kari Nordmann")
        page.locator("#attachment").set_input_files(str(slides))
        page.locator("#attachment_title").fill("Lysbilder")
        page.locator("#preview").click()
        page.wait_for_load_state()
        assert "slides.pdf" in page.locator("#held-upload").inner_text()

        # A validation error: the summary, in the user's language, has the focus.
        page.locator("#summary").fill("")
        page.locator("#send").click()
        page.wait_for_load_state()
        summary = page.locator("[data-error-summary]")
        expected = translated(
            language,
            "Nothing was saved yet. Please correct the fields "
            "marked below; everything you wrote is still here.",
        )
        assert expected in summary.inner_text()
        assert summary.locator("a[href='#summary']").count() == 1
        assert page.evaluate("document.activeElement.hasAttribute('data-error-summary')")
        assert "slides.pdf" in page.locator("#held-upload").inner_text()
        shoot(page, f"case-form-errors-{language}")
        summary.locator("a[href='#summary']").click()
        assert page.evaluate("document.activeElement.id") == "summary"
        violations = axe_module.Axe().run(page).response["violations"]
        assert violations == [], [(v["id"], v["help"]) for v in violations]

        # A 60 MB file is refused before it is sent; the file chosen before stays.
        page.locator("#attachment").set_input_files(str(_sixty_megabytes(tmp_path)))
        refusal = page.locator("#attachment-size-error")
        assert refusal.is_visible()
        assert refusal.inner_text() == translated(
            language, "The file is larger than %(mb)d MB."
        ) % {"mb": 50}
        assert page.locator("#attachment").input_value() == ""

        page.locator("#summary").fill("Nyankomne lærer norsk på jobb i lokale bedrifter.")
        page.locator("#send").click()
        page.wait_for_url("**/submissions/*")
        assert page.locator("[data-error-summary]").count() == 0
    finally:
        context.close()

    case = _case_with(app, title)
    assert case.status == "submitted"
    assert [(m.original_filename, m.title) for m in case.materials] == [("slides.pdf", "Lysbilder")]


@pytest.mark.slow
@pytest.mark.serial
def test_without_javascript_a_60_mb_file_comes_back_with_the_text_kept(
    browser: Any, served: tuple[Flask, str], tmp_path: Path
) -> None:
    app, live = served
    context = browser.new_context(locale="nb-NO", java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(live + _invitation_path(app, "speaker-nojs@example.org"))
        page.locator("#password").fill(GOOD_PASSWORD)
        page.locator("#confirm").fill(GOOD_PASSWORD)
        page.locator("#confirm").press("Enter")
        page.wait_for_url("**/submissions/new?session=*")
        page.locator("#title").fill("Et eksempel som ikke går tapt")
        page.locator("#attachment").set_input_files(str(_sixty_megabytes(tmp_path)))
        page.locator("#save").click()
        page.wait_for_load_state()

        assert page.locator("#title").input_value() == "Et eksempel som ikke går tapt"
        assert (
            translated("nb", "The file is larger than %(mb)d MB.") % {"mb": 50}
            in page.locator("#attachment-errors").inner_text()
        )
    finally:
        context.close()


PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def _found(page: Any) -> int:
    """The number in the results heading ("12 eksempler funnet")."""
    return int(page.locator("#results-heading").inner_text().split()[0])


def test_on_a_phone_the_results_come_first_and_the_filters_fold_away(
    browser: Any, live_app: str
) -> None:
    context = browser.new_context(viewport=PHONE, locale="nb-NO")
    page = context.new_page()
    try:
        page.goto(f"{live_app}/search?q=flyktning&country=NO")
        # The first result's title is whole on the first screen, without scrolling.
        title = page.locator(".hit h3").first.bounding_box()
        assert title["y"] + title["height"] <= PHONE["height"], title
        filters = page.locator(".filters > summary")
        assert filters.inner_text().strip() == translated("nb", "Filters (%(num)d)") % {"num": 1}
        assert not page.locator(".facets a").first.is_visible()
        assert not page.locator(".site-nav").is_visible()  # folded into the menu
        shoot(page, "search-phone")
        violations = axe_module.Axe().run(page).response["violations"]
        assert violations == [], [(v["id"], v["help"]) for v in violations]

        filters.click()
        assert page.locator(".facets a").first.is_visible()
        shoot(page, "search-phone-filters")
        violations = axe_module.Axe().run(page).response["violations"]
        assert violations == [], [(v["id"], v["help"]) for v in violations]

        page.locator(".site-menu > summary").click()
        assert page.locator(".site-nav a", has_text=translated("nb", "Events")).is_visible()
        assert page.locator(".language-switcher a[hreflang='sv']").is_visible()
    finally:
        context.close()


def test_on_a_phone_without_javascript_a_filter_gives_the_count_it_showed(
    browser: Any, live_app: str
) -> None:
    context = browser.new_context(viewport=PHONE, locale="nb-NO", java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{live_app}/search?q=flyktning")
        page.locator(".filters > summary").click()
        theme = page.locator(".facets section", has=page.locator("h2", has_text="Tema"))
        choice = theme.locator("li").nth(1)
        shown = int(choice.locator(".count").inner_text())
        choice.locator("a").click()
        page.wait_for_url("**theme=*")

        assert _found(page) == shown
        assert page.locator(".filters > summary").inner_text().strip() == translated(
            "nb", "Filters (%(num)d)"
        ) % {"num": 1}
    finally:
        context.close()


def test_the_first_tab_on_the_search_page_skips_to_the_results(browser: Any, live_app: str) -> None:
    context = browser.new_context(viewport=PHONE, locale="nb-NO")
    page = context.new_page()
    try:
        page.goto(f"{live_app}/search?q=flyktning")
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.textContent")
        assert focused == translated("nb", "Skip to results")
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "results"
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.closest('#results') !== null")
    finally:
        context.close()


def test_a_cross_language_search_on_a_desktop_shows_its_filters_beside_the_results(
    browser: Any, live_app: str
) -> None:
    context = browser.new_context(viewport=DESKTOP, locale="nb-NO")
    page = context.new_page()
    try:
        page.goto(f"{live_app}/search?q=frivillig+mentor")
        # No disclosure to open on a wide screen: the filters and the menu are simply there.
        assert not page.locator(".filters > summary").is_visible()
        assert page.locator(".site-nav").is_visible()
        countries = page.locator(".facets section").first
        assert countries.locator("a").first.is_visible()
        offered = set(countries.locator("a").all_inner_texts())
        assert {"Sverige", "Danmark", "Finland"} <= offered, offered
        results = page.locator(".hits").first.bounding_box()
        facets = page.locator(".facets").bounding_box()
        assert facets["x"] + facets["width"] <= results["x"]
        shoot(page, "search-cross-language")
        violations = axe_module.Axe().run(page).response["violations"]
        assert violations == [], [(v["id"], v["help"]) for v in violations]
    finally:
        context.close()


def _review_scenario(app: Flask, prefix: str) -> tuple[int, int, str]:
    """A case in review with one key figure changed, and a published case: their ids and the
    published case's address."""
    with app.app_context():
        built = review_scenario.build(prefix)
        found = (built.in_review.id, built.published.id, built.published.slug)
        db.session.remove()
    return found


def _no_violations(page: Any) -> None:
    violations = axe_module.Axe().run(page).response["violations"]
    assert violations == [], [(v["id"], v["help"]) for v in violations]


@pytest.mark.slow
@pytest.mark.serial
@pytest.mark.parametrize("language", SPEAKER_LANGUAGES)
def test_an_editor_reviews_a_changed_key_figure_and_restores_a_published_case(
    browser: Any, served: tuple[Flask, str], language: str
) -> None:
    app, live_app = served
    in_review, published, slug = _review_scenario(app, f"{language}-")
    context = browser.new_context(locale=SPEAKER_LANGUAGES[language], accept_downloads=True)
    page = context.new_page()
    try:
        _log_in(page, live_app, f"{language}-editor@example.org", lands_on="/editor/")

        # Only the changed key figure is shown as changed, in words.
        page.goto(f"{live_app}/editor/cases/{in_review}")
        changes = page.locator("section[aria-labelledby=changes]")
        assert changes.locator("dt").all_inner_texts() == [translated(language, "Key figures")]
        [changed] = changes.locator(".item-changes li").all()
        assert "I arbeid etter ett år" in changed.inner_text()
        assert changed.locator("del").inner_text() == "12"
        assert changed.locator("ins").inner_text() == "14"
        assert "Bedrifter med" not in changes.inner_text()

        # The preview is the whole case as it will be published, labels in the UI language.
        preview = page.locator(".case-preview")
        country = {"nb": "Norge", "fi": "Norja"}[language]
        assert country in preview.locator(".facts").inner_text()
        assert "kari@fjordvik.example" in preview.inner_text()
        assert "Bedrifter med" in preview.locator(".figures").inner_text()
        shoot(page, f"review-{language}")
        _no_violations(page)

        # The attached file opens from the review page.
        with page.expect_download() as download:
            preview.locator(".materials a").click()
        assert download.value.suggested_filename == "lysbilder.pdf"
        assert Path(download.value.path()).read_bytes() == review_scenario.SLIDES_PDF

        # Restoring version 1 of the published case: first what would change.
        page.goto(f"{live_app}/editor/cases/{published}")
        page.locator(f"a[href$='/editor/cases/{published}/revisions/1/restore']").click()
        page.wait_for_url("**/revisions/1/restore")
        summary_change = page.locator(".changes .diff").first
        assert summary_change.locator("ins").first.inner_text() == "Første"
        assert translated(language, "Files: the files attached now are kept.") in page.inner_text(
            "main"
        )
        shoot(page, f"restore-{language}")
        _no_violations(page)
        public = context.new_page()
        public.goto(f"{live_app}/cases/{slug}")
        assert "Andre utgave, med lysbilder." in public.inner_text("main")

        # Proposed: the published case stays as it is until the proposal is published.
        page.locator("button[value=propose]").click()
        page.wait_for_url(f"**/editor/cases/{published}")
        assert page.locator("#proposal").count() == 1
        public.reload()
        assert "Andre utgave, med lysbilder." in public.inner_text("main")

        page.locator("section[aria-labelledby=proposal] button[value=publish]").click()
        page.wait_for_url(f"**/editor/cases/{published}")
        public.reload()
        assert "Første utgave." in public.inner_text("main")
        assert public.locator(".materials a", has_text="Lysbilder fra kafeen").count() == 1
    finally:
        context.close()


def test_editors_see_what_people_searched_for_and_did_not_find(browser: Any, live_app: str) -> None:
    visitor = browser.new_context(locale="nb-NO").new_page()
    try:
        for query in ("flyktning", "flyktning", "eldreomsorg", "kvantedatamaskin", "språkkafé"):
            visitor.goto(f"{live_app}/search?q={query}")
        visitor.goto(f"{live_app}/search?q=flyktning")
        visitor.locator(".hit h3 a").first.click()
        visitor.wait_for_url("**/cases/*")  # through the click-through, to the case's own URL
        for query in ("helsefagarbeider", "dronelevering"):
            visitor.goto(f"{live_app}/search?q={query}")
    finally:
        visitor.context.close()

    editor = browser.new_context(locale="nb-NO", viewport={"width": 1280, "height": 900}).new_page()
    try:
        _log_in(editor, live_app, "editor@example.org", lands_on="/editor/")
        editor.goto(f"{live_app}/editor/analytics")
        zero = editor.locator("table[data-list=zero]")
        assert zero.locator("a", has_text="kvantedatamaskin").count() == 1
        assert editor.locator("table[data-list=top] a").first.inner_text() == "flyktning"
        assert not serious_violations(editor), serious_violations(editor)
        shoot(editor, "analytics")
    finally:
        editor.context.close()


def test_without_javascript_a_visitor_asks_for_an_e_mail_alert_on_a_search(
    browser: Any, sqlite_template: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """The alerts plugin's form under a search's results, filled in and sent with scripts
    off; the confirmation mail (printed: no mail server) holds the link that starts it."""
    app = make_app(
        instance_from(sqlite_template, tmp_path / "alerts"), PLUGINS=f"{ALL_PLUGINS},alerts"
    )
    with app.app_context():
        schema.upgrade()
        assert app.test_cli_runner().invoke(main, ["demo"]).exit_code == 0
        db.session.remove()
    with _serving(app) as url:
        context = browser.new_context(
            locale="nb-NO", java_script_enabled=False, viewport={"width": 1280, "height": 900}
        )
        try:
            page = context.new_page()
            page.goto(f"{url}/search?q=flyktning&country=NO")
            form = page.locator("section.alert-subscribe")
            form.get_by_label("E-postadressen din").fill("kari@example.org")
            form.get_by_label("Månedlig").check()
            form.scroll_into_view_if_needed()
            shoot(page, "alert-subscription")
            form.get_by_role("button", name="Send meg e-post").click()
            assert "Sjekk e-posten din" in page.inner_text("main")
            link = re.search(r"https?://\S+/alerts/confirm/\S+", capfd.readouterr().err).group(0)
            page.goto(url + path_of(link))
            page.get_by_role("button", name="Start varselet").click()
            assert "Varselet ditt er på" in page.inner_text("main")
            assert "en gang i måneden" in page.inner_text("main")
        finally:
            context.close()


#: A made-up case (Fjordvik is the tests' municipality) with every part of the template.
TEMPLATE_CASE = {
    "ref": "browser-template",
    "title": "Jobbvenner i Fjordvik: en kollega fra første dag",
    "language": "nb",
    "country": "NO",
    "municipality": "Fjordvik",
    "themes": ["employment"],
    "target_groups": ["refugees"],
    "period": "2019-",
    "summary": "Nyankomne flyktninger får en jobbvenn i en lokal bedrift fra første praksisdag.",
    "background": "Mange nyankomne sto uten jobb etter introduksjonsprogrammet, og "
    "bedriftene i kommunen manglet folk.",
    "body": "Kommunen og sju bedrifter laget et løp med **språkpraksis** og en fast jobbvenn "
    "for hver deltaker.",
    "outcomes": "De fleste deltakerne fikk jobb i bedriften der de hadde praksis.",
    "evaluation_method": "Spørreundersøkelse blant deltakere og bedrifter etter ett år, og "
    "registerdata om arbeid og utdanning.",
    "evaluated_by": "external",
    "evaluation_url": "https://evaluering.example.org/jobbvenner.pdf",
    "funding": "Kommunens budsjett og statlig tilskudd.",
    "budget_band": "100k-500k",
    "staff": "To koordinatorer i halv stilling.",
    "practice_status": "permanent",
    "practice_status_year": 2022,
    "lessons_learned": "Jobbvennene trengte avsatt tid i arbeidstiden; uten det falt "
    "ordningen bort i travle perioder.",
    "transferability": "En fast kontaktperson i næringslivet og ledere som setter av tid.",
    "key_figures": [
        {"label": "i arbeid etter to år", "value": 64, "unit": "%", "year": 2021, "source": "SSB"},
        {"label": "bedrifter med", "value": 7},
    ],
    "status": "published",
}


def test_a_case_page_shows_the_whole_practice_template(
    browser: Any, served: tuple[Flask, str]
) -> None:
    app, live_app = served
    with app.app_context():
        import_plan(plan_import([TEMPLATE_CASE]))
        slug = db.session.scalar(select(Case.slug).where(Case.ref == TEMPLATE_CASE["ref"]))
        db.session.remove()
    context = browser.new_context(locale="nb-NO", viewport={"width": 1100, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{live_app}/cases/{slug}")
        main = page.inner_text("main")
        for heading in ("Bakgrunn", "Evaluering", "Ressurser og finansiering", "Erfaringer"):
            assert page.get_by_role("heading", name=heading).count() == 1, heading
        assert "Gjort permanent eller skalert opp (2022)" in main
        assert "Tall fra de som står bak eksempelet" in main
        shoot(page, "case-practice-template", full_page=True)
        assert not serious_violations(page), serious_violations(page)
    finally:
        context.close()
