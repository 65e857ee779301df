"""Who answers for what in action plans: which actions are overdue, what each lead actor
committed to and how much of it is done, the share of actions done on time, and the
timeline chart of a plan.

Everything here reads actions already loaded through the plans' selectors and writes no
row. Definitions (docs/workflows/action-plans.md, "Accountability, publishing and
reminders"):

* **overdue**: its due date has passed (``due_on`` before today, today being
  ``timezone.localdate()``) and it is neither done nor dropped; it is *days late* by
  today − due date;
* **a commitment** of an actor: an action (at any depth) whose lead actor it is; the actor's
  name is compared without case and extra spaces ("District police" and "district  police"
  are one actor);
* **done on time**: done on or before its due date (``done_on <= due_on``). The share of
  actions done on time counts, among the actions not dropped, those that were *due by now*
  (due before today) or are done: done on time / counted. A done action whose completion
  date was not kept (done before the date was recorded) is left out, and said so.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from babel.dates import get_month_names
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from amniyat.core import text
from amniyat.findings import charts
from amniyat.plans.models import Action

Status = Action.Status
CLOSED = frozenset({Status.DONE, Status.DROPPED})
# The chart's colours: the findings charts' brand green for what is done, the priorities'
# red for what is overdue, the findings' blue for what is under way, grey for the rest.
DONE_COLOUR, OVERDUE_COLOUR, OPEN_COLOUR = charts.BRAND, "#b3412f", "#2f7fb5"
DROPPED_COLOUR = charts.GREY
# The chart draws at most this many actions (the first in the plan's order); the table
# under it lists every one.
CHART_ROWS = 40


class Commitment(Protocol):
    """An action as these functions read it: a model instance, or a row of plain values
    (``selectors.ActionRow``)."""

    @property
    def pk(self) -> Any: ...
    @property
    def lead_actor(self) -> str: ...
    @property
    def lead_side(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def due_on(self) -> datetime.date: ...
    @property
    def done_on(self) -> datetime.date | None: ...


C = TypeVar("C", bound=Commitment)


def is_overdue(action: Commitment, today: datetime.date) -> bool:
    return action.due_on < today and action.status not in CLOSED


def days_late(action: Commitment, today: datetime.date) -> int:
    return (today - action.due_on).days if is_overdue(action, today) else 0


def actor_key(name: str) -> str:
    return " ".join(str(name).split()).casefold()


# Commitments by actor -------------------------------------------------------------------


@dataclass
class Segment:
    """A piece of a generated sentence: plain text, or a count that links to the actions
    it counts (``show``: all, done, overdue, dropped)."""

    text: str
    show: str = ""


@dataclass
class ActorLine:
    actor: str
    key: str
    sides: set[str] = field(default_factory=set)
    actions: list[int] = field(default_factory=list)
    done: list[int] = field(default_factory=list)
    overdue: list[int] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)
    longest_late: int = 0

    @property
    def is_authority(self) -> bool:
        return "authority" in self.sides

    def parts(self, language: str | None = None) -> list[Segment]:
        """The counts as sentence parts: "4 commitments", "2 done", "1 delayed 45 days"."""

        def number(n: int) -> str:
            return text.format_number(n, language)

        parts = [
            Segment(
                ngettext("{n} commitment", "{n} commitments", len(self.actions)).format(
                    n=number(len(self.actions))
                ),
                "all",
            )
        ]
        if self.done:
            parts.append(
                Segment(
                    ngettext("{n} done", "{n} done", len(self.done)).format(
                        n=number(len(self.done))
                    ),
                    "done",
                )
            )
        if self.overdue:
            days = ngettext("{n} day", "{n} days", self.longest_late).format(
                n=number(self.longest_late)
            )
            late = len(self.overdue)
            # One overdue action is late by so many days; of several, the latest is.
            said = (
                _("{n} delayed {days}")
                if late == 1
                else ngettext("{n} delayed, up to {days}", "{n} delayed, up to {days}", late)
            )
            parts.append(Segment(said.format(n=number(late), days=days), "overdue"))
        if self.dropped:
            parts.append(
                Segment(
                    ngettext("{n} dropped", "{n} dropped", len(self.dropped)).format(
                        n=number(len(self.dropped))
                    ),
                    "dropped",
                )
            )
        return parts

    def segments(self, language: str | None = None) -> list[Segment]:
        """The whole sentence, "District police: 4 commitments, 2 done, 1 delayed 45 days",
        as pieces, each count a link: the parts joined by the language's separator (CLDR's
        lists join with "and", or, for units, with spaces in Russian), in the translated
        "{actor}: {facts}"."""
        parts = self.parts(language)
        separator = pgettext("between the counts of an actor's commitments", ", ")
        facts = separator.join(f"\x00{index}\x00" for index in range(len(parts)))
        whole = _("{actor}: {facts}").format(actor="\x00a\x00", facts=facts)
        pieces: list[Segment] = []
        for index, piece in enumerate(whole.split("\x00")):
            if index % 2 == 0:
                if piece:
                    pieces.append(Segment(piece))
            elif piece == "a":
                pieces.append(Segment(self.actor))
            else:
                pieces.append(parts[int(piece)])
        return pieces

    def sentence(self, language: str | None = None) -> str:
        return "".join(segment.text for segment in self.segments(language))


def commitments_by_actor(actions: Iterable[Commitment], today: datetime.date) -> list[ActorLine]:
    """One line per lead actor: those with the most overdue commitments first, then those
    with the most commitments."""
    lines: dict[str, ActorLine] = {}
    for action in actions:
        key = actor_key(action.lead_actor)
        line = lines.get(key)
        if line is None:
            line = lines[key] = ActorLine(actor=" ".join(action.lead_actor.split()), key=key)
        line.sides.add(action.lead_side)
        line.actions.append(action.pk)
        if action.status == Status.DONE:
            line.done.append(action.pk)
        elif action.status == Status.DROPPED:
            line.dropped.append(action.pk)
        elif is_overdue(action, today):
            line.overdue.append(action.pk)
            line.longest_late = max(line.longest_late, days_late(action, today))
    return sorted(lines.values(), key=lambda a: (-len(a.overdue), -len(a.actions), a.key))


def counted_actions(
    actions: Iterable[C], today: datetime.date, *, actor: str = "", show: str = "all"
) -> list[C]:
    """The actions a count stands for (``actor`` a key of :func:`actor_key`, or every actor;
    ``show`` all, done, overdue, dropped, on_time, late): the list a count links to."""
    chosen = []
    for action in actions:
        if actor and actor_key(action.lead_actor) != actor:
            continue
        if (
            show == "all"
            or (show == "done" and action.status == Status.DONE)
            or (show == "dropped" and action.status == Status.DROPPED)
            or (show == "overdue" and is_overdue(action, today))
            or (show == "on_time" and done_on_time(action))
            or (show == "late" and counts_for_on_time(action, today) and not done_on_time(action))
        ):
            chosen.append(action)
    return chosen


SHOWN = frozenset({"all", "done", "overdue", "dropped", "on_time", "late"})


# Done on time ---------------------------------------------------------------------------


def done_on_time(action: Commitment) -> bool:
    return (
        action.status == Status.DONE
        and action.done_on is not None
        and action.done_on <= action.due_on
    )


def counts_for_on_time(action: Commitment, today: datetime.date) -> bool:
    """Whether the action is counted in the share done on time: not dropped, and done (with
    its completion date) or due before today."""
    if action.status == Status.DROPPED:
        return False
    if action.status == Status.DONE:
        return action.done_on is not None
    return action.due_on < today


@dataclass(frozen=True)
class OnTime:
    on_time: int
    counted: int
    undated: int  # done, without a completion date: not counted

    @property
    def share(self) -> float | None:
        return self.on_time / self.counted if self.counted else None


def on_time_share(actions: Iterable[Commitment], today: datetime.date) -> OnTime:
    on_time = counted = undated = 0
    for action in actions:
        if action.status == Status.DONE and action.done_on is None:
            undated += 1
        elif counts_for_on_time(action, today):
            counted += 1
            on_time += done_on_time(action)
    return OnTime(on_time=on_time, counted=counted, undated=undated)


# The timeline -----------------------------------------------------------------------------


def _state(action: Action, today: datetime.date) -> str:
    if action.status == Status.DONE:
        return "done"
    if action.status == Status.DROPPED:
        return "dropped"
    return "overdue" if is_overdue(action, today) else "open"


def timeline_spec(
    rows: list[tuple[Action, str, int]], today: datetime.date, language: str | None = None
) -> dict[str, Any]:
    """Vega-Lite: a Gantt-like chart, one bar per action from its start to its due date (in
    the plan's order; ``rows`` are (action, its title as the reader reads it, its depth)),
    overdue bars red, done green, dropped grey, the rest blue, and a dashed line at today.
    Drawn on the server (``charts.render_svg``) for a 360 px phone; the month names on the
    axis are the reader's (Babel's), not Vega's English ones."""
    code = text.language_code(language)
    states = {
        "done": (_("done"), DONE_COLOUR),
        "overdue": (_("overdue"), OVERDUE_COLOUR),
        "open": (_("under way or not started"), OPEN_COLOUR),
        "dropped": (_("dropped"), DROPPED_COLOUR),
    }
    values: list[dict[str, Any]] = []
    for index, (action, title, depth) in enumerate(rows[:CHART_ROWS]):
        state = _state(action, today)
        label = ("· " * depth) + title
        values.append(
            {
                "label": charts._wrapped(f"{index + 1}. {label}"),
                "order": index,
                "start": action.start_on.isoformat(),
                # A bar reaches the end of its due day.
                "end": (action.due_on + datetime.timedelta(days=1)).isoformat(),
                "state": states[state][0],
                "tip": "\n".join(
                    [
                        title,
                        f"{text.format_date(action.start_on, code, 'medium')} – "
                        f"{text.format_date(action.due_on, code, 'medium')}",
                        str(action.get_status_display()),
                    ]
                ),
            }
        )
    # Lower-cased where the language writes month names so (core.text: Tajik).
    # Month names as core.text writes them (lower case in Tajik, as in Russian).
    months = [
        str(name).lower() if code in text._LOWERCASE_MONTHS else str(name)
        for name in get_month_names("abbreviated", locale=text._locale(code)).values()
    ]
    labels = [row["label"] for row in values]
    used = [key for key in states if any(row["state"] == states[key][0] for row in values)]
    return {
        "$schema": charts.SCHEMA,
        "config": charts.CONFIG,
        "width": charts.PLOT_WIDTH,
        "height": {"step": charts._band_step(labels)},
        "layer": [
            {
                "data": {"values": values},
                "mark": {"type": "bar", "cornerRadius": 2},
                "encoding": {
                    "y": {
                        "field": "label",
                        "type": "nominal",
                        "sort": {"field": "order", "op": "min"},
                        "title": None,
                        "axis": charts._category_axis(),
                    },
                    "x": {
                        "field": "start",
                        "type": "temporal",
                        "title": None,
                        "scale": {"type": "utc"},
                        "axis": {
                            "tickCount": 4,
                            "labelExpr": f"{json.dumps(months, ensure_ascii=False)}"
                            "[utcmonth(datum.value)] + ' ' + utcyear(datum.value)",
                            "labelOverlap": True,
                        },
                    },
                    "x2": {"field": "end"},
                    "color": {
                        "field": "state",
                        "type": "nominal",
                        "scale": {
                            "domain": [states[key][0] for key in used],
                            "range": [states[key][1] for key in used],
                        },
                        # A state's name whole ("under way or not started"), never cut
                        # short with "…": the legend sits under the plot, as wide as it.
                        "legend": {
                            "orient": "bottom",
                            "direction": "vertical",
                            "title": None,
                            "labelLimit": charts.PLOT_WIDTH,
                        },
                    },
                    "description": {"field": "tip"},
                    "tooltip": {"field": "tip"},
                },
            },
            {
                "data": {"values": [{"today": today.isoformat()}]},
                "mark": {"type": "rule", "color": charts.INK, "strokeDash": [4, 3]},
                "encoding": {
                    "x": {"field": "today", "type": "temporal", "scale": {"type": "utc"}},
                    "description": {"value": _("today")},
                },
            },
        ],
    }
