"""A driver map section shows a published map of the programme drawn from the same graph as
the map's page, with its root causes, leverage points and loops each in the sentence the map's
analysis writes; a map of another programme or one not published is refused with a clear
message; a change to the map makes the section stale; the page, the DOCX and the PDF draw it."""

from __future__ import annotations

import html
import io
import subprocess
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from amniyat.accounts.models import Membership, User
from amniyat.drivers.maps import network
from amniyat.drivers.maps import services as maps
from amniyat.drivers.models import DriverMap
from amniyat.reports import document, pdf, sections, selectors, services, word
from amniyat.reports.models import Report, Section
from tests.drivers.maps.test_network import VAKHSH, VAKHSH_LINKS
from tests.factories import ProgrammeFactory, member_of

Role = Membership.Role


def _map(lead: User, title: str = "Vakhsh: everyone's view", publish: bool = True) -> DriverMap:
    programme = lead.memberships.get().programme  # type: ignore[attr-defined]
    driver_map = maps.map_create(acting_user=lead, programme=programme, title=title)
    made = {
        label: maps.factor_add(acting_user=lead, driver_map=driver_map, label=label, kind=kind)
        for label, kind in VAKHSH.items()
    }
    for source, target, kind, strength in VAKHSH_LINKS:
        maps.link_add(
            acting_user=lead,
            driver_map=driver_map,
            source=made[source],
            target=made[target],
            kind=kind,
            strength=strength,
        )
    if publish:
        maps.map_publish(acting_user=lead, driver_map=driver_map)
    driver_map.refresh_from_db()
    return driver_map


@pytest.fixture
def lead(db: None) -> User:
    return member_of(ProgrammeFactory(), Role.LEAD)


def _section(lead: User, language: str = "en") -> Section:
    programme = lead.memberships.get().programme  # type: ignore[attr-defined]
    report = services.report_create(
        user=lead, programme=programme, kind=Report.Kind.BRIEFING, language=language, title="B"
    )
    return selectors.sections_of(report).get(kind=Section.Kind.DRIVER_MAP)


def test_a_published_map_with_what_its_shape_says(lead: User) -> None:
    driver_map = _map(lead)
    section = _section(lead)
    services.section_set_options(user=lead, section=section, options={"map": driver_map.pk})
    section.refresh_from_db()
    built = section.built
    analysis = network.analyse_map(driver_map)
    assert [f["sentence"] for f in built["root_causes"]] == [
        f.explanation for f in analysis.root_causes
    ]
    assert [f["sentence"] for f in built["leverage_points"]] == [
        f.explanation for f in analysis.leverage_points
    ]
    assert [f["sentence"] for f in built["loops"]] == [f.explanation for f in analysis.loops]
    assert built["loops"], "the Vakhsh map has a loop"
    assert {f["label"] for f in built["drawing"]["factors"]} == set(VAKHSH)
    assert len(built["drawing"]["links"]) == len(VAKHSH_LINKS)
    assert section.built_from == {
        "map": driver_map.pk,
        "updated_at": driver_map.updated_at.isoformat(),
        "published_at": driver_map.published_at.isoformat(),
    }
    # The page draws it (labels escaped), and says where it comes from.
    client = Client()
    client.force_login(lead)
    page = client.get(
        reverse("reports:detail", args=[driver_map.programme.slug, section.report_id])
    ).content.decode()
    assert "<svg" in page and "Idle youth" in page
    assert reverse("drivers:map_detail", args=[driver_map.programme.slug, driver_map.pk]) in page
    # The DOCX and the PDF draw it as a picture and write its sentences.
    drawn = document.drawn(section.report)
    out = io.BytesIO()
    word.write(drawn, out)
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as package:
        assert any(name.startswith("word/media/") for name in package.namelist())
        body = package.read("word/document.xml").decode()
    assert built["root_causes"][0]["sentence"].split("“")[0].strip() in body
    out = io.BytesIO()
    pdf.write(document.drawn(section.report), out)
    text = subprocess.run(
        ["/usr/bin/pdftotext", "-", "-"], input=out.getvalue(), capture_output=True, check=True
    ).stdout.decode()
    assert "Likely root causes" in text and driver_map.title in text


def test_without_a_choice_the_first_published_map_or_none_yet(lead: User) -> None:
    section = _section(lead)
    services.section_build(user=lead, section=section)
    section.refresh_from_db()
    assert section.built["none"] == "No driver map of this programme is published yet."
    assert not sections.is_stale(section)
    driver_map = _map(lead)
    assert sections.is_stale(section)  # a map was published since
    services.section_build(user=lead, section=section)
    section.refresh_from_db()
    assert section.built["map"] == driver_map.pk
    assert not sections.is_stale(section)


def test_a_map_of_another_programme_or_unpublished_is_refused(lead: User) -> None:
    other_lead = member_of(ProgrammeFactory(), Role.LEAD)
    elsewhere = _map(other_lead, title="Elsewhere")
    draft = _map(lead, title="Draft", publish=False)
    section = _section(lead)
    for driver_map in (elsewhere, draft):
        with pytest.raises(ValidationError) as refused:
            services.section_set_options(user=lead, section=section, options={"map": driver_map.pk})
        assert refused.value.message_dict == {
            "map": ["Choose a published driver map of this programme."]
        }
        section.refresh_from_db()
        assert section.built_at is None and section.options == {}
    # Through the page: the form says so, in the reader's language, and nothing changes.
    client = Client()
    client.force_login(lead)
    edit = reverse(
        "reports:section_edit",
        args=[lead.memberships.get().programme.slug, section.report_id, section.pk],  # type: ignore[attr-defined]
    )
    response = client.post(
        edit, {"map": elsewhere.pk, "heading": "", "text": ""}, HTTP_ACCEPT_LANGUAGE="ru"
    )
    assert response.status_code == 200
    with translation.override("ru"):
        refusal = gettext("Choose a published driver map of this programme.")
    assert refusal in html.unescape(response.content.decode())
    section.refresh_from_db()
    assert section.built_at is None


def test_a_change_to_the_map_makes_the_section_stale(lead: User) -> None:
    driver_map = _map(lead)
    section = _section(lead)
    services.section_set_options(user=lead, section=section, options={"map": driver_map.pk})
    section.refresh_from_db()
    assert not sections.is_stale(section)
    factor = driver_map.factors.get(label="Theft")
    maps.factor_update(acting_user=lead, factor=factor, label="Theft and robbery")
    assert sections.is_stale(section)
    services.section_build(user=lead, section=section)
    section.refresh_from_db()
    assert not sections.is_stale(section)
    maps.map_unpublish(acting_user=lead, driver_map=driver_map)
    assert sections.is_stale(section)
    with pytest.raises(ValidationError):
        services.section_build(user=lead, section=section)
