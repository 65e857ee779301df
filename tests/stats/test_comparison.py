"""Differences between domains of one survey, and between independent surveys."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from amniyat.stats import (
    Design,
    StatsError,
    compare_domains,
    compare_independent,
    estimate,
    protect_estimates,
)

from .reference import as_numpy, make_survey, ratio_scores, reference_variance, scipy_stats

stats = scipy_stats()

DESIGN = Design(weight="weight", strata="stratum", cluster="psu")
WOMEN = pl.col("sex") == "female"
MEN = pl.col("sex") == "male"


def test_women_minus_men_uses_the_design_covariance() -> None:
    frame = make_survey(31)
    difference = compare_domains(
        frame, DESIGN, kind="mean", value="income", domain_a=WOMEN, domain_b=MEN
    )
    women = estimate(frame, DESIGN, kind="mean", value="income", domain=WOMEN)
    men = estimate(frame, DESIGN, kind="mean", value="income", domain=MEN)
    assert women.value is not None and men.value is not None
    assert difference.a.value == pytest.approx(women.value, rel=1e-12)
    assert difference.b.se == pytest.approx(men.se, rel=1e-12)
    assert difference.value == pytest.approx(women.value - men.value, rel=1e-12)

    y, w = as_numpy(frame, "income"), frame["weight"].to_numpy()
    strata, psu = frame["stratum"].to_numpy(), frame["psu"].to_numpy()
    z_women = ratio_scores(y, w, (frame["sex"] == "female").to_numpy())
    z_men = ratio_scores(y, w, (frame["sex"] == "male").to_numpy())
    expected = reference_variance(z_women - z_men, strata, psu)
    covariance = (
        reference_variance(z_women, strata, psu) + reference_variance(z_men, strata, psu) - expected
    ) / 2
    assert difference.se == pytest.approx(math.sqrt(expected), rel=1e-10)
    assert difference.covariance == pytest.approx(covariance, rel=1e-8, abs=1e-12)
    assert difference.df == women.df
    assert difference.value is not None and difference.se is not None
    assert difference.t is not None
    assert difference.t == pytest.approx(difference.value / difference.se, rel=1e-12)
    assert difference.p_value == pytest.approx(
        2 * stats.t.sf(abs(difference.t), difference.df), rel=1e-10
    )
    half = stats.t.ppf(0.975, difference.df) * difference.se
    assert difference.ci_low == pytest.approx(difference.value - half, rel=1e-10)
    assert not difference.independent
    assert difference.a.domain == (('[(col("sex")) == ("female")]', True),)


def test_overlapping_domains_are_positively_correlated() -> None:
    frame = make_survey(32).with_columns(everyone=pl.lit(True), women=WOMEN)
    difference = compare_domains(
        frame, DESIGN, kind="proportion", value="feels_safe", domain_a="women", domain_b="everyone"
    )
    assert difference.covariance is not None and difference.covariance > 0
    assert difference.se is not None and difference.a.se is not None and difference.b.se is not None
    assert difference.se < math.hypot(difference.a.se, difference.b.se)
    assert difference.a.domain == (("women", True),)


def test_domains_in_separate_strata_have_no_covariance() -> None:
    frame = make_survey(33)
    first = pl.col("stratum").is_in(["district-0", "district-1", "district-2"])
    difference = compare_domains(
        frame, DESIGN, kind="total", value="income", domain_a=first, domain_b=~first
    )
    assert difference.covariance == pytest.approx(0.0, abs=1e-6 * (difference.se or 1) ** 2)
    assert difference.a.se is not None and difference.b.se is not None
    assert difference.se == pytest.approx(math.hypot(difference.a.se, difference.b.se), rel=1e-10)


def test_empty_domain_gives_no_difference() -> None:
    frame = make_survey(34)
    difference = compare_domains(
        frame, DESIGN, kind="mean", value="income", domain_a=WOMEN, domain_b=pl.lit(False)
    )
    assert difference.value is None and difference.p_value is None
    assert difference.reason == "empty_domain"


def test_independent_surveys() -> None:
    baseline = estimate(make_survey(35), DESIGN, kind="proportion", value="feels_safe")
    endline = estimate(make_survey(36), DESIGN, kind="proportion", value="feels_safe")
    difference = compare_independent(endline, baseline)
    assert endline.value is not None and baseline.value is not None
    assert endline.se is not None and baseline.se is not None
    assert difference.value == pytest.approx(endline.value - baseline.value, rel=1e-14)
    assert difference.se == pytest.approx(math.hypot(endline.se, baseline.se), rel=1e-14)
    assert difference.covariance == 0.0
    assert difference.independent
    v1, v2 = endline.se**2, baseline.se**2
    satterthwaite = (v1 + v2) ** 2 / (v1**2 / endline.df + v2**2 / baseline.df)
    assert difference.df == pytest.approx(satterthwaite, rel=1e-14)
    assert min(endline.df, baseline.df) <= difference.df <= endline.df + baseline.df
    assert difference.t is not None
    assert difference.p_value == pytest.approx(
        2 * stats.t.sf(abs(difference.t), satterthwaite), rel=1e-10
    )


def test_independent_comparison_of_a_suppressed_estimate_is_withheld() -> None:
    frame = make_survey(37)
    small = pl.DataFrame({"feels_safe": [1, 0, 1]})
    (tiny,) = protect_estimates([estimate(small, kind="proportion", value="feels_safe")])
    big = estimate(frame, DESIGN, kind="proportion", value="feels_safe")
    difference = compare_independent(big, tiny)
    assert difference.value is None and difference.se is None
    assert difference.suppressed and difference.reason == "min_cell"


def test_independent_comparison_needs_the_same_kind() -> None:
    frame = make_survey(38)
    mean = estimate(frame, DESIGN, kind="mean", value="income")
    total = estimate(frame, DESIGN, kind="total", value="income")
    with pytest.raises(StatsError, match="cannot compare a mean with a total"):
        compare_independent(mean, total)


def test_significant_difference_is_detected() -> None:
    rng = np.random.default_rng(39)
    n = 400
    frame = pl.DataFrame(
        {
            "group": np.repeat(["a", "b"], n // 2),
            "y": np.concatenate([rng.normal(0, 1, n // 2), rng.normal(1, 1, n // 2)]),
        }
    )
    difference = compare_domains(
        frame,
        kind="mean",
        value="y",
        domain_a=pl.col("group") == "b",
        domain_b=pl.col("group") == "a",
    )
    assert difference.value is not None and difference.value > 0.5
    assert difference.p_value is not None and difference.p_value < 1e-10
    assert difference.ci_low is not None and difference.ci_low > 0
