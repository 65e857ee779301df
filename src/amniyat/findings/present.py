"""Findings results (already disclosure-controlled) shaped for pages and charts."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from amniyat.analysis.indicators import form_labels, label_in
from amniyat.fieldwork.submissions.frames import analysis_columns
from amniyat.findings import charts, tables
from amniyat.places.models import Place

if TYPE_CHECKING:
    from django.utils.safestring import SafeString

    from amniyat.fieldwork.models import Form
    from amniyat.findings.models import Findings


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
        return tables.estimate(self.estimate, self.kind).text

    @property
    def interval(self) -> str:
        return tables.interval(self.ci_low, self.ci_high, self.kind).text

    def cells(self, *, n_column: bool) -> tables.Cells:
        """The cell's figures (estimate, interval, n) for a table row; withheld, the reason
        instead of the estimate and interval, and its n as the page may show it or, in a
        chart's table, nothing. A withheld cell never shows its n where that n is what
        disclosure control protects: ``< 5`` where the cell is too small (or rests on too
        few submissions), and nothing where it was withheld to protect another cell (with
        the total published, its n would give the smaller cell's by subtraction)."""
        if self.estimate is None:
            if not n_column:
                return [tables.Withheld(self.note, span=3)]
            if self.reason in ("min_cell", "min_submissions"):
                n = tables.Figure(f"< {self.min_cell}", (f"< {self.min_cell}",))
            elif self.reason == "complementary":
                n = tables.Figure("—", (None,))
            else:
                n = tables.count(self.n)
            return [tables.Withheld(self.note, span=2), n]
        return [
            tables.estimate(self.estimate, self.kind),
            tables.interval(self.ci_low, self.ci_high, self.kind),
            tables.count(self.n),
        ]


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


def smallest_cell(results: Mapping[str, Any]) -> int:
    """The smallest cell findings publish (the programme's, when they were computed)."""
    return int(results.get("design", {}).get("min_cell", 5))


def indicator_views(
    results: dict[str, Any], *, choices: Choices | None = None
) -> list[IndicatorView]:
    kinds: dict[str, str] = results.get("kinds", {})
    levels: dict[str, dict[str, Any]] = results.get("levels", {})
    estimates: list[dict[str, Any]] = results.get("estimates", [])
    min_cell = smallest_cell(results)
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


# --- Tables -------------------------------------------------------------------------------
# Every table of the findings pages is a `tables.PageTable`: the page prints it and its
# download writes it, so the file holds exactly the page's cells.


def _cell_columns(kinds: set[str]) -> list[tables.Column]:
    """Estimate, interval and n; in the file the interval is its two ends, and a table of
    proportions only says so in its headers."""
    # xgettext:no-python-format
    interval = _("95% interval")
    if kinds == {"proportion"}:
        return [
            # xgettext:no-python-format
            tables.Column(_("Estimate"), (_("Estimate (%)"),)),
            tables.Column(
                interval,
                (
                    # xgettext:no-python-format
                    _("95% interval, low (%)"),
                    # xgettext:no-python-format
                    _("95% interval, high (%)"),
                ),
            ),
            tables.Column("n"),
        ]
    return [
        tables.Column(_("Estimate")),
        tables.Column(
            interval,
            (
                # xgettext:no-python-format
                _("95% interval, low"),
                # xgettext:no-python-format
                _("95% interval, high"),
            ),
        ),
        tables.Column("n"),
    ]


def _estimate_notes(views: list[IndicatorView]) -> list[str]:
    notes = [
        _(
            # xgettext:no-python-format
            "Proportions are in percent and means to two decimals, rounded as on the page; a "
            "95% interval is given by its two ends; n is the number of respondents behind an "
            "estimate (unweighted)."
        )
    ]
    for view in views:
        if view.counts:
            notes.append(
                f"{view.label}: "
                + _(
                    "n counts %(unit)s, not respondents; a cell is shown only if they come "
                    "from at least %(k)s submissions."
                )
                % {"unit": view.counts, "k": view.overall.min_cell if view.overall else 5}
            )
    return notes


def breakdown_title(by: str) -> str:
    """What a group of an indicator's rows is broken down by (``by sex``)."""
    titles = {
        "sex": _("by sex"),
        "age_band": _("by age"),
        "district": _("by district"),
        "sex,district": _("by sex and district"),
    }
    return titles.get(by, by)


def indicator_table(view: IndicatorView, *, title: str) -> tables.PageTable:
    """One indicator overall and broken down by sex, age and district, as its card shows it."""
    rows = []
    if view.overall is not None:
        rows.append(tables.PageRow([_("overall")], view.overall.cells(n_column=True)))
    rows += [
        tables.PageRow([cell.label], cell.cells(n_column=True), group=breakdown_title(by))
        for by, cells in view.by.items()
        for cell in cells
    ]
    return tables.PageTable(
        id=f"indicator-{view.id}",
        title=f"{title}: {view.label}",
        labels=[tables.Column("", (_("Category"),))],
        columns=_cell_columns({view.kind}),
        rows=rows,
        notes=_estimate_notes([view]),
        group=_("Breakdown"),
    )


def indicators_table(
    cards: list[tuple[IndicatorView, tables.PageTable]], *, title: str
) -> tables.PageTable:
    """The tables of every indicator's card as one: the rows of each, its indicator named."""
    views = [view for view, _table in cards]
    return tables.PageTable(
        id="indicators",
        title=f"{title}: {_('All indicators')}",
        labels=[
            tables.Column(_("Indicator")),
            tables.Column(_("Breakdown")),
            tables.Column("", (_("Category"),)),
        ],
        columns=_cell_columns({view.kind for view in views}),
        rows=[
            tables.PageRow([view.label, row.group, *row.labels], row.cells)
            for view, table in cards
            for row in table.rows
        ],
        notes=_estimate_notes(views),
    )


def breakdown_table(views: list[IndicatorView], *, question: str, title: str) -> tables.PageTable:
    """Every indicator by the answers to one more question."""
    return tables.PageTable(
        id="breakdown",
        title=f"{title}: {question}",
        labels=[tables.Column(_("Indicator")), tables.Column("", (question,))],
        columns=_cell_columns({view.kind for view in views}),
        rows=[
            tables.PageRow([view.label, cell.label], cell.cells(n_column=True))
            for view in views
            for cells in view.by.values()
            for cell in cells
        ],
        notes=_estimate_notes(views),
    )


def _gap_columns() -> list[tables.Column]:
    return [
        tables.Column(_("Women"), (_("Women (%)"),)),
        tables.Column(_("Men"), (_("Men (%)"),)),
        tables.Column(_("Gap (women − men)"), (_("Gap (women − men), points"),)),
    ]


def _gap_cells(gap: Gap, min_cell: int) -> tables.Cells:
    if gap.suppressed:
        note = _("suppressed (fewer than %(k)d respondents)") % {"k": min_cell}
        return [tables.Withheld(note, span=3)]
    if gap.women is None or gap.men is None or gap.difference is None:
        note = _("not available: one of the two groups has no respondents")
        return [tables.Withheld(note, span=3)]
    return [
        tables.estimate(gap.women, "proportion"),
        tables.estimate(gap.men, "proportion"),
        tables.points(gap.difference),
    ]


def _gap_notes() -> list[str]:
    return [
        _(
            "Women and men in percent; the gap is women's minus men's estimate, in "
            "percentage points."
        ),
        _(
            "Women and men for every indicator, the largest gap first. ★ marks a difference "
            "unlikely to be chance (p < 0.05, accounting for the survey design)."
        ),
    ]


def _star_column() -> tables.Column:
    return tables.Column("", (_("★ (p < 0.05)"),))


def gap_table(gaps: list[Gap], *, min_cell: int, title: str) -> tables.PageTable:
    """Women, men and the gap for every indicator, the largest gap first."""
    return tables.PageTable(
        id="gaps",
        title=f"{title}: {_('Gender gap')}",
        labels=[tables.Column(_("Indicator"))],
        columns=[*_gap_columns(), _star_column()],
        rows=[
            tables.PageRow(
                [gap.label],
                [
                    *_gap_cells(gap, min_cell),
                    tables.star(gap.p_value if not gap.suppressed else None),
                ],
            )
            for gap in gaps
        ],
        notes=_gap_notes(),
    )


def _change_notes(*, baseline: str, endline: str) -> list[str]:
    return [
        _("Baseline: %(baseline)s. Endline: %(endline)s.")
        % {"baseline": baseline, "endline": endline},
        _(
            "Proportions are in percent and their change in percentage points; means and "
            "their change to two decimals."
        ),
        _(
            "★ marks a change unlikely to be chance (p < 0.05); the two surveys are "
            "independent samples."
        ),
    ]


def change_table(rows: list[dict[str, Any]], *, baseline: str, endline: str) -> tables.PageTable:
    """Baseline, endline and change of every indicator, overall and for women and men.

    ``rows``: what the change page lists (``label``, ``kind``, ``domain_label``,
    ``baseline``, ``endline``, ``difference``, ``p_value``)."""
    page_rows = []
    for row in rows:
        cells: tables.Cells
        if row["baseline"] is None or row["endline"] is None:
            cells = [tables.Withheld(_("suppressed"), span=3), tables.star(None)]
        else:
            cells = [
                tables.estimate(row["baseline"], row["kind"]),
                tables.estimate(row["endline"], row["kind"]),
                tables.points(row["difference"], row["kind"]),
                tables.star(row["p_value"]),
            ]
        page_rows.append(tables.PageRow([row["label"], row["domain_label"] or _("overall")], cells))
    return tables.PageTable(
        id="change",
        title=f"{baseline} → {endline}",
        labels=[tables.Column(_("Indicator")), tables.Column("", (_("Who"),))],
        columns=[
            tables.Column(_("Baseline")),
            tables.Column(_("Endline")),
            tables.Column(_("Change")),
            _star_column(),
        ],
        rows=page_rows,
        notes=_change_notes(baseline=baseline, endline=endline),
    )


# --- Charts ---------------------------------------------------------------------------------


@dataclass
class ChartRow:
    """One row of the table beside a chart: the numbers the chart draws for one bar, dot or
    district, as the page writes them; or, for a suppressed cell, why there are none."""

    label: str
    values: list[str] = field(default_factory=list)
    note: str = ""


def _chart_row(row: tables.PageRow) -> ChartRow:
    if row.note:
        return ChartRow(label=row.labels[0], note=row.note)
    values = [cell.text for cell in row.cells if isinstance(cell, tables.Figure)]
    return ChartRow(label=row.labels[0], values=values)


@dataclass
class Chart:
    """A chart drawn on the server, and the same numbers as a table for those who cannot
    see it, want the exact figures, or take them away as a file."""

    id: str
    title: str
    svg: SafeString
    table: tables.PageTable
    caption: str = ""
    """What the drawing needs said beside it (what grey means on a map)."""
    spec: dict[str, Any] = field(default_factory=dict)
    """The Vega-Lite specification drawn: what a report draws again, as SVG or PNG."""

    @property
    def headers(self) -> list[str]:
        return _headers(self.table)

    @property
    def rows(self) -> list[ChartRow]:
        return [_chart_row(row) for row in self.table.rows]

    @property
    def span(self) -> int:
        return len(self.headers) - 1


def _headers(table: tables.PageTable) -> list[str]:
    return [column.header for column in (*table.labels, *table.columns)]


def _chart_table(
    chart_id: str,
    *,
    title: str,
    category: str,
    columns: list[tables.Column],
    rows: list[tables.PageRow],
    notes: list[str],
) -> tables.PageTable:
    return tables.PageTable(
        id=chart_id,
        title=title,
        labels=[tables.Column(category)],
        columns=columns,
        rows=rows,
        notes=notes,
        row_headers=True,
    )


def tip(headers: list[str], row: ChartRow) -> str:
    """What hovering the row's mark says: the row of the table, a line a column."""
    if row.note:
        return f"{row.label}\n{row.note}"
    lines = [f"{header}: {value}" for header, value in zip(headers[1:], row.values, strict=True)]
    return "\n".join([row.label, *lines])


def _cell_row(cell: Cell) -> tables.PageRow:
    return tables.PageRow([cell.label], cell.cells(n_column=False))


def _bar_chart(
    cells: list[Cell], *, chart_id: str, title: str, view: IndicatorView, category: str
) -> Chart | None:
    """Bars of ``cells`` (with their intervals), the largest first, as the table lists them;
    a suppressed cell is no bar and a table row with the reason."""
    ranked = sorted(cells, key=lambda cell: (cell.estimate is None, -(cell.estimate or 0.0)))
    table = _chart_table(
        chart_id,
        title=title,
        category=category,
        columns=_cell_columns({view.kind}),
        rows=[_cell_row(cell) for cell in ranked],
        notes=_estimate_notes([view]),
    )
    headers = _headers(table)
    bars = [
        {
            "label": cell.label,
            "estimate": cell.estimate,
            "ci_low": cell.ci_low,
            "ci_high": cell.ci_high,
            "tip": tip(headers, _chart_row(row)),
        }
        for cell, row in zip(ranked, table.rows, strict=True)
        if cell.estimate is not None
    ]
    if not bars:
        return None
    spec = charts.domain_bars(bars, kind=view.kind, value_title=view.label)
    return Chart(id=chart_id, title=title, svg=charts.render_svg(spec), table=table, spec=spec)


def districts_by_indicator(results: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Each indicator's estimates by district (what `district_chart_of` draws), in one pass."""
    found: dict[str, list[dict[str, Any]]] = {}
    for record in results.get("estimates", []):
        if record["by"] == ["district"]:
            found.setdefault(record["indicator"], []).append(record)
    return found


def district_chart(results: Mapping[str, Any], view: IndicatorView) -> Chart | None:
    """The indicator by district, from a record's results (see `district_chart_of`)."""
    return district_chart_of(
        districts_by_indicator(results).get(view.id, []), view, min_cell=smallest_cell(results)
    )


def district_chart_of(
    records: list[dict[str, Any]], view: IndicatorView, *, min_cell: int
) -> Chart | None:
    """The indicator by district (``records``: its estimates by district): a map where every
    district has a boundary, bars otherwise. A suppressed district is grey on the map, left
    out of the bars, and in the table with the reason and no number."""
    codes = {str(r["domain"]["district"]) for r in records if r["domain"].get("district")}
    places = {p.code: p for p in Place.objects.filter(code__in=codes)}
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
    if not (places and all(place.boundary for place in places.values())):
        return _bar_chart(
            list(cells.values()),
            chart_id="chart-district",
            title=f"{view.label}: {_('By district')}",
            view=view,
            category=_("District"),
        )
    by_name = sorted(cells.items(), key=lambda item: item[1].label)
    title = f"{view.label}: {_('Map by district')}"
    table = _chart_table(
        "chart-district",
        title=title,
        category=_("District"),
        columns=_cell_columns({view.kind}),
        rows=[_cell_row(cell) for _code, cell in by_name],
        notes=_estimate_notes([view]),
    )
    headers = _headers(table)
    features = [
        {
            "type": "Feature",
            "geometry": charts.wound_for_vega(places[code].boundary or {}),
            "properties": {
                "name": cell.label,
                "estimate": cell.estimate,
                "tip": tip(headers, _chart_row(row)),
            },
        }
        for (code, cell), row in zip(by_name, table.rows, strict=True)
        if code in places
    ]
    spec = charts.district_map(features, kind=view.kind, value_title=view.label)
    withheld = any(row.note for row in table.rows)
    return Chart(
        id="chart-district",
        title=title,
        svg=charts.render_svg(spec),
        table=table,
        spec=spec,
        caption=_("Grey districts are suppressed; the table below says why.") if withheld else "",
    )


def breakdown_chart(view: IndicatorView, *, column: str, question: str) -> Chart | None:
    """The indicator by the answers to one more question, each answer by its label."""
    return _bar_chart(
        view.by.get(column, []),
        chart_id="chart-breakdown",
        title=f"{view.label}: {question}",
        view=view,
        category=question,
    )


def gap_chart(gaps: list[Gap], *, min_cell: int) -> Chart | None:
    """Women and men for every indicator, in the order of ``gaps`` (the largest gap first)."""
    title = _("Women and men for every indicator")
    table = _chart_table(
        "chart-gap",
        title=title,
        category=_("Indicator"),
        columns=_gap_columns(),
        rows=[tables.PageRow([gap.label], _gap_cells(gap, min_cell)) for gap in gaps],
        notes=_gap_notes(),
    )
    headers = _headers(table)
    dots = []
    for gap, row in zip(gaps, table.rows, strict=True):
        if row.note or gap.women is None or gap.men is None:
            continue
        text = tip(headers, _chart_row(row))
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
    return Chart(id="chart-gap", title=title, svg=charts.render_svg(spec), table=table, spec=spec)


def change_chart(rows: list[dict[str, Any]], *, baseline: str, endline: str) -> Chart | None:
    """Baseline and endline of every proportion overall, the largest change first.

    ``rows``: what the change page lists (``label``, ``kind``, ``domain``, ``baseline``,
    ``endline``, ``difference``)."""
    title = _("Baseline and endline for every indicator")
    overall = charts.largest_change_first(
        [r for r in rows if r["domain"] == "" and r["kind"] == "proportion"]
    )
    table_rows = []
    for row in overall:
        if row["baseline"] is None or row["endline"] is None:
            table_rows.append(tables.PageRow([row["label"]], [tables.Withheld(_("suppressed"), 3)]))
            continue
        cells: tables.Cells = [
            tables.estimate(row["baseline"], "proportion"),
            tables.estimate(row["endline"], "proportion"),
            tables.points(row["endline"] - row["baseline"]),
        ]
        table_rows.append(tables.PageRow([row["label"]], cells))
    table = _chart_table(
        "chart-change",
        title=title,
        category=_("Indicator"),
        columns=[
            tables.Column(_("Baseline"), (_("Baseline (%)"),)),
            tables.Column(_("Endline"), (_("Endline (%)"),)),
            tables.Column(_("Change"), (_("Change, points"),)),
        ],
        rows=table_rows,
        notes=[
            _change_notes(baseline=baseline, endline=endline)[0],
            _("Baseline and endline in percent; their change in percentage points."),
        ],
    )
    headers = _headers(table)
    bars = []
    for row, table_row in zip(overall, table.rows, strict=True):
        if table_row.note:
            continue
        chart_row = _chart_row(table_row)
        text = tip(headers, chart_row)
        bars.append(
            {
                "indicator": row["label"],
                "baseline": row["baseline"],
                "endline": row["endline"],
                "change_text": chart_row.values[2],
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
        id="chart-change", title=title, svg=charts.render_svg(spec), table=table, spec=spec
    )


# --- Where the numbers come from ----------------------------------------------------------


def findings_notes(
    findings: Findings,
    *,
    design: Mapping[str, Any],
    programme: str,
    assessment: str,
    questionnaire: str = "",
) -> list[str]:
    """What a downloaded table says under its rows about the findings it comes from: the
    source, the design (``design``: that of its results), the disclosure rule, and whether
    they are published. ``questionnaire``: the form's title, where the page names it (an
    assessment with several forms); the file says no more than the page."""
    parts = [_("weighted") if design.get("weight") else _("unweighted")]
    if design.get("strata"):
        parts.append(f"{_('strata:')} {design['strata']}")
    if design.get("cluster"):
        parts.append(f"{_('clusters:')} {design['cluster']}")
    computed = findings.computed_at
    source = {
        "programme": programme,
        "assessment": assessment,
        "form": questionnaire,
        "n": findings.respondents,
        "date": _date(computed) if computed else "—",
    }
    notes = [
        (
            _(
                "Source: %(programme)s, %(assessment)s, questionnaire “%(form)s”; %(n)s "
                "respondents; computed on %(date)s."
            )
            if questionnaire
            else _(
                "Source: %(programme)s, %(assessment)s; %(n)s respondents; computed on %(date)s."
            )
        )
        % source,
        " · ".join(parts),
        _(
            "Disclosure control: a cell resting on fewer than %(k)s respondents is suppressed, "
            "and so is a cell from which it could be worked out; a suppressed cell is left "
            "empty and the Note column says why."
        )
        % {"k": int(design.get("min_cell", 5))},
    ]
    if findings.published_at:
        notes.append(_("Published on %(date)s.") % {"date": _date(findings.published_at)})
    else:
        notes.append(_("A draft, not published: for the programme team only."))
    if getattr(findings, "updating", None):
        notes.append(
            _(
                "New submissions arrived: updated findings are being computed. These are from "
                "the earlier data."
            )
        )
    return notes


def _date(moment: datetime.datetime) -> str:
    return date_format(localtime(moment), "DATE_FORMAT")
