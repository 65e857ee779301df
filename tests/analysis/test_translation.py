"""`amniyat.analysis.translation`: the same words with Django and without it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from babel.messages.extract import extract_from_file
from django.conf import settings
from django.utils import translation as django_translation

import amniyat.analysis
from amniyat.analysis import translation
from amniyat.analysis.translation import DEFAULT_LANGUAGE, LANGUAGES, LOCALE_DIR


def test_the_languages_are_the_interfaces() -> None:
    assert DEFAULT_LANGUAGE == settings.LANGUAGE_CODE
    assert tuple(code for code, _ in settings.LANGUAGES) == LANGUAGES
    assert LOCALE_DIR.resolve() in [Path(path).resolve() for path in settings.LOCALE_PATHS]


def _messages() -> list[str]:
    """Every message the analysis package marks for translation."""
    keywords = dict.fromkeys(("_", "gettext", "gettext_lazy", "gettext_noop"))
    found = set()
    for path in Path(amniyat.analysis.__file__).parent.rglob("*.py"):
        for _, message, _, _ in extract_from_file("python", str(path), keywords=keywords):
            found.add(message if isinstance(message, str) else message[0])
    return sorted(found)


def test_every_message_reads_the_same_with_or_without_django(tmp_path: Path) -> None:
    """Every message of the analysis, in every language, as a process without Django reads it
    and as Django translates it."""
    messages = _messages()
    assert len(messages) > 100 and "--format xlsx needs --output FILE.xlsx" in messages
    source, target = tmp_path / "messages.json", tmp_path / "read.json"
    source.write_text(json.dumps(messages))
    code = textwrap.dedent(
        f"""
        import json, sys
        from amniyat.analysis.translation import LANGUAGES, gettext, override

        messages = json.load(open({str(source)!r}))
        read = {{}}
        for language in LANGUAGES:
            with override(language):
                read[language] = [gettext(message) for message in messages]
        read["django"] = "django" in sys.modules
        json.dump(read, open({str(target)!r}, "w"))
        """
    )
    environment = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    subprocess.run([sys.executable, "-c", code], check=True, env=environment, timeout=120)  # noqa: S603
    read = json.loads(target.read_text())
    assert read.pop("django") is False
    for language in LANGUAGES:
        with django_translation.override(language):
            expected = [django_translation.gettext(message) for message in messages]
        assert read[language] == expected, language
    assert read["ru"] != read["en"] and read["tg"] != read["uz"]


def test_inside_django_the_active_language_rules() -> None:
    message = "--format xlsx needs --output FILE.xlsx"
    with django_translation.override("tg"):
        assert translation.gettext(message) == django_translation.gettext(message)
        assert translation.gettext(message) != message
    with translation.override("uz"):
        assert django_translation.get_language() == "uz"
        assert translation.gettext(message) == django_translation.gettext(message)
    assert django_translation.get_language() == "en"
