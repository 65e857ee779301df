"""Content people name is read in the reader's language on every page.

Every translatable object of the access matrix's world (programmes, organisations, groups,
sources, maps, factors, priority lists, concerns, and whatever model later inherits
:class:`~amniyat.core.i18n.Translatable`) gets a Tajik translation; then every HTML page the
resolver knows is opened in Tajik by every role, and no text as written may show where a
person reads: text, titles, alternative texts and labels. Form fields that edit the written
text (input values, text areas) are where it belongs, JSON data blocks carry it for scripts,
and an element that names its language (``lang="en"``) says what it shows. Since the list of
pages comes from the resolver and the list of models from the registry, a page or a model
added later is covered without an edit here.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from django.apps import apps
from django.test import Client

from amniyat.core.i18n import Translatable
from tests.test_access_matrix import (
    GET_QUERIES,
    KWARG_REGISTRY,
    ROLES,
    World,
    _fill,
    build_world,
    walk_routes,
)

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
SHOWN_ATTRIBUTES = {"title", "alt", "aria-label", "placeholder"}
# A record of the time keeps what things were called, as written (audit.services).
AS_RECORDED = {"core:audit"}
HIDDEN_ELEMENTS = {"textarea", "script", "style"}
VOID_ELEMENTS = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr",
}  # fmt: skip


def translatable_models() -> list[type[Translatable]]:
    return [model for model in apps.get_models() if issubclass(model, Translatable)]


def translate_everything(language: str) -> dict[str, str]:
    """Give every translatable text a translation into ``language``; what is written ->
    which object it belongs to."""
    written: dict[str, str] = {}
    for model in translatable_models():
        for obj in model.objects.all():
            for field in model.TRANSLATED:
                text = str(getattr(obj, field) or "")
                if not text:
                    continue
                obj.set_translation(field, language, f"тҷ {model.__name__} {obj.pk} {field}")
                if len(text) >= 6:  # short texts ("P1") occur inside other words
                    written[text] = f"{model.__name__} {obj.pk} {field}"
            obj.content_language = "en"
            model.objects.filter(pk=obj.pk).update(
                translations=obj.translations, content_language="en"
            )
    return written


class ShownText(HTMLParser):
    """The text a reader sees or hears: text nodes and the attributes read aloud. Text inside
    an element that declares another language (``lang``: a fallback shown as written, or the
    original beside its translations) says what it is, and is left out."""

    def __init__(self, language: str) -> None:
        super().__init__(convert_charrefs=True)
        self.language = language
        self.parts: list[str] = []
        self.open: list[tuple[str, bool]] = []  # (tag, hidden or in another language)

    def _hidden(self) -> bool:
        return any(flag for _tag, flag in self.open)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        flag = tag in HIDDEN_ELEMENTS or (
            bool(values.get("lang")) and values.get("lang") != self.language
        )
        if not self._hidden() and not flag:
            self.parts.extend(value for name, value in attrs if name in SHOWN_ATTRIBUTES and value)
        if tag not in VOID_ELEMENTS:
            self.open.append((tag, flag))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.open) - 1, -1, -1):
            if self.open[index][0] == tag:
                del self.open[index:]
                return

    def handle_data(self, data: str) -> None:
        if not self._hidden():
            self.parts.append(data)


def shown_text(html: str, language: str) -> str:
    parser = ShownText(language)
    parser.feed(html)
    return "\n".join(parser.parts)


@pytest.fixture
def world(db: None, settings: Any, tmp_path: Any) -> World:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return build_world()


def test_every_model_people_name_is_translatable() -> None:
    """The content the issue names, and the mechanism's reach: a new app's named content
    inherits Translatable."""
    names = {model.__name__ for model in translatable_models()}
    assert {
        "Programme",
        "Organisation",
        "CommunityGroup",
        "Source",
        "DriverMap",
        "Factor",
        "PriorityList",
        "Priority",
    } <= names


def test_every_page_shows_content_in_the_readers_language(world: World) -> None:
    written = translate_everything("tg")
    assert written
    routes = [
        route
        for route in walk_routes()
        if not route.name.startswith("api:") and route.name not in AS_RECORDED
    ]
    leaks: dict[str, set[str]] = {}
    pages = 0
    for role in ROLES:
        client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="tg")
        client.force_login(world.users[role])
        client.post("/i18n/", {"language": "tg"})
        objects = world.own[role]
        for route in routes:
            if set(route.kwargs) - {"format"} - set(KWARG_REGISTRY.get(route.name, {})):
                continue
            url = route.url(_fill(route, KWARG_REGISTRY, objects)) + GET_QUERIES.get(route.name, "")
            response = client.get(url, HTTP_ACCEPT=BROWSER_ACCEPT)
            if (
                response.status_code != 200
                or not response.get("Content-Type", "").startswith("text/html")
                or response.streaming
            ):
                continue
            pages += 1
            text = shown_text(response.content.decode(), "tg")
            for source, owner in written.items():
                if source in text:
                    leaks.setdefault(f"{route.name} ({role})", set()).add(f"{source!r} [{owner}]")
    assert pages > 50
    assert not leaks, "\n".join(
        f"{page}: {', '.join(sorted(found))}" for page, found in sorted(leaks.items())
    )
