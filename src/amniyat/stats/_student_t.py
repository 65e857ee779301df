"""Student's t distribution in pure Python: upper-tail probability, density and quantile.

Used for design-based confidence intervals and p-values; degrees of freedom may be any positive
real (Satterthwaite degrees of freedom are not integers). The project does not depend on SciPy,
so the few functions needed are written here and tested against SciPy in the test suite.

The tail probability uses the regularised incomplete beta function,
``P(T > t) = I_x(v/2, 1/2) / 2`` with ``x = v / (v + t^2)`` (Abramowitz & Stegun 26.7.1 and
26.5.27), evaluated by the modified Lentz continued fraction (Press et al., *Numerical Recipes*,
3rd ed., section 6.4). The quantile is found by safeguarded Newton iteration on the tail
probability, started from the Cornish-Fisher expansion (Abramowitz & Stegun 26.7.5).
"""

from __future__ import annotations

import math
from statistics import NormalDist

__all__ = ["t_density", "t_quantile", "t_tail", "t_two_sided_p"]

_EPSILON = 1e-16
_TINY = 1e-300
_MAX_ITERATIONS = 100_000


def _log_gamma_ratio(a: float, b: float) -> float:
    """Return ``log Gamma(a + b) - log Gamma(a)`` without the cancellation of two large lgammas.

    For large ``a`` (large degrees of freedom) the two log-gammas are huge and nearly equal; the
    difference is taken from Stirling's series instead (Abramowitz & Stegun 6.1.41).
    """
    if a < 20.0:
        return math.lgamma(a + b) - math.lgamma(a)

    def stirling_correction(x: float) -> float:
        x2 = x * x
        return (1.0 / 12.0 - (1.0 / 360.0 - (1.0 / 1260.0 - 1.0 / (1680.0 * x2)) / x2) / x2) / x

    return (
        (a - 0.5) * math.log1p(b / a)
        + b * math.log(a + b)
        - b
        + stirling_correction(a + b)
        - stirling_correction(a)
    )


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction for the incomplete beta function (Numerical Recipes, `betacf`)."""
    qab = a + b
    qap = a + 1.0
    qam = a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    if abs(d) < _TINY:
        d = _TINY
    d = 1.0 / d
    h = d
    for m in range(1, _MAX_ITERATIONS):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        if abs(d) < _TINY:
            d = _TINY
        c = 1.0 + aa / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        if abs(d) < _TINY:
            d = _TINY
        c = 1.0 + aa / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPSILON:
            return h
    raise ArithmeticError("incomplete beta continued fraction did not converge")  # pragma: no cover


def _tails(t: float, df: float) -> tuple[float, float]:
    """Return ``(P(T > t), P(0 < T < t))`` for ``t > 0``.

    The continued fraction gives whichever of the two is smaller directly; the other is its
    complement, so both keep full relative precision where it matters.
    """
    a = df / 2.0
    b = 0.5
    t2 = t * t
    # x = df / (df + t^2) and 1 - x = t^2 / (df + t^2), each computed without cancellation.
    log_x = -math.log1p(t2 / df)
    log_one_minus_x = math.log(t2) - math.log(df + t2)
    x = math.exp(log_x)
    # log of x^a (1-x)^b / B(a, b), with log B(a, b) = lgamma(a) + lgamma(b) - lgamma(a+b).
    log_front = _log_gamma_ratio(a, b) - math.lgamma(b) + a * log_x + b * log_one_minus_x
    if x < (a + 1.0) / (a + b + 2.0):
        two_sided = math.exp(log_front) * _beta_continued_fraction(a, b, x) / a
        return 0.5 * two_sided, 0.5 * (1.0 - two_sided)
    central = math.exp(log_front) * _beta_continued_fraction(b, a, t2 / (df + t2)) / b
    return 0.5 * (1.0 - central), 0.5 * central


def _normal_equivalent(t: float, df: float) -> float:
    """The normal deviate ``z`` with ``cornish_fisher(z, df) == t`` (for large ``df``)."""
    z = t
    for _ in range(50):
        step = _cornish_fisher(z, df) - t
        z -= step
        if abs(step) <= 1e-16 * max(1.0, abs(z)):
            break
    return z


# Above this many degrees of freedom the Cornish-Fisher expansion is exact to double precision
# (its first omitted term is below 1e-16 for |t| < 20), while the continued fraction, which needs
# O(sqrt(df)) steps, slowly accumulates rounding error.
_LARGE_DF = 1e5


def t_tail(t: float, df: float) -> float:
    """Upper-tail probability ``P(T > t)`` for Student's t with ``df`` degrees of freedom."""
    if df <= 0 or math.isnan(df) or math.isnan(t):
        raise ValueError(f"need df > 0 and a number t, got t={t!r}, df={df!r}")
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    if t == 0.0:
        return 0.5
    if df >= _LARGE_DF and abs(t) < 20.0:
        return 0.5 * math.erfc(_normal_equivalent(t, df) / math.sqrt(2.0))
    upper, central = _tails(abs(t), df)
    return upper if t > 0 else 0.5 + central


def t_two_sided_p(t: float, df: float) -> float:
    """Two-sided p-value ``P(|T| >= |t|)``."""
    return min(1.0, 2.0 * t_tail(abs(t), df))


def t_density(t: float, df: float) -> float:
    """Density of Student's t with ``df`` degrees of freedom at ``t``."""
    half = df / 2.0
    log_density = (
        _log_gamma_ratio(half, 0.5)
        - 0.5 * math.log(df * math.pi)
        - (df + 1.0) / 2.0 * math.log1p(t * t / df)
    )
    return math.exp(log_density)


def _cornish_fisher(z: float, df: float) -> float:
    """Abramowitz & Stegun 26.7.5: t quantile from the normal quantile ``z``."""
    z2 = z * z
    g1 = (z2 + 1.0) * z / 4.0
    g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0
    g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0
    g4 = ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) * z / 92160.0
    return z + (g1 + (g2 + (g3 + g4 / df) / df) / df) / df


def t_quantile(probability: float, df: float) -> float:
    """Return ``t`` such that ``P(T <= t) = probability`` (the inverse distribution function)."""
    if not 0.0 < probability < 1.0:
        raise ValueError(f"probability must be in (0, 1), got {probability!r}")
    if df <= 0 or math.isnan(df):
        raise ValueError(f"df must be positive, got {df!r}")
    if probability == 0.5:
        return 0.0
    sign = 1.0 if probability > 0.5 else -1.0
    tail = 1.0 - probability if probability > 0.5 else probability  # exact when >= 0.5
    half_central = 0.5 - tail  # exact, and only used when tail >= 0.25
    if df == 1.0:
        return sign / math.tan(math.pi * tail)
    if df == 2.0:
        return sign * 2.0 * half_central / math.sqrt(2.0 * (1.0 - tail) * tail)
    if df >= _LARGE_DF:
        return sign * _cornish_fisher(-NormalDist().inv_cdf(tail), df)
    # Solve an increasing equation g(t) = 0 on t > 0: near the centre through the central
    # probability, in the tail through the tail probability, so the target is never the
    # difference of two nearly equal numbers.

    def excess(t: float) -> float:
        upper, central = _tails(t, df)
        return central - half_central if half_central <= 0.25 else tail - upper

    low, high = 0.0, 1.0
    while excess(high) < 0.0:
        low, high = high, high * 2.0
    guess = _cornish_fisher(-NormalDist().inv_cdf(tail), df)
    t = guess if low < guess < high else (low + high) / 2.0
    for _ in range(200):
        value = excess(t)
        if value == 0.0:
            return sign * t
        if value < 0.0:
            low = t
        else:
            high = t
        candidate = t - value / t_density(t, df)
        if not low < candidate < high:
            candidate = (low + high) / 2.0
        if abs(candidate - t) <= 1e-15 * abs(t):
            return sign * candidate
        t = candidate
    return sign * t  # pragma: no cover
