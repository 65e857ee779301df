"""An `AnalysisResult` as JSON, CSV, a readable text table or a formatted XLSX workbook.

Every format shows the same rows, with the unweighted n beside each estimate and, for a
suppressed cell, the reason instead of the numbers (the numbers are not in the result to begin
with: see `amniyat.analysis.runner`). JSON and CSV are for machines: their keys are fixed
English names and reasons are codes (``min_cell``, ``empty_domain``). The table and the workbook
are for people: their words go through the ``translate`` callable (Django's ``gettext`` from the
CLI; untranslated by default, since this module imports no Django). Indicator labels, in the
table, the workbook and the CSV's ``label`` column, are in the ``language`` asked for (English
where an indicator has no label in it); so are the table's numbers, percentages and intervals
("25,6%", "[21,0; 30,2]" in Uzbek) and the workbook's lists and date (`amniyat.core.text`).
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from amniyat.analysis.runner import AnalysisResult, ComparisonFinding, Finding
from amniyat.core.cells import CellWriter
from amniyat.core.text import (
    format_datetime,
    format_interval,
    format_list,
    format_number,
    format_percent,
)

__all__ = [
    "comparison_records",
    "estimate_records",
    "render_csv",
    "render_json",
    "render_table",
    "result_to_dict",
    "write_xlsx",
]

Translate = Callable[[str], str]

ESTIMATE_KEYS = (
    "indicator",
    "by",
    "domain",
    "n",
    "weighted_n",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "deff",
    "suppressed",
    "reason",
)


def _untranslated(message: str) -> str:
    return message


def _number(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def design_record(result: AnalysisResult) -> dict[str, Any]:
    design = result.design
    return {
        "weight": design.weight,
        "strata": design.strata,
        "cluster": design.cluster,
        "fpc": design.fpc,
        "lonely_psu": design.lonely_psu,
        "confidence": result.confidence,
        "min_cell": result.min_cell,
        "rows": result.rows,
        "degrees_of_freedom": result.degrees_of_freedom,
        "disaggregations": [list(columns) for columns in result.disaggregations],
    }


def estimate_record(finding: Finding) -> dict[str, Any]:
    e = finding.estimate
    return {
        "indicator": finding.measure.id,
        "by": list(finding.by),
        "domain": finding.domain,
        "n": e.n,
        "weighted_n": _number(e.weighted_n),
        "estimate": _number(e.value),
        "se": _number(e.se),
        "ci_low": _number(e.ci_low),
        "ci_high": _number(e.ci_high),
        "deff": _number(e.deff),
        "suppressed": e.suppressed,
        "reason": e.reason,
    }


def comparison_record(finding: ComparisonFinding) -> dict[str, Any]:
    d = finding.difference
    return {
        "indicator": finding.measure.id,
        "compare": finding.comparison.column,
        "a": finding.comparison.a,
        "b": finding.comparison.b,
        "within": finding.within_text,
        "n_a": d.a.n,
        "n_b": d.b.n,
        "estimate_a": _number(d.a.value),
        "estimate_b": _number(d.b.value),
        "difference": _number(d.value),
        "se": _number(d.se),
        "ci_low": _number(d.ci_low),
        "ci_high": _number(d.ci_high),
        "t": _number(d.t),
        "df": _number(d.df),
        "p_value": _number(d.p_value),
        "suppressed": d.suppressed,
        "reason": d.reason,
    }


def estimate_records(result: AnalysisResult) -> list[dict[str, Any]]:
    return [estimate_record(finding) for finding in result.estimates]


def comparison_records(result: AnalysisResult) -> list[dict[str, Any]]:
    return [comparison_record(finding) for finding in result.comparisons]


def level_records(result: AnalysisResult) -> dict[str, dict[str, Any]]:
    """``{measure id: {"repeat": path, "labels": {language: text}}}`` for each measure counted
    per repetition of a repeat (its n counts those, not submissions)."""
    records = {}
    for measure in result.measures:
        repeat = result.level_of(measure)
        if repeat is not None:
            records[measure.id] = {"repeat": repeat.path, "labels": dict(repeat.labels)}
    return records


def result_to_dict(result: AnalysisResult) -> dict[str, Any]:
    """``{"design": {...}, "estimates": [...], "comparisons": [...]}``, and ``"levels"``
    (`level_records`) when an indicator is counted per repetition of a repeat."""
    record = {
        "design": design_record(result),
        "estimates": estimate_records(result),
        "comparisons": comparison_records(result),
    }
    levels = level_records(result)
    if levels:
        record["levels"] = levels
    return record


def render_json(result: AnalysisResult) -> str:
    return json.dumps(result_to_dict(result), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _domain_label(domain: dict[str, str | None]) -> str:
    return "; ".join(
        f"{column}={'' if value is None else value}" for column, value in domain.items()
    )


def render_csv(result: AnalysisResult, *, language: str = "en") -> tuple[str, str | None]:
    """The estimates as CSV, and the comparisons as a second CSV (None when there are none).

    Besides ``domain`` (``sex=female; district=vose``), each disaggregation column has a
    column of its own, empty where it does not apply, so the file pivots easily.
    """
    by_columns = list(dict.fromkeys(c for columns in result.disaggregations for c in columns))
    labels = {measure.id: measure.label_in(language) for measure in result.measures}
    estimates = io.StringIO()
    writer = CellWriter.for_csv(estimates, lineterminator="\n")
    keys = [k for k in ESTIMATE_KEYS if k not in ("by", "domain")]
    writer.row(["indicator", "label", "type", "by", "domain", *by_columns, *keys[1:]])
    for finding, record in zip(result.estimates, estimate_records(result), strict=True):
        domain = record["domain"]
        writer.row(
            [
                record["indicator"],
                labels[record["indicator"]],
                finding.measure.kind,
                ",".join(record["by"]),
                _domain_label(domain),
                *[domain.get(column) or "" for column in by_columns],
                *[_csv_value(record[key]) for key in keys[1:]],
            ]
        )
    if not result.comparisons:
        return estimates.getvalue(), None
    comparisons = io.StringIO()
    writer = CellWriter.for_csv(comparisons, lineterminator="\n")
    records = comparison_records(result)
    header = [key for key in records[0] if key != "within"]
    writer.row(["indicator", "label", *header[1:3], "within", *header[3:]])
    for record in records:
        writer.row(
            [
                record["indicator"],
                labels[record["indicator"]],
                *[_csv_value(record[key]) for key in header[1:3]],
                _domain_label(record["within"]),
                *[_csv_value(record[key]) for key in header[3:]],
            ]
        )
    return estimates.getvalue(), comparisons.getvalue()


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


# --- For people --------------------------------------------------------------------------------


def reason_text(reason: str | None, min_cell: int, translate: Translate) -> str:
    _ = translate
    if reason is None:
        return ""
    if reason == "min_cell":
        return _("suppressed: fewer than {k} respondents").format(k=min_cell)
    if reason == "complementary":
        return _("suppressed: would reveal a suppressed cell")
    if reason == "min_submissions":
        return _("suppressed: from fewer than {k} submissions").format(k=min_cell)
    if reason == "empty_domain":
        return _("no respondents")
    if reason == "zero_weight":
        return _("zero total weight")
    return _("no estimate")


def _format_value(
    kind: str,
    value: float | None,
    language: str,
    *,
    spread: bool = False,
    scale: float | None = None,
) -> str:
    """A value as the reader writes it: a proportion as a percentage with one decimal
    ("25.6%", "25,6 %"), or in percentage points without the sign when ``spread`` (a standard
    error, an interval's bound, a difference); a total as a whole number with grouping; a mean
    with two decimals, or as a whole number where the row's estimate (``scale``, the value
    itself by default) is 1,000 or more, so that one row's numbers share their decimals."""
    if value is None:
        return ""
    if kind == "proportion":
        if spread:
            return format_number(value * 100, language, decimals=1)
        return format_percent(value, language, decimals=1)
    size = abs(value if scale is None else scale)
    if kind == "total" or size >= 1000:
        return format_number(value, language, decimals=0)
    return format_number(value, language, decimals=2)


def _interval(
    kind: str, low: float | None, high: float | None, language: str, scale: float | None
) -> str:
    if low is None or high is None:
        return ""
    return format_interval(
        _format_value(kind, low, language, spread=True, scale=scale),
        _format_value(kind, high, language, spread=True, scale=scale),
        language,
    )


def _level(confidence: float, language: str) -> str:
    """The confidence level as a percentage: "95%", "99.5%", "95 %" in Russian."""
    whole = round(confidence * 100, 6).is_integer()
    return format_percent(confidence, language, decimals=0 if whole else 1)


def _aligned(rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def render_table(
    result: AnalysisResult, translate: Translate = _untranslated, *, language: str = "en"
) -> str:
    """A plain-text report: one aligned table per indicator, then comparisons and notes."""
    _ = translate
    level = _level(result.confidence, language)
    lines: list[str] = []
    by_measure: dict[str, list[Finding]] = {}
    for finding in result.estimates:
        by_measure.setdefault(finding.measure.id, []).append(finding)
    kind_names = {"proportion": _("proportion"), "mean": _("mean"), "total": _("total")}
    for measure in result.measures:
        findings = by_measure.get(measure.id, [])
        label = measure.label_in(language)
        lines.append(f"{measure.id}: {label} ({kind_names[measure.kind]})")
        repeat = result.level_of(measure)
        if repeat is not None:
            lines.append(
                "  "
                + _(
                    "n counts {label} (one per repetition of {repeat}); a cell also needs "
                    "{k} submissions"
                ).format(label=repeat.label_in(language), repeat=repeat.path, k=result.min_cell)
            )
        rows = [
            [
                _("domain"),
                _("n"),
                _("estimate"),
                _("{level} CI").format(level=level),
                _("SE"),
                _("deff"),
                _("note"),
            ]
        ]
        for finding in findings:
            e = finding.estimate
            domain = _domain_label(finding.domain) or _("all")
            se = _format_value(measure.kind, e.se, language, spread=True, scale=e.value)
            rows.append(
                [
                    domain,
                    format_number(e.n, language),
                    _format_value(measure.kind, e.value, language) if not e.suppressed else "—",
                    _interval(measure.kind, e.ci_low, e.ci_high, language, e.value),
                    se,
                    format_number(e.deff, language, decimals=2) if e.deff is not None else "",
                    reason_text(e.reason, result.min_cell, translate),
                ]
            )
        lines += ["  " + line for line in _aligned(rows, {1, 2, 4, 5})]
        lines.append("")
    if result.comparisons:
        lines.append(_("Comparisons (a − b)"))
        rows = [
            [
                _("indicator"),
                _("compared"),
                _("within"),
                _("difference"),
                _("{level} CI").format(level=level),
                _("p-value"),
                _("note"),
            ]
        ]
        for item in result.comparisons:
            d = item.difference
            kind = item.measure.kind
            rows.append(
                [
                    item.measure.id,
                    f"{item.comparison.column}: {item.comparison.a} − {item.comparison.b}",
                    _domain_label(item.within_text) or _("all"),
                    _format_value(kind, d.value, language, spread=True)
                    if d.value is not None
                    else "—",
                    _interval(kind, d.ci_low, d.ci_high, language, d.value),
                    format_number(d.p_value, language, decimals=3) if d.p_value is not None else "",
                    reason_text(d.reason, result.min_cell, translate),
                ]
            )
        lines += ["  " + line for line in _aligned(rows, {3, 5})]
        lines.append("")
    lines += _notes(result, translate, language)
    return "\n".join(lines) + "\n"


def _design_text(
    result: AnalysisResult, translate: Translate, language: str
) -> list[tuple[str, str]]:
    _ = translate
    design = result.design
    none = _("none")
    return [
        (_("Respondents (rows)"), format_number(result.rows, language)),
        (_("Weight"), design.weight or none),
        (_("Strata"), design.strata or none),
        (_("Clusters (PSUs)"), design.cluster or none),
        (_("Finite population correction"), design.fpc or none),
        (_("Strata with a single PSU"), design.lonely_psu),
        (
            _("Degrees of freedom"),
            format_number(result.degrees_of_freedom, language)
            if result.degrees_of_freedom is not None
            else none,
        ),
        (_("Confidence level"), _level(result.confidence, language)),
        (_("Minimum cell size"), format_number(result.min_cell, language)),
    ]


def _notes(result: AnalysisResult, translate: Translate, language: str) -> list[str]:
    _ = translate
    lines = [_("Design")]
    lines += ["  " + line for line in _aligned(_design_text(result, translate, language), set())]
    lines.append(
        _(
            "Proportions in %; n is the unweighted number of respondents. Estimates resting on "
            "fewer than {k} respondents are suppressed. Variances are Taylor-linearised."
        ).format(k=result.min_cell)
    )
    return lines


# --- XLSX --------------------------------------------------------------------------------------


def write_xlsx(
    result: AnalysisResult,
    path: Path | str,
    translate: Translate = _untranslated,
    *,
    language: str = "en",
) -> None:
    """A workbook with sheets Estimates, Comparisons (when asked) and Notes."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    _ = translate
    header_font = Font(bold=True, color="FFFFFF")
    header_fill = PatternFill("solid", fgColor="305496")
    withheld_fill = PatternFill("solid", fgColor="D9D9D9")
    withheld_font = Font(italic=True, color="595959")
    formats = {"proportion": "0.0%", "mean": "0.00", "total": "#,##0"}

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    # Labels and domains come from the data and indicator files: every cell goes through the
    # writer that keeps text from becoming a formula.
    estimates_out = CellWriter.for_sheet(sheet)
    sheet.title = _("Estimates")[:31]
    headers = [
        _("Indicator"),
        _("Label"),
        _("Type"),
        _("Disaggregation"),
        _("Domain"),
        _("n"),
        _("Weighted n"),
        _("Estimate"),
        _("SE"),
        _("CI low"),
        _("CI high"),
        _("Design effect"),
        _("Note"),
    ]
    estimates_out.row(headers)
    for finding in result.estimates:
        e = finding.estimate
        kind = finding.measure.kind
        domain = _domain_label(finding.domain) or _("all")
        note = reason_text(e.reason, result.min_cell, translate)
        value: Any = e.value if not e.suppressed else _("suppressed")
        estimates_out.row(
            [
                finding.measure.id,
                finding.measure.label_in(language),
                kind,
                format_list(finding.by, language) or _("overall"),
                domain,
                e.n,
                e.weighted_n,
                value,
                e.se,
                e.ci_low,
                e.ci_high,
                e.deff,
                note,
            ]
        )
        row = sheet.max_row
        sheet.cell(row, 6).number_format = "#,##0"
        sheet.cell(row, 7).number_format = "#,##0.0"
        for column in (8, 9, 10, 11):
            sheet.cell(row, column).number_format = formats[kind]
        sheet.cell(row, 12).number_format = "0.00"
        if e.suppressed or e.value is None:
            for column in range(8, 14):
                sheet.cell(row, column).fill = withheld_fill
                sheet.cell(row, column).font = withheld_font
    _style_sheet(sheet, header_font, header_fill, Alignment, get_column_letter)

    if result.comparisons:
        compared = workbook.create_sheet(_("Comparisons")[:31])
        compared_out = CellWriter.for_sheet(compared)
        compared_out.row(
            [
                _("Indicator"),
                _("Compared"),
                "a",
                "b",
                _("Within"),
                _("n (a)"),
                _("n (b)"),
                _("Estimate (a)"),
                _("Estimate (b)"),
                _("Difference (a − b)"),
                _("SE"),
                _("CI low"),
                _("CI high"),
                _("p-value"),
                _("Note"),
            ]
        )
        for item in result.comparisons:
            d = item.difference
            kind = item.measure.kind
            compared_out.row(
                [
                    item.measure.id,
                    item.comparison.column,
                    item.comparison.a,
                    item.comparison.b,
                    _domain_label(item.within_text) or _("all"),
                    d.a.n,
                    d.b.n,
                    d.a.value,
                    d.b.value,
                    d.value if not d.suppressed else _("suppressed"),
                    d.se,
                    d.ci_low,
                    d.ci_high,
                    d.p_value,
                    reason_text(d.reason, result.min_cell, translate),
                ]
            )
            row = compared.max_row
            for column in range(8, 14):
                compared.cell(row, column).number_format = formats[kind]
            compared.cell(row, 14).number_format = "0.000"
            if d.suppressed or d.value is None:
                for column in range(8, 16):
                    compared.cell(row, column).fill = withheld_fill
                    compared.cell(row, column).font = withheld_font
        _style_sheet(compared, header_font, header_fill, Alignment, get_column_letter)

    notes = workbook.create_sheet(_("Notes")[:31])
    notes_out = CellWriter.for_sheet(notes)
    notes_out.row([_("Design"), ""])
    for name, text in _design_text(result, translate, language):
        notes_out.row([name, text])
    notes_out.row(
        [
            _("Generated"),
            f"{format_datetime(datetime.now(tz=UTC), language)} UTC",
        ]
    )
    notes_out.row([])
    notes_out.row(
        [
            _(
                "Cells shaded grey are withheld: fewer than {k} respondents, or no respondents. "
                "n is the unweighted number of respondents."
            ).format(k=result.min_cell)
        ]
    )
    notes_out.row([])
    notes_out.row(
        [
            _("Indicator"),
            _("Label"),
            _("Type"),
            _("Numerator / value"),
            _("Denominator"),
            _("Filter"),
            _("Expanded over"),
            _("Counted per"),
        ]
    )
    definitions_row = notes.max_row
    for indicator in result.indicators:
        main = indicator.numerator or indicator.value
        notes_out.row(
            [
                indicator.id,
                indicator.label_in(language),
                indicator.type,
                main.text if main is not None else "",
                indicator.denominator.text if indicator.denominator is not None else "",
                indicator.filter.text if indicator.filter is not None else "",
                indicator.expand or "",
                result.levels[indicator.level].label_in(language)
                if indicator.level is not None and indicator.level in result.levels
                else _("submission"),
            ]
        )
    for cell in (notes.cell(1, 1), *notes[definitions_row]):
        cell.font = Font(bold=True)
    notes.column_dimensions["A"].width = 32
    for letter in "BCDEFGH":
        notes.column_dimensions[letter].width = 36
    workbook.save(str(path))


def _style_sheet(
    sheet: Any, font: Any, fill: Any, alignment: Any, column_letter: Callable[[int], str]
) -> None:
    for cell in sheet[1]:
        cell.font = font
        cell.fill = fill
        cell.alignment = alignment(wrap_text=True, vertical="center")
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    for index, column in enumerate(sheet.iter_cols(min_row=1, max_row=200), start=1):
        width = max((len(str(cell.value)) for cell in column if cell.value is not None), default=8)
        sheet.column_dimensions[column_letter(index)].width = min(max(width + 2, 8), 48)
