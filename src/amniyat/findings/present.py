"""Findings results (already disclosure-controlled) shaped for pages and charts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from amniyat.analysis.indicators import form_labels, label_in
from amniyat.fieldwork.submissions.frames import analysis_columns
from amniyat.findings import charts
from amniyat.places.models import Place

if TYPE_CHECKING:
    from django.utils.safestring import SafeString

    from amniyat.fieldwork.models import Form


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


Choices = Mapping[str, Mapping[str, str]]
"""{column: {choice name: label}} of a form's closed questions."""


def choice_labels(form: Form) -> dict[str, dict[str, str]]:
    """The choice labels of the form's top-level closed questions in the reader's language
    (else English, else the choice's name), by column: what a breakdown shows instead of
    the codes stored."""
    version = form.current_version()
    if version is None:
        return {}
    language = get_language()
    by_path = {spec["path"]: spec for spec in version.schema}
    labels: dict[str, dict[str, str]] = {}
    for column, (path, kind) in analysis_columns(version.schema).items():
        if kind not in ("select_one", "select_multiple"):
            continue
        labels[column] = {
            str(choice["name"]): label_in(
                form_labels(choice.get("label")), language, default=str(choice["name"])
            )
            for choice in by_path[path].get("choices", [])
        }
    return labels


def domain_label(
    by: list[str],
    domain: dict[str, str | None],
    names: dict[str, str],
    choices: Choices | None = None,
) -> str:
    labels = {"female": _("women"), "male": _("men")}
    parts = []
    for column in by:
        value = domain.get(column)
        if value is None:
            parts.append(_("(no answer)"))
        elif value in names:
            parts.append(names[value])
        elif value in labels:
            parts.append(labels[value])
        elif choices and value in choices.get(column, {}):
            parts.append(choices[column][value])
        else:
            parts.append(str(value).replace("_", "–"))
    return " · ".join(parts)


def measure_label(results: Mapping[str, Any], measure: str, language: str | None = None) -> str:
    """The label of a measure of stored results in ``language`` (default: the reader's), else
    in English. Results stored before labels had languages hold only English ``labels``."""
    english = results.get("labels", {}).get(measure) or measure
    labels = results.get("labels_by_language", {}).get(measure) or {}
    return label_in(labels, language or get_language(), default=english)


def _cell(record: dict[str, Any], *, label: str, kind: str, min_cell: int) -> Cell:
    return Cell(
        label=label,
        kind=kind,
        n=record["n"],
        estimate=record["estimate"],
        ci_low=record["ci_low"],
        ci_high=record["ci_high"],
        suppressed=record["suppressed"],
        reason=record["reason"],
        min_cell=min_cell,
    )


def _min_cell(results: Mapping[str, Any]) -> int:
    return int(results.get("design", {}).get("min_cell", 5))


def indicator_views(
    results: dict[str, Any], *, choices: Choices | None = None
) -> list[IndicatorView]:
    kinds: dict[str, str] = results.get("kinds", {})
    levels: dict[str, dict[str, Any]] = results.get("levels", {})
    estimates: list[dict[str, Any]] = results.get("estimates", [])
    min_cell = _min_cell(results)
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
        cell = _cell(
            record,
            label=domain_label(record["by"], record["domain"], names, choices),
            kind=view.kind,
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


# --- Charts ---------------------------------------------------------------------------------


@dataclass
class ChartRow:
    """One row of the table beside a chart: the numbers the chart draws for one bar, dot or
    district, as the page writes them; or, for a suppressed cell, why there are none."""

    label: str
    values: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class Chart:
    """A chart drawn on the server, and the same numbers as a table for those who cannot
    see it (or want the exact figures)."""

    id: str
    title: str
    svg: SafeString
    headers: list[str]
    rows: list[ChartRow]
    caption: str = ""
    """What the drawing needs said beside it (what grey means on a map)."""

    @property
    def span(self) -> int:
        return len(self.headers) - 1


def tip(headers: list[str], row: ChartRow) -> str:
    """What hovering the row's mark says: the row of the table, a line a column."""
    if row.note:
        return f"{row.label}\n{row.note}"
    lines = [f"{header}: {value}" for header, value in zip(headers[1:], row.values, strict=True)]
    return "\n".join([row.label, *lines])


def _percent(value: float) -> str:
    return f"{value:.0%}"


def _points(difference: float) -> str:
    points = round(difference * 100)
    return _("%(change)s points") % {"change": f"{points:+d}" if points else "0"}


def _cell_row(cell: Cell) -> ChartRow:
    if cell.estimate is None:
        return ChartRow(label=cell.label, note=cell.note)
    return ChartRow(label=cell.label, values=[cell.text, cell.interval, str(cell.n)])


def _cell_headers(category: str) -> list[str]:
    # xgettext:no-python-format
    interval = _("95% interval")
    return [category, _("Estimate"), interval, "n"]


def _bar_chart(
    cells: list[Cell], *, chart_id: str, title: str, view: IndicatorView, headers: list[str]
) -> Chart | None:
    """Bars of ``cells`` (with their intervals), the largest first, as the table lists them;
    a suppressed cell is no bar and a table row with the reason."""
    ranked = sorted(cells, key=lambda cell: (cell.estimate is None, -(cell.estimate or 0.0)))
    rows = [_cell_row(cell) for cell in ranked]
    bars = [
        {
            "label": cell.label,
            "estimate": cell.estimate,
            "ci_low": cell.ci_low,
            "ci_high": cell.ci_high,
            "tip": tip(headers, row),
        }
        for cell, row in zip(ranked, rows, strict=True)
        if cell.estimate is not None
    ]
    if not bars:
        return None
    spec = charts.domain_bars(bars, kind=view.kind, value_title=view.label)
    return Chart(id=chart_id, title=title, svg=charts.render_svg(spec), headers=headers, rows=rows)


def district_chart(results: dict[str, Any], view: IndicatorView) -> Chart | None:
    """The indicator by district: a map where every district has a boundary, bars otherwise.
    A suppressed district is grey on the map, left out of the bars, and in the table with
    the reason and no number."""
    records = [
        record
        for record in results.get("estimates", [])
        if record["indicator"] == view.id and record["by"] == ["district"]
    ]
    codes = {str(r["domain"]["district"]) for r in records if r["domain"].get("district")}
    places = {p.code: p for p in Place.objects.filter(code__in=codes)}
    min_cell = _min_cell(results)
    cells = {
        code: _cell(
            record,
            label=places[code].name if code in places else code,
            kind=view.kind,
            min_cell=min_cell,
        )
        for record in records
        if (code := record["domain"].get("district"))
    }
    headers = _cell_headers(_("District"))
    if not (places and all(place.boundary for place in places.values())):
        return _bar_chart(
            list(cells.values()),
            chart_id="chart-district",
            title=f"{view.label}: {_('By district')}",
            view=view,
            headers=headers,
        )
    by_name = sorted(cells.items(), key=lambda item: item[1].label)
    rows = [_cell_row(cell) for _code, cell in by_name]
    features = [
        {
            "type": "Feature",
            "geometry": charts.wound_for_vega(places[code].boundary or {}),
            "properties": {"name": cell.label, "estimate": cell.estimate, "tip": tip(headers, row)},
        }
        for (code, cell), row in zip(by_name, rows, strict=True)
        if code in places
    ]
    spec = charts.district_map(features, kind=view.kind, value_title=view.label)
    withheld = any(row.note for row in rows)
    return Chart(
        id="chart-district",
        title=f"{view.label}: {_('Map by district')}",
        svg=charts.render_svg(spec),
        headers=headers,
        rows=rows,
        caption=_("Grey districts are suppressed; the table below says why.") if withheld else "",
    )


def breakdown_chart(view: IndicatorView, *, column: str, question: str) -> Chart | None:
    """The indicator by the answers to one more question, each answer by its label."""
    return _bar_chart(
        view.by.get(column, []),
        chart_id="chart-breakdown",
        title=f"{view.label}: {question}",
        view=view,
        headers=_cell_headers(question),
    )


def gap_chart(gaps: list[Gap], *, min_cell: int) -> Chart | None:
    """Women and men for every indicator, in the order of ``gaps`` (the largest gap first)."""
    headers = [_("Indicator"), _("Women"), _("Men"), _("Gap (women − men)")]
    rows = []
    dots = []
    for gap in gaps:
        if gap.suppressed:
            note = _("suppressed (fewer than %(k)d respondents)") % {"k": min_cell}
            rows.append(ChartRow(label=gap.label, note=note))
        elif gap.women is None or gap.men is None or gap.difference is None:
            note = _("not available: one of the two groups has no respondents")
            rows.append(ChartRow(label=gap.label, note=note))
        else:
            row = ChartRow(
                label=gap.label,
                values=[_percent(gap.women), _percent(gap.men), _points(gap.difference)],
            )
            rows.append(row)
            text = tip(headers, row)
            dots.append(
                {
                    "indicator": gap.label,
                    "women": gap.women,
                    "men": gap.men,
                    "women_tip": text,
                    "men_tip": text,
                }
            )
    if not dots:
        return None
    spec = charts.gender_gap_dots(dots, women=_("women"), men=_("men"))
    return Chart(
        id="chart-gap",
        title=_("Women and men for every indicator"),
        svg=charts.render_svg(spec),
        headers=headers,
        rows=rows,
    )


def change_chart(rows: list[dict[str, Any]], *, baseline: str, endline: str) -> Chart | None:
    """Baseline and endline of every proportion overall, the largest change first.

    ``rows``: what the change page lists (``label``, ``kind``, ``domain``, ``baseline``,
    ``endline``, ``difference``)."""
    headers = [_("Indicator"), _("Baseline"), _("Endline"), _("Change")]
    overall = [r for r in rows if r["domain"] == "" and r["kind"] == "proportion"]
    table = []
    bars = []
    for row in charts.largest_change_first(overall):
        if row["baseline"] is None or row["endline"] is None:
            table.append(ChartRow(label=row["label"], note=_("suppressed")))
            continue
        change = _points(row["endline"] - row["baseline"])
        chart_row = ChartRow(
            label=row["label"],
            values=[_percent(row["baseline"]), _percent(row["endline"]), change],
        )
        table.append(chart_row)
        text = tip(headers, chart_row)
        bars.append(
            {
                "indicator": row["label"],
                "baseline": row["baseline"],
                "endline": row["endline"],
                "change_text": change,
                "baseline_text": chart_row.values[0],
                "endline_text": chart_row.values[1],
                "baseline_tip": text,
                "endline_tip": text,
            }
        )
    if not bars:
        return None
    spec = charts.change_bars(bars, baseline=baseline, endline=endline)
    return Chart(
        id="chart-change",
        title=_("Baseline and endline for every indicator"),
        svg=charts.render_svg(spec),
        headers=headers,
        rows=table,
    )
