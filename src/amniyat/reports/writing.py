"""What an analyst writes in a report, in Markdown, read into a small tree of plain values.

The page, the PDF and the DOCX are all drawn from the same tree (:func:`parse`): templates
write its markup with Django's escaping (no HTML built from the text is ever marked safe), and
the DOCX writer turns each node into Word paragraphs, runs and footnotes. The written Markdown
is CommonMark (markdown-it-py, the reference implementation's port) with footnotes
(``[^1]``), and nothing else: HTML in the text stays text, images are not read (a document
never fetches anything remote), and links keep only ``http``, ``https`` and ``mailto``
addresses.

Block nodes (dicts, so they go to templates and JSON as they are)::

    {"type": "heading", "level": 2|3, "inlines": [...]}
    {"type": "paragraph", "inlines": [...]}
    {"type": "list", "ordered": bool, "start": int, "items": [[block, ...], ...]}
    {"type": "quote", "blocks": [...]}
    {"type": "code", "text": str}
    {"type": "rule"}

Inline nodes::

    {"type": "text", "text": str}   {"type": "break"}   {"type": "code", "text": str}
    {"type": "em"|"strong", "inlines": [...]}
    {"type": "link", "href": str, "inlines": [...]}
    {"type": "footnote", "number": int}

:func:`parse` returns the blocks and the footnotes, numbered in the order they are first
referred to, each ``{"number": int, "inlines": [...]}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode
from mdit_py_plugins.footnote import footnote_plugin

Node = dict[str, Any]

# Longest text a section may hold (characters): some twenty pages.
MAX_LENGTH = 60_000
LINK_SCHEMES = frozenset({"http", "https", "mailto"})


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    return (
        MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
        .use(footnote_plugin)
        .disable("image")
    )


@dataclass
class Written:
    blocks: list[Node] = field(default_factory=list)
    footnotes: list[Node] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.blocks


def parse(text: str) -> Written:
    """The tree of ``text`` (Markdown)."""
    root = SyntaxTreeNode(_markdown().parse(text or ""))
    reader = _Reader()
    blocks = reader.blocks(root.children)
    return Written(blocks=blocks, footnotes=reader.footnotes())


def plain(inlines: list[Node]) -> str:
    """The text of inline nodes, without their emphasis, links or footnote marks."""
    parts: list[str] = []
    for node in inlines:
        if node["type"] in ("text", "code"):
            parts.append(node["text"])
        elif node["type"] == "break":
            parts.append("\n")
        elif "inlines" in node:
            parts.append(plain(node["inlines"]))
    return "".join(parts)


class _Reader:
    def __init__(self) -> None:
        # markdown-it's footnote id -> our number, in order of first reference.
        self.numbers: dict[int, int] = {}
        self.notes: dict[int, list[Node]] = {}

    def footnotes(self) -> list[Node]:
        return [
            {"number": number, "inlines": self.notes.get(note_id, [])}
            for note_id, number in sorted(self.numbers.items(), key=lambda item: item[1])
        ]

    def blocks(self, nodes: list[SyntaxTreeNode]) -> list[Node]:
        blocks: list[Node] = []
        for node in nodes:
            block = self.block(node)
            if block is not None:
                blocks.append(block)
        return blocks

    def block(self, node: SyntaxTreeNode) -> Node | None:
        kind = node.type
        if kind == "heading":
            level = 2 if node.tag in ("h1", "h2") else 3
            return {"type": "heading", "level": level, "inlines": self.inline_of(node)}
        if kind == "paragraph":
            return {"type": "paragraph", "inlines": self.inline_of(node)}
        if kind in ("bullet_list", "ordered_list"):
            start = node.attrs.get("start", 1) if kind == "ordered_list" else 1
            return {
                "type": "list",
                "ordered": kind == "ordered_list",
                "start": int(start) if isinstance(start, int | str) else 1,
                "items": [self.blocks(item.children) for item in node.children],
            }
        if kind == "blockquote":
            return {"type": "quote", "blocks": self.blocks(node.children)}
        if kind in ("code_block", "fence"):
            return {"type": "code", "text": node.content.rstrip("\n")}
        if kind == "hr":
            return {"type": "rule"}
        if kind == "footnote_block":
            for note in node.children:
                inlines: list[Node] = []
                for part in self.blocks(note.children):
                    if inlines:
                        inlines.append({"type": "break"})
                    inlines.extend(part.get("inlines", []))
                self.notes[int(note.meta["id"])] = inlines
            return None
        return None  # html_block cannot occur (HTML is off); anything else is dropped

    def inline_of(self, node: SyntaxTreeNode) -> list[Node]:
        return self.inlines(node.children[0].children) if node.children else []

    def inlines(self, nodes: list[SyntaxTreeNode]) -> list[Node]:
        out: list[Node] = []
        for node in nodes:
            kind = node.type
            if kind == "text":
                _text(out, node.content)
            elif kind == "softbreak":
                _text(out, " ")
            elif kind == "hardbreak":
                out.append({"type": "break"})
            elif kind == "code_inline":
                out.append({"type": "code", "text": node.content})
            elif kind in ("em", "strong"):
                out.append({"type": kind, "inlines": self.inlines(node.children)})
            elif kind == "link":
                href = str(node.attrs.get("href", ""))
                children = self.inlines(node.children)
                if urlsplit(href).scheme.lower() in LINK_SCHEMES:
                    out.append({"type": "link", "href": href, "inlines": children})
                else:
                    out.extend(children)
            elif kind == "footnote_ref":
                note_id = int(node.meta["id"])
                number = self.numbers.setdefault(note_id, len(self.numbers) + 1)
                out.append({"type": "footnote", "number": number})
            elif kind == "footnote_anchor":
                continue
            elif node.children:
                out.extend(self.inlines(node.children))
            elif node.content:
                _text(out, node.content)
        return out


def _text(out: list[Node], text: str) -> None:
    """Adds text, joined to the text before it (the tree stays small and easy to draw)."""
    if out and out[-1]["type"] == "text":
        out[-1] = {"type": "text", "text": out[-1]["text"] + text}
    else:
        out.append({"type": "text", "text": text})
