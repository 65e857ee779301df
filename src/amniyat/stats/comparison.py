"""Differences between estimates, with standard errors, t statistics and p-values.

Two situations, two variances:

- `compare_domains`: two domains of the *same* survey (women − men, district A − district B).
  Their estimates share PSUs, so they are correlated; the difference is linearised directly, its
  score being ``z_a - z_b`` per PSU, which gives ``V(a - b) = V(a) + V(b) - 2 Cov(a, b)`` with the
  design covariance (Lumley 2010, section 3.4 on contrasts, ``svycontrast``; Wolter 2007,
  section 6.5). Degrees of freedom are the design's.
- `compare_independent`: estimates from two independent samples (endline − baseline with fresh
  samples): ``SE = sqrt(se_a^2 + se_b^2)``, with Welch-Satterthwaite degrees of freedom
  ``(v_a + v_b)^2 / (v_a^2 / df_a + v_b^2 / df_b)`` (Satterthwaite 1946). For a panel that
  re-interviews the same PSUs this ignores a usually positive covariance and is conservative.

The test is two-sided: ``t = (a - b) / SE`` and ``p = P(|T_df| >= |t|)``. The interval is
``(a - b) +/- t_{df, 1 - alpha/2} SE``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import polars as pl

from amniyat.stats._linearisation import ALL, Kind, design_variance, domain_sums, score_column
from amniyat.stats._student_t import t_two_sided_p
from amniyat.stats.design import Design, prepare_survey
from amniyat.stats.errors import StatsError
from amniyat.stats.estimation import (
    Estimate,
    assemble_estimates,
    check_confidence,
    check_kind,
    critical_t,
    domain_mask,
    domain_name,
    value_targets,
)

__all__ = ["Difference", "compare_domains", "compare_independent"]


@dataclass(frozen=True, slots=True)
class Difference:
    """The difference ``a - b`` between two estimates, with its test.

    Attributes:
        a, b: the two estimates compared.
        value: ``a.value - b.value``; None when either is missing or disclosure control withheld
            the difference (see ``reason``).
        se: standard error of the difference.
        covariance: design covariance of ``a`` and ``b`` (0 for independent samples).
        t: t statistic ``value / se`` (None when ``se`` is 0).
        df: degrees of freedom of the test (an integer for the same design, Satterthwaite's
            real number for independent samples).
        p_value: two-sided p-value.
        ci_low, ci_high: confidence interval of the difference.
        confidence: its level.
        independent: True for `compare_independent`.
        suppressed: True when disclosure control withheld the numbers.
        reason: why ``value`` is None, if it is.
    """

    a: Estimate
    b: Estimate
    value: float | None
    se: float | None
    covariance: float | None
    t: float | None
    df: float
    p_value: float | None
    ci_low: float | None
    ci_high: float | None
    confidence: float
    independent: bool
    suppressed: bool = False
    reason: str | None = None


def _difference(
    a: Estimate,
    b: Estimate,
    *,
    variance: float | None,
    covariance: float | None,
    df: float,
    confidence: float,
    independent: bool,
) -> Difference:
    missing = a if a.value is None else b if b.value is None else None
    if missing is not None or variance is None or a.value is None or b.value is None:
        reason = (missing.reason if missing is not None else None) or "no_estimate"
        return Difference(
            a=a,
            b=b,
            value=None,
            se=None,
            covariance=None,
            t=None,
            df=df,
            p_value=None,
            ci_low=None,
            ci_high=None,
            confidence=confidence,
            independent=independent,
            suppressed=a.suppressed or b.suppressed,
            reason=reason,
        )
    value = a.value - b.value
    se = math.sqrt(max(variance, 0.0))
    t = value / se if se > 0.0 else None
    p_value = t_two_sided_p(t, df) if t is not None and df > 0 else None
    t_value = critical_t(confidence, df)
    ci_low = value - t_value * se if t_value is not None else None
    ci_high = value + t_value * se if t_value is not None else None
    return Difference(
        a=a,
        b=b,
        value=value,
        se=se,
        covariance=covariance,
        t=t,
        df=df,
        p_value=p_value,
        ci_low=ci_low,
        ci_high=ci_high,
        confidence=confidence,
        independent=independent,
    )


def compare_domains(
    frame: pl.DataFrame,
    design: Design | None = None,
    *,
    kind: Kind,
    value: str,
    domain_a: str | pl.Expr,
    domain_b: str | pl.Expr,
    confidence: float = 0.95,
) -> Difference:
    """Compare two domains of one survey: ``estimate(domain_a) - estimate(domain_b)``.

    Domains are boolean columns or expressions (null = outside), e.g.
    ``domain_a=pl.col("sex") == "female", domain_b=pl.col("sex") == "male"``; they may overlap
    (e.g. women against everyone). The covariance of the two estimates is taken into account.

    Raises:
        ColumnError, DesignError: as `amniyat.stats.estimate`.
    """
    kind = check_kind(kind)
    confidence = check_confidence(confidence)
    prepared = prepare_survey(frame, design)
    work = prepared.frame.with_columns(pl.lit(True).alias(ALL))
    mask_a = domain_mask(work, domain_a, "domain_a")
    mask_b = domain_mask(work, domain_b, "domain_b")
    (target_a,) = value_targets(work, kind, [value], mask_a)
    (target_b,) = value_targets(work, kind, [value], mask_b)
    targets = [target_a, target_b]
    keys = [ALL]
    domains, scores = domain_sums(prepared, work, kind, targets, keys)
    difference_column = "__amniyat_difference"
    scores = scores.with_columns(
        (pl.col(score_column(0)) - pl.col(score_column(1))).alias(difference_column)
    )
    variances = design_variance(
        prepared, scores, keys, [score_column(0), score_column(1), difference_column]
    )
    df = prepared.degrees_of_freedom
    estimate_a, estimate_b = assemble_estimates(
        kind, targets, keys, domains, variances, df, confidence
    )
    labelled_a = _with_domain(estimate_a, domain_name(domain_a))
    labelled_b = _with_domain(estimate_b, domain_name(domain_b))
    variance_a, variance_b, variance = variances.select(
        score_column(0), score_column(1), difference_column
    ).row(0)
    covariance = (variance_a + variance_b - variance) / 2.0
    return _difference(
        labelled_a,
        labelled_b,
        variance=variance,
        covariance=covariance,
        df=df,
        confidence=confidence,
        independent=False,
    )


def _with_domain(estimate: Estimate, name: str) -> Estimate:
    return replace(estimate, domain=((name, True),))


def compare_independent(a: Estimate, b: Estimate, *, confidence: float = 0.95) -> Difference:
    """Compare estimates from two independent samples: ``a - b`` (e.g. endline − baseline).

    ``SE = sqrt(se_a^2 + se_b^2)``; degrees of freedom by Welch-Satterthwaite. If either
    estimate has no value (empty, suppressed), the difference has none either, with its reason.

    Raises:
        StatsError: the two estimates are of different kinds.
    """
    confidence = check_confidence(confidence)
    if a.kind != b.kind:
        raise StatsError(f"cannot compare a {a.kind} with a {b.kind}")
    if a.se is None or b.se is None:
        variance = None
        df = float(min(a.df, b.df))
    else:
        variance_a, variance_b = a.se**2, b.se**2
        variance = variance_a + variance_b
        if a.df < 1 or b.df < 1:
            df = 0.0
        elif variance_a == 0.0 and variance_b == 0.0:
            df = float(min(a.df, b.df))
        else:
            df = variance**2 / (variance_a**2 / a.df + variance_b**2 / b.df)
    return _difference(
        a,
        b,
        variance=variance,
        covariance=0.0,
        df=df,
        confidence=confidence,
        independent=True,
    )
