"""Which characters text may hold: one rule for forms, imports, the API, feeds and OAI-PMH.

Stored text refuses the control characters a person cannot see or type (tab, newline and
carriage return stay); PostgreSQL refuses NUL in text outright. XML 1.0 cannot carry those
either, nor lone surrogates or U+FFFE/U+FFFF, so XML output drops what older data may
still hold. The classes are written with ``\\u`` escapes so that the same text is a Python
regular expression and a JSON Schema (ECMA-262) pattern.
"""

from __future__ import annotations

import re

#: The control characters stored text refuses, as a character class body.
CONTROL_CHARACTERS = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f"
#: What XML 1.0 cannot represent at all, as a character class body.
NOT_XML_CHARACTERS = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff\ufffe\uffff"

_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")
_NOT_XML = re.compile(f"[{NOT_XML_CHARACTERS}]")


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds a character that stored text refuses."""
    return _CONTROL.search(text) is not None


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry (the rest is the serialiser's)."""
    return _NOT_XML.sub("", text)


def is_xml_safe(text: str) -> bool:
    """Whether ``text`` goes into XML unchanged."""
    return _NOT_XML.search(text) is None
