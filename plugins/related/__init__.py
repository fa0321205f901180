"""Related cases: a case page ends with up to four published cases like it.

"Like it" is what the search index says (``toolkit.related_cases``): the case's most
distinctive words, the same concepts named in other languages (a Danish case about young
refugees in "ungdomsuddannelse" finds a Norwegian one about "videregående skole"), and shared
themes and target groups. The section is left out when nothing is related.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kb import toolkit
from kb.toolkit import Section, hookimpl

LIMIT = 4


@hookimpl
def page_sections(slot: str, context: Mapping[str, Any]) -> list[Section]:
    case = context.get("case")
    if slot != "case" or case is None:
        return []
    cases = toolkit.related_cases(case, limit=LIMIT)
    return [Section("related/related.html", {"cases": cases})] if cases else []
