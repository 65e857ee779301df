"""Errors raised by `amniyat.analysis`, each carrying a translatable message template.

The analysis modules are pure (no Django), so they cannot translate. Each error keeps its English
``template`` (marked for extraction with `gettext_noop`) and the ``params`` that fill it; the CLI
and the web views call ``error.translated(gettext)``, which translates the template, and any
nested error given as a parameter, before filling it in. ``str(error)`` is the English message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = [
    "AnalysisError",
    "DataError",
    "EstimationError",
    "ExpressionError",
    "IndicatorError",
    "LevelError",
    "UnknownFieldError",
    "gettext_noop",
]


def gettext_noop(message: str) -> str:
    """Mark ``message`` for translation without translating it (xgettext knows the name)."""
    return message


def _identity(message: str) -> str:
    return message


class AnalysisError(ValueError):
    """Base class: the analysis cannot be run as asked. The message says what to change."""

    def __init__(self, template: str, **params: Any) -> None:
        self.template = template
        self.params = params
        super().__init__(self.translated(_identity))

    def translated(self, gettext: Callable[[str], str]) -> str:
        """The message in the language ``gettext`` translates to."""
        values = {
            name: value.translated(gettext) if isinstance(value, AnalysisError) else value
            for name, value in self.params.items()
        }
        return gettext(self.template).format(**values)


class ExpressionError(AnalysisError):
    """An indicator expression cannot be parsed or does not make sense.

    Attributes:
        expression: the text as written.
        column: 1-based position of the fault in ``expression``.
    """

    def __init__(self, template: str, *, expression: str, column: int, **params: Any) -> None:
        self.expression = expression
        self.column = column
        super().__init__(template, expression=expression, column=column, **params)

    @property
    def pointer(self) -> str:
        """The expression with a caret under the fault, for a terminal."""
        return f"{self.expression}\n{' ' * (self.column - 1)}^"


class IndicatorError(AnalysisError):
    """An indicator definition is invalid; ``indicator`` is its id (None for the file itself)."""

    def __init__(self, template: str, *, indicator: str | None = None, **params: Any) -> None:
        self.indicator = indicator
        super().__init__(template, indicator=indicator, **params)


class UnknownFieldError(IndicatorError):
    """An indicator reads a field that neither the form nor the data has."""

    def __init__(self, template: str, *, indicator: str | None, field: str, **params: Any) -> None:
        self.field = field
        super().__init__(template, indicator=indicator, field=field, **params)


class LevelError(IndicatorError):
    """An indicator's ``level`` names no repeat, or it reads a question its level's rows do not
    hold (one of a repeat inside the level, or beside it)."""


class DataError(AnalysisError):
    """The data cannot be read, or lacks a column the analysis was asked to use."""


class EstimationError(AnalysisError):
    """`amniyat.stats` refused the design or the data (its message is passed on as ``reason``)."""
