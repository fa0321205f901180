"""Asks to be called first: at the same priority, its section comes before the others."""

from __future__ import annotations

from kb.toolkit import Section, hookimpl


@hookimpl(tryfirst=True)
def page_sections(slot: str) -> Section | None:
    if slot != "case":
        return None
    return Section("recorder/section.html", {"slot": slot, "name": "first"}, priority=10)
