"""Disclosure control: small-cell suppression, secondary suppression audited, k-anonymity."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from amniyat.stats import (
    Design,
    StatsError,
    check_k_anonymity,
    compare_domains,
    estimate,
    estimate_by,
    protect_difference,
    protect_estimates,
    protect_frequency_table,
    protect_table,
    recoverable_cells,
)

from .reference import make_survey

# -- estimates --------------------------------------------------------------------------------


def test_small_estimates_are_withheld_but_stay_in_the_table() -> None:
    frame = make_survey(41).with_columns(
        group=pl.when(pl.int_range(pl.len()) < 3).then(pl.lit("tiny")).otherwise(pl.lit("big"))
    )
    design = Design(weight="weight", strata="stratum", cluster="psu")
    raw = estimate_by(frame, design, kind="mean", value="income", by="group")
    big, tiny = protect_estimates(raw)
    assert big == raw[0]
    assert tiny.n == raw[1].n < 5
    assert tiny.domain == (("group", "tiny"),)
    assert (tiny.value, tiny.se, tiny.ci_low, tiny.ci_high, tiny.deff) == (None,) * 5
    assert tiny.suppressed and tiny.reason == "min_cell"
    assert not big.suppressed and big.reason is None


def test_threshold_is_configurable_and_empty_keeps_its_reason() -> None:
    frame = pl.DataFrame({"y": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "nobody": [False] * 6})
    six = estimate(frame, kind="mean", value="y")
    empty = estimate(frame, kind="mean", value="y", domain="nobody")
    assert protect_estimates([six], min_cell=6) == [six]
    (withheld,) = protect_estimates([six], min_cell=7)
    assert withheld.suppressed
    (still_empty,) = protect_estimates([empty])
    assert still_empty.suppressed and still_empty.reason == "empty_domain"
    with pytest.raises(StatsError, match="min_cell must be a positive integer"):
        protect_estimates([six], min_cell=0)


def test_difference_with_a_small_side_is_withheld() -> None:
    frame = pl.DataFrame({"y": [1.0, 2, 3, 4, 5, 6, 7, 8], "g": ["a"] * 6 + ["b"] * 2})
    difference = compare_domains(
        frame, kind="mean", value="y", domain_a=pl.col("g") == "a", domain_b=pl.col("g") == "b"
    )
    assert difference.value is not None
    protected = protect_difference(difference)
    assert protected.value is None and protected.p_value is None and protected.se is None
    assert protected.suppressed and protected.reason == "min_cell"
    assert protected.b.suppressed and not protected.a.suppressed
    assert protect_difference(difference, min_cell=2) == difference


# -- frequency tables -------------------------------------------------------------------------

COUNTS = [
    [20, 3, 14, 9],
    [12, 30, 8, 25],
    [7, 16, 40, 11],
]


def test_naive_primary_suppression_is_recoverable_from_the_margins() -> None:
    table = protect_table(COUNTS)
    assert table.primary[0][1] and sum(map(sum, table.primary)) == 1
    # Hiding only the 3 gives it away: it is the row total minus the other three cells.
    assert recoverable_cells(table.primary) == [(0, 1)]
    assert recoverable_cells(table.suppressed) == []
    assert table.suppressed[0][1]
    assert len(table.secondary) >= 3  # one more in its row, its column, and to close the cycle
    assert table.published[0][1] is None
    assert table.published[3][4] == sum(map(sum, COUNTS))


def test_complementary_cells_are_the_smallest_inner_ones() -> None:
    table = protect_table(COUNTS)
    # Row 0's cheapest other cell is 9, column 1's is 16; closing the cycle takes row 2's 11.
    assert set(table.secondary) == {(0, 3), (2, 1), (2, 3)}


def test_small_margin_is_protected_too() -> None:
    table = protect_table([[2, 1, 30], [40, 50, 60]])
    assert table.primary[0][0] and table.primary[0][1] and table.primary[2][1] is False
    assert table.primary[0][3] is False  # row total 33
    single_column = protect_table([[3], [40], [50]])
    assert single_column.primary[0][0] and single_column.primary[0][1]  # the row total is 3 too
    assert recoverable_cells(single_column.suppressed) == []


def test_a_bridge_between_two_protected_blocks_is_caught_by_the_audit() -> None:
    """Every line holds two suppressed cells, yet the bridging cell (1, 2) is determined."""
    counts = np.full((5, 5), 50)
    small = [(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 2), (3, 3), (1, 2)]
    for cell in small:
        counts[cell] = 2
    mask = np.zeros((6, 6), dtype=bool)
    for cell in small:
        mask[cell] = True
    assert recoverable_cells(mask) == [(1, 2)]
    table = protect_table(counts)
    assert np.array_equal(np.array(table.primary), mask)
    assert recoverable_cells(table.suppressed) == []


def _oracle(mask: npt.NDArray[np.bool_]) -> set[tuple[int, int]]:
    """Independent check by ranks: cell s is determined iff adding e_s does not raise the rank."""
    rows, columns = mask.shape
    equations = []
    for i in range(rows):
        row = np.zeros((rows, columns))
        row[i, :-1], row[i, -1] = 1, -1
        equations.append(row.ravel())
    for j in range(columns):
        column = np.zeros((rows, columns))
        column[:-1, j], column[-1, j] = 1, -1
        equations.append(column.ravel())
    hidden = np.flatnonzero(mask.ravel())
    matrix = np.array(equations)[:, hidden]
    rank = np.linalg.matrix_rank(matrix)
    determined = set()
    for position, index in enumerate(hidden):
        unit = np.zeros(hidden.size)
        unit[position] = 1
        if np.linalg.matrix_rank(np.vstack([matrix, unit])) == rank:
            determined.add((int(index // columns), int(index % columns)))
    return determined


def _lines_with_one(mask: npt.NDArray[np.bool_]) -> set[tuple[int, int]]:
    lonely = set()
    for i in range(mask.shape[0]):
        if mask[i].sum() == 1:
            lonely.add((i, int(np.flatnonzero(mask[i])[0])))
    for j in range(mask.shape[1]):
        if mask[:, j].sum() == 1:
            lonely.add((int(np.flatnonzero(mask[:, j])[0]), j))
    return lonely


tables = st.tuples(st.integers(1, 5), st.integers(1, 5)).flatmap(
    lambda shape: arrays(np.int64, shape, elements=st.one_of(st.integers(0, 6), st.integers(5, 80)))
)


@settings(max_examples=150, database=None)
@given(tables)
def test_secondary_suppression_leaves_nothing_recoverable(counts: npt.NDArray[np.int64]) -> None:
    table = protect_table(counts)
    naive = np.array(table.primary)
    protected = np.array(table.suppressed)
    assert not (naive & ~protected).any()  # every small cell is withheld
    found_naive = set(recoverable_cells(naive))
    assert found_naive == _oracle(naive)
    assert _lines_with_one(naive) <= found_naive  # alone in a line: total minus the others
    assert recoverable_cells(protected) == []
    assert _oracle(protected) == set()
    published = np.array([[v if v is not None else -1 for v in row] for row in table.published])
    assert ((published == -1) == protected).all()


def test_naive_suppression_usually_leaks_and_protection_always_holds() -> None:
    rng = np.random.default_rng(42)
    leaking = with_primary = 0
    for _ in range(200):
        shape = tuple(rng.integers(2, 7, size=2))
        counts = np.where(
            rng.random(shape) < 0.2, rng.integers(1, 5, shape), rng.integers(5, 90, shape)
        )
        table = protect_table(counts)
        if any(map(any, table.primary)):
            with_primary += 1
            leaking += bool(recoverable_cells(table.primary))
        assert recoverable_cells(table.suppressed) == []
    assert with_primary > 150
    assert leaking / with_primary > 0.9


def test_table_input_errors() -> None:
    with pytest.raises(StatsError, match="whole numbers"):
        protect_table([[1.5, 2.0]])
    with pytest.raises(StatsError, match="negative"):
        protect_table([[1, -2]])
    with pytest.raises(StatsError, match="two-way"):
        protect_table([1, 2, 3])
    with pytest.raises(StatsError, match="labels"):
        protect_table([[1, 2]], row_labels=["a", "b"])


def test_frequency_table_from_a_frame() -> None:
    frame = pl.DataFrame(
        {
            "district": ["Vose"] * 30 + ["Rasht"] * 12 + [None] * 2,
            "concern": ["theft"] * 20
            + ["violence"] * 10
            + ["theft"] * 9
            + ["violence"] * 3
            + ["theft"] * 2,
        }
    )
    table = protect_frequency_table(frame, "district", "concern")
    assert table.row_labels == ("(missing)", "Rasht", "Vose")
    assert table.column_labels == ("theft", "violence")
    assert table.counts == ((2, 0, 2), (9, 3, 12), (20, 10, 30), (31, 13, 44))
    assert recoverable_cells(table.suppressed) == []
    shown = table.to_frame()
    assert shown.columns == ["", "theft", "violence", "Total"]
    assert shown.row(0) == ("(missing)", None, 0, None)


# -- k-anonymity ------------------------------------------------------------------------------


def test_k_anonymity_lists_the_small_classes() -> None:
    frame = pl.DataFrame(
        {
            "district": ["A"] * 6 + ["B"] * 3 + ["B"] + [None],
            "sex": ["f"] * 6 + ["m"] * 3 + ["f"] + ["f"],
            "answer": list(range(11)),
        }
    )
    report = check_k_anonymity(frame, ["district", "sex"], k=5)
    assert not report.satisfied
    assert report.n_records == 11 and report.n_classes == 4
    assert report.violations.to_dicts() == [
        {"district": "B", "sex": "f", "records": 1},
        {"district": None, "sex": "f", "records": 1},
        {"district": "B", "sex": "m", "records": 3},
    ]
    assert report.records_at_risk == 5
    assert check_k_anonymity(frame, ["district", "sex"], k=1).satisfied


def test_k_anonymity_errors() -> None:
    frame = pl.DataFrame({"a": [1], "records": [2]})
    with pytest.raises(StatsError, match="quasi-identifier column 'b' not found"):
        check_k_anonymity(frame, ["b"])
    with pytest.raises(StatsError, match="at least one"):
        check_k_anonymity(frame, [])
    with pytest.raises(StatsError, match="may not be called 'records'"):
        check_k_anonymity(frame, ["records"])
