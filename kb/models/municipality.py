"""The profile of a case's municipality: how many live there and how urban or rural it is.

"What did municipalities like ours do?" A rural municipality of 4,000 people learns little
from Oslo, so a case may say which of a few bands and types its municipality falls in. The
bands and types are coarse on purpose: an editor can tell them from what a case says, and
they compare across the Nordic countries, whose own classifications differ.
"""

from __future__ import annotations

from enum import StrEnum


class PopulationBand(StrEnum):
    """Inhabitants of the municipality, in bands (values are URL- and export-friendly)."""

    UNDER_5000 = "under-5000"
    FROM_5000 = "5000-20000"
    FROM_20000 = "20000-50000"
    FROM_50000 = "50000-100000"
    OVER_100000 = "over-100000"


class UrbanRural(StrEnum):
    """How urban or rural the municipality is (after the urban-rural typologies of Eurostat
    and Nordregio: urban, intermediate, rural near a town, remote rural)."""

    URBAN = "urban"
    INTERMEDIATE = "intermediate"
    RURAL_NEAR_TOWN = "rural-near-town"
    REMOTE_RURAL = "remote-rural"
