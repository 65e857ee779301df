"""The drivers and plans demo: both demo programmes get notes in four languages, a coded
sample with a second coder's overlap, women's and men's maps per region (one published), an
agreed priority list per group, a joint action plan per group with an agreed list (a year of
updates, consultations, a dispute, a published plan), and ``amniyat demo --reset`` removes and
rebuilds it all."""

from __future__ import annotations

import io
import random

import pytest
from django.core.management import call_command
from django.utils import timezone

from amniyat.accounts.models import Programme, User
from amniyat.communities.models import CommunityGroup
from amniyat.demo.build import DEMO_SLUGS, build_demo
from amniyat.demo.drivers import TITLE_SUFFIX, write_notes
from amniyat.demo.plans import GROUPS
from amniyat.drivers.assist import services as assist
from amniyat.drivers.coding import agreement
from amniyat.drivers.coding.text import split_passages
from amniyat.drivers.models import DriverMap, Excerpt, Priority, PriorityList, Source
from amniyat.plans import accountability
from amniyat.plans.models import (
    Action,
    ActionPlan,
    ActionUpdate,
    Commitment,
    Consultation,
    Dispute,
)
from tests.conftest import committed_for_module


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> object:
    """The demo built once for this module (it takes about 20 s), removed afterwards with
    everything it wrote outside the demo programmes (its audit rows, its users, its tasks)."""
    from amniyat.demo.build import remove_demo

    with committed_for_module(django_db_blocker):
        build_demo()
        yield
        remove_demo()


def test_generated_sentences_are_the_passages_that_get_coded() -> None:
    for language in ("en", "ru", "tg", "uz"):
        written = write_notes(
            random.Random(language),
            language=language,
            header="Demo header, a place, 2021-09-06. 9 participants.",
            codes=["drugs", "theft", "domestic_violence", "limited_dialogue"],
            sentences=30,
        )
        spans = {(start, end) for _paragraph, start, end in split_passages(written.text)}
        assert written.coded and all((s, e) in spans for s, e, _key in written.coded), language
        assert not any((s, e) in {(c[0], c[1]) for c in written.coded} for s, e in written.neutral)
        assert 15 <= len(written.coded) + len(written.neutral) <= 40


@pytest.mark.django_db
@pytest.mark.usefixtures("demo")
def test_each_demo_programme_has_notes_coding_maps_and_priorities() -> None:
    analyst = User.objects.get(username="demo-analyst")
    second = User.objects.get(username="demo-lead")
    for programme in Programme.objects.filter(is_demo=True):
        sources = list(Source.objects.filter(programme=programme))
        assert 16 <= len(sources) <= 24
        assert {s.language for s in sources} == {"en", "ru", "tg", "uz"}
        assert all(s.is_demo and TITLE_SUFFIX in s.title for s in sources)
        assert {(s.women > 0, s.men > 0) for s in sources} == {
            (True, False),
            (False, True),
            (True, True),
        }
        passage_counts = [s.passages.count() for s in sources]
        assert min(passage_counts) >= 15 and max(passage_counts) <= 45

        coded = {
            e.source_id for e in Excerpt.objects.filter(source__programme=programme, coder=analyst)
        }
        assert 0.6 <= len(coded) / len(sources) <= 0.8
        overlap = set(
            Excerpt.objects.filter(source__programme=programme, coder=second).values_list(
                "source_id", flat=True
            )
        )
        assert 3 <= len(overlap) <= 4 and overlap <= coded
        report = agreement.agreement(
            user=analyst, programme=programme, coder_a=analyst, coder_b=second
        )
        assert report.passages > 50
        kappas = [row.kappa for row in report.rows if row.kappa is not None]
        assert kappas and any(k < 1 for k in kappas) and sum(kappas) / len(kappas) > 0.5
        # Published quotes went through two people: the analyst proposed, the lead approved.
        approved = Excerpt.objects.filter(
            source__programme=programme, publication=Excerpt.Publication.APPROVED
        )
        assert approved.count() >= 2
        assert set(approved.values_list("proposed_by", "reviewed_by")) == {(analyst.pk, second.pk)}

        maps = DriverMap.objects.filter(programme=programme)
        regions = {
            s.place.code[:5] if s.place.level == "district" else s.place.parent.code[:5]
            for s in sources
        }
        for perspective in (DriverMap.Perspective.WOMEN, DriverMap.Perspective.MEN):
            titles = [m.title for m in maps.filter(perspective=perspective)]
            assert len(titles) == len(regions), (programme, perspective, titles)
        assert maps.filter(published_at__isnull=False).count() == 1
        assert all(m.factors.count() >= 4 and m.links.count() >= 2 for m in maps)

        groups = CommunityGroup.objects.filter(programme=programme)
        lists = PriorityList.objects.filter(group__programme=programme)
        assert {pl.group_id for pl in lists} == set(groups.values_list("pk", flat=True))
        assert all(pl.agreed_on and pl.participants > 0 and pl.took_part for pl in lists)
        assert Priority.objects.filter(
            priority_list__group__programme=programme, affected_percent__isnull=False
        ).exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("demo")
def test_coding_evaluate_reports_held_out_figures_on_the_demo() -> None:
    programme = Programme.objects.get(slug="tajikistan-community-security")
    evaluation = assist.evaluate(programme=programme)
    # Held out by source: no discussion is on both sides of the split.
    assert evaluation.held_out_source_ids and not (
        evaluation.held_out_source_ids & evaluation.training_source_ids
    )
    judged = [f for f in evaluation.codes if f.support >= 2 and f.recall is not None]
    assert len(judged) >= 5, "several codes have held-out positives to be judged on"
    assert evaluation.reliable_codes, "the demo has codes the assistant predicts well"
    assert any(f.recall is not None and f.recall < 1 for f in judged), "not a perfect score"
    out = io.StringIO()
    call_command("coding", "evaluate", "--programme", programme.slug, stdout=out)
    assert "held-out" in out.getvalue().lower()


@pytest.mark.django_db
@pytest.mark.usefixtures("demo")
def test_every_sentence_the_analyst_coded_is_one_passage() -> None:
    analyst = User.objects.get(username="demo-analyst")
    for source in Source.objects.filter(is_demo=True, excerpts__coder=analyst).distinct():
        spans = set(source.passages.values_list("start", "end"))
        coded = list(source.excerpts.filter(coder=analyst).values_list("start", "end"))
        assert coded and all(span in spans for span in coded), source.title


@pytest.mark.django_db(transaction=False)
def test_reset_removes_and_rebuilds_the_drivers_demo(demo: object) -> None:
    before = Source.objects.filter(is_demo=True).count()
    plans = ActionPlan.objects.filter(is_demo=True).count()
    first_text = Source.objects.filter(is_demo=True).order_by("title").first()
    assert before and first_text is not None
    title, text = first_text.title, first_text.text
    call_command("demo", "--reset", stdout=io.StringIO())
    assert Source.objects.filter(is_demo=True).count() == before
    again = Source.objects.get(is_demo=True, title=title)
    assert again.pk != first_text.pk and again.text == text  # deterministic
    assert DriverMap.objects.filter(is_demo=True).count() == 14
    assert (
        PriorityList.objects.filter(is_demo=True).count()
        == CommunityGroup.objects.filter(programme__is_demo=True).count()
    )
    assert ActionPlan.objects.filter(is_demo=True).count() == plans


@pytest.mark.django_db
@pytest.mark.usefixtures("demo")
def test_every_group_with_an_agreed_list_has_a_plan_with_a_year_of_updates() -> None:
    today = timezone.localdate()
    for programme in Programme.objects.filter(is_demo=True, slug__in=DEMO_SLUGS):
        agreed = set(
            PriorityList.objects.filter(
                group__programme=programme, agreed_on__isnull=False
            ).values_list("group_id", flat=True)
        )
        assert len(agreed) >= 4
        plans = list(ActionPlan.objects.filter(programme=programme))
        assert sorted(p.group_id for p in plans) == sorted(agreed)
        for plan in plans:
            assert plan.status == ActionPlan.Status.IN_PROGRESS
            assert {s.kind for s in plan.signatories.all()} >= {"group", "district", "police"}
            actions = list(Action.objects.filter(objective__plan=plan))
            assert len(actions) >= 4
            updates = list(ActionUpdate.objects.filter(action__objective__plan=plan))
            dates = sorted(u.reported_on for u in updates)
            assert (dates[-1] - dates[0]).days >= 300, plan.group
            assert all(u.participants.get("female") and u.participants.get("male") for u in updates)
            assert Action.Status.DELAYED in {a.status for a in actions}
            done = [a for a in actions if a.status == Action.Status.DONE]
            assert done
            # Done on the day the update said so, near the due date: not the build day.
            assert all(a.done_on and abs((a.done_on - a.due_on).days) <= 40 for a in done)
            assert all(a.done_on != today for a in done)
            share = accountability.on_time_share(actions, today)
            assert share.undated == 0 and share.share is not None and 0 < share.share < 1
        # Realistic actions, adapted to the country.
        titles = set(
            Action.objects.filter(objective__plan__in=plans).values_list("title", flat=True)
        )
        assert "Joint police–community patrols and monthly meetings" in titles
        leads = set(
            Action.objects.filter(objective__plan__in=plans).values_list("lead_actor", flat=True)
        )
        authority = "hukumat" if programme.country.code == "TJ" else "hokimiyat"
        assert any(authority in lead for lead in leads)

        consultations = list(Consultation.objects.filter(programme=programme))
        assert len(consultations) >= 3
        for consultation in consultations:
            assert consultation.community_women and consultation.community_men
            assert consultation.authority_women + consultation.authority_men > 0
            assert consultation.priorities.exists() and consultation.factors.exists()
            assert consultation.commitments.exists()
        turned = Commitment.objects.filter(consultation__programme=programme, action__isnull=False)
        assert turned.count() == 1
        assert ActionUpdate.objects.filter(
            action__objective__plan__programme=programme, verified_by__isnull=False
        ).exists()

    demo_plans = ActionPlan.objects.filter(programme__slug__in=DEMO_SLUGS)
    assert list(
        demo_plans.filter(published_at__isnull=False).values_list("group__name", flat=True)
    ) == [GROUPS["TJ"]]
    disputes = Dispute.objects.filter(action__objective__plan__in=demo_plans)
    assert sorted(d.is_open for d in disputes) == [False, True]


@pytest.mark.django_db
@pytest.mark.usefixtures("demo")
def test_the_demo_carries_its_content_in_all_four_languages() -> None:
    """Every name, title, label and concern of the demo programmes (and of the organisations
    taking part) reads in Russian, Tajik and Uzbek without falling back to the English it was
    written in; a factor or concern with a code reads as the code's name."""
    from django.apps import apps

    from amniyat.accounts.models import Organisation
    from amniyat.core.i18n import Translatable
    from amniyat.demo.translations import _PROGRAMME_PATH

    programmes = list(Programme.objects.filter(is_demo=True))
    organisations = set().union(*(p.taking_part_ids() for p in programmes))
    untranslated = []
    seen = 0
    for model in apps.get_models():
        if not issubclass(model, Translatable):
            continue
        assert model is Organisation or model.__name__ in _PROGRAMME_PATH, model
        objects = (
            model._default_manager.filter(pk__in=organisations)
            if model is Organisation
            else model._default_manager.filter(
                **{f"{_PROGRAMME_PATH[model.__name__]}__in": [p.pk for p in programmes]}
            )
        )
        for obj in objects:
            seen += 1
            for field in model.TRANSLATED:
                if not getattr(obj, field):
                    continue
                for language in ("en", "ru", "tg", "uz"):
                    if obj.translated(field, language).fallback:
                        untranslated.append(f"{model.__name__} {getattr(obj, field)!r} {language}")
    assert seen > 150
    assert untranslated == []
    factor = (
        DriverMap.objects.filter(programme__in=programmes)
        .first()
        .factors.exclude(code=None)
        .first()
    )
    assert factor.translated("label", "tg") == factor.code.name_tg
