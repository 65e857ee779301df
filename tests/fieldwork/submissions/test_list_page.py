"""The submissions table at scale: beyond a few thousand rows it says "about" and does not
count them again on every page; its cost does not grow with its rows; and it never decrypts
what it masks."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from amniyat.accounts import policies
from amniyat.accounts.models import Membership
from amniyat.core import fields
from amniyat.fieldwork.models import Form, Submission
from amniyat.fieldwork.submissions import exporters, selectors
from tests.factories import ProgrammeFactory, member_of, shipped_place
from tests.fieldwork.imports.test_importers import SCHEMA, make_form
from tests.fieldwork.submissions.test_export import TRICKY, imported

Role = Membership.Role


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def scene(db: None, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A form with three submissions in Vakhsh (a protected name among their answers, and an
    enumerator); a lead, and a facilitator of Vakhsh who may not see personal answers."""
    cache.clear()  # counts kept by an earlier test
    programme = ProgrammeFactory(slug="tj")
    form = make_form(programme, schema=SCHEMA)
    imported(form, TRICKY.encode(), "tricky.csv")
    vakhsh = shipped_place("TJ-KT-VAK")
    Submission.objects.update(place=vakhsh, enumerator="Rustam Nazarov")
    for rule in ("facilitator_area", "facilitator_place_ids"):
        monkeypatch.setattr(policies, rule, lambda membership: {vakhsh.pk})
    return {
        "form": form,
        "lead": member_of(programme, Role.LEAD),
        "facilitator": member_of(programme, Role.FACILITATOR),
    }


def client_of(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def table_url(form: Form) -> str:
    return reverse("fieldwork:submission_list", args=["tj", form.pk])


def grow(form: Form, count: int) -> None:
    template = Submission.objects.filter(form=form).order_by("pk").first()
    assert template is not None
    start = Submission.objects.count()
    for number in range(start, start + count):
        template.pk = None
        template.instance_id = f"uuid:copy-{number}"
        template.save()


def test_a_small_table_is_counted_exactly(scene: dict[str, Any]) -> None:
    content = client_of(scene["lead"]).get(table_url(scene["form"])).content.decode()
    assert "3 submissions" in content
    assert "about" not in content


def test_a_large_table_says_about_and_is_not_counted_on_every_page(
    scene: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(selectors, "EXACT_COUNT_UP_TO", 10)
    monkeypatch.setattr("amniyat.fieldwork.submissions.views.PAGE_SIZE", 5)
    grow(scene["form"], 120)  # 123
    client = client_of(scene["lead"])
    content = client.get(table_url(scene["form"])).content.decode()
    assert "about 120 submissions" in content
    assert "page 1 of about 25" in content
    with CaptureQueriesContext(connection) as queries:
        content = client.get(table_url(scene["form"]) + "?page=2").content.decode()
    assert "about 120 submissions" in content and "page 2 of about 25" in content
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"]]
    assert counts == []  # known to be long: not counted again, not even up to the bound
    # Narrowed by a filter: counted (and kept) on its own.
    vakhsh = shipped_place("TJ-KT-VAK").pk
    content = client.get(table_url(scene["form"]) + f"?place={vakhsh}").content.decode()
    assert "about 120 submissions" in content


def test_a_count_kept_by_one_server_process_serves_the_others(
    scene: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each worker counting a million rows for itself paid half a second each on PostgreSQL:
    # the kept count is in the cache all the machine's processes share.
    monkeypatch.setattr(selectors, "EXACT_COUNT_UP_TO", 10)
    grow(scene["form"], 120)  # 123
    client_of(scene["lead"]).get(table_url(scene["form"]))
    visible = selectors.submissions_visible(user=scene["lead"], form=scene["form"])
    key = selectors.kept_key(visible.order_by(), "count")
    another_process = subprocess.run(  # noqa: S603 (this interpreter, a fixed script)
        [
            sys.executable,
            "-c",
            "import sys, django; django.setup(); from django.core.cache import cache; "
            "print(cache.get(sys.argv[1])[0])",
            key,
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "amniyat.settings"},
    )
    assert another_process.stdout.strip() == "123"


def test_an_old_count_is_made_again_by_one_request_while_the_others_show_it(
    scene: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(selectors, "EXACT_COUNT_UP_TO", 10)
    grow(scene["form"], 120)  # 123
    client = client_of(scene["lead"])
    assert "about 120 submissions" in client.get(table_url(scene["form"])).content.decode()
    visible = selectors.submissions_visible(user=scene["lead"], form=scene["form"])
    key = selectors.kept_key(visible.order_by(), "count")
    grow(scene["form"], 60)  # 183
    # Older than COUNT_KEPT_SECONDS while another request is counting: the kept number.
    cache.set(key, (123, cache.get(key)[1] - selectors.COUNT_KEPT_SECONDS - 1))
    cache.add(f"{key}:counting", 1)
    with CaptureQueriesContext(connection) as queries:
        content = client.get(table_url(scene["form"])).content.decode()
    assert "about 120 submissions" in content
    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"]]
    # Nobody counting: this request counts again, once, and keeps it.
    cache.delete(f"{key}:counting")
    with CaptureQueriesContext(connection) as queries:
        content = client.get(table_url(scene["form"])).content.decode()
    assert "about 180 submissions" in content
    assert len([q for q in queries.captured_queries if "COUNT(" in q["sql"]]) == 1
    assert cache.get(key)[0] == 183 and cache.get(f"{key}:counting") is None


@pytest.mark.parametrize("exact_up_to", [10_000, 10])
def test_the_table_costs_the_same_whatever_its_length(
    scene: dict[str, Any], monkeypatch: pytest.MonkeyPatch, exact_up_to: int
) -> None:
    monkeypatch.setattr(selectors, "EXACT_COUNT_UP_TO", exact_up_to)
    grow(scene["form"], 20)

    def counts() -> dict[str, int]:
        found = {}
        for who in ("lead", "facilitator"):
            client = client_of(scene[who])
            client.get(table_url(scene["form"]))  # the kept count, when kept
            with CaptureQueriesContext(connection) as queries:
                assert client.get(table_url(scene["form"])).status_code == 200
            found[who] = len(queries.captured_queries)
        return found

    few = counts()
    grow(scene["form"], 40)
    assert counts() == few
    assert max(few.values()) <= 13, few


def test_the_table_never_decrypts_what_it_masks(
    scene: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    decrypted: list[str] = []
    real = fields.decrypt_text

    def recording(token: str) -> str:
        decrypted.append(real(token))
        return decrypted[-1]

    monkeypatch.setattr(fields, "decrypt_text", recording)
    content = client_of(scene["facilitator"]).get(table_url(scene["form"])).content.decode()
    assert exporters.MASK in content
    assert "Дилноза" not in content and "Rustam" not in content
    assert decrypted == []
    content = client_of(scene["lead"]).get(table_url(scene["form"])).content.decode()
    assert "Дилноза" in content and "Rustam Nazarov" in content


def _walk(client: Client, url: str, link: str) -> tuple[list[int], list[str]]:
    """Every row the pages show, following the ``link`` ("older" or "newer") links from
    ``url``, and the page numbers they say."""
    shown: list[int] = []
    numbers: list[str] = []
    while url:
        response = client.get(url)
        assert response.status_code == 200
        page = response.context["page"]
        shown += [submission.pk for submission in page.object_list]
        numbers.append(str(page.number))
        found = re.search(rf'href="\?([^"]*{link}=[^"]*)"', response.content.decode())
        url = f"{url.split('?')[0]}?{html.unescape(found.group(1))}" if found else ""
    return shown, numbers


def test_older_and_newer_links_read_on_from_the_row_they_stand_on(scene: dict[str, Any]) -> None:
    """120 more rows, most sharing one submission time: the links walk every row once, in
    the table's order, and back; a page reached by a link costs what the first does."""
    form = scene["form"]
    grow(form, 120)
    client = client_of(scene["lead"])
    expected = list(
        Submission.objects.filter(form=form)
        .order_by("-submitted_at", "-id")
        .values_list("pk", flat=True)
    )
    shown, numbers = _walk(client, table_url(form), "older")
    assert shown == expected
    assert numbers == ["1", "2", "3"]
    last = client.get(table_url(form), {"page": 3})  # a page number alone: counted from the start
    last_pks = [submission.pk for submission in last.context["page"].object_list]
    assert last_pks == expected[100:]
    back, numbers = _walk(client, table_url(form) + "?page=3&" + _older_link(client, form), "newer")
    assert back[:23] == expected[100:] and sorted(back) == sorted(expected)
    assert numbers == ["3", "2", "1"]

    def queries(url: str) -> int:
        client.get(url)  # warm: the count is kept
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        return len(captured)

    second = table_url(form) + "?page=2&" + _older_link(client, form, pages=1)
    assert queries(second) == queries(table_url(form))


def _older_link(client: Client, form: Form, pages: int = 2) -> str:
    """The query of the "older" link after ``pages`` pages."""
    url = table_url(form)
    for _ in range(pages):
        found = re.search(r'href="\?([^"]*older=[^"]*)"', client.get(url).content.decode())
        assert found is not None
        query = html.unescape(found.group(1))
        url = f"{table_url(form)}?{query}"
    return "&".join(part for part in query.split("&") if part.startswith("older="))


def test_a_position_that_is_not_one_shows_the_first_page(scene: dict[str, Any]) -> None:
    client = client_of(scene["lead"])
    for bad in ("older=%%%", "newer=WyJ4Il0", "older=WzEsMiwzXQ", "older=bnVsbA", "newer="):
        response = client.get(f"{table_url(scene['form'])}?{bad}")
        assert response.status_code == 200
        assert response.context["page"].number == 1


def test_imported_times_are_stored_as_django_writes_them(scene: dict[str, Any]) -> None:
    """On SQLite times are text, compared and sorted as text: an import writes them as the
    ORM does (no six zero decimals), or a row sorts apart from others of its second."""
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL stores timestamps, not text")
    with connection.cursor() as cursor:
        cursor.execute("SELECT submitted_at, received_at FROM fieldwork_submission")
        stored = cursor.fetchall()
    assert stored and all(not str(value).endswith(".000000") for row in stored for value in row)
    submission = Submission.objects.filter(form=scene["form"]).first()
    assert submission is not None
    assert Submission.objects.filter(submitted_at=submission.submitted_at).exists()
