"""Statistical disclosure control: what may be published, and what must be withheld.

Three tools, for three kinds of output (Hundepool et al., *Statistical Disclosure Control*,
Wiley 2012, chapters 3 and 5):

- `protect_estimates` / `protect_difference`: an estimate resting on fewer than ``min_cell``
  respondents (default 5) is withheld: its value, standard error, interval and design effect become
  None, ``suppressed`` is True and ``reason`` is ``"min_cell"``. The row stays in the table, so a
  reader sees that a cell exists and why it is empty (DESIGN.md, "honest numbers").
- `protect_table`: a two-way frequency table with row and column totals. Cells with
  ``0 < count < min_cell`` are suppressed (primary suppression), then further cells are suppressed
  (secondary suppression) until no suppressed cell can be worked out exactly from the published
  cells and totals. `recoverable_cells` is the audit: it solves the table's linear equations.
- `check_k_anonymity`: for microdata, the combinations of quasi-identifiers (district, sex, age
  band, ...) shared by fewer than ``k`` records (Sweeney 2002).

Secondary suppression, the heuristic: in every line of the table *with its margins* (each row,
each column, the row of column totals and the column of row totals) a suppressed entry must not be
alone, or it equals the line's total minus the others. So while some line holds exactly one
suppressed entry, suppress the cheapest other entry of that line: an inner cell before a total,
a non-zero count before a zero, the smallest count first. This rule is necessary but not
sufficient (a suppressed cell bridging two otherwise separate groups of suppressed cells is still
determined), so the result is then audited with `recoverable_cells` and, while a cell is
recoverable, the cheapest further cell that makes it unrecoverable is suppressed.

The audit is exact linear algebra: with ``A x = 0`` the table's additivity equations and ``S`` the
suppressed entries, a suppressed entry ``s`` is determined by the published ones if and only if the
unit vector ``e_s`` lies in the row space of ``A_S`` (the columns of ``A`` for ``S``), i.e. if and
only if every vector of the null space of ``A_S`` has a zero in position ``s``. The null space is
read off a singular value decomposition. This detects *exact* disclosure; it does not bound the
intervals an intruder can derive from non-negativity (that needs linear programming).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final

import polars as pl

from amniyat.stats.choices import DEFAULT_MIN_CELL
from amniyat.stats.comparison import Difference
from amniyat.stats.design import require_columns
from amniyat.stats.errors import ColumnError, StatsError
from amniyat.stats.estimation import Estimate

# NumPy serves the two-way tables only and is imported there: every analysis protects its
# estimates, few build a table, and loading NumPy is a tenth of a second of a command's start.
if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    BoolArray = npt.NDArray[np.bool_]
    IntArray = npt.NDArray[np.int64]

__all__ = [
    "DEFAULT_MIN_CELL",
    "REASON_MIN_CELL",
    "Cell",
    "KAnonymityReport",
    "ProtectedTable",
    "check_k_anonymity",
    "protect_difference",
    "protect_estimates",
    "protect_frequency_table",
    "protect_table",
    "recoverable_cells",
]

REASON_MIN_CELL: Final = "min_cell"

Cell = tuple[int, int]
"""A position ``(row, column)`` in a table *with* margins: the last row holds the column totals,
the last column the row totals, the bottom-right entry the grand total."""


def _check_min_cell(min_cell: int) -> None:
    if isinstance(min_cell, bool) or not isinstance(min_cell, int) or min_cell < 1:
        raise StatsError(f"min_cell must be a positive integer; got {min_cell!r}")


def _withhold(estimate: Estimate) -> Estimate:
    return replace(
        estimate,
        value=None,
        se=None,
        ci_low=None,
        ci_high=None,
        deff=None,
        suppressed=True,
        reason=estimate.reason or REASON_MIN_CELL,
    )


def protect_estimates(
    estimates: Iterable[Estimate], *, min_cell: int = DEFAULT_MIN_CELL
) -> list[Estimate]:
    """Withhold every estimate whose unweighted ``n`` is below ``min_cell``.

    A withheld estimate keeps its ``n``, domain and variable; ``value``, ``se``, the interval and
    ``deff`` become None, ``suppressed`` is True and ``reason`` is ``"min_cell"`` (or the reason
    it already had, such as ``"empty_domain"``).
    """
    _check_min_cell(min_cell)
    return [_withhold(e) if e.n < min_cell else e for e in estimates]


def protect_difference(difference: Difference, *, min_cell: int = DEFAULT_MIN_CELL) -> Difference:
    """Withhold a difference when either side rests on fewer than ``min_cell`` respondents."""
    _check_min_cell(min_cell)
    a, b = protect_estimates([difference.a, difference.b], min_cell=min_cell)
    if not (a.suppressed or b.suppressed):
        return difference
    return withhold_difference(difference, a, b, REASON_MIN_CELL)


def withhold_difference(
    difference: Difference, a: Estimate, b: Estimate, reason: str | None
) -> Difference:
    """``difference`` withheld for ``reason``, with its sides as given (``a``, ``b``): every
    number of it empty, as for a withheld estimate."""
    return replace(
        difference,
        a=a,
        b=b,
        value=None,
        se=None,
        covariance=None,
        t=None,
        p_value=None,
        ci_low=None,
        ci_high=None,
        suppressed=True,
        reason=reason,
    )


def _with_margins(counts: IntArray) -> IntArray:
    import numpy as np

    rows, columns = counts.shape
    extended = np.zeros((rows + 1, columns + 1), dtype=np.int64)
    extended[:rows, :columns] = counts
    extended[:rows, columns] = counts.sum(axis=1)
    extended[rows, :columns] = counts.sum(axis=0)
    extended[rows, columns] = counts.sum()
    return extended


def _constraints(shape: tuple[int, int]) -> npt.NDArray[np.float64]:
    """Additivity equations ``A x = 0`` of a table with margins, one row per line."""
    import numpy as np

    rows, columns = shape[0] - 1, shape[1] - 1
    equations = np.zeros((shape[0] + shape[1], shape[0] * shape[1]))
    for i in range(shape[0]):  # each row, including the row of column totals
        equations[i, i * shape[1] : i * shape[1] + columns] = 1.0
        equations[i, i * shape[1] + columns] = -1.0
    for j in range(shape[1]):  # each column, including the column of row totals
        equation = equations[shape[0] + j]
        for i in range(rows):
            equation[i * shape[1] + j] = 1.0
        equation[rows * shape[1] + j] = -1.0
    return equations


def recoverable_cells(suppressed: npt.ArrayLike) -> list[Cell]:
    """Suppressed entries that the published entries determine exactly.

    Args:
        suppressed: boolean mask over the table *with* margins (see `Cell`), True = withheld.

    Returns:
        The positions, in row-major order, of withheld entries whose value follows from the
        additivity of the table; empty when the suppression pattern is safe.
    """
    import numpy as np

    mask = np.asarray(suppressed, dtype=bool)
    if mask.ndim != 2 or min(mask.shape) < 2:
        raise StatsError("expected a 2-D mask of a table with margins (at least 2 x 2)")
    hidden = np.flatnonzero(mask.ravel())
    if hidden.size == 0:
        return []
    matrix = _constraints((mask.shape[0], mask.shape[1]))[:, hidden]
    _, singular_values, right = np.linalg.svd(matrix)
    tolerance = max(matrix.shape) * np.finfo(float).eps * singular_values.max(initial=0.0)
    rank = int((singular_values > tolerance).sum())
    null_space = right[rank:]  # rows span the null space of the suppressed columns
    if null_space.shape[0] == 0:
        determined = np.ones(hidden.size, dtype=bool)
    else:
        determined = np.all(np.abs(null_space) < 1e-9, axis=0)
    width = mask.shape[1]
    return [(int(index // width), int(index % width)) for index in hidden[determined]]


def _lines(shape: tuple[int, int]) -> list[list[Cell]]:
    rows = [[(i, j) for j in range(shape[1])] for i in range(shape[0])]
    columns = [[(i, j) for i in range(shape[0])] for j in range(shape[1])]
    return rows + columns


def _cost(extended: IntArray, cell: Cell) -> tuple[int, bool, int]:
    """Order of preference for a complementary cell: inner before total, non-zero, smallest."""
    last_row, last_column = extended.shape[0] - 1, extended.shape[1] - 1
    margins = int(cell[0] == last_row) + int(cell[1] == last_column)
    count = int(extended[cell])
    return margins, count == 0, count


def _complete_lines(extended: IntArray, suppressed: BoolArray) -> None:
    """Line rule: no row or column (margins included) may hold exactly one suppressed entry."""
    lines = _lines((extended.shape[0], extended.shape[1]))
    changed = True
    while changed:
        changed = False
        for line in lines:
            hidden = [cell for cell in line if suppressed[cell]]
            if len(hidden) != 1:
                continue
            candidates = [cell for cell in line if not suppressed[cell]]
            best = min(candidates, key=lambda cell: _cost(extended, cell))
            suppressed[best] = True
            changed = True


def _cover_exposed(extended: IntArray, suppressed: BoolArray, exposed: Cell) -> None:
    """Suppress the cheapest further cell that makes ``exposed`` unrecoverable."""
    import numpy as np

    candidates = sorted(
        ((int(i), int(j)) for i, j in zip(*np.nonzero(~suppressed), strict=True)),
        key=lambda cell: _cost(extended, cell),
    )
    for candidate in candidates:
        trial = suppressed.copy()
        trial[candidate] = True
        _complete_lines(extended, trial)
        if exposed not in recoverable_cells(trial):
            suppressed[...] = trial
            return
    # No single cell helps (not seen in practice): widen the suppression around the cell.
    suppressed[exposed[0], :] = True  # pragma: no cover
    suppressed[:, exposed[1]] = True  # pragma: no cover


@dataclass(frozen=True, slots=True)
class ProtectedTable:
    """A two-way frequency table with margins, after primary and secondary suppression.

    All grids are over the table *with* margins: the last row holds the column totals, the last
    column the row totals (see `Cell`).

    Attributes:
        counts: the true counts (not for publication).
        primary: cells below the threshold (``0 < count < min_cell``).
        suppressed: every withheld cell, primary and secondary.
        row_labels, column_labels: labels of the inner rows and columns.
        min_cell: the threshold used.
    """

    counts: tuple[tuple[int, ...], ...]
    primary: tuple[tuple[bool, ...], ...]
    suppressed: tuple[tuple[bool, ...], ...]
    row_labels: tuple[str, ...]
    column_labels: tuple[str, ...]
    min_cell: int

    @property
    def published(self) -> tuple[tuple[int | None, ...], ...]:
        """The table as it may be shown: None where a cell is withheld."""
        return tuple(
            tuple(None if hidden else count for count, hidden in zip(row, mask, strict=True))
            for row, mask in zip(self.counts, self.suppressed, strict=True)
        )

    @property
    def secondary(self) -> tuple[Cell, ...]:
        """Cells withheld only to protect others."""
        return tuple(
            (i, j)
            for i, (primary_row, row) in enumerate(zip(self.primary, self.suppressed, strict=True))
            for j, (primary, hidden) in enumerate(zip(primary_row, row, strict=True))
            if hidden and not primary
        )

    def to_frame(self, total_label: str = "Total") -> pl.DataFrame:
        """The published table as a frame: a label column, one column per category, totals."""
        labels = [*self.row_labels, total_label]
        columns = [*self.column_labels, total_label]
        data: dict[str, list[str] | list[int | None]] = {"": labels}
        for j, name in enumerate(columns):
            data[name] = [row[j] for row in self.published]
        return pl.DataFrame(
            data, schema={"": pl.String, **dict.fromkeys(columns, pl.Int64)}, strict=False
        )


def protect_table(
    counts: npt.ArrayLike,
    *,
    min_cell: int = DEFAULT_MIN_CELL,
    row_labels: Sequence[str] | None = None,
    column_labels: Sequence[str] | None = None,
) -> ProtectedTable:
    """Suppress small cells of a two-way table of counts, and enough others to protect them.

    Args:
        counts: the inner table (no margins), non-negative integers, at least 1 x 1.
        min_cell: counts from 1 to ``min_cell - 1`` are withheld; zeros are published.
        row_labels, column_labels: category labels (default: "1", "2", ...).

    Returns:
        A `ProtectedTable` in which `recoverable_cells` finds nothing.
    """
    import numpy as np

    _check_min_cell(min_cell)
    raw = np.asarray(counts)
    if raw.ndim != 2 or raw.size == 0:
        raise StatsError("counts must be a non-empty two-way table")
    whole = np.issubdtype(raw.dtype, np.integer) or (
        np.issubdtype(raw.dtype, np.floating) and bool(np.all(raw == np.round(raw)))
    )
    if not whole:
        raise StatsError("counts must be whole numbers")
    table = raw.astype(np.int64)
    if (table < 0).any():
        raise StatsError("counts must not be negative")
    rows = [str(i + 1) for i in range(table.shape[0])] if row_labels is None else list(row_labels)
    columns = (
        [str(j + 1) for j in range(table.shape[1])]
        if column_labels is None
        else list(column_labels)
    )
    if len(rows) != table.shape[0] or len(columns) != table.shape[1]:
        raise StatsError("row and column labels must match the table's shape")
    extended = _with_margins(table)
    primary = (extended > 0) & (extended < min_cell)
    suppressed = primary.copy()
    while True:
        _complete_lines(extended, suppressed)
        exposed = recoverable_cells(suppressed)
        if not exposed:
            break
        _cover_exposed(extended, suppressed, exposed[0])
    return ProtectedTable(
        counts=tuple(tuple(int(v) for v in row) for row in extended),
        primary=tuple(tuple(bool(v) for v in row) for row in primary),
        suppressed=tuple(tuple(bool(v) for v in row) for row in suppressed),
        row_labels=tuple(str(label) for label in rows),
        column_labels=tuple(str(label) for label in columns),
        min_cell=min_cell,
    )


def protect_frequency_table(
    frame: pl.DataFrame, row: str, column: str, *, min_cell: int = DEFAULT_MIN_CELL
) -> ProtectedTable:
    """Count ``frame`` by two columns (unweighted) and protect the table (`protect_table`).

    Categories are sorted; a null category is shown as "(missing)". Combinations that do not
    occur are zero cells.
    """
    import numpy as np

    require_columns(frame, {"row": row, "column": column})
    if row == column:
        raise ColumnError("row and column must be different columns")
    as_text = [
        pl.col(name).cast(pl.String).fill_null("(missing)").alias(name) for name in (row, column)
    ]
    counted = frame.select(as_text).group_by([row, column]).len()
    row_labels = sorted(counted[row].unique().to_list())
    column_labels = sorted(counted[column].unique().to_list())
    table = np.zeros((len(row_labels), len(column_labels)), dtype=np.int64)
    row_index = {label: i for i, label in enumerate(row_labels)}
    column_index = {label: j for j, label in enumerate(column_labels)}
    for row_label, column_label, count in counted.iter_rows():
        table[row_index[row_label], column_index[column_label]] = count
    return protect_table(
        table, min_cell=min_cell, row_labels=row_labels, column_labels=column_labels
    )


@dataclass(frozen=True, slots=True, eq=False)
class KAnonymityReport:
    """Equivalence classes of quasi-identifiers that are too small.

    Attributes:
        k: the threshold.
        quasi_identifiers: the columns combined.
        n_records: rows checked.
        n_classes: distinct combinations found.
        violations: one row per combination shared by fewer than ``k`` records: the
            quasi-identifier columns and ``records``, smallest classes first.
    """

    k: int
    quasi_identifiers: tuple[str, ...]
    n_records: int
    n_classes: int
    violations: pl.DataFrame

    @property
    def satisfied(self) -> bool:
        """True when every combination is shared by at least ``k`` records."""
        return self.violations.height == 0

    @property
    def records_at_risk(self) -> int:
        """Number of records in too-small classes."""
        return int(self.violations["records"].sum())


def check_k_anonymity(
    frame: pl.DataFrame, quasi_identifiers: Sequence[str], *, k: int = DEFAULT_MIN_CELL
) -> KAnonymityReport:
    """Find the combinations of quasi-identifiers shared by fewer than ``k`` records.

    One Polars group-by over the quasi-identifiers; a null is a value of its own (an intruder sees
    it too).
    """
    _check_min_cell(k)
    names = list(quasi_identifiers)
    if not names:
        raise StatsError("name at least one quasi-identifier column")
    if len(set(names)) != len(names):
        raise StatsError(f"quasi-identifiers repeat: {names}")
    for name in names:
        require_columns(frame, {"quasi-identifier": name})
    if "records" in names:
        raise ColumnError("a quasi-identifier may not be called 'records'")
    classes = frame.group_by(names).agg(pl.len().cast(pl.Int64).alias("records"))
    violations = classes.filter(pl.col("records") < k).sort(["records", *names], nulls_last=True)
    return KAnonymityReport(
        k=k,
        quasi_identifiers=tuple(names),
        n_records=frame.height,
        n_classes=classes.height,
        violations=violations,
    )
