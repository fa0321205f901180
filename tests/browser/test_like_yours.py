"""Municipalities like mine in a real browser: the home page's entry, chosen as a visitor
chooses, leads to the filtered search; axe checks both pages."""

from __future__ import annotations

from typing import Any

from tests.browser.test_browser import (  # the browser, the served demo and the helpers
    browser,
    live_app,
    page,
    serious_violations,
    served,
    shoot,
)

__all__ = ["browser", "live_app", "page", "served"]


def test_the_home_page_finds_cases_from_municipalities_like_yours(page: Any, live_app: str) -> None:
    page.goto(live_app)
    entry = page.locator("#like-yours").locator("..")
    entry.get_by_label("Innbyggertall i kommunen").select_option("under-5000")
    entry.get_by_label("By eller land").select_option("remote-rural")
    entry.scroll_into_view_if_needed()
    shoot(page, "home-like-yours")
    assert not serious_violations(page), serious_violations(page)

    entry.get_by_role("button", name="Vis eksempler").click()
    page.wait_for_url("**/search?population_band=under-5000&urban_rural=remote-rural")
    hits = page.locator(".hit h3")
    assert hits.count() == 1 and "Ísafjörður" in hits.first.inner_text()
    assert page.locator(".tags--removable a", has_text="Under 5 000 innbyggere").count() == 1
    assert not serious_violations(page), serious_violations(page)
