"""Descriptions: Markdown-ish text <-> Atlassian Document Format (Cloud v3) and wiki markup (v2).

The subset is what action items carry: paragraphs, bullet and numbered lists, links, inline code
and fenced code blocks. Both directions exist so a description read back equals what was sent.
ADF: https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# ---------------------------------------------------------------------------------------------
# The neutral model both formats render from and parse into.


@dataclass(frozen=True)
class Inline:
    kind: str  # "text", "link", "code"
    text: str
    href: str = ""


@dataclass(frozen=True)
class Block:
    kind: str  # "paragraph", "bullet", "ordered", "code"
    lines: tuple[tuple[Inline, ...], ...] = ()  # paragraph lines, or one entry per list item
    code: str = ""
    language: str = ""


_MARKDOWN_INLINE = re.compile(r"\[(?P<label>[^\]]+)\]\((?P<href>[^)\s]+)\)|`(?P<code>[^`]+)`")
_BULLET = re.compile(r"^[-*] (?P<text>.*)$")
_NUMBERED = re.compile(r"^\d+[.)] (?P<text>.*)$")
_FENCE = re.compile(r"^```(?P<language>[\w+-]*)\s*$")


def _markdown_inlines(text: str) -> tuple[Inline, ...]:
    parts: list[Inline] = []
    position = 0
    for match in _MARKDOWN_INLINE.finditer(text):
        if match.start() > position:
            parts.append(Inline("text", text[position : match.start()]))
        if match.group("code") is not None:
            parts.append(Inline("code", match.group("code")))
        else:
            parts.append(Inline("link", match.group("label"), match.group("href")))
        position = match.end()
    if position < len(text):
        parts.append(Inline("text", text[position:]))
    return tuple(parts)


def parse_markdown(text: str) -> list[Block]:
    """Blocks of a Markdown-ish description; anything unrecognised is paragraph text."""
    blocks: list[Block] = []
    lines = text.replace("\r\n", "\n").split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        fence = _FENCE.match(line)
        if fence:
            body: list[str] = []
            index += 1
            while index < len(lines) and lines[index].rstrip() != "```":
                body.append(lines[index])
                index += 1
            index += 1  # the closing fence (or the end of an unterminated block)
            blocks.append(Block("code", code="\n".join(body), language=fence.group("language")))
            continue
        if not line.strip():
            index += 1
            continue
        for kind, pattern in (("bullet", _BULLET), ("ordered", _NUMBERED)):
            if pattern.match(line):
                items: list[tuple[Inline, ...]] = []
                while index < len(lines) and (item := pattern.match(lines[index])):
                    items.append(_markdown_inlines(item.group("text")))
                    index += 1
                blocks.append(Block(kind, lines=tuple(items)))
                break
        else:
            paragraph: list[tuple[Inline, ...]] = []
            while index < len(lines) and _is_paragraph_line(lines[index]):
                paragraph.append(_markdown_inlines(lines[index]))
                index += 1
            blocks.append(Block("paragraph", lines=tuple(paragraph)))
    return blocks


def _is_paragraph_line(line: str) -> bool:
    return bool(line.strip()) and not (
        _FENCE.match(line) or _BULLET.match(line) or _NUMBERED.match(line)
    )


@dataclass(frozen=True)
class Dialect:
    """How one text format writes the neutral model; ``render`` is the same for every format."""

    code_block: Callable[[str, str], str]  # (language, code) -> the block with its fences
    list_marker: Callable[[str, int], str]  # (block kind, 1-based position) -> the item's marker
    link: Callable[[str, str], str]  # (text, href)
    inline_code: Callable[[str], str]


MARKDOWN = Dialect(
    code_block=lambda language, code: f"```{language}\n{code}\n```",
    list_marker=lambda kind, position: "- " if kind == "bullet" else f"{position}. ",
    link=lambda text, href: f"[{text}]({href})",
    inline_code=lambda text: f"`{text}`",
)


def render(blocks: list[Block], dialect: Dialect) -> str:
    """The blocks as text of ``dialect``, blocks separated by a blank line."""
    rendered: list[str] = []
    for block in blocks:
        if block.kind == "code":
            rendered.append(dialect.code_block(block.language, block.code))
        elif block.kind in ("bullet", "ordered"):
            rendered.append(
                "\n".join(
                    dialect.list_marker(block.kind, position) + _render_inlines(item, dialect)
                    for position, item in enumerate(block.lines, 1)
                )
            )
        else:
            rendered.append("\n".join(_render_inlines(line, dialect) for line in block.lines))
    return "\n\n".join(rendered)


def _render_inlines(parts: tuple[Inline, ...], dialect: Dialect) -> str:
    out = []
    for part in parts:
        if part.kind == "link":
            out.append(dialect.link(part.text, part.href))
        elif part.kind == "code":
            out.append(dialect.inline_code(part.text))
        else:
            out.append(part.text)
    return "".join(out)


def render_markdown(blocks: list[Block]) -> str:
    return render(blocks, MARKDOWN)


def normalize_markdown(text: str) -> str:
    """The form a description takes after a round trip through Jira."""
    return render_markdown(parse_markdown(text))


# ---------------------------------------------------------------------------------------------
# ADF (Cloud, REST v3)


def markdown_to_adf(text: str) -> dict[str, Any]:
    content = [_block_to_adf(block) for block in parse_markdown(text)]
    return {"type": "doc", "version": 1, "content": content}


def _inlines_to_adf(parts: tuple[Inline, ...]) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    for part in parts:
        if not part.text:
            continue  # ADF rejects empty text nodes
        node: dict[str, Any] = {"type": "text", "text": part.text}
        if part.kind == "link":
            node["marks"] = [{"type": "link", "attrs": {"href": part.href}}]
        elif part.kind == "code":
            node["marks"] = [{"type": "code"}]
        nodes.append(node)
    return nodes


def _paragraph_to_adf(lines: tuple[tuple[Inline, ...], ...]) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    for number, line in enumerate(lines):
        if number:
            content.append({"type": "hardBreak"})
        content.extend(_inlines_to_adf(line))
    return {"type": "paragraph", "content": content}


def _block_to_adf(block: Block) -> dict[str, Any]:
    if block.kind == "code":
        node: dict[str, Any] = {"type": "codeBlock", "attrs": {}}
        if block.language:
            node["attrs"]["language"] = block.language
        node["content"] = [{"type": "text", "text": block.code}] if block.code else []
        return node
    if block.kind in ("bullet", "ordered"):
        items = [
            {"type": "listItem", "content": [_paragraph_to_adf((item,))]} for item in block.lines
        ]
        if block.kind == "bullet":
            return {"type": "bulletList", "content": items}
        return {"type": "orderedList", "attrs": {"order": 1}, "content": items}
    return _paragraph_to_adf(block.lines)


def adf_to_markdown(document: Any) -> str:
    """Markdown-ish text of an ADF document; unknown nodes keep their text."""
    if not isinstance(document, dict):
        return str(document) if document else ""
    blocks = [_adf_to_block(node) for node in document.get("content") or []]
    return render_markdown([block for block in blocks if block is not None])


def _adf_inline_lines(nodes: list[dict[str, Any]]) -> tuple[tuple[Inline, ...], ...]:
    lines: list[list[Inline]] = [[]]
    for node in nodes:
        node_type = node.get("type")
        if node_type == "hardBreak":
            lines.append([])
        elif node_type == "text":
            marks = {mark.get("type"): mark for mark in node.get("marks") or []}
            text = str(node.get("text", ""))
            if "link" in marks:
                href = str((marks["link"].get("attrs") or {}).get("href", ""))
                lines[-1].append(Inline("link", text, href))
            elif "code" in marks:
                lines[-1].append(Inline("code", text))
            else:
                lines[-1].append(Inline("text", text))
        elif node.get("content"):
            for number, line in enumerate(_adf_inline_lines(node["content"])):
                if number:
                    lines.append([])
                lines[-1].extend(line)
    return tuple(tuple(line) for line in lines)


def _adf_to_block(node: dict[str, Any]) -> Block | None:
    node_type = node.get("type")
    if node_type == "codeBlock":
        code = "".join(str(child.get("text", "")) for child in node.get("content") or [])
        language = str((node.get("attrs") or {}).get("language") or "")
        return Block("code", code=code, language=language)
    if node_type in ("bulletList", "orderedList"):
        items = []
        for item in node.get("content") or []:
            lines = _adf_inline_lines(item.get("content") or [])
            items.append(tuple(part for line in lines for part in line))
        return Block("bullet" if node_type == "bulletList" else "ordered", lines=tuple(items))
    lines = _adf_inline_lines(node.get("content") or [])
    if not any(lines):
        return None
    return Block("paragraph", lines=lines)


# ---------------------------------------------------------------------------------------------
# Wiki markup (Data Center, REST v2)


WIKI = Dialect(
    code_block=lambda language, code: (
        f"{{code:{language}}}\n{code}\n{{code}}" if language else f"{{code}}\n{code}\n{{code}}"
    ),
    list_marker=lambda kind, _position: "* " if kind == "bullet" else "# ",
    link=lambda text, href: f"[{text}|{href}]",
    inline_code=lambda text: f"{{{{{text}}}}}",
)


def markdown_to_wiki(text: str) -> str:
    return render(parse_markdown(text), WIKI)


_WIKI_INLINE = re.compile(
    r"\[(?P<label>[^\]|]+)\|(?P<href>[^\]\s]+)\]|\[(?P<bare>[a-z]+://[^\]\s]+)\]|\{\{(?P<code>.+?)\}\}"
)
_WIKI_CODE_OPEN = re.compile(r"^\{(?:code|noformat)(?::(?P<language>[\w+-]+))?[^}]*\}\s*$")
_WIKI_CODE_CLOSE = re.compile(r"^\{(?:code|noformat)\}\s*$")
_WIKI_BULLET = re.compile(r"^[*-] (?P<text>.*)$")
_WIKI_NUMBERED = re.compile(r"^# (?P<text>.*)$")


def _wiki_inlines(text: str) -> tuple[Inline, ...]:
    parts: list[Inline] = []
    position = 0
    for match in _WIKI_INLINE.finditer(text):
        if match.start() > position:
            parts.append(Inline("text", text[position : match.start()]))
        if match.group("code") is not None:
            parts.append(Inline("code", match.group("code")))
        elif match.group("bare") is not None:
            parts.append(Inline("link", match.group("bare"), match.group("bare")))
        else:
            parts.append(Inline("link", match.group("label"), match.group("href")))
        position = match.end()
    if position < len(text):
        parts.append(Inline("text", text[position:]))
    return tuple(parts)


def wiki_to_markdown(text: str | None) -> str:
    """Markdown-ish text of a wiki-markup description (other markup stays as text)."""
    if not text:
        return ""
    lines = text.replace("\r\n", "\n").split("\n")
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        opening = _WIKI_CODE_OPEN.match(line)
        if opening:
            body: list[str] = []
            index += 1
            while index < len(lines) and not _WIKI_CODE_CLOSE.match(lines[index]):
                body.append(lines[index])
                index += 1
            index += 1
            blocks.append(
                Block("code", code="\n".join(body), language=opening.group("language") or "")
            )
            continue
        if not line.strip():
            index += 1
            continue
        for kind, pattern in (("bullet", _WIKI_BULLET), ("ordered", _WIKI_NUMBERED)):
            if pattern.match(line):
                items = []
                while index < len(lines) and (item := pattern.match(lines[index])):
                    items.append(_wiki_inlines(item.group("text")))
                    index += 1
                blocks.append(Block(kind, lines=tuple(items)))
                break
        else:
            paragraph = []
            while index < len(lines) and _is_wiki_paragraph_line(lines[index]):
                paragraph.append(_wiki_inlines(lines[index]))
                index += 1
            blocks.append(Block("paragraph", lines=tuple(paragraph)))
    return render_markdown(blocks)


def _is_wiki_paragraph_line(line: str) -> bool:
    return bool(line.strip()) and not (
        _WIKI_CODE_OPEN.match(line) or _WIKI_BULLET.match(line) or _WIKI_NUMBERED.match(line)
    )
