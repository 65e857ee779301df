"""Every write to a community group's priority lists: the prioritisation matrix, its ranking,
the survey figure behind "how many are affected", and the group's agreement.

The matrix scores each concern on four 1–5 scales — severity, how many are affected, urgency
and what the group can change — and records who is most affected. Its rules:

* **Score and rank.** ``score = severity + affected + urgency + changeable`` (4–20). Concerns
  are ranked by score, highest first; a tie is broken by severity, then by urgency. Concerns
  equal on all three share a rank (competition ranking: 1, 2, 2, 4) and are listed by name.
  Ranks are stored and refreshed after every change (:func:`priorities_rank`).
* **How many are affected, from the survey.** Where a concern's code links to survey
  indicators (``Code.indicator_keys``) and the list names the survey its figures come from,
  the share comes from that survey's *published* findings — the figures everyone in the
  programme may already see, disclosure-controlled (a suppressed cell has no number and is
  never used). The estimate for the group's district is used where the findings have one,
  else the programme-wide estimate. Only indicators that count people *affected* are read:
  those naming the concern (``concern.*``, ``concern_*``), having experienced it
  (``*experienced*``), distrusting or feeling unsafe (``*distrust*``, ``*unsafe*``); a code
  may also link indicators of the opposite sense (trust in the police, women taking part),
  which say how many are *not* affected and are skipped. The share sets the 1–5 "how many" score by
  :data:`AFFECTED_BANDS`: under 5 % → 1, 5–15 % → 2, 15–30 % → 3, 30–50 % → 4, half or more
  → 5. Draft (unpublished) findings are never used: facilitators and group members read
  priority lists but may not see draft findings.
* **Agreement.** :func:`priority_list_agree` records the date, how many took part (women,
  men, sectors) and who. Any later change to the list — its title or survey, or adding,
  changing or removing a concern — reopens it: ``agreed_on`` is cleared, the audit trail
  keeps the date it had been agreed, and the list must be agreed again before action plans
  rely on it. The record of who took part last time is kept to prefill the next agreement.

Writes take the acting ``user`` (``None`` only for the system, e.g. the demo builder) and are
audited in the same transaction.
"""

from __future__ import annotations

import datetime
import re
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from amniyat.accounts.models import Programme, User
from amniyat.accounts.policies import require
from amniyat.audit.models import AuditEvent
from amniyat.audit.services import audit_record
from amniyat.communities.models import CommunityGroup, Sector
from amniyat.core.services import changed_fields
from amniyat.core.text import format_list, format_number
from amniyat.drivers.models import AffectedGroup, Code, DriverMap, Factor, Priority, PriorityList
from amniyat.drivers.priorities import selectors
from amniyat.fieldwork.models import Assessment
from amniyat.findings import charts
from amniyat.findings.selectors import published_findings
from amniyat.places.models import Place

if TYPE_CHECKING:
    from django.utils.safestring import SafeString

Verb = AuditEvent.Verb
SCORES = ("severity", "affected", "urgency", "changeable")
LIST_FIELDS = ("title", "assessment")
PRIORITY_FIELDS = ("concern", "code", *SCORES, "most_affected", "note")
# (lowest share in %, score): a share of at least the bound gets the score.
AFFECTED_BANDS: tuple[tuple[float, int], ...] = ((50.0, 5), (30.0, 4), (15.0, 3), (5.0, 2))
# Indicators whose share is of people affected by a concern (see the module docstring).
AFFECTED_INDICATOR = re.compile(r"^concern[._]|experienced|distrust|unsafe")
# The score a concern taken over from a driver map starts with, for the group to revise.
UNSCORED = 3


@dataclass(frozen=True)
class SurveyFigure:
    """The survey estimate behind a concern's "how many are affected"."""

    indicator: str
    label: str
    percent: float
    affected: int
    district: str  # the district code the estimate is for; empty for the programme-wide one


def affected_band(percent: float) -> int:
    """The 1–5 "how many are affected" score for a share of respondents in per cent."""
    for bound, score in AFFECTED_BANDS:
        if percent >= bound:
            return score
    return 1


# Checks -----------------------------------------------------------------------------------


def _check_scores(values: dict[str, Any]) -> None:
    labels = {
        "severity": _("Severity"),
        "affected": _("How many are affected"),
        "urgency": _("Urgency"),
        "changeable": _("What the group can change"),
    }
    errors: dict[str, str] = {}
    for name in SCORES:
        if name not in values:
            continue
        value = values[name]
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
            errors[name] = _("{field}: give a score from 1 to 5 (got {value}).").format(
                field=labels[name], value=value
            )
    if errors:
        raise ValidationError(errors)


def _check_most_affected(groups: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(groups))
    unknown = [g for g in chosen if g not in AffectedGroup.values]
    if unknown:
        raise ValidationError(
            {
                "most_affected": _("Unknown group: {names}.").format(
                    names=format_list(str(g) for g in unknown)
                )
            }
        )
    return chosen


def _check_assessment(assessment: Assessment | None, programme_id: int) -> None:
    if assessment is not None and assessment.programme_id != programme_id:
        raise ValidationError(
            {"assessment": _("This survey is not one of the programme's assessments.")}
        )


def _check_concern(priority: Priority) -> None:
    priority.concern = (priority.concern or "").strip()
    if not priority.concern and priority.code is not None:
        priority.concern = priority.code.name[:200]
    if not priority.concern:
        raise ValidationError({"concern": _("Name the concern.")})
    if len(priority.concern) > 200:
        raise ValidationError({"concern": _("Keep the concern to 200 characters.")})
    programme_id = priority.priority_list.group.programme_id
    if priority.code is not None and priority.code.programme_id != programme_id:
        raise ValidationError({"code": _("This code is not in the programme's codebook.")})
    others = Priority.objects.filter(priority_list=priority.priority_list).exclude(pk=priority.pk)
    if others.filter(concern__iexact=priority.concern).exists():
        raise ValidationError(
            {"concern": _("“{concern}” is already on this list.").format(concern=priority.concern)}
        )
    if priority.code is not None and others.filter(code=priority.code).exists():
        raise ValidationError(
            {
                "code": _("A concern with the code “{code}” is already on this list.").format(
                    code=priority.code.name
                )
            }
        )


def _require_edit(user: User | None, group: CommunityGroup) -> None:
    if user is not None:
        require(user, "priorities.edit", group)


# Ranking ----------------------------------------------------------------------------------


def _rank_key(priority: Priority) -> tuple[int, int, int]:
    return (-priority.score, -priority.severity, -priority.urgency)


def priorities_rank(priority_list: PriorityList) -> list[Priority]:
    """Rank the list's concerns (see the module docstring), store the ranks that changed and
    return the concerns in rank order. Every change to a list's concerns ranks them again:
    their chart is then drawn again too, in the background once the change is committed."""
    priorities = sorted(
        Priority.objects.filter(priority_list=priority_list),
        key=lambda p: (*_rank_key(p), p.concern.casefold(), p.pk),
    )
    changed = []
    rank = 0
    previous: tuple[int, int, int] | None = None
    for position, priority in enumerate(priorities, start=1):
        key = _rank_key(priority)
        if key != previous:
            rank = position
            previous = key
        if priority.rank != rank:
            priority.rank = rank
            changed.append(priority)
    if changed:
        Priority.objects.bulk_update(changed, ["rank"])
    _enqueue_chart(priority_list)
    return priorities


# The chart ---------------------------------------------------------------------------------

SCORE_COLOURS = {
    "severity": "#b3412f",
    "affected": "#d98c2b",
    "urgency": "#1f5c4a",
    "changeable": "#2f7fb5",
}


def score_chart(priorities: list[Priority]) -> dict[str, Any]:
    """Vega-Lite: one stacked bar per concern (in rank order), a segment per scale, drawn on
    the server as the findings charts are (:func:`amniyat.findings.charts.render_svg`): for a
    360 px phone, each name wrapped over as many lines as it needs, hovering a segment says
    its numbers. The key to the colours is the page's, where it wraps (list_detail.html)."""
    scales = [
        ("severity", _("Severity")),
        ("affected", _("How many are affected")),
        ("urgency", _("Urgency")),
        ("changeable", _("What the group can change")),
    ]
    rows = []
    for index, p in enumerate(priorities):
        name = f"{p.rank}. {p.translated('concern')}"
        label = "\n".join(
            textwrap.wrap(" ".join(name.split()), charts.LABEL_CHARACTERS, break_long_words=True)
        )
        for position, (field, scale) in enumerate(scales):
            value = getattr(p, field)
            rows.append(
                {
                    "concern": label,
                    "order": index,
                    "scale": scale,
                    "scale_order": position,
                    "value": value,
                    "tip": "\n".join(
                        [name, f"{scale}: {value}", _("Score: {score}").format(score=p.score)]
                    ),
                }
            )
    lines = max((row["concern"].count("\n") + 1 for row in rows), default=1)
    return {
        "$schema": charts.SCHEMA,
        "config": charts.CONFIG,
        "width": charts.PLOT_WIDTH,
        "height": {"step": max(lines * charts.LINE_HEIGHT + 8, 22)},
        "data": {"values": rows},
        "mark": {"type": "bar"},
        "encoding": {
            "y": {
                "field": "concern",
                "type": "nominal",
                "sort": {"field": "order", "op": "min"},
                "title": None,
                "axis": {
                    "labelExpr": "split(datum.label, '\\n')",
                    "labelLimit": 0,
                    "labelPadding": 4,
                },
            },
            "x": {
                "field": "value",
                "type": "quantitative",
                "aggregate": "sum",
                "title": _("Score"),
                "scale": {"domain": [0, 20]},
            },
            "color": {
                "field": "scale",
                "type": "nominal",
                "sort": [label for _name, label in scales],
                "scale": {
                    "domain": [label for _name, label in scales],
                    "range": [SCORE_COLOURS[name] for name, _label in scales],
                },
                "legend": None,
            },
            "order": {"field": "scale_order"},
            "description": {"field": "tip"},
            "tooltip": {"field": "tip"},
        },
    }


def score_drawing(priorities: list[Priority]) -> SafeString | None:
    """The chart of the list's concerns (in rank order) as the page shows it; None for a list
    without concerns. Drawn when the list changed (:func:`priority_chart_draw`), so the page
    finds the drawing kept (:func:`amniyat.findings.charts.render_svg`); a chart whose labels
    changed otherwise (a code renamed, a concern translated) is drawn by the first page that
    needs it."""
    return charts.render_svg(score_chart(priorities)) if priorities else None


def priority_chart_draw(*, priority_list_id: int) -> None:
    """Draw the list's chart in every interface language (the task's work, after a change):
    drawing one takes about a tenth of a second, half a second more for the first in a
    process, which the page would otherwise spend."""
    priority_list = PriorityList.objects.filter(pk=priority_list_id).first()
    if priority_list is None:
        return
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            if score_drawing(selectors.ranked_priorities(priority_list)) is None:
                return


def _enqueue_chart(priority_list: PriorityList) -> None:
    """Have the list's chart drawn once this change commits, unless a drawing of it is
    already waiting in the queue: that one, when it runs, draws the list as it is then. (A
    drawing under way may have read the list before this change, so it does not count.)"""
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from amniyat.drivers.priorities.tasks import draw_priority_chart

    priority_list_id = priority_list.pk

    def enqueue() -> None:
        waiting = DBTaskResult.objects.filter(
            task_path=draw_priority_chart.module_path,
            status=TaskResultStatus.READY,
            args_kwargs__kwargs__priority_list_id=priority_list_id,
        )
        if not waiting.exists():
            draw_priority_chart.enqueue(priority_list_id=priority_list_id)

    transaction.on_commit(enqueue)


# The survey -------------------------------------------------------------------------------


def _district_code(place: Place | None) -> str:
    while place is not None and place.level == Place.Level.COMMUNITY:
        place = place.parent
    if place is None or place.level != Place.Level.DISTRICT:
        return ""
    return place.code


def survey_figure(priority: Priority) -> SurveyFigure | None:
    """The published survey estimate for the concern's linked indicators, if there is one:
    the first of the code's indicators (in order) that counts people affected and has an
    unsuppressed proportion."""
    priority_list = priority.priority_list
    code = priority.code
    if code is None or not code.indicator_keys or priority_list.assessment_id is None:
        return None
    assert priority_list.assessment is not None
    findings = published_findings(assessment=priority_list.assessment)
    if findings is None:
        return None
    results = findings.results or {}
    kinds: dict[str, str] = results.get("kinds", {})
    labels: dict[str, str] = results.get("labels", {})
    district = _district_code(priority_list.group.place)
    for key in code.indicator_keys:
        if kinds.get(key, "proportion") != "proportion" or not AFFECTED_INDICATOR.search(key):
            continue
        overall: float | None = None
        local: float | None = None
        for record in results.get("estimates", []):
            if record.get("indicator") != key or record.get("suppressed"):
                continue
            estimate = record.get("estimate")
            if estimate is None:
                continue
            by = record.get("by") or []
            if not by:
                overall = float(estimate)
            elif by == ["district"] and district and record["domain"].get("district") == district:
                local = float(estimate)
        value = local if local is not None else overall
        if value is None:
            continue
        percent = round(value * 100, 1)
        return SurveyFigure(
            indicator=key,
            label=str(labels.get(key, key)),
            percent=percent,
            affected=affected_band(percent),
            district=district if local is not None else "",
        )
    return None


def _apply_survey(priority: Priority) -> SurveyFigure | None:
    """Set the survey share (and the score it implies) on ``priority``; clear a share that no
    longer has a survey behind it. Does not save."""
    figure = survey_figure(priority)
    if figure is None:
        priority.affected_percent = None
        priority.affected_indicator = ""
    else:
        priority.affected_percent = figure.percent
        priority.affected_indicator = figure.indicator[:100]
        priority.affected = figure.affected
    return figure


def affected_from_survey(priority: Priority, *, user: User | None = None) -> SurveyFigure | None:
    """Fill the concern's "how many are affected" from the list's survey (see the module
    docstring), save it and re-rank the list; returns the figure used, or None."""
    priority_list = priority.priority_list
    _require_edit(user, priority_list.group)
    before = (priority.affected, priority.affected_percent, priority.affected_indicator)
    figure = _apply_survey(priority)
    after = (priority.affected, priority.affected_percent, priority.affected_indicator)
    if before != after:
        with transaction.atomic():
            priority.save(update_fields=["affected", "affected_percent", "affected_indicator"])
            _reopen(priority_list)
            priorities_rank(priority_list)
            _audit(
                user,
                Verb.UPDATED,
                priority,
                priority_list,
                {"affected_from_survey": [list(before), list(after)]},
            )
    return figure


# Lists ------------------------------------------------------------------------------------


def _audit(
    user: User | None,
    verb: str,
    obj: Any,
    priority_list: PriorityList,
    details: dict[str, Any] | None = None,
) -> None:
    audit_record(
        actor=user,
        actor_label="system",
        verb=verb,
        obj=obj,
        programme=priority_list.group.programme,
        details={"priority_list": priority_list.pk, **(details or {})},
    )


def _reopen(priority_list: PriorityList) -> datetime.date | None:
    """A change to an agreed list reopens it; returns the date it had been agreed."""
    agreed_on = priority_list.agreed_on
    if agreed_on is not None:
        priority_list.agreed_on = None
        priority_list.save(update_fields=["agreed_on"])
    return agreed_on


def priority_list_create(
    *,
    user: User | None,
    programme: Programme,
    group: CommunityGroup,
    title: str,
    assessment: Assessment | None = None,
    is_demo: bool = False,
) -> PriorityList:
    """A new (not yet agreed) priority list for ``group``."""
    if group.programme_id != programme.pk:
        raise ValidationError({"group": _("This group is not part of the programme.")})
    _require_edit(user, group)
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": _("Give the list a title.")})
    _check_assessment(assessment, programme.pk)
    priority_list = PriorityList(
        group=group,
        title=title[:200],
        assessment=assessment,
        is_demo=is_demo,
        created_by=user if user is not None and user.pk else None,
    )
    with transaction.atomic():
        priority_list.save()
        _audit(user, Verb.CREATED, priority_list, priority_list, {"group": group.pk})
    return priority_list


def priority_list_update(
    *, user: User | None, priority_list: PriorityList, **values: Any
) -> PriorityList:
    """Change the title or the survey; a new survey refreshes every concern's survey share."""
    _require_edit(user, priority_list.group)
    unknown = set(values) - set(LIST_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    if "title" in values:
        values["title"] = (values["title"] or "").strip()[:200]
        if not values["title"]:
            raise ValidationError({"title": _("Give the list a title.")})
    if "assessment" in values:
        _check_assessment(values["assessment"], priority_list.group.programme_id)
    changes = changed_fields(priority_list, values)
    if not changes:
        return priority_list
    with transaction.atomic():
        priority_list.save(update_fields=list(changes))
        if "assessment" in changes:
            refreshed = []
            for priority in priority_list.priorities.select_related("code"):
                priority.priority_list = priority_list
                _apply_survey(priority)
                refreshed.append(priority)
            Priority.objects.bulk_update(
                refreshed, ["affected", "affected_percent", "affected_indicator"]
            )
            priorities_rank(priority_list)
        reopened = _reopen(priority_list)
        _audit(
            user,
            Verb.UPDATED,
            priority_list,
            priority_list,
            {"changes": changes, **({"reopened": str(reopened)} if reopened else {})},
        )
    return priority_list


def priority_list_delete(*, user: User | None, priority_list: PriorityList) -> None:
    _require_edit(user, priority_list.group)
    # An action plan answering the list keeps it: the chain from an action back to the
    # priority it answers is what a plan is accountable for.
    if priority_list.action_plans.exists():
        raise ValidationError(
            _("An action plan answers this list: it is kept as long as the plan is.")
        )
    with transaction.atomic():
        _audit(
            user,
            Verb.DELETED,
            priority_list,
            priority_list,
            {"group": priority_list.group_id, "concerns": priority_list.priorities.count()},
        )
        priority_list.delete()


def priority_list_agree(
    *,
    user: User | None,
    priority_list: PriorityList,
    agreed_on: datetime.date | None,
    participants: int,
    women: int,
    men: int,
    sectors: Sequence[str] = (),
    took_part: str = "",
) -> PriorityList:
    """Record that the group agreed the list as ranked: when, and who took part."""
    _require_edit(user, priority_list.group)
    errors: dict[str, str] = {}
    if not priority_list.priorities.exists():
        raise ValidationError(_("Add at least one concern before the list is agreed."))
    if agreed_on is None:
        errors["agreed_on"] = _("Give the date the group agreed the list.")
    elif agreed_on > timezone.localdate():
        errors["agreed_on"] = _("The date of agreement cannot be in the future.")
    counts = {"participants": participants, "women": women, "men": men}
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10000:
            # The same sentence as the participant counts of a source, grouping included.
            errors[name] = _("Enter a whole number from 0 to 10,000.")
    if not errors:
        if participants < 1:
            errors["participants"] = _("At least one person must have taken part.")
        elif women + men > participants:
            errors["participants"] = _(
                "Women and men ({women} + {men}) cannot outnumber the participants ({n})."
            ).format(
                women=format_number(women), men=format_number(men), n=format_number(participants)
            )
    chosen_sectors = list(dict.fromkeys(sectors))
    unknown = [s for s in chosen_sectors if s not in Sector.values]
    if unknown:
        errors["sectors"] = _("Unknown sector: {names}.").format(names=format_list(unknown))
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        priorities_rank(priority_list)
        priority_list.agreed_on = agreed_on
        priority_list.participants = participants
        priority_list.women = women
        priority_list.men = men
        priority_list.sectors = chosen_sectors
        priority_list.took_part = (took_part or "").strip()
        priority_list.save(
            update_fields=["agreed_on", "participants", "women", "men", "sectors", "took_part"]
        )
        _audit(
            user,
            Verb.UPDATED,
            priority_list,
            priority_list,
            {
                "agreed_on": str(agreed_on),
                "participants": participants,
                "women": women,
                "men": men,
                "sectors": chosen_sectors,
                "ranking": [
                    p.concern for p in Priority.objects.filter(priority_list=priority_list)
                ],
            },
        )
    return priority_list


def priority_list_from_map(
    *,
    user: User | None,
    programme: Programme,
    group: CommunityGroup,
    driver_map: DriverMap,
    title: str,
    assessment: Assessment | None = None,
    is_demo: bool = False,
) -> PriorityList:
    """A new list holding the security concerns of a driver map, each at a middling score
    (3 on every scale) for the group to revise, with its survey share where there is one."""
    if driver_map.programme_id != programme.pk:
        raise ValidationError({"driver_map": _("This driver map is not part of the programme.")})
    with transaction.atomic():
        priority_list = priority_list_create(
            user=user,
            programme=programme,
            group=group,
            title=title,
            assessment=assessment,
            is_demo=is_demo,
        )
        seen: set[str] = set()
        seen_codes: set[int] = set()
        for factor in driver_map.factors.filter(kind=Factor.Kind.CONCERN).select_related("code"):
            label = factor.label.strip()[:200]
            if label.casefold() in seen or (factor.code_id and factor.code_id in seen_codes):
                continue
            seen.add(label.casefold())
            if factor.code_id:
                seen_codes.add(factor.code_id)
            priority = Priority(
                priority_list=priority_list,
                concern=label,
                code=factor.code,
                severity=UNSCORED,
                affected=UNSCORED,
                urgency=UNSCORED,
                changeable=UNSCORED,
                note=_("From the driver map “{title}”: to be scored with the group.").format(
                    title=driver_map.title
                ),
            )
            _apply_survey(priority)
            priority.save()
        priorities_rank(priority_list)
        _audit(user, Verb.UPDATED, priority_list, priority_list, {"from_map": driver_map.pk})
    return priority_list


# Concerns ---------------------------------------------------------------------------------


def priority_add(
    *,
    user: User | None,
    priority_list: PriorityList,
    concern: str,
    severity: int,
    affected: int,
    urgency: int,
    changeable: int,
    code: Code | None = None,
    most_affected: Iterable[str] = (),
    note: str = "",
) -> Priority:
    """Score a concern on the list. Where its code links to a survey indicator with a
    published figure, "how many are affected" comes from the survey instead of ``affected``."""
    _require_edit(user, priority_list.group)
    _check_scores(
        {"severity": severity, "affected": affected, "urgency": urgency, "changeable": changeable}
    )
    priority = Priority(
        priority_list=priority_list,
        concern=concern,
        code=code,
        severity=severity,
        affected=affected,
        urgency=urgency,
        changeable=changeable,
        most_affected=_check_most_affected(most_affected),
        note=(note or "").strip(),
    )
    _check_concern(priority)
    figure = _apply_survey(priority)
    with transaction.atomic():
        priority.save()
        reopened = _reopen(priority_list)
        priorities_rank(priority_list)
        priority.refresh_from_db(fields=["rank"])
        _audit(
            user,
            Verb.CREATED,
            priority,
            priority_list,
            {
                "scores": [priority.severity, priority.affected, priority.urgency, changeable],
                **({"survey": figure.indicator} if figure else {}),
                **({"reopened": str(reopened)} if reopened else {}),
            },
        )
    return priority


def priority_update(*, user: User | None, priority: Priority, **values: Any) -> Priority:
    """Change a concern's name, code, scores, who it affects most or its note."""
    priority_list = priority.priority_list
    _require_edit(user, priority_list.group)
    unknown = set(values) - set(PRIORITY_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    _check_scores(values)
    if "most_affected" in values:
        values["most_affected"] = _check_most_affected(values["most_affected"] or [])
    if "note" in values:
        values["note"] = (values["note"] or "").strip()
    saved = {name: getattr(priority, name) for name in PRIORITY_FIELDS}
    changes = changed_fields(priority, values)
    try:
        _check_concern(priority)
    except ValidationError:
        for name, value in saved.items():  # leave the caller's object as it was
            setattr(priority, name, value)
        raise
    before = (priority.affected_percent, priority.affected_indicator)
    affected_before = saved["affected"]
    _apply_survey(priority)
    if (priority.affected_percent, priority.affected_indicator) != before or (
        priority.affected != affected_before and "affected" not in changes
    ):
        changes["survey"] = [list(before), [priority.affected_percent, priority.affected_indicator]]
    if not changes:
        return priority
    with transaction.atomic():
        priority.save()
        reopened = _reopen(priority_list)
        priorities_rank(priority_list)
        priority.refresh_from_db(fields=["rank"])
        _audit(
            user,
            Verb.UPDATED,
            priority,
            priority_list,
            {"changes": changes, **({"reopened": str(reopened)} if reopened else {})},
        )
    return priority


def priority_delete(*, user: User | None, priority: Priority) -> None:
    priority_list = priority.priority_list
    _require_edit(user, priority_list.group)
    with transaction.atomic():
        _audit(user, Verb.DELETED, priority, priority_list, {"concern": priority.concern})
        priority.delete()
        reopened = _reopen(priority_list)
        priorities_rank(priority_list)
        if reopened:
            _audit(user, Verb.UPDATED, priority_list, priority_list, {"reopened": str(reopened)})
