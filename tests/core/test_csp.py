"""The Content-Security-Policy: scripts only from this server's files, no inline script, no
eval; and no template that would need either."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

from tests.factories import UserFactory

SRC = Path(__file__).resolve().parents[2] / "src"


def _policy(header: str) -> dict[str, list[str]]:
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in directives}


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/api-reference/", "/no-such-page/"])
def test_every_page_forbids_inline_script_and_eval(path: str) -> None:
    client = Client()
    client.force_login(UserFactory())
    response = client.get(path)
    policy = _policy(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    for values in policy.values():
        assert "'unsafe-eval'" not in values
    assert "'unsafe-inline'" not in policy["script-src"] + policy["default-src"]


def _templates() -> list[Path]:
    return sorted(p for p in SRC.rglob("templates/**/*.html") if p.is_file())


INLINE = {
    "inline <script>": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "on…= handler": re.compile(r"<[^>]*\son[a-z]+\s*=", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


def test_no_template_holds_script_the_policy_would_block() -> None:
    """Behaviour lives in static files (amniyat/app.js: data-submit-on-change,
    data-confirm); data goes in through json_script, which the template does not spell."""
    found = [
        f"{path.relative_to(SRC)}: {what}"
        for path in _templates()
        for what, pattern in INLINE.items()
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert _templates() and not found


@pytest.mark.django_db
def test_the_api_reference_runs_no_script_of_its_own() -> None:
    """The reference is drawn on the server from the schema (api/reference.py): the page's
    only scripts are the files every page loads."""
    client = Client()
    client.force_login(UserFactory())
    page = client.get("/api-reference/").content.decode()
    scripts = re.findall(r"<script[^>]*>", page)
    assert scripts and all("src=" in tag for tag in scripts)
    assert not [tag for tag in scripts if "swagger" in tag.lower()]
