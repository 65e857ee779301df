"""The workplan in and out (XLSX, CSV), every problem an import can meet, and the due dates
as an iCalendar feed."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from djmoney.money import Money
from icalendar import Calendar
from openpyxl import load_workbook

from amniyat.accounts.models import Membership
from amniyat.accounts.translations.services import translations_save
from amniyat.audit.models import AuditEvent
from amniyat.demo.plans import build_plan
from amniyat.plans import exchange, services
from amniyat.plans.models import Action, ActionPlan
from tests.plans.conftest import START, Scene, make_action, make_plan

Role = Membership.Role


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _demo(scene: Scene) -> ActionPlan:
    plan = build_plan(scene.group)
    assert plan is not None
    patrols = Action.objects.get(objective__plan=plan, title__startswith="Joint police")
    translations_save(
        obj=patrols,
        programme=scene.programme,
        content_language="en",
        texts={(patrols, "title", "ru"): "Совместное патрулирование полиции и общины"},
        acting_user=scene.users[Role.LEAD],
    )
    return plan


def _empty_plan(scene: Scene) -> ActionPlan:
    """A plan of the same group from the same agreed priorities (the same objectives)."""
    priorities = list(scene.priority_list.priorities.order_by("rank", "pk"))
    return services.plan_create_from_priorities(
        user=scene.users[Role.LEAD],
        priority_list=scene.priority_list,
        priorities=priorities,
        title="Copy",
        period_start=START,
        period_end=datetime.date(2025, 12, 31),
    )


def _download(scene: Scene, plan: ActionPlan, kind: str, language: str = "en") -> bytes:
    client = _client(scene.users[Role.LEAD])
    url = reverse("plans:workplan", args=[scene.programme.slug, plan.pk])
    response = client.get(f"{url}?format={kind}", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return b"".join(response.streaming_content) if response.streaming else response.content


def _import(scene: Scene, plan: ActionPlan, name: str, content: bytes) -> Any:
    client = _client(scene.users[Role.LEAD])
    url = reverse("plans:workplan_import", args=[scene.programme.slug, plan.pk])
    return client.post(url, {"upload": io.BytesIO(content) and _upload(name, content)})


def _upload(name: str, content: bytes) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


def _tree(plan: ActionPlan) -> list[dict[str, Any]]:
    """Every field of every action of the plan, parents named by their titles."""
    out = []
    for action in Action.objects.filter(objective__plan=plan).order_by(
        "objective__position", "parent_id", "position", "pk"
    ):
        out.append(
            {
                "objective": action.objective.title,
                "parent": action.parent.title if action.parent else None,
                "position": action.position,
                "title": action.title,
                "content_language": action.content_language,
                "translations": {
                    code: action.translation("title", code) for code in ("en", "ru", "tg", "uz")
                },
                "lead_actor": action.lead_actor,
                "lead_side": action.lead_side,
                "supporting_actors": action.supporting_actors,
                "start_on": action.start_on,
                "due_on": action.due_on,
                "cost": action.cost,
                "cost_currency": str(action.cost.currency) if action.cost else None,
                "funding": action.funding,
                "expected_result": action.expected_result,
                "beneficiaries": action.beneficiaries,
                "status": action.status,
                "status_reason": action.status_reason,
                "progress": action.progress,
                "weight": action.weight,
                "factors": sorted(action.factors.values_list("pk", flat=True)),
                "priorities": sorted(action.priorities.values_list("pk", flat=True)),
            }
        )
    return out


@pytest.mark.parametrize(("kind", "language"), [("xlsx", "en"), ("csv", "en"), ("xlsx", "ru")])
def test_the_demo_workplan_imports_back_into_an_empty_plan_identical(
    scene: Scene, kind: str, language: str
) -> None:
    plan = _demo(scene)
    content = _download(scene, plan, kind, language)
    copy = _empty_plan(scene)
    response = _import(scene, copy, f"plan.{kind}", content)
    assert response.status_code == 302, response.content.decode()
    original, imported = _tree(plan), _tree(copy)
    assert len(imported) == 5
    assert imported == original
    assert any(a["translations"]["ru"] for a in imported)
    costs = [a["cost"] for a in imported if a["cost"] is not None]
    assert costs and all(isinstance(c.amount, Decimal) for c in costs)
    assert Decimal("45000.00") in [c.amount for c in costs]
