"""The words of ``amniyat analyze`` in the interface's languages, with or without Django.

Inside the web application (a view, ``call_command``, the tests) Django is set up and its active
language rules: `gettext` and `override` hand over to ``django.utils.translation``.

The bare ``amniyat analyze`` process does not set Django up. Django's translation needs
configured settings *and* a ready app registry (it merges every installed app's catalogue and
refuses to translate before the registry is populated), so even ``settings.configure()`` with
only what gettext reads would still import and populate the registry, and it could not be
undone when ``--assessment`` later needs the real settings. The process reads instead the
project's own compiled catalogues (``amniyat/locale/<language>/LC_MESSAGES/django.mo``, the
``LOCALE_PATHS`` Django reads) with Python's `gettext` module, which Django's translation is
built on. The analysis's messages are the project's own, so each comes out the same either way
(a test compares the two for every message of this package in every language); Django would
also look in its own and the installed apps' catalogues, which only matters for their messages.
As in Django with no language activated, the language is ``settings.LANGUAGE_CODE`` (English)
until `override` changes it; the environment (``LANGUAGE``, ``LANG``) chooses nothing, as it
chooses nothing in Django.
"""

from __future__ import annotations

import gettext as python_gettext
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Final

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "LOCALE_DIR", "gettext", "override"]

LANGUAGES: Final[tuple[str, ...]] = ("en", "ru", "tg", "uz")
"""The interface's languages (``settings.LANGUAGES``), English first."""

DEFAULT_LANGUAGE: Final = "en"
"""The language when none is active (``settings.LANGUAGE_CODE``)."""

LOCALE_DIR: Final = Path(__file__).resolve().parent.parent / "locale"

_active: ContextVar[str] = ContextVar("amniyat_analysis_language", default=DEFAULT_LANGUAGE)


def gettext(message: str) -> str:
    """``message`` in the active language."""
    if _django_ready():
        from django.utils.translation import gettext as django_gettext

        return django_gettext(message)
    return _catalogue(_active.get()).gettext(message)


@contextmanager
def override(language: str) -> Iterator[None]:
    """Make ``language`` the active language inside the ``with`` block."""
    if _django_ready():
        from django.utils import translation

        with translation.override(language):
            yield
        return
    token = _active.set(language)
    try:
        yield
    finally:
        _active.reset(token)


def _django_ready() -> bool:
    """Whether this process has set Django up; its app registry is imported only by then."""
    registry = sys.modules.get("django.apps")
    return registry is not None and bool(registry.apps.ready)


@cache
def _catalogue(language: str) -> python_gettext.NullTranslations:
    path = LOCALE_DIR / language / "LC_MESSAGES" / "django.mo"
    if not path.is_file():
        # English, the language the messages are written in, has no catalogue of its own.
        return python_gettext.NullTranslations()
    with path.open("rb") as file:
        return python_gettext.GNUTranslations(file)
