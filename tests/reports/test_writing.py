"""What an analyst writes is read into a tree of plain values: Markdown's headings, lists,
emphasis, links and footnotes, and nothing that runs, fetches or injects markup."""

from __future__ import annotations

from amniyat.reports.writing import parse, plain


def test_headings_lists_emphasis_and_footnotes() -> None:
    written = parse(
        "# Big\n\n### Small\n\nWomen *avoid* **the market**.[^a] See [the survey](https://example.org).\n\n"
        "1. Lighting\n   - streets\n2. Patrols\n\n> A quote\n\n[^a]: After dark.\n"
    )
    kinds = [block["type"] for block in written.blocks]
    assert kinds == ["heading", "heading", "paragraph", "list", "quote"]
    assert [b["level"] for b in written.blocks[:2]] == [2, 3]
    paragraph = written.blocks[2]["inlines"]
    assert {"type": "footnote", "number": 1} in paragraph
    assert {
        "type": "link",
        "href": "https://example.org",
        "inlines": [{"type": "text", "text": "the survey"}],
    } in paragraph
    assert plain(paragraph) == "Women avoid the market. See the survey."
    ordered = written.blocks[3]
    assert ordered["ordered"] and len(ordered["items"]) == 2
    assert ordered["items"][0][1]["type"] == "list"
    assert written.footnotes == [
        {"number": 1, "inlines": [{"type": "text", "text": "After dark."}]}
    ]


def test_footnotes_are_numbered_in_the_order_they_are_referred_to() -> None:
    written = parse("One.[^z] Two.[^a]\n\n[^a]: First defined.\n[^z]: Second defined.\n")
    assert [plain(n["inlines"]) for n in written.footnotes] == ["Second defined.", "First defined."]


def test_markup_scripts_images_and_unsafe_links_stay_text() -> None:
    written = parse(
        '<script>alert(1)</script>\n\n<img src=x onerror="alert(1)"> '
        "[click](javascript:alert(1)) [file](file:///etc/passwd) ![logo](https://tracker.example/x.png)"
    )
    nodes = [n for block in written.blocks for n in block.get("inlines", [])]
    assert all(n["type"] in ("text", "link") for n in nodes)
    links = [n["href"] for n in nodes if n["type"] == "link"]
    # The image is not read: it stays a plain link the reader may follow, never fetched.
    assert links == ["https://tracker.example/x.png"]
    text = "".join(plain([n]) for n in nodes)
    assert "<script>alert(1)</script>" not in "".join(b.get("type", "") for b in written.blocks)
    assert "javascript:alert(1)" in text  # kept as the characters written, not as a link


def test_empty_text_is_empty() -> None:
    assert parse("").is_empty and parse("   \n").is_empty
