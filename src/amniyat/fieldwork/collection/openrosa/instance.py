"""Reading a submitted XForm instance: which form and version it answers, its instance id,
whether the device encrypted it, and its answers as ``{field path: value}``.

Parsing goes through defusedxml with DTDs forbidden: an instance never needs one, and an
entity-expansion bomb is refused before a single entity is expanded.

Field paths are matched with the version's schema whether the schema writes them as XPaths
from the root (``/data/group/q1``) or relative to it (``group/q1``); answers are kept under
the schema's own spelling. Answers inside repeats become lists (one item per repeat, None
where unanswered). An element the schema does not know is kept, but treated as protected:
what nobody has classified is not published by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from amniyat.fieldwork.imports.schema import answer_kind
from amniyat.fieldwork.models import PROTECTED_SENSITIVITIES

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

INSTANCE_ID_MAX = 120
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


def texts(parsed: ParsedInstance, schema: list[dict[str, Any]]) -> dict[str, Any]:
    """``{schema path: text}`` for every answered field, as sent, and ``{element path:
    text}`` for answered elements the schema does not know; a field inside a repeat holds a
    list, one text per repetition (None where unanswered). What the checks read."""
    root_name = local_name(parsed.root.tag)
    fields = {_relative(f["path"], root_name): f for f in schema if f.get("path")}
    found: dict[str, Any] = {}

    def visit(element: Element, prefix: str) -> None:
        for child in element:
            path = f"{prefix}{local_name(child.tag)}"
            if len(child):
                visit(child, f"{path}/")
                continue
            if path in _META_FIELDS:
                continue
            text = (child.text or "").strip() or None
            spec = fields.get(path)
            key = spec["path"] if spec else path
            if spec and spec.get("repeat"):
                found.setdefault(key, []).append(text)
            elif key in found:
                # The same element twice outside a known repeat: keep every value.
                previous = found[key]
                found[key] = [*previous, text] if isinstance(previous, list) else [previous, text]
            elif text is not None:
                found[key] = text

    visit(parsed.root, "")
    return found


def answers(
    parsed: ParsedInstance, schema: list[dict[str, Any]], sent: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``{schema path: value}`` for every answered field (typed as stored: integers and
    decimals as numbers, a select_multiple as a list), and ``{element path: text}`` for
    answered elements the schema does not know. ``sent``: :func:`texts`, if already read."""
    by_path = {f["path"]: f for f in schema if f.get("path")}
    found: dict[str, Any] = {}
    for key, sent_value in (texts(parsed, schema) if sent is None else sent).items():
        spec = by_path.get(key)
        if isinstance(sent_value, list):
            found[key] = [_typed(text, spec) for text in sent_value]
        else:
            found[key] = _typed(sent_value, spec)
    return found


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
