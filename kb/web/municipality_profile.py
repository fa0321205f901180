"""The municipality profile in the reader's language: the labels of its bands and types for
the case form, the case page, the search page's facets and the home page's entry.

One place for them, so the form's choices, a facet's values and the case page always say
the same thing.
"""

from __future__ import annotations

from typing import Any

from kb.i18n import _l
from kb.models import PopulationBand, UrbanRural

#: The profile's parts: the case's attribute, which is also its search facet and URL parameter.
PROFILE_PARTS = ("population_band", "urban_rural")

HEADINGS: dict[str, Any] = {
    "population_band": _l("Population of the municipality"),
    "urban_rural": _l("Urban or rural"),
}

LABELS: dict[str, dict[str, Any]] = {
    "population_band": {
        PopulationBand.UNDER_5000: _l("Under 5,000 inhabitants"),
        PopulationBand.FROM_5000: _l("5,000–20,000 inhabitants"),
        PopulationBand.FROM_20000: _l("20,000–50,000 inhabitants"),
        PopulationBand.FROM_50000: _l("50,000–100,000 inhabitants"),
        PopulationBand.OVER_100000: _l("Over 100,000 inhabitants"),
    },
    "urban_rural": {
        UrbanRural.URBAN: _l("Urban"),
        UrbanRural.INTERMEDIATE: _l("Intermediate"),
        UrbanRural.RURAL_NEAR_TOWN: _l("Rural, near a town"),
        UrbanRural.REMOTE_RURAL: _l("Remote rural"),
    },
}


def profile_label(part: str, value: str | None) -> str:
    """A band's or type's name in the reader's language ("" for none, the value if unknown)."""
    if not value:
        return ""
    return str(LABELS.get(part, {}).get(value, value))


def profile_choices(part: str, empty: Any) -> list[tuple[str, Any]]:
    """A select's options: ``empty`` (not known, or any) first, then the bands or types in
    their order (smallest to largest, most urban to most remote)."""
    return [("", empty), *((str(value), label) for value, label in LABELS[part].items())]
