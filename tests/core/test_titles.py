"""A page's title is text: markup in ``{% block title %}`` is shown raw in the browser's tab
and history (a form left there once carried its CSRF token into the window title)."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
TITLE = re.compile(r"{%\s*block title\s*%}(.*?){%\s*endblock", re.S)


def titles_with_markup(text: str) -> list[str]:
    return [title for title in TITLE.findall(text) if "<" in title or "{% include" in title]


def test_no_template_puts_markup_in_the_page_title() -> None:
    templates = sorted(p for p in SRC.rglob("templates/**/*.html") if p.is_file())
    found = {
        str(path.relative_to(SRC)): titles
        for path in templates
        if (titles := titles_with_markup(path.read_text(encoding="utf-8")))
    }
    assert templates and not found, found


def test_a_section_left_in_the_title_block_is_found() -> None:
    text = '{% block title %}Updates\n<section id="dispute">{% include "f.html" %}</section>'
    assert titles_with_markup(text + "{% endblock %}")
    assert not titles_with_markup("{% block title %}{% translate 'Plans' %}{% endblock %}")
