"""Demo content: the two Nordic events the project grew from, and the sample cases.

``kb/data/demo.json`` tells the story of the Copenhagen integration conference
(20 November 2018) and the seminar "Nyanlända i jobb" (Luleå, 4 May 2017), with the people
and organisations the announcements name; ``kb/data/cases.json`` adds 52 sample case
studies. The demo adds to them: ``demo-presentations.json`` says which case was presented in
which session, ``demo-key-figures.json`` holds the figures their texts state,
``demo-municipality-profiles.json`` the municipality profiles their texts state (with the
words that state them), and ``demo-materials.json`` the handouts, written as PDFs into the
upload folder at load time (their text is then read like any imported file's). The practice
template takes each case's "Background:" and "Lessons:" paragraphs out of its description, and
``demo-template.json`` what else its text states (funding, staff, evaluation, where the
practice stands).
Loading is an import (``import_plan``), so running it twice changes nothing.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from kb.services.exchange.importer import ImportPlan, plan_import
from kb.services.exchange.schema import CaseIn, KeyFigureIn, MaterialIn, PresentationIn
from kb.services.materials import upload_dir
from kb.services.simple_pdf import write_pdf
from kb.services.vocabulary import ensure_default_terms

_DATA = resources.files("kb.data")
#: The sample data's label for every link: the page names an untitled link in the
#: reader's language ("Kilde: imdi.no") instead.
_GENERIC_LINK_TITLE = "Source"
#: How the sample cases label the paragraphs that are the template's (in their languages).
_TEMPLATE_PARAGRAPHS = {
    "background": ("Bakgrunn", "Bakgrund", "Baggrund", "Tausta", "Background"),
    "lessons_learned": ("Læring", "Lärdomar", "Opit", "Lessons"),
}


def prepare_demo() -> ImportPlan:
    """Make sure the vocabularies and demo files are in place, and validate the demo data."""
    ensure_default_terms()
    handouts = _read("demo-materials.json")
    _write_documents(handouts["documents"])
    story = plan_import(_read("demo.json"))
    samples = plan_import(_read("cases.json"))
    presented = _read("demo-presentations.json")
    figures = _read("demo-key-figures.json")
    profiles = _read("demo-municipality-profiles.json")
    template = _read("demo-template.json")
    samples.cases = [_with_template(case, template.get(case.ref, {})) for case in samples.cases]
    for case in samples.cases:
        case.sessions += [PresentationIn.model_validate(p) for p in presented.get(case.ref, [])]
        case.key_figures += [KeyFigureIn.model_validate(f) for f in figures.get(case.ref, [])]
        profile = profiles.get(case.ref, {})
        case.population_band = profile.get("population_band", case.population_band)
        case.urban_rural = profile.get("urban_rural", case.urban_rural)
        case.materials += [
            MaterialIn.model_validate(m) for m in handouts["cases"].get(case.ref, [])
        ]
        for link in case.links:
            if link.title == _GENERIC_LINK_TITLE:
                link.title = None
    story.cases += samples.cases
    return story


def _with_template(case: CaseIn, stated: dict[str, Any]) -> CaseIn:
    """The case with its labelled background and lessons paragraphs moved from the
    description into their fields, and the template fields its text states (``stated``)."""
    kept, moved = [], {}
    for paragraph in case.body.split("\n\n"):
        label, colon, text = paragraph.partition(":")
        field = next((f for f, names in _TEMPLATE_PARAGRAPHS.items() if label in names), None)
        if colon and field is not None and field not in moved:
            moved[field] = text.strip()
        else:
            kept.append(paragraph)
    return CaseIn.model_validate(case.model_dump() | {"body": "\n\n".join(kept)} | moved | stated)


def _write_documents(documents: dict[str, dict[str, Any]]) -> None:
    """Write each handout into the upload folder, unless a file of that name is there."""
    target = upload_dir()
    for name, document in documents.items():
        if not (target / name).exists():
            write_pdf(target / name, document["title"], document["paragraphs"])


def _read(name: str) -> Any:
    return json.loads(_DATA.joinpath(name).read_text("utf-8"))
