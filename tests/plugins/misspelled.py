"""A hook name with a typo: start-up must refuse it (pluggy's check_pending)."""

from kb.toolkit import hookimpl


@hookimpl
def page_section(slot: str) -> None:
    """Should have been page_sections."""
