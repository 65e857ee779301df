"""Estimates, standard errors and intervals against samplics, textbook formulas and by hand."""

from __future__ import annotations

import importlib
import math
from collections.abc import Hashable, Mapping
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from amniyat.stats import (
    ColumnError,
    Design,
    DesignError,
    Estimate,
    Kind,
    StatsError,
    estimate,
    estimate_by,
    estimates_to_frame,
)

from .reference import (
    Reference,
    as_numpy,
    make_survey,
    one_minus_f,
    quiet,
    ratio_scores,
    reference_variance,
    samplics_estimate,
    scipy_stats,
)

RELATIVE = 1e-8
DESIGN = Design(weight="weight", strata="stratum", cluster="psu")
KINDS: tuple[Kind, ...] = ("proportion", "mean", "total")
VALUE: dict[Kind, str] = {"proportion": "feels_safe", "mean": "income", "total": "income"}


def assert_close(actual: float | None, expected: float, what: str) -> None:
    assert actual is not None, what
    assert actual == pytest.approx(expected, rel=RELATIVE, abs=1e-12), what


def assert_matches(
    result: Estimate, reference_key: Hashable, references: Mapping[Hashable, Reference]
) -> None:
    ref = references[reference_key]
    label = f"{result.variable} {result.domain_label}"
    assert_close(result.value, ref.estimate, f"estimate {label}")
    assert_close(result.se, ref.se, f"se {label}")
    assert_close(result.ci_low, ref.ci_low, f"ci_low {label}")
    assert_close(result.ci_high, ref.ci_high, f"ci_high {label}")
    assert result.df == ref.df


def assert_same(left: Estimate, right: Estimate) -> None:
    """Equal up to the last bits (Polars may add partial sums in a different order)."""
    for name in ("value", "se", "ci_low", "ci_high", "deff", "weighted_n"):
        assert getattr(left, name) == pytest.approx(getattr(right, name), rel=1e-12), name
    for name in ("kind", "variable", "domain", "n", "df", "suppressed", "reason"):
        assert getattr(left, name) == getattr(right, name), name


def samplics_for(
    frame: pl.DataFrame,
    kind: Kind,
    value: str,
    *,
    domain: str | None = None,
    fpc: bool = False,
    single_psu: str = "error",
) -> dict[Hashable, Reference]:
    """samplics on the generated survey's design columns."""
    return samplics_estimate(
        kind,
        as_numpy(frame, value),
        weight=frame["weight"].to_numpy(),
        stratum=frame["stratum"].to_numpy(),
        psu=frame["psu"].to_numpy(),
        domain=frame[domain].to_numpy() if domain is not None else None,
        fpc=one_minus_f(frame) if fpc else None,
        single_psu=single_psu,
    )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
@pytest.mark.parametrize("with_fpc", [False, True])
def test_whole_population_matches_samplics(kind: Kind, seed: int, with_fpc: bool) -> None:
    frame = make_survey(seed)
    design = Design(
        weight="weight",
        strata="stratum",
        cluster="psu",
        fpc="population_psus" if with_fpc else None,
    )
    result = estimate(frame, design, kind=kind, value=VALUE[kind])
    references = samplics_for(frame, kind, VALUE[kind], fpc=with_fpc)
    assert_matches(result, None, references)
    assert result.n == frame[VALUE[kind]].drop_nulls().len()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("by", ["sex", "age_band", "urban"])
@pytest.mark.parametrize("seed", [5, 6, 7])
def test_every_domain_matches_samplics(kind: Kind, by: str, seed: int) -> None:
    frame = make_survey(seed)
    results = estimate_by(frame, DESIGN, kind=kind, value=VALUE[kind], by=[by])
    references = samplics_for(frame, kind, VALUE[kind], domain=by)
    assert len(results) == frame[by].n_unique()
    for result in results:
        ((column, level),) = result.domain
        assert column == by
        assert_matches(result, str(level), references)


@pytest.mark.parametrize("kind", KINDS)
def test_crossed_domains_with_fpc_match_samplics(kind: Kind) -> None:
    frame = make_survey(11)
    design = Design(weight="weight", strata="stratum", cluster="psu", fpc="population_psus")
    results = estimate_by(frame, design, kind=kind, value=VALUE[kind], by=["sex", "age_band"])
    crossed = frame.with_columns(crossed=pl.col("sex") + "|" + pl.col("age_band"))
    references = samplics_for(crossed, kind, VALUE[kind], domain="crossed", fpc=True)
    assert len(results) == 6
    for result in results:
        (_, sex), (_, age_band) = result.domain
        assert_matches(result, f"{sex}|{age_band}", references)


@pytest.mark.parametrize("kind", KINDS)
def test_boolean_domain_matches_samplics(kind: Kind) -> None:
    frame = make_survey(8)
    result = estimate(frame, DESIGN, kind=kind, value=VALUE[kind], domain="urban")
    references = samplics_for(frame, kind, VALUE[kind], domain="urban")
    assert result.domain == (("urban", True),)
    assert_matches(result, "True", references)


def test_expression_domain_equals_column_domain() -> None:
    frame = make_survey(9).with_columns(is_female=pl.col("sex") == "female")
    by_column = estimate(frame, DESIGN, kind="mean", value="income", domain="is_female")
    by_expression = estimate(
        frame, DESIGN, kind="mean", value="income", domain=pl.col("sex") == "female"
    )
    assert by_expression.value == pytest.approx(by_column.value, rel=1e-12)
    assert by_expression.se == pytest.approx(by_column.se, rel=1e-12)


def test_many_values_in_one_call_equal_separate_calls() -> None:
    frame = make_survey(10).with_columns(safe_too=pl.col("feels_safe"))
    together = estimate_by(frame, DESIGN, kind="mean", value=["income", "feels_safe"], by=["sex"])
    apart = estimate_by(frame, DESIGN, kind="mean", value="income", by="sex") + estimate_by(
        frame, DESIGN, kind="mean", value="feels_safe", by="sex"
    )
    assert len(together) == len(apart)
    for left, right in zip(together, apart, strict=True):
        assert_same(left, right)
    assert [e.variable for e in together] == ["income", "income", "feels_safe", "feels_safe"]


def test_stratified_element_sample_without_clusters_matches_samplics() -> None:
    frame = make_survey(12)
    design = Design(weight="weight", strata="stratum")
    result = estimate(frame, design, kind="mean", value="income")
    references = samplics_estimate(
        "mean",
        as_numpy(frame, "income"),
        weight=frame["weight"].to_numpy(),
        stratum=frame["stratum"].to_numpy(),
        psu=np.arange(frame.height),
    )
    assert_matches(result, None, references)
    assert result.df == frame.height - frame["stratum"].n_unique()


@pytest.mark.parametrize("kind", KINDS)
def test_rows_as_psus_equal_one_cluster_per_row(kind: Kind) -> None:
    """The two internal routes (rows as PSUs, and clusters summed first) agree."""
    frame = make_survey(26).with_row_index("respondent")
    by_rows = estimate_by(
        frame, Design(weight="weight", strata="stratum"), kind=kind, value=VALUE[kind], by="sex"
    )
    by_clusters = estimate_by(
        frame,
        Design(weight="weight", strata="stratum", cluster="respondent"),
        kind=kind,
        value=VALUE[kind],
        by="sex",
    )
    for left, right in zip(by_rows, by_clusters, strict=True):
        assert_same(left, right)


def test_categorical_and_enum_disaggregations() -> None:
    frame = make_survey(27)
    plain = estimate_by(frame, DESIGN, kind="mean", value="income", by="sex")
    as_enum = estimate_by(
        frame.with_columns(pl.col("sex").cast(pl.Enum(["male", "female"]))),
        DESIGN,
        kind="mean",
        value="income",
        by="sex",
    )
    assert [e.domain for e in as_enum] == [(("sex", "male"),), (("sex", "female"),)]  # enum order
    assert_same(as_enum[0], plain[1])
    as_categorical = estimate_by(
        frame.with_columns(pl.col("sex").cast(pl.Categorical)),
        DESIGN,
        kind="mean",
        value="income",
        by="sex",
    )
    by_label = {e.domain: e for e in as_categorical}
    for estimate_ in plain:
        assert_same(by_label[estimate_.domain], estimate_)


# -- samplics's own data: NHANES II subsample (Stata's nhanes2) -----------------------------


@pytest.fixture(scope="module")
def nhanes2() -> pl.DataFrame:
    with quiet():
        samplics = importlib.import_module("samplics")
    path = Path(str(samplics.__file__)).parent / "datasets" / "data" / "nhanes2.csv"
    return pl.read_csv(path)


NHANES_DESIGN = Design(weight="finalwgt", strata="stratid", cluster="psuid")


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("proportion", "highbp"),
        ("proportion", "highlead"),  # more than half missing
        ("proportion", "diabetes"),
        ("mean", "zinc"),
        ("mean", "highbp"),
        ("total", "zinc"),
        ("total", "diabetes"),
    ],
)
@pytest.mark.parametrize("by", [None, "race", "region"])
def test_nhanes2_matches_samplics(
    nhanes2: pl.DataFrame, kind: Kind, value: str, by: str | None
) -> None:
    results = estimate_by(nhanes2, NHANES_DESIGN, kind=kind, value=value, by=[by] if by else [])
    references = samplics_estimate(
        kind,
        as_numpy(nhanes2, value),
        weight=nhanes2["finalwgt"].to_numpy().astype(float),
        stratum=nhanes2["stratid"].to_numpy(),
        psu=nhanes2["psuid"].to_numpy(),
        domain=nhanes2[by].to_numpy() if by else None,
    )
    assert {e.domain_label for e in results} == (
        {"all"} if by is None else {f"{by}={level}" for level in nhanes2[by].unique()}
    )
    for result in results:
        assert_matches(result, str(result.domain[0][1]) if by else None, references)
        assert result.df == 31


def test_nhanes2_high_blood_pressure_by_race_values(nhanes2: pl.DataFrame) -> None:
    """Pinned numbers, so a change in either implementation is noticed."""
    results = estimate_by(nhanes2, NHANES_DESIGN, kind="proportion", value="highbp", by="race")
    assert [round(e.value or 0, 6) for e in results] == [0.360819, 0.435142, 0.39305]
    assert [round(e.se or 0, 6) for e in results] == [0.015339, 0.021189, 0.056893]
    assert [e.n for e in results] == [9051, 1086, 200]


# -- simple random sampling fallback ----------------------------------------------------------


@pytest.fixture
def srs() -> pl.DataFrame:
    rng = np.random.default_rng(20)
    return pl.DataFrame({"y": rng.normal(10, 3, 40), "b": (rng.random(40) < 0.3).astype(np.int64)})


def test_srs_mean_is_textbook(srs: pl.DataFrame) -> None:
    y = srs["y"].to_numpy()
    n = y.size
    result = estimate(srs, None, kind="mean", value="y")
    s2 = y.var(ddof=1)
    assert result.value == pytest.approx(y.mean(), rel=1e-12)
    assert result.se == pytest.approx(math.sqrt(s2 / n), rel=1e-12)
    assert result.df == n - 1
    assert result.weighted_n == n
    assert result.deff == pytest.approx(1.0, rel=1e-12)
    t = scipy_stats().t.ppf(0.975, n - 1)
    assert result.ci_low == pytest.approx(y.mean() - t * math.sqrt(s2 / n), rel=1e-12)
    assert_same(estimate(srs, Design(), kind="mean", value="y"), result)


def test_srs_proportion_is_textbook(srs: pl.DataFrame) -> None:
    b = srs["b"].to_numpy()
    n, p = b.size, b.mean()
    result = estimate(srs, kind="proportion", value="b")
    assert result.value == pytest.approx(p, rel=1e-12)
    assert result.se == pytest.approx(math.sqrt(p * (1 - p) / (n - 1)), rel=1e-12)


def test_srs_total_with_fpc_is_textbook(srs: pl.DataFrame) -> None:
    population = 1000
    n = srs.height
    frame = srs.with_columns(w=pl.lit(population / n), N=pl.lit(population))
    result = estimate(frame, Design(weight="w", fpc="N"), kind="total", value="y")
    y = srs["y"].to_numpy()
    expected_variance = population**2 * (1 - n / population) * y.var(ddof=1) / n
    assert result.value == pytest.approx(population * y.mean(), rel=1e-12)
    assert result.se == pytest.approx(math.sqrt(expected_variance), rel=1e-12)
    fraction = estimate(
        frame.with_columns(f=pl.lit(n / population)),
        Design(weight="w", fpc="f"),
        kind="total",
        value="y",
    )
    assert fraction.se == pytest.approx(result.se, rel=1e-12)


# -- intervals -------------------------------------------------------------------------------


def test_proportion_interval_is_logit_and_stays_in_unit_interval() -> None:
    frame = pl.DataFrame({"rare": [1] + [0] * 29, "cluster": list(range(15)) * 2})
    result = estimate(frame, Design(cluster="cluster"), kind="proportion", value="rare")
    assert result.value is not None and result.se is not None
    assert result.value - 2.0 * result.se < 0  # a Wald interval would go below zero
    assert result.ci_low is not None and result.ci_high is not None
    assert 0.0 < result.ci_low < result.value < result.ci_high < 1.0
    logit = math.log(result.value / (1 - result.value))
    half = scipy_stats().t.ppf(0.975, result.df) * result.se / (result.value * (1 - result.value))
    assert result.ci_low == pytest.approx(1 / (1 + math.exp(-(logit - half))), rel=1e-10)


def test_random_proportions_keep_interval_in_unit_interval() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(5, 60))
        frame = pl.DataFrame(
            {"b": (rng.random(n) < rng.random() ** 3).astype(np.int64), "w": rng.lognormal(0, 1, n)}
        )
        result = estimate(frame, Design(weight="w"), kind="proportion", value="b")
        assert result.ci_low is not None and result.ci_high is not None and result.value is not None
        assert 0.0 <= result.ci_low <= result.value <= result.ci_high <= 1.0


def test_degenerate_proportion_interval() -> None:
    frame = pl.DataFrame({"b": [1, 1, 1, 1], "w": [1.0, 2.0, 3.0, 4.0]})
    result = estimate(frame, Design(weight="w"), kind="proportion", value="b")
    assert (result.value, result.se, result.ci_low, result.ci_high) == (1.0, 0.0, 1.0, 1.0)


def test_confidence_level_changes_interval() -> None:
    frame = make_survey(13)
    wide = estimate(frame, DESIGN, kind="mean", value="income", confidence=0.99)
    narrow = estimate(frame, DESIGN, kind="mean", value="income", confidence=0.90)
    assert wide.ci_low is not None and narrow.ci_low is not None
    assert wide.ci_low < narrow.ci_low
    assert wide.confidence == 0.99


# -- domains, missing values ------------------------------------------------------------------


def test_domain_is_estimated_within_the_full_design_not_by_subsetting() -> None:
    frame = make_survey(14)
    domain = estimate(frame, DESIGN, kind="mean", value="income", domain="urban")
    subset = estimate(
        frame.filter(pl.col("urban")),
        DESIGN.__class__(weight="weight", strata="stratum", cluster="psu", lonely_psu="remove"),
        kind="mean",
        value="income",
    )
    urban_psus = frame.filter(pl.col("urban")).select("stratum", "psu").unique().height
    all_psus = frame.select("stratum", "psu").unique().height
    assert urban_psus < all_psus  # the domain loses whole PSUs (and maybe strata)
    assert domain.value == pytest.approx(subset.value, rel=1e-12)  # same point estimate ...
    assert domain.se != pytest.approx(subset.se, rel=1e-6)  # ... but not the same variance
    assert domain.df == all_psus - frame["stratum"].n_unique()  # the design's df
    assert subset.df < domain.df
    references = samplics_for(frame, "mean", "income", domain="urban")
    assert_matches(domain, "True", references)


def test_missing_values_are_left_out_not_counted_as_zero() -> None:
    frame = pl.DataFrame({"y": [1.0, None, 3.0, float("nan")], "b": [1, None, 0, None]})
    mean = estimate(frame, kind="mean", value="y")
    assert (mean.value, mean.n, mean.weighted_n) == (2.0, 2, 2.0)
    proportion = estimate(frame, kind="proportion", value="b")
    assert (proportion.value, proportion.n) == (0.5, 2)
    total = estimate(frame, kind="total", value="y")
    assert total.value == 4.0


def test_missing_values_matter_only_as_domain_membership() -> None:
    """A variable with missing values is estimated as the domain of its non-missing rows."""
    frame = make_survey(15)
    direct = estimate(frame, DESIGN, kind="mean", value="income")
    as_domain = estimate(
        frame.with_columns(answered=pl.col("income").is_not_null()),
        DESIGN,
        kind="mean",
        value="income",
        domain="answered",
    )
    assert direct.se == pytest.approx(as_domain.se, rel=1e-12)


def test_null_disaggregation_value_is_a_domain_of_its_own() -> None:
    frame = make_survey(16).with_columns(
        sex=pl.when(pl.int_range(pl.len()) % 17 == 0).then(None).otherwise(pl.col("sex"))
    )
    results = estimate_by(frame, DESIGN, kind="mean", value="income", by="sex")
    assert [e.domain for e in results] == [
        (("sex", "female"),),
        (("sex", "male"),),
        (("sex", None),),
    ]
    unknown = estimate(frame, DESIGN, kind="mean", value="income", domain=pl.col("sex").is_null())
    assert results[-1].value == pytest.approx(unknown.value, rel=1e-12)
    assert results[-1].se == pytest.approx(unknown.se, rel=1e-12)


def test_empty_domain_is_flagged_not_an_error() -> None:
    frame = make_survey(17).with_columns(nobody=pl.lit(False))
    result = estimate(frame, DESIGN, kind="mean", value="income", domain="nobody")
    assert result.n == 0
    assert result.value is None and result.se is None and result.ci_low is None
    assert result.reason == "empty_domain"
    assert not result.suppressed


def test_domain_where_a_variable_is_all_missing_is_flagged() -> None:
    frame = make_survey(18).with_columns(
        income=pl.when(pl.col("sex") == "male").then(None).otherwise(pl.col("income"))
    )
    women, men = estimate_by(frame, DESIGN, kind="mean", value="income", by="sex")
    assert women.value is not None
    assert (men.n, men.value, men.reason) == (0, None, "empty_domain")


def test_zero_weight_domain_is_flagged() -> None:
    frame = pl.DataFrame({"y": [1.0, 2.0, 3.0, 4.0], "w": [0.0, 0.0, 1.0, 2.0], "g": [1, 1, 2, 2]})
    zero, positive = estimate_by(frame, Design(weight="w"), kind="mean", value="y", by="g")
    assert (zero.n, zero.value, zero.reason) == (2, None, "zero_weight")
    assert positive.value == pytest.approx(11 / 3)


# -- design effect ----------------------------------------------------------------------------


def test_design_effect_is_variance_over_srs_with_replacement_variance() -> None:
    frame = make_survey(19)
    result = estimate(frame, DESIGN, kind="mean", value="income", domain="urban")
    answered = frame.filter(pl.col("urban") & pl.col("income").is_not_null())
    y, w = answered["income"].to_numpy(), answered["weight"].to_numpy()
    n = y.size
    mean = (w * y).sum() / w.sum()
    population_variance = n / (n - 1) * (w * (y - mean) ** 2).sum() / w.sum()
    assert result.se is not None and result.deff is not None
    assert result.deff == pytest.approx(result.se**2 / (population_variance / n), rel=1e-10)
    total = estimate(frame, DESIGN, kind="total", value="income", domain="urban")
    assert total.se is not None and total.deff is not None
    srs_total = w.sum() ** 2 * population_variance / n
    assert total.deff == pytest.approx(total.se**2 / srs_total, rel=1e-10)


# -- lonely PSUs ------------------------------------------------------------------------------


@pytest.fixture
def lonely() -> pl.DataFrame:
    """Two strata have a single PSU."""
    frame = make_survey(21)
    keep = (pl.col("stratum").is_in(["district-1", "district-3"]) & (pl.col("psu") != 1)).not_()
    return frame.filter(keep)


def test_lonely_psu_fail_names_the_stratum(lonely: pl.DataFrame) -> None:
    with pytest.raises(DesignError, match=r"2 stratum\(s\) have a single PSU") as raised:
        estimate(lonely, DESIGN, kind="mean", value="income")
    assert "stratum 'district-1' (only PSU: " in str(raised.value)
    assert "'district-3'" in str(raised.value)
    assert "lonely_psu" in str(raised.value)


@pytest.mark.parametrize("kind", KINDS)
def test_lonely_psu_remove_matches_samplics_skip(lonely: pl.DataFrame, kind: Kind) -> None:
    design = Design(weight="weight", strata="stratum", cluster="psu", lonely_psu="remove")
    results = estimate_by(lonely, design, kind=kind, value=VALUE[kind], by="sex")
    references = samplics_for(lonely, kind, VALUE[kind], domain="sex", single_psu="skip")
    for result in results:
        assert_matches(result, str(result.domain[0][1]), references)


def test_single_psu_without_strata_fails_clearly() -> None:
    frame = pl.DataFrame({"y": [1.0, 2.0], "village": ["Ishkashim", "Ishkashim"]})
    with pytest.raises(DesignError, match=r"the sample has a single PSU \(Ishkashim\)"):
        estimate(frame, Design(cluster="village"), kind="mean", value="y")


def test_lonely_psu_certainty_equals_remove(lonely: pl.DataFrame) -> None:
    remove = Design(weight="weight", strata="stratum", cluster="psu", lonely_psu="remove")
    certainty = Design(weight="weight", strata="stratum", cluster="psu", lonely_psu="certainty")
    assert estimate(lonely, remove, kind="mean", value="income").se == pytest.approx(
        estimate(lonely, certainty, kind="mean", value="income").se, rel=1e-14
    )


@pytest.mark.parametrize("kind", ["mean", "total"])
@pytest.mark.parametrize("domain", [None, "urban"])
def test_lonely_psu_adjust_centres_at_the_grand_mean(
    lonely: pl.DataFrame, kind: Kind, domain: str | None
) -> None:
    design = Design(weight="weight", strata="stratum", cluster="psu", lonely_psu="adjust")
    result = estimate(lonely, design, kind=kind, value="income", domain=domain)
    y, w = as_numpy(lonely, "income"), lonely["weight"].to_numpy()
    in_domain = np.ones(lonely.height, bool) if domain is None else lonely[domain].to_numpy()
    if kind == "mean":
        scores = ratio_scores(y, w, in_domain)
    else:
        scores = np.where(in_domain & ~np.isnan(y), w * np.nan_to_num(y), 0.0)
    expected = reference_variance(
        scores, lonely["stratum"].to_numpy(), lonely["psu"].to_numpy(), policy="adjust"
    )
    assert result.se == pytest.approx(math.sqrt(expected), rel=1e-10)
    removed = estimate(lonely, replace(design, lonely_psu="remove"), kind=kind, value="income")
    assert result.se is not None and removed.se is not None
    if domain is None:
        assert result.se > removed.se


def test_fully_sampled_stratum_with_one_psu_is_not_lonely() -> None:
    frame = make_survey(22).with_columns(
        population_psus=pl.when(pl.col("stratum") == "district-0")
        .then(1)
        .otherwise(pl.col("population_psus"))
    )
    frame = frame.filter((pl.col("stratum") != "district-0") | (pl.col("psu") == 1))
    design = Design(weight="weight", strata="stratum", cluster="psu", fpc="population_psus")
    result = estimate(frame, design, kind="mean", value="income")  # lonely_psu="fail": no error
    assert result.se is not None


# -- errors -----------------------------------------------------------------------------------


def test_unknown_column_is_named() -> None:
    frame = make_survey(23)
    with pytest.raises(ColumnError, match=r"value column 'incme' not found; the frame has"):
        estimate(frame, DESIGN, kind="mean", value="incme")
    with pytest.raises(ColumnError, match=r"weight column 'wt' not found"):
        estimate(frame, Design(weight="wt"), kind="mean", value="income")
    with pytest.raises(ColumnError, match=r"by column 'gender' not found"):
        estimate_by(frame, DESIGN, kind="mean", value="income", by="gender")


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ([1.0, -2.0, 1.0], r"1 negative value\(s\), the first in row 1"),
        ([1.0, None, 1.0], r"1 missing value\(s\)"),
        ([1.0, float("nan"), 1.0], r"1 NaN or infinite value\(s\)"),
        (["1", "2", "3"], r"must be numeric; it holds String"),
    ],
)
def test_bad_weights_are_rejected(weights: list[object], message: str) -> None:
    frame = pl.DataFrame({"y": [1.0, 2.0, 3.0], "w": weights}, strict=False)
    with pytest.raises(DesignError, match=message):
        estimate(frame, Design(weight="w"), kind="mean", value="y")


def test_other_input_errors() -> None:
    frame = pl.DataFrame({"y": [1.0, 2.0, 3.0], "s": ["a", "b", "c"], "g": [1, 1, 2]})
    with pytest.raises(ColumnError, match=r"a proportion needs a 0/1 .* 'y' holds 2"):
        estimate(frame, kind="proportion", value="y")
    with pytest.raises(ColumnError, match=r"must be numeric or boolean; it holds String"):
        estimate(frame, kind="mean", value="s")
    with pytest.raises(ColumnError, match=r"domain must be boolean"):
        estimate(frame, kind="mean", value="y", domain="g")
    with pytest.raises(StatsError, match=r"kind must be one of proportion, mean, total"):
        estimate(frame, kind="median", value="y")  # type: ignore[arg-type]
    with pytest.raises(StatsError, match=r"confidence must be between 0 and 1"):
        estimate(frame, kind="mean", value="y", confidence=95)
    with pytest.raises(DesignError, match=r"lonely_psu must be one of"):
        Design(lonely_psu="drop")  # type: ignore[arg-type]
    with pytest.raises(DesignError, match=r"strata column 'g' has 1 missing"):
        estimate(
            frame.with_columns(g=pl.Series([1, None, 2])),
            Design(strata="g"),
            kind="mean",
            value="y",
        )
    with pytest.raises(ColumnError, match=r"infinite"):
        estimate(pl.DataFrame({"y": [1.0, float("inf")]}), kind="mean", value="y")


def test_fpc_errors() -> None:
    frame = make_survey(24)
    design = Design(weight="weight", strata="stratum", cluster="psu", fpc="population_psus")
    varying = frame.with_columns(population_psus=pl.col("population_psus") + pl.col("psu"))
    with pytest.raises(DesignError, match=r"varies within stratum 'district-"):
        estimate(varying, design, kind="mean", value="income")
    too_small = frame.with_columns(population_psus=pl.lit(2))
    with pytest.raises(DesignError, match=r"gives 2 PSUs in the population of stratum"):
        estimate(too_small, design, kind="mean", value="income")
    mixed = frame.with_columns(
        population_psus=pl.when(pl.col("stratum") == "district-0").then(0.5).otherwise(50)
    )
    with pytest.raises(DesignError, match=r"mixes sampling fractions"):
        estimate(mixed, design, kind="mean", value="income")


# -- output -----------------------------------------------------------------------------------


def test_estimates_to_frame() -> None:
    frame = make_survey(25)
    results = estimate_by(frame, DESIGN, kind="proportion", value="feels_safe", by=["sex"])
    table = estimates_to_frame(results)
    assert table.columns[:4] == ["variable", "kind", "domain", "n"]
    assert table["domain"].to_list() == ["sex=female", "sex=male"]
    assert table["value"].to_list() == [e.value for e in results]
