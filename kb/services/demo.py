"""Demo content: the two Nordic events the project grew from, and the sample cases.

``kb/data/demo.json`` tells the story of the Copenhagen integration conference
(20 November 2018) and the seminar "Nyanlända i jobb", with the people and organisations
the announcements name; ``kb/data/cases.json`` adds 52 sample case studies, and
``demo-presentations.json`` says which of them were presented in which session.
Loading is an import (``import_plan``), so running it twice changes nothing.
"""

from __future__ import annotations

import json
import shutil
from importlib import resources
from typing import Any

from kb.services.exchange.importer import ImportPlan, plan_import
from kb.services.exchange.schema import PresentationIn
from kb.services.materials import upload_dir
from kb.services.vocabulary import ensure_default_terms

_DATA = resources.files("kb.data")


def prepare_demo() -> ImportPlan:
    """Make sure the vocabularies and demo files are in place, and validate the demo data."""
    ensure_default_terms()
    target = upload_dir()
    for shipped in _DATA.joinpath("demo").iterdir():
        if shipped.is_file() and not (target / shipped.name).exists():
            with resources.as_file(shipped) as source:
                shutil.copyfile(source, target / shipped.name)
    story = plan_import(_read("demo.json"))
    samples = plan_import(_read("cases.json"))
    presented = _read("demo-presentations.json")
    for case in samples.cases:
        for place in presented.get(case.ref, []):
            case.sessions.append(PresentationIn.model_validate(place))
    story.cases += samples.cases
    return story


def _read(name: str) -> Any:
    return json.loads(_DATA.joinpath(name).read_text("utf-8"))
