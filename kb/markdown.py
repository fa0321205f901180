"""Markdown to safe HTML: CommonMark rendering, then an allow-list sanitiser; and Markdown
to Markdown that stays safe wherever a download is rendered.

Raw HTML in the source is escaped by the renderer and anything that still slips
through (``javascript:`` links, event handlers) is removed by nh3.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    "table"
)

_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "a",
    "ul",
    "ol",
    "li",
    "blockquote",
    "code",
    "pre",
    "hr",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}


def render_markdown(text: str | None) -> Markup:
    """Sanitised HTML for a Markdown text; headings start at h2 (the page owns h1)."""
    if not text:
        return Markup("")
    html = _md.render(text).replace("<h1>", "<h2>").replace("</h1>", "</h2>")
    clean = nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )
    return Markup(clean)  # noqa: S704 - sanitised by nh3 just above


#: Parses as a permissive renderer would (raw HTML on, every link scheme a link), so that
#: ``inert_markdown`` sees what such a renderer would make of a text.
_permissive = MarkdownIt("commonmark").enable("table")
_permissive.validateLink = lambda _url: True  # type: ignore[method-assign]
_CODE = {"fence", "code_block"}
_SAFE_SCHEMES = {"", "http", "https", "mailto"}


def _safe_url(url: str) -> bool:
    """A link nh3 would keep: relative, http(s) or mailto (also after percent-decoding)."""
    readable = "".join(c for c in unquote(url) if c.isprintable() and not c.isspace())
    try:
        return urlsplit(readable).scheme.lower() in _SAFE_SCHEMES
    except ValueError:
        return False


def _unsafe_links(tokens: list[Token], env: dict[str, Any]) -> tuple[set[int], bool]:
    """Lines of blocks with a link or image of an unsafe scheme; whether a reference
    definition (which names no line) has one."""
    lines: set[int] = set()
    for token in tokens:
        for child in token.children or ():
            url = child.attrGet("href") or child.attrGet("src")
            if isinstance(url, str) and not _safe_url(url) and token.map:
                lines.update(range(*token.map))
    references = env.get("references", {}).values()
    return lines, any(not _safe_url(ref.get("href", "")) for ref in references)


def _has_markup(text: str) -> bool:
    env: dict[str, Any] = {}
    tokens = _permissive.parse(text, env)
    unsafe, unsafe_reference = _unsafe_links(tokens, env)
    raw_html = any(
        t.type == "html_block" or any(c.type == "html_inline" for c in t.children or ())
        for t in tokens
    )
    return raw_html or bool(unsafe) or unsafe_reference


def inert_markdown(text: str | None) -> str:
    """Markdown that stays harmless in any renderer, for downloads: what ``render_markdown``
    does for the page, done on the source. Raw HTML is escaped (``<`` as ``&lt;`` outside
    code blocks); a block with a ``javascript:`` (or other unsafe) link keeps its text but
    no links. Code blocks stay as written."""
    if not text:
        return ""
    env: dict[str, Any] = {}
    tokens = _permissive.parse(text, env)
    code = {n for t in tokens if t.type in _CODE and t.map for n in range(*t.map)}
    unlink, unsafe_reference = _unsafe_links(tokens, env)
    lines = text.splitlines(keepends=True)
    for number, line in enumerate(lines):
        if number in code:
            continue
        line = line.replace("<", "&lt;")
        if unsafe_reference or number in unlink:
            line = line.replace("[", "\\[").replace("]", "\\]")
        lines[number] = line
    inert = "".join(lines)
    if _has_markup(inert):  # a construct the line rules missed: give up on formatting
        inert = markdown_text(text)
    return inert


def markdown_text(text: str | None) -> str:
    """Plain text (a title, a name) put into Markdown as text, never as markup."""
    if not text:
        return ""
    return _TEXT_MARKUP.sub(r"\\\g<0>", text.replace("<", "&lt;"))


_TEXT_MARKUP = re.compile(r"[\\`*_\[\]!|]")
