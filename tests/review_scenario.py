"""A case in review whose one key figure changed since the editors asked for changes, and
a published case with slides added after its first version: what the review-page and
restore tests (web and browser) start from. Call inside an app context."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from kb.models import Case, Role, User
from kb.services import accounts, review, revisions, submissions
from tests.web_helpers import GOOD_PASSWORD

SLIDES_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

FIELDS: dict[str, Any] = {
    "title": "Jobbvenner i Fjordvik",
    "language": "nb",
    "country": "NO",
    "municipality": "Fjordvik",
    "themes": ["employment"],
    "target_groups": ["refugees"],
    "summary": "Nyankomne får en jobbvenn i en lokal bedrift.",
    "body": "Kommunen og bedriftene laget et løp med språkpraksis.",
    "key_figures": [
        {"label": "I arbeid etter ett år", "value": 12, "unit": "av 16"},
        {"label": "Bedrifter med", "value": 9, "unit": None},
    ],
    "contacts": [
        {
            "name": "Kari Nordmann",
            "role": "prosjektleder",
            "organisation": "Fjordvik kommune",
            "email": "kari@fjordvik.example",
            "consent_to_publish_contact": True,
        }
    ],
}


@dataclass
class Scenario:
    speaker: User
    editor: User
    in_review: Case
    published: Case


def user(email: str, role: Role) -> User:
    found = accounts.find_user(email)
    if found is None:
        found = accounts.create_user(email, role)
        accounts.set_password(found, GOOD_PASSWORD)
    return found


def build(prefix: str = "") -> Scenario:
    """Two cases of the speaker ``{prefix}speaker@example.org``: one in review with a key
    figure changed from 12 to 14, one published whose slides came after version 1."""
    speaker = user(f"{prefix}speaker@example.org", Role.SPEAKER)
    editor = user(f"{prefix}editor@example.org", Role.EDITOR)

    fields = FIELDS | {"title": f"{FIELDS['title']} {prefix}".strip()}
    slides = submissions.Upload(io.BytesIO(SLIDES_PDF), "lysbilder.pdf", "Lysbilder")
    case = submissions.save(
        None, submissions.Submission(fields, submit=True, upload=slides), speaker
    )
    review.decide(case, "request_changes", editor, "Oppdater tallene, takk.")
    figures = [dict(FIELDS["key_figures"][0], value=14), FIELDS["key_figures"][1]]
    submissions.save(
        case, submissions.Submission(fields | {"key_figures": figures}, submit=True), speaker
    )

    title = f"Språkkafé i Fjordvik {prefix}".strip()
    first = FIELDS | {"title": title, "key_figures": [], "summary": "Første utgave."}
    published = submissions.save(None, submissions.Submission(first, submit=True), speaker)
    review.decide(published, "publish", editor)
    slides = submissions.Upload(io.BytesIO(SLIDES_PDF), "kafe.pdf", "Lysbilder fra kafeen")
    later = first | {"summary": "Andre utgave, med lysbilder."}
    submissions.save(published, submissions.Submission(later, upload=slides), editor)
    assert [r.number for r in revisions.history(published)] == [3, 2, 1]
    return Scenario(speaker, editor, case, published)
