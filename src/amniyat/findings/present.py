"""Findings results (already disclosure-controlled) shaped for pages and charts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from amniyat.analysis.indicators import label_in
from amniyat.places.models import Place


@dataclass
class Cell:
    label: str
    kind: str
    n: int
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    suppressed: bool
    reason: str | None
    min_cell: int = 5

    @property
    def note(self) -> str:
        """Why there is no number, in the reader's language."""
        if self.estimate is not None:
            return ""
        if self.reason == "min_cell":
            return _("suppressed (fewer than %(k)d respondents)") % {"k": self.min_cell}
        if self.reason == "complementary":
            return _("suppressed (protects a smaller cell)")
        if self.reason == "min_submissions":
            return _("suppressed (from fewer than %(k)d submissions)") % {"k": self.min_cell}
        if self.reason in ("empty_domain", "zero_weight"):
            return _("no respondents")
        return _("not available")

    @property
    def text(self) -> str:
        if self.estimate is None:
            return "—"
        return f"{self.estimate:.0%}" if self.kind == "proportion" else f"{self.estimate:,.2f}"

    @property
    def interval(self) -> str:
        if self.ci_low is None or self.ci_high is None:
            return ""
        if self.kind == "proportion":
            return f"{self.ci_low:.0%}–{self.ci_high:.0%}"
        return f"{self.ci_low:,.2f}–{self.ci_high:,.2f}"


@dataclass
class IndicatorView:
    id: str
    label: str
    kind: str
    overall: Cell | None = None
    by: dict[str, list[Cell]] = field(default_factory=dict)
    counts: str = ""
    """What n counts when not respondents: the label of the repeat (household members) whose
    repetitions the indicator is counted over."""


def place_names(codes: set[str]) -> dict[str, str]:
    return {p.code: p.name for p in Place.objects.filter(code__in=codes)}


def domain_label(by: list[str], domain: dict[str, str | None], names: dict[str, str]) -> str:
    labels = {"female": _("women"), "male": _("men")}
    parts = []
    for column in by:
        value = domain.get(column)
        if value is None:
            parts.append(_("(no answer)"))
        else:
            parts.append(names.get(value) or str(labels.get(value, value)).replace("_", "–"))
    return " · ".join(parts)


def measure_label(results: Mapping[str, Any], measure: str, language: str | None = None) -> str:
    """The label of a measure of stored results in ``language`` (default: the reader's), else
    in English. Results stored before labels had languages hold only English ``labels``."""
    english = results.get("labels", {}).get(measure) or measure
    labels = results.get("labels_by_language", {}).get(measure) or {}
    return label_in(labels, language or get_language(), default=english)


def indicator_views(results: dict[str, Any]) -> list[IndicatorView]:
    kinds: dict[str, str] = results.get("kinds", {})
    levels: dict[str, dict[str, Any]] = results.get("levels", {})
    estimates: list[dict[str, Any]] = results.get("estimates", [])
    min_cell = int(results.get("design", {}).get("min_cell", 5))
    codes = {v for e in estimates for v in e["domain"].values() if isinstance(v, str) and "-" in v}
    names = place_names(codes)
    views: dict[str, IndicatorView] = {}
    for record in estimates:
        indicator = record["indicator"]
        view = views.setdefault(
            indicator,
            IndicatorView(
                id=indicator,
                label=measure_label(results, indicator),
                kind=kinds.get(indicator, "proportion"),
                counts=label_in(
                    levels.get(indicator, {}).get("labels", {}),
                    get_language(),
                    default=levels.get(indicator, {}).get("repeat", ""),
                ),
            ),
        )
        cell = Cell(
            label=domain_label(record["by"], record["domain"], names),
            kind=view.kind,
            n=record["n"],
            estimate=record["estimate"],
            ci_low=record["ci_low"],
            ci_high=record["ci_high"],
            suppressed=record["suppressed"],
            reason=record["reason"],
            min_cell=min_cell,
        )
        key = ",".join(record["by"])
        if not key:
            view.overall = cell
        else:
            view.by.setdefault(key, []).append(cell)
    return list(views.values())


@dataclass
class Gap:
    indicator: str
    label: str
    women: float | None
    men: float | None
    difference: float | None
    p_value: float | None
    n_women: int
    n_men: int
    suppressed: bool

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < 0.05


def gender_gaps(results: dict[str, Any]) -> list[Gap]:
    """Women − men for every indicator overall, largest gap first."""
    kinds = results.get("kinds", {})
    gaps = [
        Gap(
            indicator=c["indicator"],
            label=measure_label(results, c["indicator"]),
            women=c["estimate_a"],
            men=c["estimate_b"],
            difference=c["difference"],
            p_value=c["p_value"],
            n_women=c["n_a"],
            n_men=c["n_b"],
            suppressed=c["suppressed"],
        )
        for c in results.get("comparisons", [])
        if c["compare"] == "sex"
        and c["a"] == "female"
        and not c["within"]
        and kinds.get(c["indicator"], "proportion") == "proportion"
    ]
    return sorted(gaps, key=lambda g: -abs(g.difference) if g.difference is not None else 1.0)
