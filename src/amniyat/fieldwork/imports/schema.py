"""A form version's fields as the importers and exporters need them.

``FormVersion.schema`` lists every field with its path, type, labels, choices and repeat;
``FormVersion.sensitivity`` classes each path. :class:`FormPlan` is the same, read once:
which fields hold answers, of what kind, which are protected (personal or sensitive: stored
encrypted, masked on screen), and which repeat each belongs to.

Stored answers (``Submission.data`` and the decrypted ``protected_data``) are dictionaries
keyed by field path. Values: ``integer`` → int, ``decimal`` → float, ``select_multiple`` →
list of choice names, everything else → the text as given (dates ``YYYY-MM-DD``, date-times
ISO 8601). An unanswered question is absent. A field inside a repeat holds a list, one value
per repetition (null where unanswered), as the OpenRosa receiver stores it too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from amniyat.fieldwork.models import PROTECTED_SENSITIVITIES, FormVersion, Sensitivity

# XLSForm types that carry no answer of their own.
NOT_ANSWERS = frozenset(
    {
        "note",
        "begin_group",
        "end_group",
        "begin group",
        "end group",
        "group",
        "begin_repeat",
        "end_repeat",
        "begin repeat",
        "end repeat",
        "repeat",
    }
)
KINDS = {
    "integer": "integer",
    "int": "integer",
    "range": "decimal",
    "decimal": "decimal",
    "date": "date",
    "today": "date",
    "datetime": "datetime",
    "dateTime": "datetime",
    "start": "datetime",
    "end": "datetime",
    "select_one": "select_one",
    "select1": "select_one",
    "select_one_from_file": "select_one",
    "select_multiple": "select_multiple",
    "select_multiple_from_file": "select_multiple",
}
# Fields whose answer names the place a submission was collected in, most specific first.
PLACE_FIELD_NAMES = (
    "settlement",
    "settlement_code",
    "mahalla",
    "community",
    "village",
    "jamoat",
    "place",
    "place_code",
    "district",
    "district_code",
)
INSTANCE_META = frozenset({"meta/instanceID", "meta/deprecatedID"})
ENUMERATOR_FIELD_NAMES = ("enumerator", "enumerator_name", "interviewer", "username")


@dataclass(frozen=True)
class FieldSpec:
    path: str
    name: str
    kind: str  # text, integer, decimal, date, datetime, select_one, select_multiple
    xls_type: str
    required: bool
    protected: bool
    repeat: str | None
    labels: dict[str, str] = field(default_factory=dict, compare=False)
    choices: tuple[str, ...] = ()
    choice_labels: dict[str, dict[str, str]] = field(default_factory=dict, compare=False)
    # The skip logic that must hold for the question to be asked: its groups' ``relevant``
    # conditions, then its own (XLSForm syntax). ``required`` applies only where they hold.
    relevant: tuple[str, ...] = ()
    # The form's constraint on an answer (XLSForm syntax, ``.`` the answer itself).
    constraint: str = ""
    # Whether someone (or Amniyat's proposal) gave the question a sensitivity class; one
    # without is protected as personal.
    classed: bool = True

    def label(self, language: str) -> str:
        return _pick(self.labels, language) or self.name

    def choice_label(self, choice: str, language: str) -> str:
        return _pick(self.choice_labels.get(choice, {}), language) or choice


def _pick(labels: dict[str, str] | str | None, language: str) -> str:
    if not labels:
        return ""
    if isinstance(labels, str):
        return labels
    for key in (language, "default", "en", "English (en)"):
        if labels.get(key):
            return str(labels[key])
    for key, value in labels.items():
        if value and (key.startswith(language) or key.endswith(f"({language})")):
            return str(value)
    return str(next((v for v in labels.values() if v), ""))


@dataclass
class FormPlan:
    fields: list[FieldSpec]
    by_path: dict[str, FieldSpec]
    repeats: dict[str, list[FieldSpec]]  # repeat path -> its fields
    repeat_names: dict[str, str]  # repeat path -> its last name

    @property
    def main_fields(self) -> list[FieldSpec]:
        return [f for f in self.fields if f.repeat is None]

    @property
    def protected_paths(self) -> set[str]:
        return {f.path for f in self.fields if f.protected}

    def field_named(self, names: tuple[str, ...]) -> FieldSpec | None:
        main = {f.name.lower(): f for f in self.main_fields}
        for name in names:
            if name in main:
                return main[name]
        return None

    def place_fields(self) -> list[FieldSpec]:
        main = {f.name.lower(): f for f in self.main_fields}
        return [main[name] for name in PLACE_FIELD_NAMES if name in main]

    def enumerator_field(self) -> FieldSpec | None:
        found = self.field_named(ENUMERATOR_FIELD_NAMES)
        if found is None:
            found = next((f for f in self.main_fields if f.xls_type == "username"), None)
        return found

    @property
    def enumerator_protected(self) -> bool:
        """Whether the submission's ``enumerator`` (copied out of the answers, or the
        export's submitter, or the sending device's user name: each names a fieldworker) is
        personal or sensitive: it takes the class of the form's enumerator question, and is
        protected where the form has none, as an unclassed field is."""
        found = self.enumerator_field()
        return found is None or found.protected


def _kind(xls_type: str) -> str:
    return KINDS.get(xls_type, "text")


def answer_kind(item: dict[str, Any]) -> str:
    """How a schema field's answers are typed: by its question type, or for a calculation
    by the type the form gives it (``bind::type`` decimal makes a weight a number)."""
    xls_type = str(item.get("type") or "text").split()[0]
    bind_type = str(item.get("bind_type") or "")
    if xls_type == "calculate" and bind_type in KINDS:
        return _kind(bind_type)
    return _kind(xls_type)


def _conditions(item: dict[str, Any]) -> tuple[str, ...]:
    found = [str(c).strip() for c in item.get("relevant_groups") or []]
    found.append(str(item.get("relevant") or "").strip())
    return tuple(c for c in found if c)


def plan_for(version: FormVersion) -> FormPlan:
    """Read a form version's schema and sensitivity once."""
    return build_plan(version.schema, version.sensitivity)


def build_plan(schema: list[dict[str, Any]], sensitivity: dict[str, str]) -> FormPlan:
    fields: list[FieldSpec] = []
    repeat_paths: set[str] = set()
    for item in schema:
        xls_type = str(item.get("type") or "text").split()[0]
        path = str(item["path"])
        if path in INSTANCE_META:
            continue  # the instance id is the submission's, not an answer
        if xls_type in ("begin_repeat", "begin repeat", "repeat"):
            repeat_paths.add(path)
            continue
        if xls_type in NOT_ANSWERS:
            continue
        choices = item.get("choices") or []
        level = sensitivity.get(path, Sensitivity.PERSONAL)
        fields.append(
            FieldSpec(
                path=path,
                name=str(item.get("name") or path.rsplit("/", 1)[-1]),
                kind=answer_kind(item),
                xls_type=xls_type,
                required=_truthy(item.get("required")),
                # A field nobody classed yet is treated as personal: safer to over-protect.
                protected=level in PROTECTED_SENSITIVITIES,
                repeat=item.get("repeat") or None,
                labels=_labels(item.get("label")),
                choices=tuple(str(c["name"]) for c in choices),
                choice_labels={str(c["name"]): _labels(c.get("label")) for c in choices},
                relevant=_conditions(item),
                constraint=str(item.get("constraint") or "").strip(),
                classed=path in sensitivity,
            )
        )
    repeats: dict[str, list[FieldSpec]] = {}
    for spec in fields:
        if spec.repeat:
            repeats.setdefault(spec.repeat, []).append(spec)
    for path in repeat_paths:
        repeats.setdefault(path, [])
    return FormPlan(
        fields=fields,
        by_path={f.path: f for f in fields},
        repeats=repeats,
        repeat_names={path: path.rsplit("/", 1)[-1] for path in repeats},
    )


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"yes", "true", "1", "true()"}
    return bool(value)


def _labels(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items() if v is not None}
    if isinstance(value, str) and value:
        return {"default": value}
    return {}


# ----------------------------------------------------------------------------------------
# Stored answers, put together again.


def stored_answers(data: dict[str, Any], protected_text: str) -> dict[str, Any]:
    """A stored submission's answers: ``data`` with the decrypted ``protected_data``."""
    protected = json.loads(protected_text) if protected_text else {}
    return {**data, **protected}


def split_answers(answers: dict[str, Any], plan: FormPlan) -> tuple[dict[str, Any], dict[str, Any]]:
    """Answers → (public and internal answers, personal and sensitive answers); a path the
    form does not know counts as protected."""
    data: dict[str, Any] = {}
    protected: dict[str, Any] = {}
    for key, value in answers.items():
        spec = plan.by_path.get(key)
        (protected if spec is None or spec.protected else data)[key] = value
    return data, protected


def repetitions(answers: dict[str, Any], fields: list[FieldSpec]) -> list[dict[str, Any]]:
    """A repeat's answers as one dictionary per repetition."""
    lists = {f.path: answers[f.path] for f in fields if isinstance(answers.get(f.path), list)}
    count = max((len(v) for v in lists.values()), default=0)
    return [
        {
            path: values[i]
            for path, values in lists.items()
            if i < len(values) and values[i] is not None
        }
        for i in range(count)
    ]
