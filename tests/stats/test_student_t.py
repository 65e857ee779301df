"""The pure-Python Student t distribution against SciPy (and closed forms where SciPy drifts)."""

from __future__ import annotations

import math

import pytest

from amniyat.stats._student_t import t_density, t_quantile, t_tail, t_two_sided_p

from .reference import scipy_stats

stats = scipy_stats()

DEGREES = [1, 1.5, 2, 3, 4.7, 5, 10, 19, 21, 30, 31.3, 100, 399, 1000, 1e4, 99_999, 1e5, 1e6, 1e9]


@pytest.mark.parametrize("df", DEGREES)
def test_tail_probability(df: float) -> None:
    for t in [-3.0, -0.2, 0.001, 0.1, 0.5, 1.0, 1.96, 2.5, 4.0, 10.0, 19.9, 50.0]:
        assert t_tail(t, df) == pytest.approx(stats.t.sf(t, df), rel=1e-11), t
    assert t_two_sided_p(2.0, df) == pytest.approx(2 * stats.t.sf(2.0, df), rel=1e-11)
    assert t_density(1.3, df) == pytest.approx(stats.t.pdf(1.3, df), rel=1e-11)


@pytest.mark.parametrize("df", DEGREES)
def test_quantile(df: float) -> None:
    for p in [1e-12, 1e-6, 0.025, 0.3, 0.6, 0.75, 0.9, 0.95, 0.975, 0.995, 0.9995, 1 - 1e-9]:
        assert t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=1e-11), p
    assert t_quantile(0.5, df) == 0.0


def test_quantile_near_the_centre_is_exact() -> None:
    """Closed form for 3 degrees of freedom: F(t) - 1/2 = (t / (sqrt(3)(1 + t^2/3)) + atan(t /
    sqrt(3))) / pi. SciPy itself is off by ~1e-10 here; the series-free route is not."""
    p = 0.5000001
    t = t_quantile(p, 3)
    centre = (t / (math.sqrt(3) * (1 + t * t / 3)) + math.atan(t / math.sqrt(3))) / math.pi
    assert centre == pytest.approx(p - 0.5, rel=1e-13)


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError, match="probability"):
        t_quantile(1.0, 5)
    with pytest.raises(ValueError, match="df"):
        t_quantile(0.9, 0)
    with pytest.raises(ValueError, match="df"):
        t_tail(1.0, -1)
    assert t_tail(math.inf, 3) == 0.0
    assert t_tail(0.0, 3) == 0.5
