"""Survey indicators: what to estimate, defined in YAML, checked against the form or the data.

An indicator file looks like::

    indicators:
      - id: safe_night
        label: Feel safe walking in their area at night
        type: proportion
        numerator: ${safe_night} = 'very_safe' or ${safe_night} = 'safe'
      - id: trust_police_mean
        label: Trust in police (1-5)
        type: mean
        value: ${trust_police}
      - id: concern
        label: {en: Main concerns, ru: Главные проблемы, tg: Мушкилоти асосӣ, uz: Asosiy muammolar}
        type: proportion
        expand: ${concerns}
        choices: [unemployment, gbv, theft]   # optional; default: the choices in the data

Three types (see `amniyat.analysis.expressions` for the expression language):

- ``proportion``: the share of the *denominator* rows where ``numerator`` holds. Without a
  ``denominator``, the denominator is the respondents who were asked: the rows where every field
  the numerator reads has an answer. So a skipped or not-asked question never counts as "no".
  An optional ``filter`` narrows the denominator further.
- ``mean`` and ``total``: of the number ``value``, over the rows where ``filter`` holds (all rows
  without one). Rows where ``value`` is empty or not a number are left out as a domain, never
  counted as zero.
- ``expand: ${field}`` on a proportion makes one proportion per choice of a select_multiple
  question, ``selected(${field}, 'choice')``, each over the rows that answered it. Choices come
  from ``choices`` (a list of names, or a mapping of name to label), from the form, or from the
  data. An expanded indicator gets the id ``<id>.<choice>``.

An indicator is counted per submission (respondent), unless ``level: <repeat>`` names a repeat of
the form (by name, ``members``, or path): then it reads one row per repetition of that repeat (a
household member), holding that repetition's answers, those of the repetitions holding it and
those of its submission, and for each repeat directly inside it the number of its repetitions
(``${incidents}``). See `Repeat` and `check_fields`.

A ``label`` (and the label of a choice) is text, or a mapping of language code to text for the
interface's languages (`LANGUAGES`), English required: readers see the label in their language,
else in English.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal, cast, get_args

import polars as pl
import yaml

from amniyat.analysis.errors import (
    ExpressionError,
    IndicatorError,
    LevelError,
    UnknownFieldError,
    gettext_noop,
)
from amniyat.analysis.expressions import (
    FIELD_NAME,
    Call,
    Expression,
    Field,
    Text,
    answered,
    parse_expression,
)
from amniyat.analysis.translation import LANGUAGES

__all__ = [
    "LANGUAGES",
    "Indicator",
    "IndicatorType",
    "Measure",
    "Repeat",
    "check_fields",
    "dump_indicators",
    "form_fields",
    "form_labels",
    "indicators_from_data",
    "label_in",
    "load_indicators",
    "measures_for",
    "merge_repeats",
    "resolve_levels",
]

IndicatorType = Literal["proportion", "mean", "total"]
INDICATOR_TYPES: Final[tuple[IndicatorType, ...]] = get_args(IndicatorType)
KEYS: Final = (
    "id",
    "label",
    "type",
    "level",
    "numerator",
    "denominator",
    "value",
    "filter",
    "expand",
    "choices",
)
EXPRESSION_KEYS: Final = ("numerator", "denominator", "value", "filter")
ID_PATTERN: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")

# LANGUAGES (from `amniyat.analysis.translation`): the languages a label may be written in, the
# interface's. English is required and is what a reader sees when their language is missing.
ENGLISH: Final = "en"

Labels = Mapping[str, str]
"""A text in several languages: ``{"en": "Theft", "ru": "Кражи"}``."""

FormChoices = Mapping[str, Sequence[str] | Mapping[str, Labels]]
"""select_multiple choices by field: a list of names, or names with their labels by language."""


def label_in(labels: Labels, language: str | None, *, default: str = "") -> str:
    """The text of ``labels`` in ``language`` (``"tg"``; a regional ``"ru-ru"`` reads ``"ru"``),
    else in English, else ``default``."""
    if language:
        code = language.lower()
        for key in (code, code.split("-")[0]):
            if labels.get(key):
                return labels[key]
    return labels.get(ENGLISH) or default


def _with_english(labels: Labels, english: str) -> dict[str, str]:
    """``labels`` in the order of `LANGUAGES`, with ``english`` as their English text."""
    found = {code: text for code, text in labels.items() if text}
    found[ENGLISH] = english
    return {code: found[code] for code in (*LANGUAGES, *found) if code in found}


@dataclass(frozen=True)
class Indicator:
    """One indicator as defined; expressions are parsed (their ``text`` is kept for export).

    Attributes:
        id: short stable name, letters, digits, ``_`` and ``-``.
        label: what a reader sees, in English (the fallback of every language).
        type: ``"proportion"``, ``"mean"`` or ``"total"``.
        numerator, denominator: conditions of a proportion (denominator optional).
        value: the number of a mean or total.
        filter: optional condition narrowing the rows (any type).
        expand: the select_multiple field a proportion is expanded over, or None.
        choices: the choices to expand over (name -> English label); empty for "from the data".
        labels: the label by language code, English always included (filled from ``label``).
        choice_labels: each choice's label by language code, English always included.
        level: the repeat whose repetitions are counted (its name or path as written; its path
            once `resolve_levels` has read it against the form); None: the submissions.
    """

    id: str
    label: str
    type: IndicatorType
    numerator: Expression | None = None
    denominator: Expression | None = None
    value: Expression | None = None
    filter: Expression | None = None
    expand: str | None = None
    choices: Mapping[str, str] = field(default_factory=dict)
    labels: Labels = field(default_factory=dict)
    choice_labels: Mapping[str, Labels] = field(default_factory=dict)
    level: str | None = None

    def __post_init__(self) -> None:
        # Callers that know only English (``label``, ``choices``) get labels without asking.
        object.__setattr__(self, "labels", _with_english(self.labels, self.label))
        choice_labels = {
            name: _with_english(self.choice_labels.get(name, {}), english)
            for name, english in self.choices.items()
        }
        object.__setattr__(self, "choice_labels", choice_labels)

    def label_in(self, language: str | None) -> str:
        """The label in ``language``, else in English."""
        return label_in(self.labels, language, default=self.label)

    @property
    def expressions(self) -> dict[str, Expression]:
        """The expressions given, by role (``"numerator"``, ``"value"``...)."""
        found = {role: getattr(self, role) for role in EXPRESSION_KEYS}
        return {role: expression for role, expression in found.items() if expression is not None}

    @property
    def fields(self) -> tuple[str, ...]:
        """Every field the indicator reads, in order of appearance."""
        names: list[str] = []
        for expression in self.expressions.values():
            names += expression.fields
        if self.expand is not None:
            names.append(self.expand)
        return tuple(dict.fromkeys(names))

    def to_dict(self) -> dict[str, Any]:
        """The definition as written in YAML (expressions as text, empty keys left out)."""
        record: dict[str, Any] = {"id": self.id, "label": _written(self.labels), "type": self.type}
        if self.level is not None:
            record["level"] = self.level
        for role, expression in self.expressions.items():
            record[role] = expression.text
        if self.expand is not None:
            record["expand"] = "${" + self.expand + "}"
        if self.choices:
            written = {name: _written(self.choice_labels[name]) for name in self.choices}
            if all(label == name for name, label in written.items()):
                record["choices"] = list(self.choices)
            else:
                record["choices"] = written
        return record


def _written(labels: Labels) -> str | dict[str, str]:
    """A label as YAML holds it: the English text alone unless there are translations."""
    return dict(labels) if len(labels) > 1 else labels[ENGLISH]


@dataclass(frozen=True)
class Measure:
    """One estimable quantity: an indicator, or one choice of an expanded indicator."""

    id: str
    label: str
    kind: IndicatorType
    indicator: Indicator
    choice: str | None = None
    labels: Labels = field(default_factory=dict)
    """The label by language code, English (``label``) always included."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", _with_english(self.labels, self.label))

    def label_in(self, language: str | None) -> str:
        """The label in ``language``, else in English."""
        return label_in(self.labels, language, default=self.label)

    def column(self, schema: Mapping[str, pl.DataType]) -> pl.Expr:
        """The Float64 column `amniyat.stats` estimates: 0/1 (proportion) or the value, null
        for rows outside the denominator or filter, or without a value."""
        indicator = self.indicator
        try:
            return self._column(indicator, schema)
        except ExpressionError as error:
            raise IndicatorError(
                gettext_noop("indicator {indicator}: {problem}"),
                indicator=indicator.id,
                problem=error,
            ) from error

    def _column(self, indicator: Indicator, schema: Mapping[str, pl.DataType]) -> pl.Expr:
        rows: pl.Expr = pl.lit(True)
        if indicator.filter is not None:
            rows = indicator.filter.condition(schema)
        if self.kind != "proportion":
            assert indicator.value is not None
            return pl.when(rows).then(indicator.value.number(schema)).otherwise(None)
        if self.choice is not None:
            assert indicator.expand is not None
            selected = Expression(
                text="selected(${" + indicator.expand + "}, " + _quote(self.choice) + ")",
                node=Call("selected", (Field(indicator.expand, 10), Text(self.choice, 1)), 1),
            )
            numerator = selected.condition(schema)
            asked = [indicator.expand]
        else:
            assert indicator.numerator is not None
            numerator = indicator.numerator.condition(schema)
            asked = list(indicator.numerator.fields)
        if indicator.denominator is not None:
            rows = rows & indicator.denominator.condition(schema)
        else:
            for name in asked:
                rows = rows & answered(name, schema)
        return pl.when(rows).then(numerator.cast(pl.Float64)).otherwise(None)


def _quote(text: str) -> str:
    return "'" + text + "'" if "'" not in text else '"' + text + '"'


# --- Loading and checking ----------------------------------------------------------------------


def _problem(template: str, indicator: str | None = None, **params: Any) -> IndicatorError:
    return IndicatorError(template, indicator=indicator, **params)


def _text(record: Mapping[str, Any], key: str, indicator: str | None) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _problem(
            gettext_noop("indicator {indicator}: {key} must be text"), indicator, key=key
        )
    return str(value)


def _field_reference(text: str, indicator: str) -> str:
    inner = text.strip()
    if inner.startswith("${") and inner.endswith("}"):
        inner = inner[2:-1]
    match = FIELD_NAME.fullmatch(inner)
    if match is None:
        raise _problem(
            gettext_noop(
                "indicator {indicator}: expand must name a select_multiple field, like "
                "${{concerns}}; got {value}"
            ),
            indicator,
            value=repr(text),
        )
    return match.group(1)


def _labels(value: Any, indicator: str, what: str) -> dict[str, str] | None:
    """A label as written: text (English), or a mapping of language code to text with English.
    A language left empty is not translated yet: its readers see English."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _problem(
                gettext_noop(
                    "indicator {indicator}: {key} must be text, or a mapping of language to text"
                ),
                indicator,
                key=what,
            )
        return {ENGLISH: str(value)} if str(value) else None
    unknown = [repr(code) for code in value if code not in LANGUAGES]
    if unknown:
        raise _problem(
            gettext_noop(
                "indicator {indicator}: {key} has an unknown language {language}; the languages "
                "are {languages}"
            ),
            indicator,
            key=what,
            language=unknown[0],
            languages=", ".join(LANGUAGES),
        )
    labels: dict[str, str] = {}
    for code, text in value.items():
        if text is None or text == "":
            continue
        if isinstance(text, bool) or not isinstance(text, str | int | float):
            raise _problem(
                gettext_noop("indicator {indicator}: {key} in {language} must be text"),
                indicator,
                key=what,
                language=code,
            )
        labels[code] = str(text)
    if ENGLISH not in labels:
        raise _problem(
            gettext_noop(
                "indicator {indicator}: {key} needs an English text (en) besides its other "
                "languages"
            ),
            indicator,
            key=what,
        )
    return _with_english(labels, labels[ENGLISH])


def _choices(value: Any, indicator: str) -> dict[str, dict[str, str]]:
    """Choice name -> label by language (the name itself when only names are listed)."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        items = [(str(name), label) for name, label in value.items()]
    elif isinstance(value, list):
        items = [(str(name), None) for name in value]
    else:
        raise _problem(
            gettext_noop(
                "indicator {indicator}: choices must be a list of choice names or a mapping "
                "of name to label"
            ),
            indicator,
        )
    for name, _ in items:
        if not name or any(character.isspace() for character in name):
            raise _problem(
                gettext_noop("indicator {indicator}: choice names have no spaces; got {name}"),
                indicator,
                name=repr(name),
            )
    return {
        name: _labels(label, indicator, f"choice {name}") or {ENGLISH: name}
        for name, label in items
    }


def _indicator(record: Any, position: int) -> Indicator:
    if not isinstance(record, Mapping):
        raise _problem(
            gettext_noop("indicator number {position} must be a mapping with id, label and type"),
            position=position,
        )
    raw_id = record.get("id")
    if raw_id is None or not ID_PATTERN.fullmatch(str(raw_id)):
        raise _problem(
            gettext_noop(
                "indicator number {position} needs an id of letters, digits, _ and - "
                "(starting with a letter); got {value}"
            ),
            position=position,
            value=repr(raw_id),
        )
    indicator_id = str(raw_id)
    unknown = [str(key) for key in record if key not in KEYS]
    if unknown:
        raise _problem(
            gettext_noop("indicator {indicator}: unknown key {key}; known keys: {known}"),
            indicator_id,
            key=repr(unknown[0]),
            known=", ".join(KEYS),
        )
    kind = record.get("type")
    if kind not in INDICATOR_TYPES:
        raise _problem(
            gettext_noop(
                "indicator {indicator}: type must be proportion, mean or total; got {value}"
            ),
            indicator_id,
            value=repr(kind),
        )
    expressions: dict[str, Expression] = {}
    for role in EXPRESSION_KEYS:
        text = _text(record, role, indicator_id)
        if text is None:
            continue
        try:
            expressions[role] = parse_expression(text)
        except ExpressionError as error:
            raise _problem(
                gettext_noop("indicator {indicator}, {role}: {problem}"),
                indicator_id,
                role=role,
                problem=error,
            ) from error
    level = _level(_text(record, "level", indicator_id), indicator_id)
    expand_text = _text(record, "expand", indicator_id)
    expand = _field_reference(expand_text, indicator_id) if expand_text is not None else None
    choices = _choices(record.get("choices"), indicator_id)
    _check_roles(cast(IndicatorType, kind), indicator_id, expressions, expand, choices)
    labels = _labels(record.get("label"), indicator_id, "label") or {ENGLISH: indicator_id}
    return Indicator(
        id=indicator_id,
        label=labels[ENGLISH],
        type=cast(IndicatorType, kind),
        numerator=expressions.get("numerator"),
        denominator=expressions.get("denominator"),
        value=expressions.get("value"),
        filter=expressions.get("filter"),
        expand=expand,
        choices={name: labels[ENGLISH] for name, labels in choices.items()},
        labels=labels,
        choice_labels=choices,
        level=level,
    )


def _level(text: str | None, indicator: str) -> str | None:
    if text is None:
        return None
    match = FIELD_NAME.fullmatch(text)
    if match is None:
        raise _problem(
            gettext_noop(
                "indicator {indicator}: level must name a repeat of the form, like members; "
                "got {value}"
            ),
            indicator,
            value=repr(text),
        )
    return match.group(1)


def _check_roles(
    kind: IndicatorType,
    indicator: str,
    expressions: Mapping[str, Expression],
    expand: str | None,
    choices: Mapping[str, Labels],
) -> None:
    if kind == "proportion":
        if "value" in expressions:
            raise _problem(
                gettext_noop(
                    "indicator {indicator}: a proportion has a numerator (and optionally a "
                    "denominator), not a value"
                ),
                indicator,
            )
        if expand is not None and "numerator" in expressions:
            raise _problem(
                gettext_noop("indicator {indicator}: give either expand or numerator, not both"),
                indicator,
            )
        if expand is None and "numerator" not in expressions:
            raise _problem(
                gettext_noop("indicator {indicator}: a proportion needs a numerator or expand"),
                indicator,
            )
    else:
        misplaced = [role for role in ("numerator", "denominator") if role in expressions]
        if misplaced or expand is not None:
            raise _problem(
                gettext_noop(
                    "indicator {indicator}: a {kind} has a value (and optionally a filter), "
                    "not {key}"
                ),
                indicator,
                kind=kind,
                key=misplaced[0] if misplaced else "expand",
            )
        if "value" not in expressions:
            raise _problem(
                gettext_noop("indicator {indicator}: a {kind} needs a value"), indicator, kind=kind
            )
    if choices and expand is None:
        raise _problem(
            gettext_noop("indicator {indicator}: choices are only used with expand"), indicator
        )


@dataclass(frozen=True)
class Repeat:
    """A repeat of a form as indicators see it: a level they may be counted at.

    Attributes:
        path: the repeat's path in the form (``members``, ``members/incidents``).
        name: its XLSForm name (``incidents``).
        parent: the path of the repeat holding it; None for a repeat of the form itself.
        columns: what a row of it holds of its own: a column per question (named as in
            indicators, ``${member_age}``) and, per repeat directly inside it, the number of
            that repeat's repetitions (``${incidents}``).
        labels: the repeat's label by language code, English always included (``Household
            members``); pages say with it what an indicator at this level counts.
    """

    path: str
    name: str
    parent: str | None = None
    columns: tuple[str, ...] = ()
    labels: Labels = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "labels", _with_english(self.labels, self.labels.get(ENGLISH) or self.name)
        )

    def label_in(self, language: str | None) -> str:
        """The label in ``language``, else in English."""
        return label_in(self.labels, language, default=self.name)


def merge_repeats(found: Iterable[Mapping[str, Repeat]]) -> dict[str, Repeat]:
    """The repeats of several forms by path; a repeat of two forms has the columns of both."""
    merged: dict[str, Repeat] = {}
    for repeats in found:
        for path, repeat in repeats.items():
            if path in merged:
                columns = tuple(dict.fromkeys([*merged[path].columns, *repeat.columns]))
                repeat = replace(merged[path], columns=columns)
            merged[path] = repeat
    return merged


def _chain(repeat: Repeat, repeats: Mapping[str, Repeat]) -> list[Repeat]:
    """``repeat`` and the repeats holding it, innermost first."""
    found = [repeat]
    while found[-1].parent is not None and found[-1].parent in repeats:
        found.append(repeats[found[-1].parent])
    return found


def _find_level(indicator: Indicator, repeats: Mapping[str, Repeat]) -> Repeat:
    written = indicator.level
    assert written is not None
    if written in repeats:
        return repeats[written]
    named = [repeat for repeat in repeats.values() if repeat.name == written]
    if len(named) == 1:
        return named[0]
    if named:
        raise LevelError(
            gettext_noop(
                "indicator {indicator}: level {level} names more than one repeat; write the "
                "path of the one meant: {paths}"
            ),
            indicator=indicator.id,
            level=written,
            paths=", ".join(sorted(repeat.path for repeat in named)),
        )
    if not repeats:
        raise LevelError(
            gettext_noop(
                "indicator {indicator}: level {level} names no repeat, and the form (or data "
                "file) has none; leave level out to count submissions"
            ),
            indicator=indicator.id,
            level=written,
        )
    known = sorted({*repeats, *(repeat.name for repeat in repeats.values())})
    close = difflib.get_close_matches(written, known, n=1)
    if close:
        raise LevelError(
            gettext_noop(
                "indicator {indicator}: level {level} names no repeat of the form; did you mean "
                "{suggestion}?"
            ),
            indicator=indicator.id,
            level=written,
            suggestion=close[0],
        )
    raise LevelError(
        gettext_noop(
            "indicator {indicator}: level {level} names no repeat of the form; its repeats are "
            "{repeats}"
        ),
        indicator=indicator.id,
        level=written,
        repeats=", ".join(sorted(repeats)),
    )


def resolve_levels(
    indicators: Iterable[Indicator], repeats: Mapping[str, Repeat]
) -> list[Indicator]:
    """``indicators`` with each ``level`` written as the path of the repeat it names (by name
    or path); `LevelError` for a level that names none of ``repeats`` (by path), or several."""
    resolved = []
    for indicator in indicators:
        if indicator.level is not None:
            level = _find_level(indicator, repeats).path
            if level != indicator.level:
                indicator = replace(indicator, level=level)
        resolved.append(indicator)
    return resolved


def _misplaced(
    indicator: Indicator, name: str, level: Repeat | None, repeats: Mapping[str, Repeat]
) -> LevelError | None:
    """Why ``name``, a column of some repeat, is not in a row of ``level`` (None: no repeat
    holds it)."""
    holder = next((r for r in repeats.values() if name in r.columns), None)
    if holder is None:
        return None
    if level is None:
        return LevelError(
            gettext_noop(
                "indicator {indicator} reads ${{{field}}}, a question of the repeat {repeat}; "
                "give the indicator level: {repeat} to count one row per repetition"
            ),
            indicator=indicator.id,
            field=name,
            repeat=holder.path,
        )
    if level.path in (r.path for r in _chain(holder, repeats)[1:]):
        return LevelError(
            gettext_noop(
                "indicator {indicator} is counted per {level} but reads ${{{field}}}, a "
                "question of the repeat {repeat} inside it, which has many answers per "
                "{level}; count per {repeat} instead (level: {repeat})"
            ),
            indicator=indicator.id,
            level=level.path,
            field=name,
            repeat=holder.path,
        )
    return LevelError(
        gettext_noop(
            "indicator {indicator} is counted per {level} but reads ${{{field}}}, a question of "
            "the repeat {repeat}, which does not hold {level}; a row of {level} holds the "
            "answers of {level}, of the repeats holding it and of the form"
        ),
        indicator=indicator.id,
        level=level.path,
        field=name,
        repeat=holder.path,
    )


def check_fields(
    indicators: Iterable[Indicator],
    fields: Collection[str],
    *,
    repeats: Mapping[str, Repeat] | None = None,
) -> None:
    """Raise for the first field an indicator reads that its rows do not hold.

    ``fields`` are the submission's columns (the data's, or the form's field names); an
    indicator with a ``level`` may also read the columns of that repeat and of the repeats
    holding it (``repeats``, by path). A question of another repeat raises `LevelError` saying
    why; any other unknown name `UnknownFieldError`, suggesting a close name. A level that names
    no repeat raises `LevelError`.
    """
    known = set(fields)
    repeats = repeats or {}
    for indicator in indicators:
        level = _find_level(indicator, repeats) if indicator.level is not None else None
        allowed = set(known)
        if level is not None:
            for repeat in _chain(level, repeats):
                allowed.update(repeat.columns)
        for name in indicator.fields:
            if name in allowed:
                continue
            misplaced = _misplaced(indicator, name, level, repeats)
            if misplaced is not None:
                raise misplaced
            close = difflib.get_close_matches(name, sorted(allowed), n=1)
            if close:
                raise UnknownFieldError(
                    gettext_noop(
                        "indicator {indicator} reads ${{{field}}}, which is not in the data or "
                        "the form; did you mean ${{{suggestion}}}?"
                    ),
                    indicator=indicator.id,
                    field=name,
                    suggestion=close[0],
                )
            raise UnknownFieldError(
                gettext_noop(
                    "indicator {indicator} reads ${{{field}}}, which is not in the data or the form"
                ),
                indicator=indicator.id,
                field=name,
            )


def indicators_from_data(
    data: Any,
    *,
    fields: Collection[str] | None = None,
    repeats: Mapping[str, Repeat] | None = None,
) -> list[Indicator]:
    """Build indicators from parsed YAML (``{"indicators": [...]}``); see `load_indicators`."""
    if not isinstance(data, Mapping) or "indicators" not in data:
        raise _problem(gettext_noop("the indicator file must have a top-level indicators: list"))
    unknown = [str(key) for key in data if key not in ("indicators", "title", "description")]
    if unknown:
        raise _problem(
            gettext_noop(
                "unknown top-level key {key} in the indicator file; expected indicators "
                "(and optionally title, description)"
            ),
            key=repr(unknown[0]),
        )
    records = data["indicators"]
    if not isinstance(records, list) or not records:
        raise _problem(gettext_noop("indicators: must be a non-empty list"))
    indicators = [_indicator(record, position) for position, record in enumerate(records, 1)]
    seen: set[str] = set()
    for indicator in indicators:
        if indicator.id in seen:
            raise _problem(gettext_noop("indicator id {indicator} is used twice"), indicator.id)
        seen.add(indicator.id)
    if repeats is not None:
        indicators = resolve_levels(indicators, repeats)
    if fields is not None:
        check_fields(indicators, fields, repeats=repeats)
    return indicators


def load_indicators(
    text: str,
    *,
    fields: Collection[str] | None = None,
    repeats: Mapping[str, Repeat] | None = None,
) -> list[Indicator]:
    """Parse an indicator YAML document.

    Args:
        text: the YAML.
        fields: the names an indicator may read (data columns, or `form_fields` of a form);
            None to skip that check.
        repeats: the form's repeats by path, which ``level`` may name; given, each level is
            read against them (and written as the repeat's path). Levels are checked with the
            fields: without ``repeats``, an indicator with a level is refused then.

    Raises:
        IndicatorError: the file or a definition is invalid (an `ExpressionError` is carried
            as the ``problem`` with its column), or (`UnknownFieldError`) a field is unknown,
            or (`LevelError`) a level names no repeat or a field is not in its rows.
    """
    try:
        # libyaml's parser where PyYAML was built with it (the wheels are): pages that offer
        # indicators read the programme's set on every request, and the pure-Python one takes
        # tens of milliseconds for the demo's.
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    except yaml.YAMLError:
        data = _reparsed(text)
    return indicators_from_data(data, fields=fields, repeats=repeats)


def _reparsed(text: str) -> Any:
    """Parse again with the pure-Python parser, whose messages name the line and what it
    expected more plainly than libyaml's, and raise its problem."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise _problem(
            gettext_noop("the indicator file is not valid YAML (line {line}): {reason}"),
            line=line,
            reason=getattr(error, "problem", None) or str(error),
        ) from None


def dump_indicators(indicators: Sequence[Indicator], *, title: str | None = None) -> str:
    """The YAML text of ``indicators``; `load_indicators` reads it back to equal indicators."""
    document: dict[str, Any] = {}
    if title is not None:
        document["title"] = title
    document["indicators"] = [indicator.to_dict() for indicator in indicators]
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def form_fields(schema: Iterable[Mapping[str, Any]]) -> tuple[set[str], dict[str, list[str]]]:
    """Field names and select choices from a form version's schema
    (``FormVersion.schema``: a list of ``{"name", "type", "choices": [{"name"}]}``)."""
    names: set[str] = set()
    choices: dict[str, list[str]] = {}
    for entry in schema:
        name = str(entry.get("name", ""))
        if not name:
            continue
        names.add(name)
        listed = entry.get("choices") or []
        if listed:
            choices[name] = [str(choice.get("name")) for choice in listed]
    return names, choices


_LANGUAGE_NAMES: Final = {"english": "en", "russian": "ru", "tajik": "tg", "uzbek": "uz"}
_LANGUAGE_SUFFIX: Final = re.compile(r"\(([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)?\)\s*$")


def _language_code(name: str) -> str | None:
    """The code of an XLSForm label language: ``"tg"``, ``"Tajik (tg)"`` or ``"Tajik"``."""
    text = name.strip().lower()
    suffix = _LANGUAGE_SUFFIX.search(text)
    code = suffix.group(1) if suffix is not None else text.split("-")[0].split("_")[0]
    if code in LANGUAGES:
        return code
    return next((c for word, c in _LANGUAGE_NAMES.items() if text.startswith(word)), None)


def form_labels(value: Mapping[str, Any] | str | None) -> dict[str, str]:
    """A label of a form's schema (XLSForm language name -> text, or one text) by language
    code. Languages outside `LANGUAGES` are left out; English falls back to the form's default
    (or first) language so that every reader sees something."""
    if not value:
        return {}
    if not isinstance(value, Mapping):
        return {ENGLISH: str(value)}
    labels: dict[str, str] = {}
    for name, text in value.items():
        code = _language_code(str(name))
        if code is not None and text and code not in labels:
            labels[code] = str(text)
    if ENGLISH not in labels:
        fallback = value.get("default") or next((t for t in value.values() if t), None)
        if fallback:
            labels[ENGLISH] = str(fallback)
    return _with_english(labels, labels[ENGLISH]) if labels else {}


def _expanded_labels(indicator: Indicator, choice: Labels, name: str) -> dict[str, str]:
    """``<indicator label>: <choice label>`` in every language either is written in."""
    languages = [code for code in LANGUAGES if code in indicator.labels or code in choice]
    return {
        code: f"{indicator.label_in(code)}: {label_in(choice, code, default=name)}"
        for code in languages
    }


def measures_for(
    indicators: Sequence[Indicator],
    frame: pl.DataFrame,
    *,
    choices: FormChoices | None = None,
) -> list[Measure]:
    """The measures to estimate: one per indicator, one per choice for an expanded indicator.

    An expansion takes its choices from the indicator, else from ``choices`` (e.g. the form's:
    names, or names with their labels by language, `form_labels`), else from the data (every
    space-separated value seen, sorted). Where no label is known, a choice is labelled by its
    name.
    """
    measures: list[Measure] = []
    for indicator in indicators:
        if indicator.expand is None:
            measures.append(
                Measure(
                    indicator.id,
                    indicator.label,
                    indicator.type,
                    indicator,
                    labels=indicator.labels,
                )
            )
            continue
        listed: Mapping[str, Labels] = indicator.choice_labels
        if not listed and choices is not None and indicator.expand in choices:
            given = choices[indicator.expand]
            known: Mapping[str, Labels] = given if isinstance(given, Mapping) else {}
            listed = {name: known.get(name) or {} for name in given}
        if not listed:
            listed = {name: {} for name in _choices_in_data(frame, indicator.expand)}
        for name, choice in listed.items():
            labels = _expanded_labels(indicator, choice, name)
            measures.append(
                Measure(
                    id=f"{indicator.id}.{name}",
                    label=labels[ENGLISH],
                    kind="proportion",
                    indicator=indicator,
                    choice=name,
                    labels=labels,
                )
            )
    return measures


def _choices_in_data(frame: pl.DataFrame, column: str) -> list[str]:
    if column not in frame.columns:
        return []
    values = frame.lazy().select(
        pl.col(column)
        .cast(pl.String, strict=False)
        .str.split(" ")
        .explode()
        .str.strip_chars()
        .unique()
        .drop_nulls()
    )
    found = values.collect()[column].to_list()
    return sorted(name for name in found if name)
