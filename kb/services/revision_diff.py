"""What differs between two versions of a case, in pieces a person can read.

Texts are compared word by word. Lists of things (key figures, contacts, files, links,
sessions) are compared item by item: an item is matched with its counterpart by what
identifies it (a key figure by its label, a contact by the person, a file by its stored
name), so changing one key figure shows that figure as changed, not the whole list as
removed and added again. Codes stay codes here; the templates put them in words.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

#: Fields compared as prose, word by word.
PROSE = (
    "title",
    "summary",
    "body",
    "outcomes",
    "target_description",
    "background",
    "evaluation_method",
    "funding",
    "staff",
    "lessons_learned",
    "transferability",
)
#: Fields that are lists of vocabulary keys: only added or removed.
TERMS = ("themes", "target_groups")
#: Fields not shown as changes (the status has its own history; the reference is internal).
_SKIPPED = ("status",)

#: The key of a revision's contact that names the person by identity (not in the format).
PERSON_ID = "person_id"


def _contact_key(contact: dict[str, Any]) -> Hashable:
    if contact.get(PERSON_ID) is not None:
        return ("id", contact[PERSON_ID])
    return ("name", contact.get("name"), contact.get("organisation"))


#: List fields compared item by item -> what identifies an item.
ITEM_KEYS: dict[str, Callable[[dict[str, Any]], Hashable]] = {
    "key_figures": lambda k: k.get("label"),
    "links": lambda link: link.get("url"),
    "sessions": lambda s: (s.get("event"), s.get("session")),
    "contacts": _contact_key,
    "materials": lambda m: (m.get("file"), m.get("url")),
}


#: List fields whose items keep their place when relabelled (a figure's label, a link's URL).
_BY_POSITION = ("key_figures", "links")


@dataclass(frozen=True)
class ItemChange:
    """One item of a list: "added", "removed" or "changed" (with ``before`` and ``after``)."""

    state: str
    before: Any = None
    after: Any = None

    def differs(self, key: str) -> bool:
        """Whether one part of a changed item differs (e.g. a key figure's value)."""
        return _part(self.before, key) != _part(self.after, key)


@dataclass(frozen=True)
class Change:
    """One field that differs. ``kind`` says how: "prose" (``pieces`` of words tagged
    "same", "removed", "added"), "value" (``before`` -> ``after``), or "items"."""

    field: str
    kind: str
    pieces: list[tuple[str, str]] = field(default_factory=list)
    before: Any = None
    after: Any = None
    items: list[ItemChange] = field(default_factory=list)


def changes(old: dict[str, Any] | None, new: dict[str, Any]) -> list[Change]:
    """What differs between two records, field by field, in the order of the record."""
    old = old or {}
    found = []
    for key, value in new.items():
        if key in _SKIPPED:
            continue
        change = _field_change(key, old.get(key), value)
        if change is not None:
            found.append(change)
    return found


def _field_change(key: str, before: Any, after: Any) -> Change | None:
    if key in PROSE:
        old_text, new_text = before or "", after or ""
        if old_text == new_text:
            return None
        return Change(key, "prose", pieces=word_diff(old_text, new_text))
    if key in TERMS:
        items = [ItemChange("removed", before=k) for k in before or [] if k not in (after or [])]
        items += [ItemChange("added", after=k) for k in after or [] if k not in (before or [])]
        return Change(key, "items", items=items) if items else None
    if key in ITEM_KEYS:
        items = item_changes(
            before or [], after or [], ITEM_KEYS[key], by_position=key in _BY_POSITION
        )
        return Change(key, "items", items=items) if items else None
    if (before or None) == (after or None):
        return None
    return Change(key, "value", before=before, after=after)


def item_changes(
    before: list[dict[str, Any]],
    after: list[dict[str, Any]],
    key: Callable[[dict[str, Any]], Hashable],
    *,
    by_position: bool = False,
) -> list[ItemChange]:
    """Items removed, changed or added, matched by ``key``; unchanged items are left out.

    ``by_position``: an item whose key is new, in the place of an item whose key is gone, is
    that item changed (a key figure relabelled), not one removed and one added."""
    old = {key(item): item for item in before}
    new_keys = {key(item) for item in after}
    gone = {i: item for i, item in enumerate(before) if key(item) not in new_keys}
    found: list[ItemChange] = []
    for index, item in enumerate(after):
        earlier = old.get(key(item))
        if earlier is None and by_position and index in gone:
            found.append(ItemChange("changed", before=gone.pop(index), after=item))
        elif earlier is None:
            found.append(ItemChange("added", after=item))
        elif _comparable(earlier) != _comparable(item):
            found.append(ItemChange("changed", before=earlier, after=item))
    removed = [ItemChange("removed", before=item) for item in gone.values()]
    return removed + found


def _comparable(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if v not in (None, "", []) and k != PERSON_ID}


def _part(item: Any, key: str) -> Any:
    value = item.get(key) if isinstance(item, dict) else None
    return None if value in ("", []) else value


_TOKENS = re.compile(r"\s+|[^\s]+")


def word_diff(before: str, after: str) -> list[tuple[str, str]]:
    """Pieces tagged "same", "removed" or "added", word by word."""
    a, b = _TOKENS.findall(before), _TOKENS.findall(after)
    pieces = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            pieces.append(("same", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(("removed", "".join(a[i1:i2])))
        if j2 > j1:
            pieces.append(("added", "".join(b[j1:j2])))
    return pieces
