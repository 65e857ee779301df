"""A published action plan on a 360 px phone, in Tajik and Uzbek: a donor (viewer) reads its
public page (the timeline drawn on the server, commitments by actor, no person's name) and a
lead its accountability page; neither scrolls sideways nor reports a JavaScript error."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

import pytest
from django.urls import reverse
from django.utils import timezone

from amniyat.accounts.models import Membership
from amniyat.drivers.models import PriorityList
from amniyat.plans import services
from amniyat.plans.models import Action, ActionPlan, Signatory
from tests.browser.conftest import SCREENSHOTS, sign_in
from tests.factories import CommunityGroupFactory, ProgrammeFactory, member_of

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WIDTH = 360
LANGUAGE_COOKIE = "amniyat_language"
ACTIONS = [
    (
        "Патрулҳои муштараки милитсия ва маҳалла дар бозори марказӣ",
        "Шуъбаи ВКД-и ноҳияи Вахш",
        "authority",
        -45,
        "on_track",
    ),
    (
        "Koʻcha chiroqlarini oʻrnatish va taʼmirlash, ayniqsa maktab yoʻlida",
        "Hokimiyat",
        "authority",
        -10,
        "done",
    ),
    (
        "Хатти боварии зӯроварии хонаводагӣ барои занон ва духтарон",
        "Кумитаи занон",
        "community",
        30,
        "on_track",
    ),
    (
        "Yoshlar uchun sport toʻgaragi va kasb-hunar kurslari",
        "Mahalla yoshlari",
        "community",
        90,
        "not_started",
    ),
]


def _published_plan() -> tuple[ActionPlan, dict[str, Any]]:
    programme = ProgrammeFactory(name="Амнияти ҷамъиятӣ дар Хатлон")
    people = {
        "lead": member_of(programme, Membership.Role.LEAD),
        "viewer": member_of(programme, Membership.Role.VIEWER),
    }
    people["lead"].first_name, people["lead"].last_name = "Rustam", "Nazarov"
    people["lead"].save()
    group = CommunityGroupFactory(
        programme=programme, facilitating_organisation=programme.lead_organisation
    )
    today = timezone.localdate()
    priority_list = PriorityList.objects.create(
        group=group, title="Афзалиятҳо", agreed_on=today - datetime.timedelta(days=300)
    )
    priority = priority_list.priorities.create(
        concern="Зӯроварии хонаводагӣ нисбат ба занони муҳоҷирон",
        severity=5,
        affected=4,
        urgency=5,
        changeable=3,
        rank=1,
    )
    plan = services.plan_create_from_priorities(
        user=people["lead"],
        priority_list=priority_list,
        priorities=[priority],
        title="Нақшаи амалҳои муштараки гурӯҳи кории амнияти ҷамъиятии ноҳияи Вахш",
        period_start=today - datetime.timedelta(days=200),
        period_end=today + datetime.timedelta(days=200),
    )
    objective = plan.objectives.get()
    for title, actor, side, due, status in ACTIONS:
        action = services.action_create(
            user=None,
            objective=objective,
            title=title,
            lead_actor=actor,
            lead_side=side,
            start_on=today - datetime.timedelta(days=150),
            due_on=today + datetime.timedelta(days=due),
            progress=100 if status == "done" else 40,
            status=status,
        )
        if status == "done":
            Action.objects.filter(pk=action.pk).update(done_on=action.due_on)
    Signatory.objects.create(
        plan=plan,
        kind=Signatory.Kind.DISTRICT,
        name="Мақомоти иҷроияи ҳокимияти давлатии ноҳияи Вахш",
        role="муовини раис",
        endorsed_on=today - datetime.timedelta(days=190),
    )
    ActionPlan.objects.filter(pk=plan.pk).update(status=ActionPlan.Status.IN_PROGRESS)
    plan.refresh_from_db()
    services.plan_publish(user=people["lead"], plan=plan)
    return plan, people


def _scroll_width(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


@pytest.mark.parametrize("language", ["tg", "uz"])
def test_the_public_page_and_the_accountability_page_fit_a_phone(
    phone_page: Page, live_server: Any, language: str
) -> None:
    plan, people = _published_plan()
    base = live_server.url
    errors: list[str] = []
    phone_page.on("pageerror", lambda error: errors.append(str(error)))
    phone_page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    out = SCREENSHOTS / "plans"
    out.mkdir(parents=True, exist_ok=True)
    for who, name in (("viewer", "plans:public"), ("lead", "plans:accountability")):
        phone_page.context.clear_cookies()
        phone_page.context.add_cookies([{"name": LANGUAGE_COOKIE, "value": language, "url": base}])
        sign_in(phone_page, base, people[who].username)
        phone_page.goto(base + reverse(name, args=[plan.programme.slug, plan.pk]))
        phone_page.screenshot(
            path=str(out / f"{name.split(':')[1]}-{language}.png"), full_page=True
        )
        html = phone_page.content()
        assert "<svg" in html and "#b3412f" in html  # the timeline, the overdue bar red
        assert _scroll_width(phone_page) <= WIDTH + 2, (name, _scroll_width(phone_page))
        if who == "viewer":
            assert "Nazarov" not in html and people["lead"].username not in html
            assert f'lang="{language}"' in html
    assert not errors, errors
