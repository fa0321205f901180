"""What the change templates need to put codes in words: vocabulary labels in the reader's
language, and the case's stored files (their size, and a link that opens them)."""

from __future__ import annotations

from typing import Any

from kb.models import Case, Vocabulary
from kb.services import catalogue
from kb.web.template_helpers import term_label


def change_words(case: Case, *, show_details: bool) -> dict[str, Any]:
    """Context for ``editor/_changes.html``; ``show_details``: contacts' e-mail and phone."""
    return {
        "term_labels": {
            field: {term.key: term_label(term) for term in catalogue.vocabulary(vocabulary)}
            for field, vocabulary in (
                ("themes", Vocabulary.THEME),
                ("target_groups", Vocabulary.TARGET_GROUP),
            )
        },
        "files": {m.stored_name: m for m in case.materials if m.stored_name},
        "show_details": show_details,
    }
