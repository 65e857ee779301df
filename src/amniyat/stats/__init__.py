"""Survey statistics for Amniyat: design-based estimates and disclosure control on Polars frames.

A pure library: no Django, no database, no I/O. Frames in, frozen dataclasses out. The web app,
the CLI and the report builder all call it. Variances are Taylor-linearised for stratified,
clustered, weighted designs (with-replacement first stage, as R ``survey``, Stata ``svy`` and
samplics); each module's docstring gives its formulas and references.

Public API
----------
Design
    ``Design(weight=None, strata=None, cluster=None, fpc=None, lonely_psu="fail")``: column
    names of the sampling design; ``lonely_psu`` is ``"fail" | "adjust" | "remove" |
    "certainty"``. ``Design()`` (or ``design=None``) is simple random sampling.
Estimation
    ``estimate(frame, design=None, *, kind, value, domain=None, confidence=0.95) -> Estimate``
    ``estimate_by(frame, design=None, *, kind, value, by=(), confidence=0.95) -> list[Estimate]``
    (``value`` may list many columns: all indicators x all domains in one pass)
    ``estimates_to_frame(estimates) -> pl.DataFrame``
    ``Estimate``: kind, variable, domain, n, weighted_n, value, se, ci_low, ci_high, deff, df,
    confidence, suppressed, reason.
Comparison
    ``compare_domains(frame, design=None, *, kind, value, domain_a, domain_b, confidence=0.95)
    -> Difference`` (two domains of one survey, with their covariance)
    ``compare_independent(a, b, *, confidence=0.95) -> Difference`` (two independent surveys)
Disclosure control (`amniyat.stats.sdc`)
    ``protect_estimates(estimates, *, min_cell=5) -> list[Estimate]``
    ``protect_difference(difference, *, min_cell=5) -> Difference``
    ``withhold_difference(difference, a, b, reason) -> Difference`` (a reason of the caller's)
    ``protect_table(counts, *, min_cell=5, row_labels=None, column_labels=None)
    -> ProtectedTable`` and ``protect_frequency_table(frame, row, column, *, min_cell=5)``
    ``recoverable_cells(suppressed_mask) -> list[Cell]`` (the linear-algebra audit)
    ``check_k_anonymity(frame, quasi_identifiers, *, k=5) -> KAnonymityReport``
Errors
    ``StatsError`` > ``ColumnError``, ``DesignError`` > ``LonelyPsuError``.

The names load on first use (PEP 562): ``import amniyat.stats.choices`` or
``amniyat.stats.errors`` costs no Polars or NumPy, so ``amniyat analyze --help`` stays quick;
``from amniyat.stats import estimate_by`` loads the estimators as before.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from amniyat.stats.choices import DEFAULT_MIN_CELL, LonelyPsu
    from amniyat.stats.comparison import Difference, compare_domains, compare_independent
    from amniyat.stats.design import Design
    from amniyat.stats.errors import ColumnError, DesignError, LonelyPsuError, StatsError
    from amniyat.stats.estimation import (
        REASON_EMPTY_DOMAIN,
        REASON_ZERO_WEIGHT,
        DomainKey,
        Estimate,
        Kind,
        estimate,
        estimate_by,
        estimates_to_frame,
    )
    from amniyat.stats.sdc import (
        REASON_MIN_CELL,
        Cell,
        KAnonymityReport,
        ProtectedTable,
        check_k_anonymity,
        protect_difference,
        protect_estimates,
        protect_frequency_table,
        protect_table,
        recoverable_cells,
        withhold_difference,
    )

# Where each public name is defined; `__getattr__` imports that module on first use.
_HOMES: dict[str, tuple[str, ...]] = {
    "choices": ("DEFAULT_MIN_CELL", "LonelyPsu"),
    "comparison": ("Difference", "compare_domains", "compare_independent"),
    "design": ("Design",),
    "errors": ("ColumnError", "DesignError", "LonelyPsuError", "StatsError"),
    "estimation": (
        "REASON_EMPTY_DOMAIN",
        "REASON_ZERO_WEIGHT",
        "DomainKey",
        "Estimate",
        "Kind",
        "estimate",
        "estimate_by",
        "estimates_to_frame",
    ),
    "sdc": (
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
        "withhold_difference",
    ),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "DEFAULT_MIN_CELL",
    "REASON_EMPTY_DOMAIN",
    "REASON_MIN_CELL",
    "REASON_ZERO_WEIGHT",
    "Cell",
    "ColumnError",
    "Design",
    "DesignError",
    "Difference",
    "DomainKey",
    "Estimate",
    "KAnonymityReport",
    "Kind",
    "LonelyPsu",
    "LonelyPsuError",
    "ProtectedTable",
    "StatsError",
    "check_k_anonymity",
    "compare_domains",
    "compare_independent",
    "estimate",
    "estimate_by",
    "estimates_to_frame",
    "protect_difference",
    "protect_estimates",
    "protect_frequency_table",
    "protect_table",
    "recoverable_cells",
    "withhold_difference",
]


def __getattr__(name: str) -> Any:
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
