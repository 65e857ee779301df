"""Reading a submitted XForm instance: which form and version it answers, its instance id,
whether the device encrypted it, and its answers as ``{field path: value}``.

Parsing goes through defusedxml with DTDs forbidden: an instance never needs one, and an
entity-expansion bomb is refused before a single entity is expanded.

Field paths are matched with the version's schema whether the schema writes them as XPaths
from the root (``/data/group/q1``) or relative to it (``group/q1``); answers are kept under
the schema's own spelling. Each element of a repeat is one repetition, and the repeats inside
it belong to that repetition alone, so answers come out in the shape every reader stores
(:mod:`amniyat.fieldwork.imports.schema`): a field inside a repeat holds one item per
repetition (None where unanswered), a field inside a repeat inside a repeat one list per
outer repetition, and so on at any depth; a field unanswered in every repetition is absent.
A phone and a file bringing the same answers store the same values.

An element the schema does not know is kept, but treated as protected: what nobody has
classified is not published by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from amniyat.fieldwork.imports.schema import (
    FormPlan,
    answer_kind,
    build_plan,
    canonical_answers,
    columnar_answers,
)
from amniyat.fieldwork.models import PROTECTED_SENSITIVITIES

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

INSTANCE_ID_MAX = 120
# Far deeper than any form nests its groups and repeats; deeper XML is refused rather than
# read element by element into Python's recursion limit.
NESTING_MAX = 100
_META_FIELDS = {"meta/instanceID", "meta/deprecatedID"}


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


@dataclass(frozen=True)
class ParsedInstance:
    form_id: str
    version: str
    instance_id: str
    root: Element
    encrypted: bool = False
    # For an encrypted submission: the files the manifest names (all must arrive).
    encrypted_xml_file: str = ""
    encrypted_media: tuple[str, ...] = field(default_factory=tuple)


def parse_instance(xml: bytes) -> ParsedInstance:
    """Parse a submission's XML; ValidationError with a message a person can act on."""
    try:
        root = fromstring(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as error:
        raise ValidationError(
            _("The submission XML declares a DTD or entities, which are not accepted."),
            code="xml_forbidden",
        ) from error
    except (ParseError, ValueError) as error:
        raise ValidationError(
            _("The submission is not well-formed XML: {error}").format(error=error),
            code="xml_malformed",
        ) from error
    form_id = (root.get("id") or "").strip()
    if not form_id:
        raise ValidationError(
            _("The submission does not say which form it answers (no id on its root element)."),
            code="no_form_id",
        )
    instance_id = _instance_id(root)
    if not instance_id:
        raise ValidationError(_("The submission has no meta/instanceID."), code="no_instance_id")
    if len(instance_id) > INSTANCE_ID_MAX:
        raise ValidationError(
            _("The instance id is longer than {n} characters.").format(n=INSTANCE_ID_MAX),
            code="instance_id_too_long",
        )
    version = (root.get("version") or "").strip()
    if root.get("encrypted", "").lower() != "yes":
        return ParsedInstance(form_id, version, instance_id, root)
    children = {local_name(child.tag): child for child in root}
    if "base64EncryptedKey" not in children or "encryptedXmlFile" not in children:
        raise ValidationError(
            _("The encrypted submission lacks its base64EncryptedKey or encryptedXmlFile element."),
            code="encrypted_incomplete",
        )
    media = tuple(
        (item.text or "").strip()
        for child in root
        if local_name(child.tag) == "media"
        for item in child
        if local_name(item.tag) == "file" and (item.text or "").strip()
    )
    return ParsedInstance(
        form_id,
        version,
        instance_id,
        root,
        encrypted=True,
        encrypted_xml_file=(children["encryptedXmlFile"].text or "").strip(),
        encrypted_media=media,
    )


def _instance_id(root: Element) -> str:
    for child in root:
        if local_name(child.tag) == "meta":
            for item in child:
                if local_name(item.tag) == "instanceID":
                    return (item.text or "").strip()
    return (root.get("instanceID") or "").strip()


def _relative(path: str, root_name: str) -> str:
    parts = [part for part in path.strip().split("/") if part]
    if len(parts) > 1 and parts[0] == root_name:
        parts = parts[1:]
    return "/".join(parts)


def _convert(text: str, field_type: str) -> Any:
    kind = field_type.strip().lower()
    try:
        if kind == "integer":
            return int(text)
        if kind == "decimal":
            return float(text)
    except ValueError:
        return text
    if kind.startswith(("select_multiple", "select all that apply")):
        return text.split()
    return text


def _is_template(element: Element) -> bool:
    """A repeat's blank template (``jr:template``), which the form carries and some clients
    send along: it is no repetition."""
    return any(local_name(name) == "template" for name in element.attrib)


def texts(
    parsed: ParsedInstance, schema: list[dict[str, Any]], *, plan: FormPlan | None = None
) -> dict[str, Any]:
    """The answers as sent, in the stored shape with the text of each answer at its leaves:
    ``{schema path: text}`` for a field outside repeats, a list with one item per repetition
    (None where unanswered) for a field inside a repeat, a list of such lists for a field
    inside a repeat inside a repeat, and so on; no field unanswered in every repetition.
    Elements the schema does not know (or knows as no question, like a note) are kept by
    path, as the text sent, or a list of every text sent where the element came more than
    once. What the checks read. ``plan``: the version's, if already read."""
    plan = plan or build_plan(schema, {})
    root_name = local_name(parsed.root.tag)
    fields = {_relative(path, root_name): path for path in plan.by_path}
    repeats = {_relative(path, root_name): path for path in plan.repeats}
    spelled = {_relative(f["path"], root_name): f["path"] for f in schema if f.get("path")}
    others: dict[str, list[str | None]] = {}

    def visit(element: Element, prefix: str, repetition: dict[str, Any]) -> None:
        """Read ``element``'s children into ``repetition``: the answers of one repetition of
        the innermost repeat holding them (or of the submission itself), each repeat inside
        it as a list of its own repetitions."""
        if prefix.count("/") >= NESTING_MAX:
            raise ValidationError(
                _("The submission nests its elements more than {n} deep.").format(n=NESTING_MAX),
                code="xml_too_deep",
            )
        for child in element:
            if _is_template(child):
                continue
            path = f"{prefix}{local_name(child.tag)}"
            repeat = repeats.get(path)
            if repeat is not None:
                inner: dict[str, Any] = {}
                visit(child, f"{path}/", inner)
                repetition.setdefault(repeat, []).append(inner)
                continue
            if len(child):
                visit(child, f"{path}/", repetition)  # a group: the same repetition
                continue
            if path in _META_FIELDS:
                continue
            text = (child.text or "").strip() or None
            key = fields.get(path)
            if key is None:
                others.setdefault(spelled.get(path, path), []).append(text)
            elif key in repetition:
                # A form gives a question one element per repetition; a second one could
                # only slip past the checks, which read one answer.
                raise ValidationError(
                    _("The submission answers “{field}” twice in one place.").format(field=key),
                    code="answered_twice",
                )
            else:
                repetition[key] = text

    nested: dict[str, Any] = {}
    visit(parsed.root, "", nested)
    found = columnar_answers(nested, plan)
    for key, sent in others.items():
        if any(text is not None for text in sent):
            found[key] = sent[0] if len(sent) == 1 else sent
    return found


def answers(
    parsed: ParsedInstance,
    schema: list[dict[str, Any]],
    sent: dict[str, Any] | None = None,
    *,
    plan: FormPlan | None = None,
) -> dict[str, Any]:
    """The answers as stored (:func:`~amniyat.fieldwork.imports.schema.canonical_answers`):
    :func:`texts` with each answer typed (integers and decimals as numbers, a
    select_multiple as a list of choice names) at every depth of repeats; elements the
    schema does not know as sent. ``sent``: :func:`texts`, if already read; ``plan``: the
    version's, if already read."""
    plan = plan or build_plan(schema, {})
    by_path = {f["path"]: f for f in schema if f.get("path")}
    found: dict[str, Any] = {}
    for key, sent_value in (texts(parsed, schema, plan=plan) if sent is None else sent).items():
        spec = plan.by_path.get(key)
        if spec is None:
            found[key] = sent_value
        else:
            found[key] = _typed_at(sent_value, by_path.get(key), plan.depth(spec.repeat))
    return canonical_answers(found, plan)


def _typed_at(value: Any, spec: dict[str, Any] | None, depth: int) -> Any:
    """``value``, ``depth`` levels of lists deep, with each text at the bottom typed."""
    if depth == 0:
        return _typed(value, spec) if value is None or isinstance(value, str) else value
    if not isinstance(value, list):
        return value
    return [_typed_at(item, spec, depth - 1) for item in value]


def _typed(text: str | None, spec: dict[str, Any] | None) -> Any:
    if spec is None or not text:
        return text or None
    kind = answer_kind(spec) if spec.get("type") == "calculate" else ""
    return _convert(text, kind if kind in ("integer", "decimal") else spec.get("type", ""))


def split_by_sensitivity(
    values: dict[str, Any], sensitivity: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(public and internal answers, personal and sensitive ones). A field without a
    sensitivity, or unknown to the schema, counts as protected."""
    open_answers: dict[str, Any] = {}
    protected: dict[str, Any] = {}
    for path, value in values.items():
        level = sensitivity.get(path)
        if level is None or level in PROTECTED_SENSITIVITIES:
            protected[path] = value
        else:
            open_answers[path] = value
    return open_answers, protected
