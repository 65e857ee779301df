"""Template tags of progress updates: what the plan's page says of its updates and open
disputes (``plans/updates/summary.html``, included by ``plans/detail.html``), and the table
of an update's participants."""

from __future__ import annotations

from typing import Any

from django import template

from amniyat.communities.models import AgeBand, Sex
from amniyat.plans import selectors
from amniyat.plans.models import ActionPlan

register = template.Library()


@register.simple_tag
def plan_updates_summary(plan: ActionPlan) -> selectors.UpdatesSummary:
    """For a plan the page read through ``selectors.plan_get``."""
    return selectors.updates_summary(plan)


@register.filter
def participant_rows(counts: Any) -> list[tuple[str, int, int]]:
    """(age band, women, men) for each age band, in order."""
    counts = counts if isinstance(counts, dict) else {}
    women, men = counts.get(Sex.FEMALE, {}) or {}, counts.get(Sex.MALE, {}) or {}
    return [
        (str(label), int(women.get(band, 0)), int(men.get(band, 0)))
        for band, label in AgeBand.choices
    ]
