"""A form version's fields as the importers and exporters need them.

``FormVersion.schema`` lists every field with its path, type, labels, choices and repeat;
``FormVersion.sensitivity`` classes each path. :class:`FormPlan` is the same, read once:
which fields hold answers, of what kind, which are protected (personal or sensitive: stored
encrypted, masked on screen), and which repeat each belongs to.

Stored answers (``Submission.data`` and the decrypted ``protected_data``) are dictionaries
keyed by field path. Values: ``integer`` → int, ``decimal`` → float, ``select_multiple`` →
list of choice names, everything else → the text as given (dates ``YYYY-MM-DD``, date-times
ISO 8601). An unanswered question is absent.

A field inside a repeat holds a list, one value per repetition (null where unanswered). A field
inside a repeat inside a repeat holds one list per repetition of the outer repeat, each with one
value per repetition of the inner repeat in it, and so on at any depth: ``members/incidents/type``
of a household with two members, the first with two incidents and the second with none, is
``[["theft", "fraud"], []]``. Every level has one item per repetition of its repeat. A field
with no answer in any repetition is absent, like any unanswered question, so that the same
answers are stored the same whichever file or phone brought them (:func:`canonical_answers`).
:func:`nested_answers` gives the same answers as one object per repetition, the shape of a Kobo
JSON record or an XForm instance; :func:`columnar_answers` goes back.
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
    # repeat path -> the repeat it sits in (None: in the submission itself)
    parent_repeat: dict[str, str | None] = field(default_factory=dict)
    # The checks of phone submissions built from this plan, kept with it (see
    # amniyat.fieldwork.imports.convert.check_answers): built once, not once a submission.
    compiled_checks: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def depth(self, repeat: str | None) -> int:
        """How many repeats hold ``repeat``'s repetitions, itself included (0: none)."""
        count = 0
        while repeat is not None:
            count += 1
            repeat = self.parent_repeat.get(repeat)
        return count

    def child_repeats(self, repeat: str | None) -> list[str]:
        """The repeats directly inside ``repeat`` (None: the top-level repeats), in form order."""
        return [path for path, parent in self.parent_repeat.items() if parent == repeat]

    def repeat_chain(self, repeat: str | None) -> list[str]:
        """``repeat`` and the repeats holding it, outermost first."""
        chain: list[str] = []
        while repeat is not None:
            chain.insert(0, repeat)
            repeat = self.parent_repeat.get(repeat)
        return chain

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
    parents: dict[str, str | None] = {}
    for item in schema:
        chain = [str(path) for path in item.get("repeats") or []]
        for index, path in enumerate(chain):
            repeat_paths.add(path)
            parents.setdefault(path, chain[index - 1] if index else None)
    for path in repeat_paths:
        repeats.setdefault(path, [])
    # In form order: a repeat's own repeat appears in the schema before what it holds.
    order = {str(item["path"]): index for index, item in enumerate(schema)}
    ordered = sorted(repeats, key=lambda p: (order.get(p, len(order)), p))
    repeats = {path: repeats[path] for path in ordered}
    return FormPlan(
        fields=fields,
        by_path={f.path: f for f in fields},
        repeats=repeats,
        repeat_names={path: path.rsplit("/", 1)[-1] for path in repeats},
        # Versions saved before schemas listed each question's repeats: by their paths.
        parent_repeat={
            path: parents[path] if path in parents else _enclosing(path, repeats)
            for path in repeats
        },
    )


def _enclosing(path: str, repeats: dict[str, list[FieldSpec]]) -> str | None:
    """The innermost other repeat whose path holds ``path``."""
    holders = [other for other in repeats if path.startswith(f"{other}/")]
    return max(holders, key=len) if holders else None


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


def nested_answers(answers: dict[str, Any], plan: FormPlan) -> dict[str, Any]:
    """Stored answers as one object per repetition: the top-level answers by path, and each
    top-level repeat's path → a list with one dictionary per repetition, holding that
    repetition's answers by path and each repeat inside it the same way. Unanswered questions
    are left out; a repetition without answers stays, as ``{}``, to keep the others' places.
    Answers the form does not know are kept at the top."""
    inside = {spec.path for fields in plan.repeats.values() for spec in fields}
    top = {path: value for path, value in answers.items() if path not in inside}
    for repeat in plan.child_repeats(None):
        items = _repetitions_of(answers, plan, repeat, ())
        if items:
            top[repeat] = items
    return top


def _repetitions_of(
    answers: dict[str, Any], plan: FormPlan, repeat: str, at: tuple[int, ...]
) -> list[dict[str, Any]]:
    """The repetitions of ``repeat`` inside the repetition ``at`` (positions in each outer
    repeat, outermost first) of the repeats holding it."""
    lists: dict[str, list[Any]] = {}
    for spec in plan.repeats[repeat]:
        found = _at(answers.get(spec.path), at)
        if isinstance(found, list):
            lists[spec.path] = found
    count = max((len(values) for values in lists.values()), default=0)
    children = plan.child_repeats(repeat)
    for child in children:
        count = max(count, _count_at(answers, plan, child, at))
    items: list[dict[str, Any]] = []
    for index in range(count):
        item = {
            path: values[index]
            for path, values in lists.items()
            if index < len(values) and values[index] is not None
        }
        for child in children:
            inner = _repetitions_of(answers, plan, child, (*at, index))
            if inner:
                item[child] = inner
        items.append(item)
    return items


def _at(value: Any, at: tuple[int, ...]) -> Any:
    for index in at:
        if not isinstance(value, list) or index >= len(value):
            return None
        value = value[index]
    return value


def _count_at(answers: dict[str, Any], plan: FormPlan, repeat: str, at: tuple[int, ...]) -> int:
    """How many repetitions of ``repeat``'s parent the lists of ``repeat`` account for at
    ``at`` (the outer list of each of its fields, and of the repeats inside it)."""
    count = 0
    for spec in plan.repeats[repeat]:
        found = _at(answers.get(spec.path), at)
        if isinstance(found, list):
            count = max(count, len(found))
    for child in plan.child_repeats(repeat):
        count = max(count, _count_at(answers, plan, child, at))
    return count


def columnar_answers(nested: dict[str, Any], plan: FormPlan) -> dict[str, Any]:
    """The inverse of :func:`nested_answers`: answers as stored, in their canonical form."""
    answers = {path: value for path, value in nested.items() if path not in plan.repeats}
    for repeat in plan.child_repeats(None):
        items = nested.get(repeat)
        if isinstance(items, list):
            answers.update(_columns_of(items, plan, repeat))
    return _without_unanswered(answers, plan)


def _columns_of(items: list[Any], plan: FormPlan, repeat: str) -> dict[str, list[Any]]:
    items = [item if isinstance(item, dict) else {} for item in items]
    columns: dict[str, list[Any]] = {
        spec.path: [item.get(spec.path) for item in items] for spec in plan.repeats[repeat]
    }
    for child in plan.child_repeats(repeat):
        per_item = [_columns_of(item.get(child) or [], plan, child) for item in items]
        for path in {path for found in per_item for path in found} | set(
            _paths_inside(plan, child)
        ):
            columns[path] = [found.get(path, []) for found in per_item]
    return columns


def _paths_inside(plan: FormPlan, repeat: str) -> list[str]:
    paths = [spec.path for spec in plan.repeats[repeat]]
    for child in plan.child_repeats(repeat):
        paths += _paths_inside(plan, child)
    return paths


def _has_answer(value: Any, depth: int) -> bool:
    if depth == 0:
        return value is not None
    return isinstance(value, list) and any(_has_answer(item, depth - 1) for item in value)


def _without_unanswered(answers: dict[str, Any], plan: FormPlan) -> dict[str, Any]:
    kept = {}
    for path, value in answers.items():
        spec = plan.by_path.get(path)
        depth = plan.depth(spec.repeat) if spec is not None else 0
        if _has_answer(value, depth):
            kept[path] = value
    return kept


def canonical_answers(answers: dict[str, Any], plan: FormPlan) -> dict[str, Any]:
    """``answers`` as every reader stores them: each level of a repeat with one item per
    repetition, and no field that no repetition answered."""
    return columnar_answers(nested_answers(answers, plan), plan)
