"""Every write to a programme's codebook: seeding it from the shipped codebook, adding,
changing, moving, merging and deleting codes, and linking codes to survey indicators.

The codebook is a tree: a code's parent is a code of the same programme, and no code may end
up below itself. A code that holds coded excerpts is not deleted; it is merged into another
code, which takes its excerpts. Seeding adds the shipped entries a programme lacks (matched by
key) and never changes a code the programme already has, so it can be run again safely.
Every change is checked first and written in one transaction with its audit row.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.text import slugify
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from amniyat.accounts import policies
from amniyat.accounts.policies import require
from amniyat.analysis.indicators import form_fields, label_in
from amniyat.audit.models import AuditEvent
from amniyat.audit.services import audit_record
from amniyat.core.i18n import CONTENT_LANGUAGES
from amniyat.core.services import changed_fields
from amniyat.core.text import format_list, format_number, format_percent
from amniyat.drivers.coding.services import coding_changed
from amniyat.drivers.models import Code, Excerpt, Suggestion
from amniyat.fieldwork.models import Form
from amniyat.findings import shown
from amniyat.findings.models import Findings
from amniyat.findings.services import current_indicator_set, indicators_read

if TYPE_CHECKING:
    from django.http import HttpRequest

    from amniyat.accounts.models import Programme, User
    from amniyat.accounts.policies import AnyUser

Verb = AuditEvent.Verb
SEED_FILE = Path(__file__).resolve().parent.parent / "data" / "codebook.yaml"
NAME_FIELDS = tuple(f"name_{language}" for language in CONTENT_LANGUAGES)
DESCRIPTION_FIELDS = tuple(f"description_{language}" for language in CONTENT_LANGUAGES)
EDITABLE_FIELDS = (*NAME_FIELDS, *DESCRIPTION_FIELDS, "kind", "parent", "indicator_keys")
KEY_MAX_LENGTH = 80


# ----------------------------------------------------------------------------------------
# The shipped codebook


@functools.cache
def _seed_entries() -> tuple[dict[str, Any], ...]:
    with SEED_FILE.open(encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    return tuple(document["codes"])


def seed_entries() -> list[dict[str, Any]]:
    """The shipped codebook as a flat list in tree order, each entry with its ``parent`` key."""
    flat: list[dict[str, Any]] = []

    def walk(entries: Iterable[dict[str, Any]], parent: str | None) -> None:
        for entry in entries:
            flat.append({**entry, "parent": parent})
            walk(entry.get("children") or (), entry["key"])

    walk(_seed_entries(), None)
    return flat


# ----------------------------------------------------------------------------------------
# Indicators


def indicator_choices(programme: Programme) -> dict[str, str]:
    """The indicator keys a code of ``programme`` may link to, with their labels: every
    indicator of the programme's current indicator set, and for an indicator expanded over a
    select_multiple question, one key per choice (``concern.unemployment``), as findings name
    them. Empty when the programme has no indicator set."""
    indicator_set = current_indicator_set(programme)
    if indicator_set is None:
        return {}
    form_choices: dict[str, list[str]] | None = None
    choices: dict[str, str] = {}
    for key, label, expand, listed in _indicator_labels(indicator_set.spec):
        choices[key] = label
        if expand is None:
            continue
        if listed is None:
            if form_choices is None:
                form_choices = _form_choices(programme)
            listed = {name: name for name in form_choices.get(expand, [])}
        for name, choice in listed.items():
            choices[f"{key}.{name}"] = f"{label}: {choice}"
    return choices


IndicatorLabels = list[tuple[str, str, str | None, dict[str, str] | None]]


def _indicator_labels(spec: str) -> IndicatorLabels:
    """Each indicator of an indicator set's YAML as ``(key, label, expanded field, {choice:
    label})`` in the reader's language, the choices None where they come from the forms'
    data. The YAML is parsed once per process (findings' own reading,
    :func:`~amniyat.findings.services.indicators_read`): parsing takes longer than the rest
    of a codebook page."""
    language = get_language() or "en"
    labels: IndicatorLabels = []
    for indicator in indicators_read(spec):
        listed: dict[str, str] | None = None
        if indicator.expand is not None and indicator.choices:
            listed = {
                name: label_in(indicator.choice_labels.get(name, {}), language, default=english)
                for name, english in indicator.choices.items()
            }
        labels.append((indicator.id, indicator.label_in(language), indicator.expand, listed))
    return labels


def _form_choices(programme: Programme) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for form in Form.objects.filter(assessment__programme=programme):
        version = form.current_version()
        if version is None:
            continue
        _names, choices = form_fields(version.schema)
        for field, names in choices.items():
            found.setdefault(field, [])
            found[field] += [name for name in names if name not in found[field]]
    return found


def _clean_indicator_keys(
    programme: Programme, keys: Iterable[Any], *, already: Sequence[str] = ()
) -> list[str]:
    """``keys`` without repeats; a key the code does not link yet must be one of the
    programme's current indicator set (a key linked before the set changed may stay)."""
    cleaned = list(dict.fromkeys(str(key).strip() for key in keys if str(key).strip()))
    new = [key for key in cleaned if key not in already]
    if new:
        known = indicator_choices(programme)
        unknown = [key for key in new if key not in known]
        if unknown:
            if not known:
                message = _(
                    "This programme has no indicators yet, so codes cannot be linked to any."
                )
            else:
                message = _("Not an indicator of this programme's indicator set: {keys}.").format(
                    keys=format_list(unknown)
                )
            raise ValidationError({"indicator_keys": message})
    return cleaned


# ----------------------------------------------------------------------------------------
# Checks


def _require_manage(user: User | None, programme: Programme) -> None:
    if user is not None:
        require(user, "codebook.manage", programme)


def _clean_names(values: Mapping[str, Any]) -> dict[str, str]:
    cleaned = {field: str(values.get(field) or "").strip() for field in NAME_FIELDS}
    if not cleaned["name_en"]:
        raise ValidationError({"name_en": _("Give the code a name in English.")})
    for field, value in cleaned.items():
        if len(value) > 200:
            raise ValidationError({field: _("A name may have at most 200 characters.")})
    return cleaned


def _clean_kind(value: Any) -> str:
    if value not in Code.Kind.values:
        raise ValidationError({"kind": _("Choose a security concern, a driver or a theme.")})
    return str(value)


def _clean_parent(programme: Programme, value: Any, *, code: Code | None = None) -> Code | None:
    """The parent as a code of the same programme, never the code itself or one below it."""
    if value in (None, ""):
        return None
    parent = value if isinstance(value, Code) else None
    if parent is None:
        try:
            parent = Code.objects.filter(programme=programme, pk=int(value)).first()
        except (TypeError, ValueError):
            parent = None
    if parent is None or parent.programme_id != programme.pk:
        raise ValidationError({"parent": _("Choose a code of this programme's codebook.")})
    if (
        code is not None
        and code.pk is not None
        and (parent.pk == code.pk or parent.pk in descendant_ids(code))
    ):
        raise ValidationError(
            {"parent": _("A code cannot be placed under itself or one of its sub-codes.")}
        )
    return parent


def _clean_key(programme: Programme, value: Any, *, name: str) -> str:
    """The key as given (letters, digits, - and _), or one made from the English name; it
    must be new in the programme."""
    key = str(value or "").strip()
    if key:
        if slugify(key) != key.lower() or len(key) > KEY_MAX_LENGTH:
            raise ValidationError(
                {"key": _("A key may hold only letters, digits, - and _, up to 80 of them.")}
            )
        if Code.objects.filter(programme=programme, key=key).exists():
            raise ValidationError({"key": _("Another code of this codebook has this key.")})
        return key
    return unique_key(programme, name)


def unique_key(programme: Programme, name: str) -> str:
    """A key made from ``name`` that no code of the programme has yet."""
    base = slugify(name).replace("-", "_")[: KEY_MAX_LENGTH - 6] or "code"
    taken = set(
        Code.objects.filter(programme=programme, key__startswith=base).values_list("key", flat=True)
    )
    key, number = base, 1
    while key in taken:
        number += 1
        key = f"{base}_{number}"
    return key


def descendant_ids(code: Code) -> set[int]:
    """The ids of every code below ``code`` in its programme's tree."""
    children: dict[int | None, list[int]] = {}
    for pk, parent_id in Code.objects.filter(programme_id=code.programme_id).values_list(
        "pk", "parent_id"
    ):
        children.setdefault(parent_id, []).append(pk)
    found: set[int] = set()
    stack = list(children.get(code.pk, []))
    while stack:
        pk = stack.pop()
        if pk not in found:
            found.add(pk)
            stack.extend(children.get(pk, []))
    return found


def _next_position(programme: Programme, parent: Code | None) -> int:
    latest = Code.objects.filter(programme=programme, parent=parent).aggregate(p=Max("position"))
    return int(latest["p"] or 0) + 1


# ----------------------------------------------------------------------------------------
# Seeding


def codebook_seed(*, programme: Programme, user: User | None = None) -> int:
    """Add the shipped codes ``programme`` does not have yet (matched by key), each under its
    shipped parent (or under the programme's code of that key) and linked to the indicators
    of the programme's indicator set that it names. Codes the programme has are left as they
    are. Returns how many codes were added; ``user`` None is the system (demo, CLI)."""
    _require_manage(user, programme)
    known = indicator_choices(programme)
    with transaction.atomic():
        existing = {code.key: code for code in Code.objects.filter(programme=programme)}
        added: list[Code] = []
        for position, entry in enumerate(seed_entries(), start=1):
            if entry["key"] in existing:
                continue
            parent = existing.get(entry["parent"]) if entry["parent"] else None
            names = entry["name"]
            descriptions = entry.get("description") or {}
            code = Code.objects.create(
                programme=programme,
                parent=parent,
                key=entry["key"],
                kind=entry["kind"],
                indicator_keys=[key for key in entry.get("indicators") or () if key in known],
                position=position,
                **{f"name_{lang}": names.get(lang, "") for lang in CONTENT_LANGUAGES},
                **{f"description_{lang}": descriptions.get(lang, "") for lang in CONTENT_LANGUAGES},
            )
            existing[code.key] = code
            added.append(code)
        if added:
            coding_changed(programme_id=programme.pk)
            audit_record(
                actor=user,
                actor_label="system",
                verb=Verb.CREATED,
                programme=programme,
                details={"codebook_seeded": [code.key for code in added]},
            )
    return len(added)


# ----------------------------------------------------------------------------------------
# Codes


def code_create(
    *,
    user: User | None,
    programme: Programme,
    name_en: str,
    name_ru: str = "",
    name_tg: str = "",
    name_uz: str = "",
    description_en: str = "",
    description_ru: str = "",
    description_tg: str = "",
    description_uz: str = "",
    kind: str = Code.Kind.DRIVER,
    parent: Code | int | None = None,
    key: str = "",
    indicator_keys: Sequence[str] = (),
    request: HttpRequest | None = None,
) -> Code:
    """Add a code to the programme's codebook, last among its siblings."""
    _require_manage(user, programme)
    names = _clean_names(
        {"name_en": name_en, "name_ru": name_ru, "name_tg": name_tg, "name_uz": name_uz}
    )
    descriptions = {
        "description_en": description_en.strip(),
        "description_ru": description_ru.strip(),
        "description_tg": description_tg.strip(),
        "description_uz": description_uz.strip(),
    }
    cleaned_kind = _clean_kind(kind)
    cleaned_parent = _clean_parent(programme, parent)
    keys = _clean_indicator_keys(programme, indicator_keys)
    with transaction.atomic():
        code = Code.objects.create(
            programme=programme,
            parent=cleaned_parent,
            key=_clean_key(programme, key, name=names["name_en"]),
            kind=cleaned_kind,
            indicator_keys=keys,
            position=_next_position(programme, cleaned_parent),
            **names,
            **descriptions,
        )
        coding_changed(programme_id=programme.pk)
        audit_record(
            actor=user,
            actor_label="system",
            verb=Verb.CREATED,
            obj=code,
            programme=programme,
            request=request,
            details={"key": code.key},
        )
    return code


def code_update(
    *,
    user: User | None,
    code: Code,
    values: Mapping[str, Any],
    request: HttpRequest | None = None,
) -> Code:
    """Change a code's names, descriptions, kind, parent or linked indicators (``values``
    holds only what changes; the key stays as it is)."""
    programme = code.programme
    _require_manage(user, programme)
    unknown = set(values) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(
            _("These cannot be changed: {fields}.").format(fields=format_list(sorted(unknown)))
        )
    cleaned: dict[str, Any] = {}
    if any(field in values for field in NAME_FIELDS):
        cleaned |= _clean_names(
            {field: values.get(field, getattr(code, field)) for field in NAME_FIELDS}
        )
    for field in DESCRIPTION_FIELDS:
        if field in values:
            cleaned[field] = str(values[field] or "").strip()
    if "kind" in values:
        cleaned["kind"] = _clean_kind(values["kind"])
    if "parent" in values:
        cleaned["parent"] = _clean_parent(programme, values["parent"], code=code)
    if "indicator_keys" in values:
        cleaned["indicator_keys"] = _clean_indicator_keys(
            programme, values["indicator_keys"] or (), already=code.indicator_keys
        )
    with transaction.atomic():
        moved = "parent" in cleaned and cleaned["parent"] != code.parent
        changes = changed_fields(code, cleaned)
        if not changes:
            return code
        if moved:
            code.position = _next_position(programme, code.parent)
        code.save()
        coding_changed(programme_id=programme.pk)
        audit_record(
            actor=user,
            actor_label="system",
            verb=Verb.UPDATED,
            obj=code,
            programme=programme,
            request=request,
            details={"changes": changes},
        )
    return code


def code_move(
    *,
    user: User | None,
    code: Code,
    parent: Code | int | None,
    position: int | None = None,
    request: HttpRequest | None = None,
) -> Code:
    """Put ``code`` under ``parent`` (None: at the top), at ``position`` among its new
    siblings (counted from 1; None: last). A code never moves below itself."""
    programme = code.programme
    _require_manage(user, programme)
    new_parent = _clean_parent(programme, parent, code=code)
    with transaction.atomic():
        siblings = list(
            Code.objects.filter(programme=programme, parent=new_parent)
            .exclude(pk=code.pk)
            .order_by("position", "name_en")
        )
        index = len(siblings) if position is None else max(0, min(position - 1, len(siblings)))
        siblings.insert(index, code)
        old_parent_id = code.parent_id
        for number, sibling in enumerate(siblings, start=1):
            if sibling.pk == code.pk:
                code.parent = new_parent
                code.position = number
                code.save(update_fields=["parent", "position"])
            elif sibling.position != number:
                sibling.position = number
                sibling.save(update_fields=["position"])
        coding_changed(programme_id=programme.pk)
        audit_record(
            actor=user,
            actor_label="system",
            verb=Verb.UPDATED,
            obj=code,
            programme=programme,
            request=request,
            details={
                "changes": {"parent": [old_parent_id, code.parent_id]},
                "position": code.position,
            },
        )
    return code


def code_delete(*, user: User | None, code: Code, request: HttpRequest | None = None) -> None:
    """Delete a code that holds no excerpts and has no sub-codes; a code with excerpts is
    merged into another instead (:func:`code_merge`)."""
    programme = code.programme
    _require_manage(user, programme)
    excerpts = Excerpt.objects.filter(code=code).count()
    if excerpts:
        raise ValidationError(
            ngettext(
                "“{code}” has {count} coded excerpt: merge it into another code instead, "
                "so the excerpt is kept.",
                "“{code}” has {count} coded excerpts: merge it into another code instead, "
                "so the excerpts are kept.",
                excerpts,
            ).format(code=code.name, count=format_number(excerpts))
        )
    if Code.objects.filter(parent=code).exists():
        raise ValidationError(
            _("“{code}” has sub-codes: move or delete them first.").format(code=code.name)
        )
    with transaction.atomic():
        audit_record(
            actor=user,
            actor_label="system",
            verb=Verb.DELETED,
            obj=code,
            programme=programme,
            request=request,
            details={"key": code.key},
        )
        code.delete()
        coding_changed(programme_id=programme.pk)


def code_merge(
    *, user: User | None, code: Code, into: Code, request: HttpRequest | None = None
) -> Code:
    """Merge ``code`` into ``into``: its excerpts, suggestions, sub-codes, map factors,
    priorities and linked indicators move to ``into``, and ``code`` is deleted. An excerpt
    that ``into`` already holds (same source, coder and span) is not doubled."""
    programme = code.programme
    _require_manage(user, programme)
    if into.programme_id != programme.pk:
        raise ValidationError({"into": _("Choose a code of this programme's codebook.")})
    if into.pk == code.pk:
        raise ValidationError({"into": _("A code cannot be merged into itself.")})
    if into.pk in descendant_ids(code):
        raise ValidationError({"into": _("A code cannot be merged into one of its own sub-codes.")})
    with transaction.atomic():
        held = set(
            Excerpt.objects.filter(code=into).values_list("source_id", "coder_id", "start", "end")
        )
        moved = doubled = 0
        for excerpt in Excerpt.objects.filter(code=code):
            span = (excerpt.source_id, excerpt.coder_id, excerpt.start, excerpt.end)
            if span in held:
                excerpt.delete()
                doubled += 1
                continue
            held.add(span)
            excerpt.code = into
            excerpt.save(update_fields=["code"])
            moved += 1
        decided = set(
            Suggestion.objects.filter(code=into).values_list("passage_id", "decided_by_id")
        )
        for suggestion in Suggestion.objects.filter(code=code):
            if (suggestion.passage_id, suggestion.decided_by_id) in decided:
                suggestion.delete()
                continue
            suggestion.code = into
            suggestion.save(update_fields=["code"])
        code.factors.update(code=into)
        code.priorities.update(code=into)
        Code.objects.filter(parent=code).update(parent=into)
        merged_keys = list(dict.fromkeys([*into.indicator_keys, *code.indicator_keys]))
        if merged_keys != into.indicator_keys:
            into.indicator_keys = merged_keys
            into.save(update_fields=["indicator_keys"])
        audit_record(
            actor=user,
            actor_label="system",
            verb=Verb.DELETED,
            obj=code,
            programme=programme,
            request=request,
            details={
                "merged_into": into.pk,
                "merged_into_key": into.key,
                "excerpts_moved": moved,
                "excerpts_already_there": doubled,
            },
        )
        code.delete()
        coding_changed(programme_id=programme.pk)
    return into


def codebook_tree(codes: Iterable[Code]) -> list[tuple[Code, int]]:
    """``codes`` in tree order, each with its depth (0 at the top); a code whose parent is
    not among ``codes`` is shown at the top."""
    listed = list(codes)
    present = {code.pk for code in listed}
    children: dict[int | None, list[Code]] = {}
    for code in listed:
        parent_id = code.parent_id if code.parent_id in present else None
        children.setdefault(parent_id, []).append(code)
    for siblings in children.values():
        siblings.sort(key=lambda c: (c.position, c.name_en.lower(), c.pk))
    ordered: list[tuple[Code, int]] = []
    seen: set[int] = set()

    def walk(parent_id: int | None, depth: int) -> None:
        for code in children.get(parent_id, []):
            if code.pk in seen:
                continue
            seen.add(code.pk)
            ordered.append((code, depth))
            walk(code.pk, depth + 1)

    walk(None, 0)
    return ordered


def latest_indicator_values(*, user: AnyUser, programme: Programme) -> dict[str, str]:
    """The overall value of each indicator in the latest findings ``user`` may read (drafts
    for those who analyse, published findings for the others), formatted for the reader:
    proportions as percentages ("26%", "26 %"), means with one decimal ("2.5", "2,5"). Empty
    when there are none."""
    findings = Findings.objects.filter(
        assessment__programme=programme, status=Findings.Status.READY
    )
    if not policies.can(user, "findings.view_draft", programme):
        if not policies.can(user, "findings.view_published", programme):
            return {}
        findings = findings.filter(published_at__isnull=False)
    # Without its stored results (half a megabyte of JSON), which the process keeps once
    # per record and computation.
    latest = findings.defer("results").order_by("-computed_at", "-id").first()
    if latest is None:
        return {}
    results = shown.results_of(latest)
    kinds = results.get("kinds", {})
    values: dict[str, str] = {}
    for record in results.get("estimates", []):
        if record.get("by") or record.get("estimate") is None:
            continue
        estimate = float(record["estimate"])
        if kinds.get(record["indicator"], "proportion") == "proportion":
            values[record["indicator"]] = format_percent(estimate)
        else:
            values[record["indicator"]] = format_number(estimate, decimals=1)
    return values
