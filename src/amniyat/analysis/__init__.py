"""Survey analysis for Amniyat: indicators in XLSForm syntax, estimated, disaggregated, protected.

Pure modules (no Django): `expressions` (the condition language, parsed with Lark and compiled to
Polars), `indicators` (YAML definitions, checks, expansion of select_multiple questions),
`runner` (estimation through `amniyat.stats` with disclosure control), `output` (JSON, CSV,
text table, XLSX), `loading` (data files) and `translation` (gettext with or without Django).
`cli` is the ``amniyat analyze`` command.

Public API
----------
``load_indicators(text, *, fields=None) -> list[Indicator]``; ``dump_indicators(indicators)``;
``parse_expression(text) -> Expression`` (``.condition(schema)``, ``.number(schema)``);
``run_analysis(frame, indicators, *, design, by, compare, min_cell, confidence, repeats,
repeat_frames) -> AnalysisResult`` (an indicator with ``level:`` is estimated on its repeat's
rows, ``Repeat`` describing each repeat); ``result_to_dict``, ``render_json``,
``render_csv``, ``render_table``, ``write_xlsx``; ``read_data_file(path)`` (stored
assessments are read by the CLI).
Errors: ``AnalysisError`` > ``ExpressionError``, ``IndicatorError`` > ``UnknownFieldError``,
``LevelError``, ``DataError``, ``EstimationError``.

The names load on first use (PEP 562), so ``amniyat analyze --help`` and the command's argument
checks import neither Polars nor Lark; ``from amniyat.analysis import run_analysis`` loads what it
names, as an ordinary import would.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from amniyat.analysis.errors import (
        AnalysisError,
        DataError,
        EstimationError,
        ExpressionError,
        IndicatorError,
        LevelError,
        UnknownFieldError,
    )
    from amniyat.analysis.expressions import Expression, parse_expression
    from amniyat.analysis.indicators import (
        Indicator,
        Measure,
        Repeat,
        check_fields,
        dump_indicators,
        form_fields,
        load_indicators,
        measures_for,
    )
    from amniyat.analysis.loading import read_data_file
    from amniyat.analysis.output import (
        render_csv,
        render_json,
        render_table,
        result_to_dict,
        write_xlsx,
    )
    from amniyat.analysis.runner import (
        AnalysisResult,
        Comparison,
        ComparisonFinding,
        Finding,
        run_analysis,
    )

# Where each public name is defined; `__getattr__` imports that module on first use.
_HOMES: dict[str, tuple[str, ...]] = {
    "errors": (
        "AnalysisError",
        "DataError",
        "EstimationError",
        "ExpressionError",
        "IndicatorError",
        "LevelError",
        "UnknownFieldError",
    ),
    "expressions": ("Expression", "parse_expression"),
    "indicators": (
        "Indicator",
        "Measure",
        "Repeat",
        "check_fields",
        "dump_indicators",
        "form_fields",
        "load_indicators",
        "measures_for",
    ),
    "loading": ("read_data_file",),
    "output": ("render_csv", "render_json", "render_table", "result_to_dict", "write_xlsx"),
    "runner": ("AnalysisResult", "Comparison", "ComparisonFinding", "Finding", "run_analysis"),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "AnalysisError",
    "AnalysisResult",
    "Comparison",
    "ComparisonFinding",
    "DataError",
    "EstimationError",
    "Expression",
    "ExpressionError",
    "Finding",
    "Indicator",
    "IndicatorError",
    "LevelError",
    "Measure",
    "Repeat",
    "UnknownFieldError",
    "check_fields",
    "dump_indicators",
    "form_fields",
    "load_indicators",
    "measures_for",
    "parse_expression",
    "read_data_file",
    "render_csv",
    "render_json",
    "render_table",
    "result_to_dict",
    "run_analysis",
    "write_xlsx",
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
