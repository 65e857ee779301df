"""Run a set of indicators over survey data: weighted, disaggregated, compared and protected.

`run_analysis` is the whole analysis path after the data are read: it checks the request against
the frame, turns every indicator into one Float64 column (`Measure.column`), estimates all
measures of a kind in each disaggregation with one `amniyat.stats.estimate_by` call, compares
domains with `amniyat.stats.compare_domains`, and applies disclosure control
(`amniyat.stats.protect_estimates`, `protect_difference`) before anything leaves this module.
No number of a cell below ``min_cell`` respondents is ever in an `AnalysisResult`.

An indicator with a ``level`` (a repeat: household members) is estimated on one row per
repetition (`repeat_frames`), with the submission as the cluster unless the design has clusters
of its own: the person-level estimate of a household survey, households as PSUs, as R's
``survey`` makes it from a person file. Its cells must also rest on ``min_cell`` submissions.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

import polars as pl

from amniyat.analysis.errors import DataError, EstimationError, gettext_noop
from amniyat.analysis.expressions import field_text
from amniyat.analysis.indicators import (
    FormChoices,
    Indicator,
    IndicatorType,
    Measure,
    Repeat,
    check_fields,
    measures_for,
    resolve_levels,
)
from amniyat.stats import (
    DEFAULT_MIN_CELL,
    Design,
    Difference,
    Estimate,
    StatsError,
    compare_domains,
    estimate_by,
    protect_difference,
    protect_estimates,
    withhold_difference,
)

__all__ = [
    "AnalysisResult",
    "Comparison",
    "ComparisonFinding",
    "Finding",
    "run_analysis",
]

Disaggregation = tuple[str, ...]
DomainValues = tuple[tuple[str, Any], ...]

REASON_COMPLEMENTARY: Final = "complementary"
"""Reason of a cell withheld only so that a smaller withheld cell cannot be worked out."""
REASON_MIN_SUBMISSIONS: Final = "min_submissions"
"""Reason of a cell of repetitions (household members) withheld because they come from fewer
than ``min_cell`` submissions (households), however many they are."""
SUBMISSION: Final = "_instance_id"
"""The column naming a row's submission, in stored data's frames."""
_REPETITION: Final = "__amniyat_repetition"


@dataclass(frozen=True, slots=True)
class Comparison:
    """Compare two values of a column, e.g. ``Comparison("sex", "female", "male")``: a − b."""

    column: str
    a: str
    b: str


@dataclass(frozen=True, slots=True)
class Finding:
    """The estimate of one measure in one domain of one disaggregation (``by``)."""

    measure: Measure
    by: Disaggregation
    estimate: Estimate

    @property
    def domain(self) -> dict[str, str | None]:
        """The domain as ``{column: value as text}`` (``{}`` for everyone; None: missing)."""
        return domain_text(self.estimate.domain)


@dataclass(frozen=True, slots=True)
class ComparisonFinding:
    """A difference between two domains for one measure, overall or within another domain."""

    measure: Measure
    comparison: Comparison
    within: DomainValues
    difference: Difference

    @property
    def within_text(self) -> dict[str, str | None]:
        return domain_text(self.within)


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    """Everything an analysis produced, already disclosure-controlled.

    Attributes:
        design: the sampling design used.
        confidence: level of the intervals.
        min_cell: estimates with fewer respondents than this were withheld.
        rows: number of rows (respondents) in the data.
        degrees_of_freedom: design degrees of freedom (PSUs minus strata).
        disaggregations: the ``by`` lists, ``()`` (everyone) first.
        indicators: the indicators as defined; measures: as estimated (expanded).
        estimates: by measure, then disaggregation, then domain.
        comparisons: by comparison, then within-disaggregation, then measure, then domain.
        levels: the repeats indicators were counted at, by path (their ``level``); an
            estimate's n counts that repeat's repetitions.
    """

    design: Design
    confidence: float
    min_cell: int
    rows: int
    degrees_of_freedom: int | None
    disaggregations: tuple[Disaggregation, ...]
    indicators: tuple[Indicator, ...]
    measures: tuple[Measure, ...]
    estimates: tuple[Finding, ...]
    comparisons: tuple[ComparisonFinding, ...]
    levels: Mapping[str, Repeat] = field(default_factory=dict)

    def level_of(self, measure: Measure) -> Repeat | None:
        """The repeat whose repetitions ``measure`` counts; None: submissions."""
        level = measure.indicator.level
        return self.levels.get(level) if level is not None else None


@dataclass(frozen=True, slots=True)
class _Rows:
    """The rows a group of measures is estimated on: the submissions, or the repetitions of
    a repeat (with ``per_submission`` true)."""

    work: pl.DataFrame
    design: Design
    per_submission: bool


def domain_text(domain: DomainValues) -> dict[str, str | None]:
    return {column: None if value is None else str(value) for column, value in domain}


def _require_column(frame: pl.DataFrame, column: str, role: str) -> None:
    if column in frame.columns:
        return
    close = difflib.get_close_matches(column, frame.columns, n=1)
    if close:
        raise DataError(
            gettext_noop(
                "the {role} column {column} is not in the data; did you mean {suggestion}?"
            ),
            role=role,
            column=repr(column),
            suggestion=repr(close[0]),
        )
    shown = ", ".join(frame.columns[:20]) + (", ..." if frame.width > 20 else "")
    raise DataError(
        gettext_noop("the {role} column {column} is not in the data; its columns are: {columns}"),
        role=role,
        column=repr(column),
        columns=shown,
    )


def _check_weight(frame: pl.DataFrame, column: str) -> None:
    dtype = frame.schema[column]
    if dtype == pl.String:
        text = pl.col(column)
        example = frame.select(
            text.filter(text.str.strip_chars().cast(pl.Float64, strict=False).is_null())
            .drop_nulls()
            .first()
        ).item()
        raise DataError(
            gettext_noop(
                "the weight column {column} holds text (for example {example}); weights must be "
                "numbers"
            ),
            column=repr(column),
            example=repr(example),
        )
    if not dtype.is_numeric():
        raise DataError(
            gettext_noop("the weight column {column} must hold numbers; it holds {dtype}"),
            column=repr(column),
            dtype=str(dtype),
        )
    negative, first = frame.select(
        (pl.col(column) < 0).sum().alias("negative"),
        pl.arg_where(pl.col(column) < 0).first().alias("first"),
    ).row(0)
    if negative:
        raise DataError(
            gettext_noop(
                "the weight column {column} has {count} negative value(s), the first in data "
                "row {row}; sampling weights must be 0 or more"
            ),
            column=repr(column),
            count=negative,
            row=first + 1,
        )


def _check_comparison(frame: pl.DataFrame, comparison: Comparison) -> None:
    _require_column(frame, comparison.column, "compare")
    if comparison.a == comparison.b:
        raise DataError(
            gettext_noop("compare needs two different values of {column}"),
            column=repr(comparison.column),
        )
    text = field_text(pl.col(comparison.column), frame.schema[comparison.column])
    values = frame.select(text.unique().sort()).to_series().to_list()
    for value in (comparison.a, comparison.b):
        if value not in values:
            shown = ", ".join(repr(v) for v in values[:20] if v) + (
                ", ..." if len(values) > 20 else ""
            )
            raise DataError(
                gettext_noop(
                    "compare: the value {value} never occurs in column {column}; its values "
                    "are: {values}"
                ),
                value=repr(value),
                column=repr(comparison.column),
                values=shown,
            )


def _disaggregations(by: Sequence[Sequence[str]]) -> list[Disaggregation]:
    found: list[Disaggregation] = [()]
    for columns in by:
        key = tuple(columns)
        if len(set(key)) != len(key):
            raise DataError(
                gettext_noop("a disaggregation repeats a column: {columns}"),
                columns=",".join(key),
            )
        if key not in found:
            found.append(key)
    return found


def _stats_failed(error: StatsError) -> EstimationError:
    return EstimationError(gettext_noop("the estimates cannot be computed: {reason}"), reason=error)


def _equals(column: str, value: Any, dtype: pl.DataType) -> pl.Expr:
    if value is None:
        return pl.col(column).is_null()
    return (pl.col(column) == pl.lit(value, dtype=dtype)).fill_null(False)


def run_analysis(
    frame: pl.DataFrame,
    indicators: Sequence[Indicator],
    *,
    design: Design | None = None,
    by: Sequence[Sequence[str]] = (),
    compare: Sequence[Comparison] = (),
    min_cell: int = DEFAULT_MIN_CELL,
    confidence: float = 0.95,
    choices: FormChoices | None = None,
    repeats: Mapping[str, Repeat] | None = None,
    repeat_frames: Mapping[str, pl.DataFrame] | None = None,
) -> AnalysisResult:
    """Estimate every indicator overall and in every disaggregation, compare, and protect.

    Args:
        frame: one row per respondent.
        indicators: what to estimate (`load_indicators`).
        design: the sampling design; None for simple random sampling.
        by: disaggregations, each a list of columns (``[["sex"], ["sex", "district"]]``);
            the overall estimate is always included.
        compare: domain comparisons, each made overall and within every disaggregation that
            does not use the compared column.
        min_cell: estimates (and differences) resting on fewer respondents are withheld.
        confidence: level of the intervals.
        choices: select_multiple choices by field, e.g. from the form, for ``expand``: names,
            or names with their labels by language code (``{"gbv": {"en": ..., "tg": ...}}``).
        repeats: the form's repeats by path, which an indicator's ``level`` may name.
        repeat_frames: by repeat path, one row per repetition (`repeat_frame` of stored
            data), for each level an indicator is counted at. Its rows carry their
            submission's answers, the design and disaggregation columns among them, and the
            submission as ``_instance_id`` (which ``frame`` has too).

    Raises:
        DataError: a column is missing, or the weights are not usable numbers.
        IndicatorError: an indicator reads a field the data lacks or cannot be compiled, or
            (`LevelError`) names no repeat or reads a question its level's rows do not hold.
        EstimationError: `amniyat.stats` refused the design (e.g. a lonely PSU under "fail").
    """
    design = design if design is not None else Design()
    for role, column in (
        ("weight", design.weight),
        ("strata", design.strata),
        ("cluster", design.cluster),
        ("fpc", design.fpc),
    ):
        if column is not None:
            _require_column(frame, column, role)
    if design.weight is not None:
        _check_weight(frame, design.weight)
    disaggregations = _disaggregations(by)
    for columns in disaggregations:
        for column in columns:
            _require_column(frame, column, "by")
    for comparison in compare:
        _check_comparison(frame, comparison)
    if isinstance(min_cell, bool) or not isinstance(min_cell, int) or min_cell < 1:
        raise DataError(
            gettext_noop("the minimum cell size must be a whole number of 1 or more; got {value}"),
            value=repr(min_cell),
        )
    if not 0.0 < confidence < 1.0:
        raise DataError(
            gettext_noop("the confidence level must be between 0 and 1, e.g. 0.95; got {value}"),
            value=repr(confidence),
        )
    repeats = repeats if repeats is not None else {}
    indicators = resolve_levels(indicators, repeats)
    check_fields(indicators, frame.columns, repeats=repeats)
    keep = list(
        dict.fromkeys(
            [
                *(c for c in (design.weight, design.strata, design.cluster, design.fpc) if c),
                *(column for columns in disaggregations for column in columns),
                *(comparison.column for comparison in compare),
            ]
        )
    )
    levels = {i.level: repeats[i.level] for i in indicators if i.level is not None}
    sources = {None: frame} | {
        path: _repetitions(frame, path, repeat_frames, keep, indicators) for path in levels
    }

    measures: list[Measure] = []
    for indicator in indicators:
        measures += measures_for([indicator], sources[indicator.level], choices=choices)
    names = [f"__measure_{k}" for k in range(len(measures))]
    groups: dict[str | None, list[int]] = {}
    for k, measure in enumerate(measures):
        groups.setdefault(measure.indicator.level, []).append(k)
    rows = {
        level: _rows(sources[level], level, design, keep, [measures[k] for k in ks], ks, names)
        for level, ks in groups.items()
    }

    found: dict[tuple[int, Disaggregation], list[Estimate]] = {}
    try:
        for level, indices in groups.items():
            data = rows[level]
            by_kind: dict[IndicatorType, list[int]] = {}
            for k in indices:
                by_kind.setdefault(measures[k].kind, []).append(k)
            for columns in disaggregations:
                counts = (
                    _submission_counts(data.work, [names[k] for k in indices], columns)
                    if data.per_submission
                    else None
                )
                for kind, ks in by_kind.items():
                    estimates = estimate_by(
                        data.work,
                        data.design,
                        kind=kind,
                        value=[names[k] for k in ks],
                        by=list(columns),
                        confidence=confidence,
                    )
                    position = {names[k]: k for k in ks}
                    for item in protect_estimates(estimates, min_cell=min_cell):
                        if counts is not None:
                            item = _protect_submissions(item, counts, min_cell)
                        found.setdefault((position[item.variable], columns), []).append(item)
        comparisons = _compare_all(
            frame, rows, measures, names, disaggregations, compare, min_cell, confidence
        )
    except StatsError as error:
        raise _stats_failed(error) from error

    for k in range(len(measures)):
        _protect_complements(found, k, disaggregations)
    comparisons = _protect_comparisons(comparisons, found, measures)

    findings = [
        Finding(measure=measure, by=columns, estimate=estimate)
        for k, measure in enumerate(measures)
        for columns in disaggregations
        for estimate in found.get((k, columns), [])
    ]
    degrees = next((f.estimate.df for f in findings), None)
    return AnalysisResult(
        design=design,
        confidence=confidence,
        min_cell=min_cell,
        rows=frame.height,
        degrees_of_freedom=degrees,
        disaggregations=tuple(disaggregations),
        indicators=tuple(indicators),
        measures=tuple(measures),
        estimates=tuple(findings),
        comparisons=tuple(comparisons),
        levels=levels,
    )


def _repetitions(
    frame: pl.DataFrame,
    level: str,
    repeat_frames: Mapping[str, pl.DataFrame] | None,
    keep: Sequence[str],
    indicators: Sequence[Indicator],
) -> pl.DataFrame:
    """The rows of a level: one per repetition, and one (marked as no repetition) for each
    submission without any, so that it still counts as a PSU of the design, as it was sampled.

    Only the columns the level's indicators and the design need are kept.
    """
    repetitions = (repeat_frames or {}).get(level)
    if repetitions is None:
        raise DataError(
            gettext_noop("the rows of the repeat {level} were not given to the analysis"),
            level=level,
        )
    for data in (frame, repetitions):
        _require_column(data, SUBMISSION, "submission")
    for column in keep:
        _require_column(repetitions, column, "design or disaggregation")
    read = {name for i in indicators if i.level == level for name in i.fields}
    for column in sorted(read):
        _require_column(repetitions, column, level)
    wanted = [c for c in dict.fromkeys([*keep, SUBMISSION, *sorted(read)]) if c in repetitions]
    alone = frame.join(repetitions.select(SUBMISSION).unique(), on=SUBMISSION, how="anti")
    return pl.concat(
        [
            repetitions.select(wanted).with_columns(pl.lit(True).alias(_REPETITION)),
            alone.select([c for c in wanted if c in alone.columns]).with_columns(
                pl.lit(False).alias(_REPETITION)
            ),
        ],
        how="diagonal_relaxed",
    )


def _rows(
    source: pl.DataFrame,
    level: str | None,
    design: Design,
    keep: Sequence[str],
    measures: Sequence[Measure],
    indices: Sequence[int],
    names: Sequence[str],
) -> _Rows:
    """The frame one group of measures is estimated on: the design and disaggregation
    columns and one Float64 column per measure (null off a repetition)."""
    schema = source.schema
    columns = [m.column(schema) for m in measures]
    if level is None:
        work = source.select(
            *keep, *[c.alias(names[k]) for c, k in zip(columns, indices, strict=True)]
        )
        return _Rows(work, design, per_submission=False)
    on_repetition = pl.col(_REPETITION)
    work = source.select(
        *dict.fromkeys([*keep, SUBMISSION]),
        *[
            pl.when(on_repetition).then(c).otherwise(None).alias(names[k])
            for c, k in zip(columns, indices, strict=True)
        ],
    )
    # Repetitions of one submission are not independent: the submission (household) is the
    # cluster, unless the design's clusters (villages) hold whole submissions already.
    return _Rows(work, replace(design, cluster=design.cluster or SUBMISSION), per_submission=True)


def _has_value(column: str) -> pl.Expr:
    return pl.col(column).fill_nan(None).is_not_null()


def _submission_counts(
    work: pl.DataFrame, names: Sequence[str], columns: Disaggregation
) -> dict[tuple[Any, ...], dict[str, int]]:
    """For each domain of ``columns`` (by its values) and each measure, how many submissions
    its rows with a value come from."""
    counted = [pl.col(SUBMISSION).filter(_has_value(name)).n_unique().alias(name) for name in names]
    table = work.group_by(list(columns)).agg(counted) if columns else work.select(counted)
    return {
        tuple(row[column] for column in columns): {name: int(row[name]) for name in names}
        for row in table.iter_rows(named=True)
    }


def _protect_submissions(
    estimate: Estimate, counts: Mapping[tuple[Any, ...], Mapping[str, int]], min_cell: int
) -> Estimate:
    """Withhold an estimate of repetitions from fewer than ``min_cell`` submissions: six
    members of one household are one household's answers, not six respondents'."""
    if estimate.suppressed:
        return estimate
    key = tuple(value for _column, value in estimate.domain)
    if counts.get(key, {}).get(estimate.variable, 0) >= min_cell:
        return estimate
    return _withhold(estimate, REASON_MIN_SUBMISSIONS)


def _compare_all(
    frame: pl.DataFrame,
    rows: Mapping[str | None, _Rows],
    measures: Sequence[Measure],
    names: Sequence[str],
    disaggregations: Sequence[Disaggregation],
    compare: Sequence[Comparison],
    min_cell: int,
    confidence: float,
) -> list[ComparisonFinding]:
    """Every comparison, overall and within each disaggregation without the compared column.

    `amniyat.stats` has no vectorised "compare within each domain", so this calls
    `compare_domains` once per measure and domain. The domains are the submissions' (every
    level's rows hold every submission).
    """
    results: list[ComparisonFinding] = []
    for comparison in compare:
        withins = list(
            dict.fromkeys(
                tuple(column for column in columns if column != comparison.column)
                for columns in disaggregations
            )
        )
        for within in withins:
            if within:
                domains = frame.select(within).unique().sort(list(within), nulls_last=True).rows()
            else:
                domains = [()]
            for k, measure in enumerate(measures):
                data = rows[measure.indicator.level]
                schema = data.work.schema
                text = field_text(pl.col(comparison.column), schema[comparison.column])
                for values in domains:
                    mask: pl.Expr = pl.lit(True)
                    for column, value in zip(within, values, strict=True):
                        mask = mask & _equals(column, value, schema[column])
                    domain_a = (text == comparison.a) & mask
                    domain_b = (text == comparison.b) & mask
                    difference = compare_domains(
                        data.work,
                        data.design,
                        kind=measure.kind,
                        value=names[k],
                        domain_a=domain_a,
                        domain_b=domain_b,
                        confidence=confidence,
                    )
                    difference = protect_difference(difference, min_cell=min_cell)
                    if data.per_submission and not difference.suppressed:
                        valid = _has_value(names[k])
                        in_a, in_b = data.work.select(
                            pl.col(SUBMISSION).filter(domain_a & valid).n_unique().alias("a"),
                            pl.col(SUBMISSION).filter(domain_b & valid).n_unique().alias("b"),
                        ).row(0)
                        if min(in_a, in_b) < min_cell:
                            difference = withhold_difference(
                                difference,
                                _withhold(difference.a, REASON_MIN_SUBMISSIONS)
                                if in_a < min_cell
                                else difference.a,
                                _withhold(difference.b, REASON_MIN_SUBMISSIONS)
                                if in_b < min_cell
                                else difference.b,
                                REASON_MIN_SUBMISSIONS,
                            )
                    results.append(
                        ComparisonFinding(
                            measure=measure,
                            comparison=comparison,
                            within=tuple(zip(within, values, strict=True)),
                            difference=difference,
                        )
                    )
    return results


def _withhold(estimate: Estimate, reason: str) -> Estimate:
    return replace(
        estimate,
        value=None,
        se=None,
        ci_low=None,
        ci_high=None,
        deff=None,
        suppressed=True,
        reason=reason,
    )


def _protect_complements(
    found: dict[tuple[int, Disaggregation], list[Estimate]],
    k: int,
    disaggregations: Sequence[Disaggregation],
) -> None:
    """Secondary suppression for measure ``k``, in place.

    The domains of a disaggregation, grouped by all but one of its columns, add up to a domain
    of the disaggregation without that column (the districts add up to everyone; the sex x
    district cells of one district add up to that district). Weighted sizes are published, so
    if such a group holds exactly one withheld cell with respondents while its total is
    published, the cell's value follows by subtraction. Then the smallest published cell of the
    group is withheld too (reason ``"complementary"``); repeated until no group has a lone
    withheld cell. This is the line rule of `amniyat.stats.sdc` applied to estimates.
    """
    published = set(disaggregations)
    changed = True
    while changed:
        changed = False
        for by in disaggregations:
            cells = found.get((k, by), [])
            for position in range(len(by)):
                parent = by[:position] + by[position + 1 :]
                if parent not in published:
                    continue
                totals = {e.domain: e for e in found.get((k, parent), [])}
                groups: dict[DomainValues, list[int]] = {}
                for index, cell in enumerate(cells):
                    key = tuple(pair for j, pair in enumerate(cell.domain) if j != position)
                    groups.setdefault(key, []).append(index)
                for key, members in groups.items():
                    total = totals.get(key)
                    if total is None or total.suppressed:
                        continue
                    hidden = [m for m in members if cells[m].suppressed and cells[m].n > 0]
                    shown = [m for m in members if not cells[m].suppressed]
                    if len(hidden) != 1 or not shown:
                        continue
                    pick = min(shown, key=lambda m: (cells[m].n, cells[m].weighted_n))
                    cells[pick] = _withhold(cells[pick], REASON_COMPLEMENTARY)
                    changed = True


def _protect_comparisons(
    comparisons: Sequence[ComparisonFinding],
    found: Mapping[tuple[int, Disaggregation], list[Estimate]],
    measures: Sequence[Measure],
) -> list[ComparisonFinding]:
    """Withhold a difference whose two domains, or the domain it is made within, are withheld
    in the estimates (so a comparison never reveals a complementary-suppressed cell)."""
    index = {measure.id: k for k, measure in enumerate(measures)}
    withheld: set[tuple[int, frozenset[tuple[str, str | None]]]] = set()
    for (k, _by), estimates in found.items():
        for estimate in estimates:
            if estimate.suppressed:
                withheld.add((k, frozenset(domain_text(estimate.domain).items())))
    protected: list[ComparisonFinding] = []
    for item in comparisons:
        k = index[item.measure.id]
        within = domain_text(item.within)
        column = item.comparison.column
        within_hidden = (k, frozenset(within.items())) in withheld
        sides = []
        for side, value in (
            (item.difference.a, item.comparison.a),
            (item.difference.b, item.comparison.b),
        ):
            key = frozenset({**within, column: value}.items())
            hidden = within_hidden or (k, key) in withheld
            sides.append(
                _withhold(side, REASON_COMPLEMENTARY) if hidden and not side.suppressed else side
            )
        a, b = sides
        difference = item.difference
        if (a.suppressed and not difference.a.suppressed) or (
            b.suppressed and not difference.b.suppressed
        ):
            difference = withhold_difference(
                difference,
                a,
                b,
                difference.reason if difference.suppressed else REASON_COMPLEMENTARY,
            )
            item = replace(item, difference=difference)
        protected.append(item)
    return protected
