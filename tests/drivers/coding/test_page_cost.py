"""What the evidence pages cost the server: the same number of queries for a few sources and
excerpts as for many (no query per source, excerpt or coder), each source's text decrypted
once whatever the number of its excerpts, and no excerpt's memo decrypted where the page
does not show it. Twenty readers at once share two web workers, so a page must take a few
tens of milliseconds (#14 point 3)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from amniyat.audit.models import AuditEvent
from amniyat.core import fields
from amniyat.drivers.coding import links, services, views
from amniyat.drivers.models import Excerpt, Source
from tests.drivers.coding.test_sources import client_for, make_code, make_source, scene, url
from tests.queries import queries_of

__all__ = ["scene"]

MEMO = "Said by the youngest participant"


def coded_sources(scene: dict[str, Any], sources: int, excerpts: int) -> list[Source]:
    """``sources`` notes, each coded ``excerpts`` times with codes under "unemployment" by
    the lead and the analyst in turn, each excerpt with a memo."""
    made = [make_source(scene, title=f"Notes {n}") for n in range(sources)]
    codes = [scene["unemployment"], scene["migration"]]
    coders = [scene["lead"], scene["analyst"]]
    for source in made:
        for n in range(excerpts):
            Excerpt.objects.create(
                source=source,
                code=codes[n % 2],
                coder=coders[n % 2],
                start=n,
                end=n + 8,
                memo=MEMO,
            )
    return made


def page_cost(client: Client, page: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """Queries of the page, and decryptions."""
    assert client.get(page).status_code == 200  # what is read once per process is read
    decrypted: list[str] = []
    decrypt = fields.decrypt_text

    def counted(value: str) -> str:
        decrypted.append(value)
        return decrypt(value)

    with monkeypatch.context() as patch:
        patch.setattr(fields, "decrypt_text", counted)
        queries = queries_of(client, page, warm=False)
    return len(queries), len(decrypted)


def test_a_codes_excerpts_cost_the_same_for_12_sources_as_for_2(
    scene: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page of a code's excerpts, its sources read once each and shared by their
    excerpts; the count says how many there are in all."""
    monkeypatch.setattr(views, "QUOTES_PER_PAGE", 60)
    client = client_for(scene["lead"])
    page = url("code_excerpts", scene, scene["unemployment"].pk)
    coded_sources(scene, 2, 2)
    few = page_cost(client, page, monkeypatch)
    last = coded_sources(scene, 10, 5)[-1]
    many = page_cost(client, page, monkeypatch)
    assert few[0] == many[0] <= 14
    # One decryption per source: the memos are not on this page.
    assert (few[1], many[1]) == (2, 12)
    response = client.get(page).content.decode()
    assert response.count('class="excerpt card"') == 54
    assert response.count('href="{}"'.format(url("source_detail", scene, last.pk))) == 5
    assert MEMO not in response


def shown_excerpts(response: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'class="excerpt card" data-excerpt="(\d+)"', response)]


def test_a_page_of_a_codes_excerpts_decrypts_and_audits_only_what_it_shows(
    scene: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fifty-four excerpts in twelve sources, six a page: a page decrypts the sources of
    its six quotes and no other, says how many there are in all, links to the next page, and
    the audit of the read names exactly the excerpts and sources shown."""
    monkeypatch.setattr(views, "QUOTES_PER_PAGE", 6)
    client = client_for(scene["lead"])
    page = url("code_excerpts", scene, scene["unemployment"].pk)
    coded_sources(scene, 2, 2)
    few = page_cost(client, page, monkeypatch)
    coded_sources(scene, 10, 5)
    seen: list[int] = []
    for number in range(1, 10):
        address = f"{page}?page={number}"
        queries, decrypted = page_cost(client, address, monkeypatch)
        response = client.get(address).content.decode()
        shown = shown_excerpts(response)
        sources = set(re.findall(r'data-source="(\d+)"', response))
        assert len(shown) == 6
        assert queries == few[0] and decrypted == len(sources) <= 3
        assert "54 excerpts" in response
        audit = AuditEvent.objects.filter(verb=services.VIEW_TEXT).latest("pk")
        assert audit.details["excerpts"] == shown
        assert audit.details["sources"] == sorted(int(pk) for pk in sources)
        assert ('rel="next"' in response) == (number < 9)
        seen += shown
    assert sorted(seen) == sorted(
        Excerpt.objects.filter(code__in=[scene["unemployment"], scene["migration"]]).values_list(
            "pk", flat=True
        )
    )
    # Filtered by who took part, the count and the pages are those of the filtered quotes.
    filtered = client.get(page, {"sex": "men"}).content.decode()
    assert "0 excerpts" in filtered and not shown_excerpts(filtered)


def test_a_deeper_codebook_costs_the_codes_excerpts_no_more_queries(
    scene: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The codes under a code are found in one reading of the codebook, however deep."""
    client = client_for(scene["lead"])
    page = url("code_excerpts", scene, scene["unemployment"].pk)
    coded_sources(scene, 1, 2)
    shallow = page_cost(client, page, monkeypatch)[0]
    parent = scene["migration"]
    for depth in range(4):
        parent = make_code(scene["programme"], f"below-{depth}", parent=parent)
    assert page_cost(client, page, monkeypatch)[0] == shallow


def test_the_coding_page_decrypts_the_text_once_and_only_the_shown_memos(
    scene: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The margin shows the viewed coder's excerpts with their memos; the other coder's are
    read for the coder switch and the review list, without their memos."""
    (source,) = coded_sources(scene, 1, 6)
    client = client_for(scene["lead"])
    page = url("source_detail", scene, source.pk)
    queries, decrypted = page_cost(client, page, monkeypatch)
    assert decrypted == 1 + 3  # the text, and the lead's three memos
    assert queries <= 18
    response = client.get(page).content.decode()
    assert response.count(MEMO) == 3
    assert 'value="{}"'.format(scene["analyst"].pk) in response  # the coder switch


def test_the_list_of_sources_costs_the_same_for_12_as_for_2(
    scene: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each source with how many excerpts and open flags it has, counted in the one query
    that lists them, and no text decrypted."""
    client = client_for(scene["lead"])
    page = url("source_list", scene)
    coded_sources(scene, 2, 3)
    few = page_cost(client, page, monkeypatch)
    coded_sources(scene, 10, 4)
    many = page_cost(client, page, monkeypatch)
    assert few == many and few[0] <= 12 and few[1] == 0
    counts = re.findall(
        r'<span class="coded-count">(\d+)</span>', client.get(page).content.decode()
    )
    assert counts == ["3", "3"] + ["4"] * 10


def test_the_agreement_pages_cost_the_same_for_8_shared_notes_as_for_2(
    scene: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The notes both coded are read once (for the choice and the report alike), their
    passages and excerpts as rows; the disagreements decrypt only the notes they quote."""
    client = client_for(scene["lead"])
    pair = {"a": scene["lead"].pk, "b": scene["analyst"].pk}
    pages = [
        url("agreement", scene) + "?a={a}&b={b}".format(**pair),
        url("agreement_code", scene, scene["unemployment"].pk) + "?a={a}&b={b}".format(**pair),
    ]
    coded_sources(scene, 2, 4)
    few = [page_cost(client, page, monkeypatch) for page in pages]
    coded_sources(scene, 6, 4)
    many = [page_cost(client, page, monkeypatch) for page in pages]
    assert [cost[0] for cost in few] == [cost[0] for cost in many]
    assert few[0][0] <= 10 and few[1][0] <= 13
    assert few[0][1] == many[0][1] == 0  # kappa needs no text
    assert many[1][1] <= 8


@pytest.mark.parametrize("slug", ["tj", "p-2147480001", "2147480001-2147480001"])
def test_addresses_made_once_per_route_are_those_django_reverses(slug: str) -> None:
    """The coding page's many links are made from one reversal of each route; an address
    whose slug holds the marker is reversed on its own."""
    for name in ("drivers:code_excerpts", "drivers:excerpt_delete", "drivers:redaction_decide"):
        address = links.per_object(name, slug=slug)
        for pk in (1, 7, 2147480001, 123456789):
            assert address(pk) == reverse(name, kwargs={"slug": slug, "pk": pk})
