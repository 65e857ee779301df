"""Voices hold only quotes approved for publication, with a profile and never a name, their
words read from the (encrypted) excerpt when drawn; community priorities count the groups
that agreed each concern among their first three."""

from __future__ import annotations

import datetime
import json

import pytest
from django.core.exceptions import ValidationError

from amniyat.communities.models import AgeBand
from amniyat.drivers.models import Excerpt, Priority, PriorityList
from amniyat.reports import built, sections, selectors, services
from amniyat.reports.models import Report, Section
from tests.drivers.maps.test_maps import World, build_world, excerpt_of, make_code, make_source
from tests.factories import CommunityGroupFactory


@pytest.fixture
def world(db: None) -> World:
    return build_world()


def _section(w: World, kind: str) -> Section:
    report = services.report_create(
        user=w.analyst,
        programme=w.programme,
        kind=Report.Kind.BRIEFING,
        language="en",
        title="Briefing",
        assessment=w.assessment,
    )
    return selectors.sections_of(report).get(kind=kind)


def _quotes(w: World) -> tuple[Excerpt, Excerpt]:
    code = make_code(w, "unemployment")
    source = make_source(w)
    source.age_bands = [AgeBand.AGE_18_24]
    source.save(update_fields=["age_bands"])
    private = excerpt_of(source, code, "Young men have no work", w.lead)
    public = excerpt_of(
        source,
        code,
        "Without work, some young men steal",
        w.lead,
        publication=Excerpt.Publication.APPROVED,
        proposed_by=w.lead,
        reviewed_by=w.analyst,
        public_text="Without work, some [name] steal",
    )
    return private, public


def test_voices_show_approved_quotes_only(world: World) -> None:
    private, public = _quotes(world)
    section = _section(world, Section.Kind.QUOTES)
    with pytest.raises(ValidationError):
        services.section_set_options(
            user=world.analyst, section=section, options={"excerpts": [public.pk, private.pk]}
        )
    section.refresh_from_db()
    assert section.built_at is None
    services.section_set_options(
        user=world.analyst, section=section, options={"excerpts": [public.pk]}
    )
    section.refresh_from_db()
    (quote,) = section.built["quotes"]
    assert quote == {
        "excerpt": public.pk,
        "code": "Unemployment",
        "profile": "focus group, women, 18–24",
    }
    # The words stay in the encrypted excerpt, never in the section's stored figures.
    assert "steal" not in json.dumps(section.built) + json.dumps(section.built_from)
    assert built.quote_texts([section]) == {public.pk: "Without work, some [name] steal"}
    # Withdrawn: no longer printed, and the section is stale.
    Excerpt.objects.filter(pk=public.pk).update(publication=Excerpt.Publication.RETURNED)
    assert built.quote_texts([section]) == {}
    assert sections.is_stale(section)


def test_a_changed_quote_makes_the_section_stale(world: World) -> None:
    _, public = _quotes(world)
    section = _section(world, Section.Kind.QUOTES)
    services.section_build(user=world.analyst, section=section)
    section.refresh_from_db()
    assert [q["excerpt"] for q in section.built["quotes"]] == [public.pk]
    assert not sections.is_stale(section)
    public.public_text = "Without work, some [name] [redacted]"
    public.save(update_fields=["public_text"])
    assert sections.is_stale(section)


def _agreed_list(w: World, concerns: list[tuple[str, int]], agreed: bool = True) -> PriorityList:
    group = CommunityGroupFactory(programme=w.programme)
    priority_list = PriorityList.objects.create(
        group=group,
        title="Ours",
        assessment=w.assessment,
        agreed_on=datetime.date(2022, 3, 1) if agreed else None,
    )
    for rank, (concern, severity) in enumerate(concerns, start=1):
        Priority.objects.create(
            priority_list=priority_list,
            concern=concern,
            severity=severity,
            affected=3,
            urgency=3,
            changeable=3,
            rank=rank,
        )
    return priority_list


def test_priorities_count_groups_not_names(world: World) -> None:
    _agreed_list(world, [("Street lighting", 5), ("Drugs", 4), ("Harassment", 4), ("Roads", 2)])
    _agreed_list(world, [("Harassment", 5), ("Street lighting", 3)])
    _agreed_list(world, [("Roads", 5)], agreed=False)
    section = _section(world, Section.Kind.PRIORITIES)
    services.section_build(user=world.analyst, section=section)
    section.refresh_from_db()
    assert section.built["lists"] == 2
    assert section.built["concerns"] == [
        {"concern": "Harassment", "groups": 2, "mean_score": 13.5},
        {"concern": "Street lighting", "groups": 2, "mean_score": 13.0},
        {"concern": "Drugs", "groups": 1, "mean_score": 13.0},
    ]
    # A list agreed since makes the section stale.
    _agreed_list(world, [("Water", 5)])
    assert sections.is_stale(section)
