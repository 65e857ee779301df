"""Assisted coding: evaluated on held-out sources only, suggestions only for codes it predicts
well, least sure first, nothing coded until a person accepts, scoped like the sources, trained
in a background task (never in a request), and the ``amniyat coding evaluate`` command."""

from __future__ import annotations

import io
import random
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import vl_convert
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django_tasks import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from amniyat.accounts.models import Membership, Organisation, Programme, User
from amniyat.audit.models import AuditEvent
from amniyat.core import fields as encrypted_fields
from amniyat.drivers.assist import services as assist
from amniyat.drivers.assist.tasks import train_assistant
from amniyat.drivers.coding import services as coding
from amniyat.drivers.models import Code, CodeQuality, Excerpt, Passage, Source, Suggestion
from amniyat.fieldwork.models import Assessment
from amniyat.findings import charts
from tests.factories import OrganisationFactory, ProgrammeFactory, member_of

Role = Membership.Role

# Per code, per language, phrases that say it; coded sentences are built from them.
BANK: dict[str, dict[str, list[str]]] = {
    "water": {
        "ru": [
            "споры из-за поливной воды",
            "вода для полива не доходит до наших полей",
            "соседи перекрывают арык",
            "драка у канала из-за воды",
        ],
        "tg": [
            "ҷанҷол барои оби обёрӣ",
            "об ба заминҳои мо намерасад",
            "ҳамсояҳо ҷӯйро мебанданд",
            "задухӯрд дар назди канал барои об",
        ],
        "uz": [
            "sugʻorish suvi uchun janjal",
            "suv dalalarimizga yetib bormaydi",
            "qoʻshnilar ariqni toʻsib qoʻyadi",
            "kanal yonida suv uchun mushtlashuv",
        ],
        "en": [
            "quarrels over irrigation water",
            "the water never reaches our fields",
            "neighbours block the irrigation canal",
            "a fight at the canal over water",
        ],
    },
    "border": {
        "ru": [
            "на границе закрыли переход",
            "пограничники не пускают на рынок",
            "стычки на границе с соседним селом",
            "граница делит пастбища",
        ],
        "tg": [
            "гузаргоҳи сарҳад баста шуд",
            "сарҳадбонон ба бозор намегузоранд",
            "задухӯрд дар сарҳад бо деҳаи ҳамсоя",
            "сарҳад чарогоҳҳоро ҷудо мекунад",
        ],
        "uz": [
            "chegara oʻtish joyi yopildi",
            "chegarachilar bozorga oʻtkazmaydi",
            "qoʻshni qishloq bilan chegarada toʻqnashuv",
            "chegara yaylovlarni ajratib qoʻygan",
        ],
        "en": [
            "the border crossing was closed",
            "border guards stop us going to the market",
            "clashes at the border with the next village",
            "the border cuts through the pastures",
        ],
    },
    "jobs": {
        "ru": [
            "у молодёжи нет работы",
            "парни уезжают на заработки в Россию",
            "безработица толкает молодых к ссорам",
            "работы в районе нет совсем",
        ],
        "tg": [
            "ҷавонон кор надоранд",
            "писарон ба муҳоҷирати меҳнатӣ мераванд",
            "бекорӣ ҷавононро ба ҷанҷол мебарад",
            "дар ноҳия ҷойи кор нест",
        ],
        "uz": [
            "yoshlarning ishi yoʻq",
            "yigitlar ish izlab Rossiyaga ketadi",
            "ishsizlik yoshlarni janjalga undaydi",
            "tumanda ish joyi umuman yoʻq",
        ],
        "en": [
            "young people have no work",
            "the young men leave to work in Russia",
            "unemployment pushes the young into fights",
            "there are no jobs in the district at all",
        ],
    },
    "police": {
        "ru": [
            "милиции не доверяют",
            "участковый берёт взятки",
            "жалобы в милицию ни к чему не ведут",
            "милиция приезжает только за деньги",
        ],
        "tg": [
            "ба милитсия бовар надоранд",
            "нозири минтақавӣ пора мегирад",
            "шикоят ба милитсия фоида надорад",
            "милитсия танҳо барои пул меояд",
        ],
        "uz": [
            "militsiyaga ishonch yoʻq",
            "uchastkavoy pora oladi",
            "militsiyaga shikoyat foyda bermaydi",
            "militsiya faqat pul uchun keladi",
        ],
        "en": [
            "nobody trusts the police",
            "the local officer takes bribes",
            "complaints to the police lead nowhere",
            "the police only come for money",
        ],
    },
    # Too rare to learn: five examples in all.
    "sport": {
        "ru": ["стадион закрыт для девочек"],
        "tg": ["майдони варзиш барои духтарон баста аст"],
        "uz": ["stadion qizlar uchun yopiq"],
        "en": ["the sports ground is closed to girls"],
    },
}
OPENERS = {
    "ru": ["Одна участница сказала, что", "Многие отметили, что", "Старейшина рассказал, что", ""],
    "tg": ["Як зан гуфт, ки", "Бисёриҳо қайд карданд, ки", "Мӯйсафед нақл кард, ки", ""],
    "uz": ["Bir ayol aytdiki,", "Koʻpchilik taʼkidladiki,", "Oqsoqol gapirib berdiki,", ""],
    "en": ["One woman said that", "Many noted that", "An elder told us that", ""],
}
NEUTRAL = {
    "ru": [
        "Встреча прошла в здании школы",
        "Участники говорили по очереди",
        "Модератор записал ответы в тетрадь",
        "Женщины говорили первыми",
        "После перерыва обсуждение продолжилось",
        "Чай подали в середине встречи",
    ],
    "tg": [
        "Вохӯрӣ дар бинои мактаб гузашт",
        "Иштирокчиён навбат ба навбат сухан гуфтанд",
        "Мудир ҷавобҳоро дар дафтар навишт",
        "Занон аввал сухан карданд",
        "Пас аз танаффус муҳокима идома ёфт",
        "Дар мобайни вохӯрӣ чой доданд",
    ],
    "uz": [
        "Uchrashuv maktab binosida boʻlib oʻtdi",
        "Ishtirokchilar navbat bilan gapirdi",
        "Moderator javoblarni daftarga yozdi",
        "Ayollar birinchi boʻlib gapirdi",
        "Tanaffusdan keyin muhokama davom etdi",
        "Uchrashuv oʻrtasida choy berildi",
    ],
    "en": [
        "The meeting took place in the school building",
        "Participants spoke in turn",
        "The moderator wrote the answers in a notebook",
        "The women spoke first",
        "After the break the discussion went on",
        "Tea was served halfway through the meeting",
    ],
}
TOPICS = ["water", "border", "jobs", "police"]


@dataclass
class World:
    programme: Programme
    lead: User
    codes: dict[str, Code]
    coded: list[Source] = field(default_factory=list)
    uncoded: list[Source] = field(default_factory=list)
    # passage id → codes the factory applied (for the coded sources)
    truth: dict[int, set[str]] = field(default_factory=dict)


def _sentence(rng: random.Random, language: str, topic: str | None) -> str:
    if topic is None:
        return rng.choice(NEUTRAL[language]) + "."
    opener = rng.choice(OPENERS[language])
    phrase = rng.choice(BANK[topic][language])
    text = f"{opener} {phrase}" if opener else phrase[0].upper() + phrase[1:]
    return text + "."


def add_source(
    world: World,
    rng: random.Random,
    *,
    title: str,
    coded: bool,
    organisation: Organisation | None = None,
    sport: bool = False,
    noise: bool = False,
) -> Source:
    """A discussion of 12 sentences in 3 paragraphs on two topics; ``coded`` applies the codes
    (excerpts by the lead), ``noise`` codes two neutral sentences with the meaningless code."""
    language = rng.choice(["ru", "tg", "uz", "en"])
    topics = rng.sample(TOPICS, 2)
    plan: list[str | None] = [
        rng.choice(topics) if rng.random() < 0.45 else None for _ in range(12)
    ]
    if sport:
        plan[rng.randrange(12)] = "sport"
    paragraphs: list[list[str]] = [[], [], []]
    for i, topic in enumerate(plan):
        paragraphs[i // 4].append(_sentence(rng, language, topic))
    text, spans = "", []
    for number, sentences in enumerate(paragraphs, start=1):
        if text:
            text += "\n\n"
        for k, sentence in enumerate(sentences):
            if k:
                text += " "
            spans.append((number, len(text), len(text) + len(sentence)))
            text += sentence
    assessment = Assessment.objects.get_or_create(
        programme=world.programme, title="Focus groups", defaults={"kind": "baseline"}
    )[0]
    source = Source.objects.create(
        programme=world.programme,
        assessment=assessment,
        organisation=organisation,
        title=title,
        kind=Source.Kind.FOCUS_GROUP,
        language=language,
        text=text,
    )
    neutral_coded = 0
    for position, ((paragraph, start, end), topic) in enumerate(zip(spans, plan, strict=True)):
        passage = Passage.objects.create(
            source=source, position=position, paragraph=paragraph, start=start, end=end
        )
        if not coded:
            continue
        applied: set[str] = set()
        if topic is not None:
            applied.add(topic)
        elif noise and neutral_coded < 2:
            applied.add("noise")
            neutral_coded += 1
        for key in applied:
            Excerpt.objects.create(
                source=source, code=world.codes[key], coder=world.lead, start=start, end=end
            )
        world.truth[passage.pk] = applied
    (world.coded if coded else world.uncoded).append(source)
    return source


def build_world(*, coded: int = 24, uncoded: int = 6, seed: int = 7) -> World:
    programme = ProgrammeFactory()
    lead = member_of(programme, Role.LEAD)
    codes = {
        key: Code.objects.create(programme=programme, key=key, name_en=key.title(), position=i)
        for i, key in enumerate([*TOPICS, "sport", "noise"])
    }
    world = World(programme=programme, lead=lead, codes=codes)
    rng = random.Random(seed)
    for i in range(coded):
        add_source(world, rng, title=f"Coded {i}", coded=True, sport=i < 5, noise=i < 8)
    for i in range(uncoded):
        add_source(world, rng, title=f"Uncoded {i}", coded=False, sport=i < 2)
    return world


@pytest.fixture(autouse=True)
def _fresh_models() -> Any:
    assist.assist_cache_clear()
    yield
    assist.assist_cache_clear()


@pytest.fixture
def world(db: None) -> World:
    return build_world()


def _figures(evaluation: assist.Evaluation) -> dict[str, assist.CodeFigures]:
    return {figures.code.key: figures for figures in evaluation.codes}


Capture = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]


def run_trainings() -> int:
    """Run the queued trainings as ``amniyat worker`` does (claim, run, store the result or
    the failure), without its loop; how many ran."""
    worker = Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test",
        excluded_queue_names=[],
    )
    ran = 0
    for result in DBTaskResult.objects.ready():
        result.claim("test")
        worker.run_task(result)
        ran += 1
    return ran


def _trainings() -> Any:
    return DBTaskResult.objects.filter(task_path=train_assistant.module_path)


def get_page(client: Client, url: str, capture: Capture, **extra: Any) -> Any:
    """GET as the server does: what the request queues is queued when it ends."""
    with capture(execute=True):
        return client.get(url, **extra)


def open_trained(client: Client, url: str, capture: Capture) -> Any:
    """Open the page, let the worker train the queued assistant, and open it again."""
    get_page(client, url, capture)
    assert run_trainings() == 1
    return get_page(client, url, capture)


# Evaluation -------------------------------------------------------------------------------


def test_held_out_passages_and_sources_are_never_trained_on(world: World) -> None:
    evaluation = assist.evaluate(programme=world.programme)
    coded_passages = set(world.truth)
    assert not evaluation.training_passage_ids & evaluation.held_out_passage_ids
    assert evaluation.training_passage_ids | evaluation.held_out_passage_ids == coded_passages
    # Whole discussions are held out: no source has passages on both sides.
    assert not evaluation.training_source_ids & evaluation.held_out_source_ids
    for source in world.coded:
        ids = set(source.passages.values_list("pk", flat=True))
        assert ids <= evaluation.training_passage_ids or ids <= evaluation.held_out_passage_ids
    assert 0.15 <= len(evaluation.held_out_passage_ids) / len(coded_passages) <= 0.35
    # The counts come from the two sides as the factory coded them, not from all of it.
    figures = _figures(evaluation)
    for key in TOPICS:
        trained = sum(key in world.truth[pk] for pk in evaluation.training_passage_ids)
        held_out = sum(key in world.truth[pk] for pk in evaluation.held_out_passage_ids)
        assert (figures[key].trained_on, figures[key].support) == (trained, held_out)
        assert held_out >= assist.MIN_HELD_OUT, "every frequent code has held-out positives"
        quality = CodeQuality.objects.get(code=world.codes[key])
        assert (quality.trained_on, quality.support) == (trained, held_out)
        assert quality.precision == figures[key].precision


def test_precision_and_recall_are_counted_on_the_held_out_passages(world: World) -> None:
    evaluation = assist.evaluate(programme=world.programme)
    figures = _figures(evaluation)
    # Learnable codes with distinct words are predicted well and shown ...
    for key in TOPICS:
        assert figures[key].status == assist.Reliability.RELIABLE, figures[key]
        precision, recall = figures[key].precision, figures[key].recall
        assert precision is not None and precision >= assist.MIN_PRECISION
        assert recall is not None and recall >= assist.MIN_RECALL
    # ... a code coders applied to arbitrary filler sentences is not, and is hidden.
    assert figures["noise"].trained_on + figures["noise"].support >= assist.MIN_POSITIVES
    assert figures["noise"].status != assist.Reliability.RELIABLE
    # Another seed gives another split, and the same seed the same figures.
    again = assist.evaluate(programme=world.programme)
    assert again.held_out_passage_ids == evaluation.held_out_passage_ids
    assert _figures(again)["water"] == figures["water"]
    other = assist.evaluate(programme=world.programme, seed=11)
    assert other.held_out_passage_ids != evaluation.held_out_passage_ids


def test_a_code_with_too_few_examples_is_reported_and_never_suggested(world: World) -> None:
    evaluation = assist.evaluate(programme=world.programme)
    sport = _figures(evaluation)["sport"]
    assert sport.trained_on + sport.support == 5
    assert sport.status == assist.Reliability.FEW_EXAMPLES
    assert (sport.precision, sport.recall) == (None, None)
    suggestions = assist.suggestions_for(user=world.lead, programme=world.programme, limit=500)
    assert suggestions
    suggested = {c.code.key for s in suggestions for c in s.codes}
    assert "sport" not in suggested and "noise" not in suggested
    assert suggested <= set(TOPICS)


def test_split_by_source_keeps_sources_whole_and_codes_on_both_sides() -> None:
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(20), 10)
    labels = rng.random((200, 3)) < np.array([0.3, 0.1, 0.05])
    held_out = assist.split_by_source(groups, labels, test_size=0.25, seed=3)
    for source in range(20):
        assert len(set(held_out[groups == source].tolist())) == 1
    for j in range(3):
        assert labels[held_out, j].any() and labels[~held_out, j].any()
    assert 0.15 <= held_out.mean() <= 0.35
    again = assist.split_by_source(groups, labels, test_size=0.25, seed=3)
    assert (again == held_out).all()


# Suggestions ------------------------------------------------------------------------------


def test_suggestions_are_uncoded_passages_least_sure_first(world: World) -> None:
    suggestions = assist.suggestions_for(user=world.lead, programme=world.programme, limit=500)
    uncoded = {s.pk for s in world.uncoded}
    assert suggestions and all(s.passage.source_id in uncoded for s in suggestions)
    margins = [s.margin for s in suggestions]
    assert margins == sorted(margins)
    for s in suggestions:
        assert s.margin == pytest.approx(min(abs(c.probability - 0.5) for c in s.codes))
        assert all(c.probability >= assist.ASK_FROM for c in s.codes)
        assert s.text == s.passage.source.text[s.passage.start : s.passage.end]
        assert (
            s.text.startswith(s.text.strip())
            and s.before + s.text + s.after in s.passage.source.text
        )
    # The queue's first passage is the least sure one of the whole list.
    first = assist.suggestions_for(user=world.lead, programme=world.programme, limit=1)
    assert first[0].passage.pk == suggestions[0].passage.pk
    assert len(first) == 1


def test_nothing_is_coded_without_a_person_accepting(world: World) -> None:
    before = Excerpt.objects.count()
    for _ in range(2):
        assist.suggestions_for(user=world.lead, programme=world.programme)
    client = Client()
    client.force_login(world.lead)
    assert client.get(reverse("drivers:assist", args=[world.programme.slug])).status_code == 200
    assert Excerpt.objects.count() == before
    assert not Suggestion.objects.exists()
    assert not Excerpt.objects.filter(source__in=world.uncoded).exists()


def _a_suggestion(world: World, user: User | None = None) -> tuple[Passage, Code, float]:
    suggestion = assist.suggestions_for(user=user or world.lead, programme=world.programme)[0]
    return suggestion.passage, suggestion.codes[0].code, suggestion.codes[0].probability


def test_accepting_creates_exactly_one_assisted_excerpt(world: World) -> None:
    passage, code, probability = _a_suggestion(world)
    before = Excerpt.objects.count()
    excerpt = assist.suggestion_accept(
        user=world.lead, passage=passage, code=code, probability=probability
    )
    assert Excerpt.objects.count() == before + 1
    assert (excerpt.origin, excerpt.coder, excerpt.code) == ("assisted", world.lead, code)
    assert (excerpt.source_id, excerpt.start, excerpt.end) == (
        passage.source_id,
        passage.start,
        passage.end,
    )
    decision = Suggestion.objects.get()
    assert (decision.decision, decision.passage, decision.code) == ("accepted", passage, code)
    assert decision.probability == pytest.approx(probability)
    # Not asked again, and accepting twice changes nothing.
    again = assist.suggestions_for(user=world.lead, programme=world.programme, limit=500)
    assert all(not (s.passage.pk == passage.pk and c.code == code) for s in again for c in s.codes)
    with pytest.raises(ValidationError):
        assist.suggestion_accept(
            user=world.lead, passage=passage, code=code, probability=probability
        )
    assert Excerpt.objects.count() == before + 1
    # An assisted excerpt does not make its source a "coded" one: its other passages stay.
    assert any(s.passage.source_id == passage.source_id for s in again)


def test_a_rejection_is_remembered_and_not_asked_again(world: World) -> None:
    passage, code, probability = _a_suggestion(world)
    before = Excerpt.objects.count()
    assist.suggestion_reject(user=world.lead, passage=passage, code=code, probability=probability)
    assert Excerpt.objects.count() == before
    assert Suggestion.objects.get().decision == "rejected"
    analyst = member_of(world.programme, Role.ANALYST)
    for user in (world.lead, analyst):
        again = assist.suggestions_for(user=user, programme=world.programme, limit=500)
        assert (passage.pk, code.pk) not in {
            (s.passage.pk, c.code.pk) for s in again for c in s.codes
        }
    with pytest.raises(ValidationError):
        assist.suggestion_accept(user=analyst, passage=passage, code=code, probability=0.7)
    assert Excerpt.objects.count() == before


def test_a_probability_outside_0_1_is_refused(world: World) -> None:
    passage, code, _probability = _a_suggestion(world)
    with pytest.raises(ValidationError) as error:
        assist.suggestion_accept(user=world.lead, passage=passage, code=code, probability=1.5)
    assert "between 0 and 1" in str(error.value)
    assert not Suggestion.objects.exists()


def test_a_facilitator_only_gets_their_organisations_sources(world: World) -> None:
    partner, other = OrganisationFactory(), OrganisationFactory()
    rng = random.Random(99)
    own = [
        add_source(world, rng, title=f"Partner {i}", coded=False, organisation=partner)
        for i in range(3)
    ]
    theirs = [
        add_source(world, rng, title=f"Other {i}", coded=False, organisation=other)
        for i in range(3)
    ]
    facilitator = member_of(world.programme, Role.FACILITATOR, organisation=partner)
    suggestions = assist.suggestions_for(user=facilitator, programme=world.programme, limit=500)
    assert suggestions
    assert {s.passage.source_id for s in suggestions} <= {s.pk for s in own}
    # The lead sees every uncoded source's passages, including both partners'.
    everything = assist.suggestions_for(user=world.lead, programme=world.programme, limit=500)
    assert {s.passage.source_id for s in everything} & {s.pk for s in theirs}
    # A passage of another organisation's source cannot be decided on: 404, nothing stored.
    passage = next(s.passage for s in everything if s.passage.source_id in {t.pk for t in theirs})
    client = Client()
    client.force_login(facilitator)
    response = client.post(
        reverse("drivers:assist_accept", args=[world.programme.slug]),
        {"passage": passage.pk, "code": world.codes["water"].pk, "probability": "0.6"},
    )
    assert response.status_code == 404
    assert not Suggestion.objects.exists()
    assert not Excerpt.objects.filter(source=passage.source).exists()


# Pages ------------------------------------------------------------------------------------


def test_the_queue_page_shows_suggestions_and_quality(
    world: World, django_capture_on_commit_callbacks: Capture
) -> None:
    client = Client()
    client.force_login(world.lead)
    url = reverse("drivers:assist", args=[world.programme.slug])
    response = open_trained(client, url, django_capture_on_commit_callbacks)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="card suggestion"') == 5
    assert 'name="accept"' in html and 'name="reject"' in html
    assert 'class="quality-row reliable" data-code="water"' in html
    assert 'class="quality-row few_examples" data-code="sport"' in html
    # The chart is drawn on the server: an SVG in the page, no script.
    chart = html.split('id="chart-assist-quality"', 1)[1].split("</div>", 1)[0]
    assert "<svg" in chart and "vega" not in html.lower()
    # Reading passages is audited, per source shown.
    assert AuditEvent.objects.filter(verb="source.view_text", actor=world.lead).exists()
    viewer = member_of(world.programme, Role.VIEWER)
    client.force_login(viewer)
    assert client.get(url).status_code == 404


def test_accept_by_htmx_and_without_javascript(world: World) -> None:
    client = Client()
    client.force_login(world.lead)
    url = reverse("drivers:assist_accept", args=[world.programme.slug])
    suggestions = assist.suggestions_for(user=world.lead, programme=world.programme)
    first, second = suggestions[0], suggestions[1]
    response = client.post(
        url,
        {"passage": first.passage.pk, "code": first.codes[0].code.pk, "probability": "0.5500"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert b"suggestion-code decided accepted" in response.content
    response = client.post(
        url,
        {"passage": second.passage.pk, "code": second.codes[0].code.pk, "probability": "0.61"},
    )
    assert response.status_code == 302
    assert Excerpt.objects.filter(origin="assisted").count() == 2
    # A repeated decision is a message, not an error page; a bad probability changes nothing.
    response = client.post(
        url,
        {"passage": first.passage.pk, "code": first.codes[0].code.pk, "probability": "0.55"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and b"already decided" in response.content
    response = client.post(
        reverse("drivers:assist_reject", args=[world.programme.slug]),
        {"passage": second.passage.pk, "code": world.codes["police"].pk, "probability": "x"},
    )
    assert response.status_code == 302
    assert Suggestion.objects.count() == 2
    response = client.post(url, {"passage": "nope", "code": world.codes["water"].pk})
    assert response.status_code == 404


def test_re_evaluate_button(world: World, django_capture_on_commit_callbacks: Capture) -> None:
    client = Client()
    client.force_login(world.lead)
    url = reverse("drivers:assist_evaluate", args=[world.programme.slug])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url)
    assert response.status_code == 302
    page = reverse("drivers:assist", args=[world.programme.slug])
    response = get_page(client, page, django_capture_on_commit_callbacks)
    assert b"evaluated again in the background" in response.content
    assert _trainings().get().args_kwargs["kwargs"]["acting_user_id"] == world.lead.pk
    # Pressed again while it waits for a worker: not queued twice.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url)
    assert run_trainings() == 1
    response = get_page(client, page, django_capture_on_commit_callbacks)
    assert b"held-out passages of" in response.content
    assert CodeQuality.objects.filter(code__programme=world.programme).count() == 6
    assert AuditEvent.objects.filter(
        actor=world.lead, details__assisted_coding="evaluated"
    ).exists()
    assert (
        client.get(reverse("drivers:assist_evaluate", args=[world.programme.slug])).status_code
        == 405
    )


# Training in the background -----------------------------------------------------------------


@pytest.fixture
def no_training_here(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail a test that trains in its own process (a request would hold a web worker)."""
    calls: list[str] = []

    def refuse(**kwargs: Any) -> Any:
        calls.append("train")
        raise AssertionError("the assistant was trained in the request")

    monkeypatch.setattr(assist, "train", refuse)
    yield calls


def test_the_page_answers_at_once_and_queues_the_training_once(
    world: World, django_capture_on_commit_callbacks: Capture, no_training_here: list[str]
) -> None:
    client = Client()
    client.force_login(world.lead)
    url = reverse("drivers:assist", args=[world.programme.slug])
    for _ in range(2):
        response = get_page(client, url, django_capture_on_commit_callbacks)
        assert response.status_code == 200
        html = response.content.decode()
        assert "waiting for a worker to learn from the coding" in html
        assert 'hx-trigger="every 2s"' in html and "<progress" in html
        assert 'class="card suggestion"' not in html
        assert "Nothing to ask about" not in html
    assert no_training_here == []
    training = _trainings().get()
    assert training.status == TaskResultStatus.READY
    assert training.args_kwargs["kwargs"]["programme_id"] == world.programme.pk
    assert training.args_kwargs["kwargs"]["acting_user_id"] is None
    # The quality table is there already, every code not evaluated yet.
    assert 'class="quality-row not_evaluated" data-code="water"' in html


def test_progress_then_the_results_once_the_task_has_run(
    world: World, django_capture_on_commit_callbacks: Capture
) -> None:
    client = Client()
    client.force_login(world.lead)
    url = reverse("drivers:assist", args=[world.programme.slug])
    get_page(client, url, django_capture_on_commit_callbacks)
    # The progress indicator polls the page's address; while queued it stays.
    poll = get_page(client, url, django_capture_on_commit_callbacks, HTTP_HX_REQUEST="true")
    assert poll.status_code == 200 and "HX-Refresh" not in poll.headers
    assert b'id="assist-status"' in poll.content and b"<progress" in poll.content
    assert b"<html" not in poll.content
    training = _trainings().get()
    training.claim("elsewhere")
    poll = get_page(client, url, django_capture_on_commit_callbacks, HTTP_HX_REQUEST="true")
    assert b"is learning from the coded passages" in poll.content
    DBTaskResult.objects.filter(pk=training.pk).update(status=TaskResultStatus.READY)
    assert run_trainings() == 1
    # Done: the indicator asks for the whole page, which shows what the training found.
    poll = get_page(client, url, django_capture_on_commit_callbacks, HTTP_HX_REQUEST="true")
    assert poll.headers["HX-Refresh"] == "true"
    assert b"hx-trigger" not in poll.content
    html = get_page(client, url, django_capture_on_commit_callbacks).content.decode()
    assert html.count('class="card suggestion"') == 5
    assert "<progress" not in html
    assert "held-out passages of" in html
    assert _trainings().count() == 1
    stored = _trainings().get().return_value
    uncoded = set(Passage.objects.filter(source__in=world.uncoded).values_list("pk", flat=True))
    assert stored["probabilities"] and {int(pk) for pk in stored["probabilities"]} <= uncoded


def test_the_stored_training_serves_every_later_page_without_a_model(
    world: World, django_capture_on_commit_callbacks: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = Client()
    client.force_login(world.lead)
    url = reverse("drivers:assist", args=[world.programme.slug])
    first = open_trained(client, url, django_capture_on_commit_callbacks).content.decode()
    # Another web process (nothing parsed in memory), with no way to train: the same queue.
    assist.assist_cache_clear()
    monkeypatch.setattr(assist, "train", None)
    monkeypatch.setattr(assist, "_fit", None)
    again = get_page(client, url, django_capture_on_commit_callbacks).content.decode()
    assert again.count('class="card suggestion"') == 5
    assert re.findall(r'data-passage="(\d+)"', again) == re.findall(r'data-passage="(\d+)"', first)
    assert _trainings().count() == 1


def test_coding_by_hand_retrains_and_deciding_does_not(
    world: World, django_capture_on_commit_callbacks: Capture
) -> None:
    client = Client()
    client.force_login(world.lead)
    url = reverse("drivers:assist", args=[world.programme.slug])
    open_trained(client, url, django_capture_on_commit_callbacks)
    passage, code, probability = _a_suggestion(world)
    assist.suggestion_accept(user=world.lead, passage=passage, code=code, probability=probability)
    html = get_page(client, url, django_capture_on_commit_callbacks).content.decode()
    assert _trainings().count() == 1 and "<progress" not in html
    # Coding a source by hand makes it training data: trained again, meanwhile the earlier
    # suggestions are asked about, except for the source now coded.
    now_coded = world.uncoded[0]
    first = now_coded.passages.order_by("position").first()
    assert first is not None
    coding.excerpt_create(
        user=world.lead,
        source=now_coded,
        code=world.codes["water"],
        start=first.start,
        end=first.end,
    )
    html = get_page(client, url, django_capture_on_commit_callbacks).content.decode()
    assert _trainings().count() == 2
    assert "<progress" in html and "as it was before" in html
    shown = assist.queue_for(
        user=world.lead,
        programme=world.programme,
        training=assist.training_ensure(programme=world.programme),
        limit=500,
    )
    assert shown and all(s.passage.source_id != now_coded.pk for s in shown)
    assert run_trainings() == 1
    html = get_page(client, url, django_capture_on_commit_callbacks).content.decode()
    assert "<progress" not in html and "as it was before" not in html


def test_a_failed_training_says_so_and_re_evaluate_tries_again(
    world: World, django_capture_on_commit_callbacks: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = Client()
    client.force_login(world.lead)
    url = reverse("drivers:assist", args=[world.programme.slug])
    get_page(client, url, django_capture_on_commit_callbacks)
    with monkeypatch.context() as patched:
        patched.setattr(assist, "_fit", lambda *args, **kwargs: 1 / 0)
        assert run_trainings() == 1
    assert _trainings().get().status == TaskResultStatus.FAILED
    html = get_page(client, url, django_capture_on_commit_callbacks).content.decode()
    assert "could not learn from the coding as it stands" in html and "<progress" not in html
    assert _trainings().count() == 1  # not retried on every view
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("drivers:assist_evaluate", args=[world.programme.slug]))
    assert run_trainings() == 1
    html = get_page(client, url, django_capture_on_commit_callbacks).content.decode()
    assert html.count('class="card suggestion"') == 5


def test_a_duplicate_run_stores_nothing_and_a_pruned_result_is_trained_again(
    world: World, django_capture_on_commit_callbacks: Capture
) -> None:
    client = Client()
    client.force_login(world.lead)
    url = reverse("drivers:assist", args=[world.programme.slug])
    get_page(client, url, django_capture_on_commit_callbacks)
    # Another web process queued the same training at the same moment: trained once.
    key = _trainings().get().args_kwargs["kwargs"]["data_key"]
    train_assistant.enqueue(programme_id=world.programme.pk, data_key=key)
    assert run_trainings() == 2
    stored = list(_trainings().order_by("enqueued_at").values_list("return_value", flat=True))
    assert stored[0] is not None and stored[1] is None
    html = get_page(client, url, django_capture_on_commit_callbacks).content.decode()
    assert html.count('class="card suggestion"') == 5 and _trainings().count() == 2
    # The result was pruned with old task results: the next page trains again.
    _trainings().filter(return_value__isnull=False).delete()
    html = get_page(client, url, django_capture_on_commit_callbacks).content.decode()
    assert "<progress" in html and _trainings().filter(status=TaskResultStatus.READY).count() == 1


def test_too_little_coded_data_found_by_the_training_is_shown(
    db: None, django_capture_on_commit_callbacks: Capture
) -> None:
    world = build_world(coded=2, uncoded=1)
    # Two sources coded, but no code has 8 passages: only the training can tell.
    for source in world.coded:
        kept = source.excerpts.order_by("pk").first()
        assert kept is not None
        source.excerpts.exclude(pk=kept.pk).delete()
    client = Client()
    client.force_login(world.lead)
    url = reverse("drivers:assist", args=[world.programme.slug])
    html = open_trained(client, url, django_capture_on_commit_callbacks).content.decode()
    assert "no code has been applied to 8 passages yet" in html
    assert "<progress" not in html


# Command ----------------------------------------------------------------------------------


def test_the_command_prints_held_out_figures_per_code(world: World) -> None:
    out = io.StringIO()
    call_command("coding", "evaluate", "--programme", world.programme.slug, stdout=out)
    text = out.getvalue()
    assert "split is by source" in text
    lines = {line.split()[0]: line for line in text.splitlines() if line.strip()}
    for key in [*TOPICS, "sport", "noise"]:
        quality = CodeQuality.objects.get(code=world.codes[key])
        cells = lines[key].split()
        assert cells[2:4] == [str(quality.support), str(quality.trained_on)]
        if quality.precision is not None:
            assert cells[4] == f"{quality.precision:.0%}"
    assert "yes" in lines["water"].split()
    assert "no" in lines["sport"].split() and "not enough examples" in lines["sport"]


def test_the_command_exits_2_without_coded_data(db: None) -> None:
    programme = ProgrammeFactory()
    with pytest.raises(CommandError) as error:
        call_command("coding", "evaluate", "--programme", programme.slug)
    assert error.value.returncode == 2
    assert "Too little coded data" in str(error.value)
    with pytest.raises(CommandError) as error:
        call_command("coding", "evaluate", "--programme", "no-such-programme")
    assert error.value.returncode == 2
    assert not CodeQuality.objects.exists()


def test_the_page_says_why_there_are_no_suggestions_without_coded_data(db: None) -> None:
    programme = ProgrammeFactory()
    lead = member_of(programme, Role.LEAD)
    client = Client()
    client.force_login(lead)
    response = client.get(reverse("drivers:assist", args=[programme.slug]))
    assert response.status_code == 200
    assert b"Too little coded data" in response.content


# Work a page does not do --------------------------------------------------------------------


def test_the_queue_decrypts_only_the_sources_it_shows(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Suggestions are ranked from passage offsets; the text (encrypted, its reading audited)
    is decrypted for the sources of the passages shown, not for every uncoded source."""
    training = assist.Training(
        status=assist.TrainingStatus.READY,
        trained=assist.train(programme=world.programme),
        current=True,
        coded_source_ids=assist._data_key(world.programme)[1],
    )
    decrypted: list[str] = []
    original = encrypted_fields.decrypt_text

    def counting(value: str) -> str:
        decrypted.append(value)
        return original(value)

    monkeypatch.setattr(encrypted_fields, "decrypt_text", counting)
    shown = assist.queue_for(user=world.lead, programme=world.programme, training=training, limit=1)
    assert len(shown) == 1 and len(world.uncoded) > 1
    assert len(decrypted) == 1
    assert shown[0].text and shown[0].passage.source.text


def test_the_training_draws_the_quality_chart_the_page_shows(
    world: World, django_capture_on_commit_callbacks: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Drawing a chart takes about half a second: the task draws it in every language after
    training, so no page spends that time (a page draws it only if the labels changed)."""
    charts._drawings().clear()
    client = Client()
    client.force_login(world.lead)
    url = reverse("drivers:assist", args=[world.programme.slug])
    get_page(client, url, django_capture_on_commit_callbacks)
    assert run_trainings() == 1

    def refuse(*args: Any, **kwargs: Any) -> str:
        raise AssertionError("a page drew the chart")

    monkeypatch.setattr(vl_convert, "vegalite_to_svg", refuse)
    for language in ("en", "tg"):
        html = get_page(
            client, url, django_capture_on_commit_callbacks, HTTP_ACCEPT_LANGUAGE=language
        ).content.decode()
        chart = html.split('id="chart-assist-quality"', 1)[1].split("</div>", 1)[0]
        assert "<svg" in chart


def test_the_data_key_follows_every_change_a_training_depends_on(world: World) -> None:
    """Summed up by the database, not read row by row: a code, a passage or a coded excerpt
    added, moved, recoded or removed changes it; a suggestion decided, an excerpt of an
    uncoded source, or a change put back, does not."""
    programme = world.programme
    first = assist._data_key(programme)[0]
    excerpt = Excerpt.objects.filter(source__in=world.coded).order_by("pk").first()
    assert excerpt is not None
    seen = {first}

    def changed() -> str:
        key = assist._data_key(programme)[0]
        assert key not in seen
        seen.add(key)
        return key

    excerpt.end += 1
    excerpt.save()
    changed()
    excerpt.code = world.codes["police" if excerpt.code == world.codes["water"] else "water"]
    excerpt.save()
    changed()
    Code.objects.create(programme=programme, key="zzz", name_en="New code")
    changed()
    passage = Passage.objects.filter(source=world.uncoded[0]).order_by("-position").first()
    assert passage is not None
    Passage.objects.filter(pk=passage.pk).update(end=passage.end - 1)
    changed()
    Excerpt.objects.filter(pk=excerpt.pk).delete()
    changed()
    steady = assist._data_key(programme)[0]
    passage_shown, code, probability = _a_suggestion(world)
    assist.suggestion_reject(
        user=world.lead, passage=passage_shown, code=code, probability=probability
    )
    assert assist._data_key(programme)[0] == steady
