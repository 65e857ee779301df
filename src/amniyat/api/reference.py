"""The API reference page, read from the OpenAPI schema drf-spectacular generates.

The page (``/api-reference/``) is drawn on the server from the same schema ``/api/schema/`` serves,
so it cannot drift from the API, and it is light: a few kilobytes of HTML and no script, where
Swagger UI took 579 kB of JavaScript to draw the same schema in the browser. This module turns
the schema (a plain dict) into the sections the template lists: operations grouped by tag, each
with its method and path, what it does, its parameters, the fields it takes and the fields it
answers with, and how it is authenticated.

The schema is generated with the reader's language active, so field titles and choice labels
(the models' ``gettext_lazy`` labels) come in that language; it is generated once per language
and process, as it only changes with the code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.utils import translation
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from drf_spectacular.generators import SchemaGenerator

METHODS = ("get", "post", "put", "patch", "delete")
# How deep nested objects are listed (a paginated list's results, a form's versions).
MAX_DEPTH = 3
# drf-spectacular writes an enum's labels into its description as "* `code` - label" lines.
_CHOICE_LINE = re.compile(r"^\* `(?P<code>[^`]*)` - (?P<label>.*)$")
_LITERAL = re.compile(r"``(.+?)``|`([^`]+)`")
# What an operation does, by the action drf-spectacular names in its operationId, for the
# operations the schema gives no summary.
ACTION_SUMMARIES = {
    "list": _("List, a page at a time"),
    "retrieve": _("Read one"),
    "create": _("Create"),
    "update": _("Replace (send every field)"),
    "partial_update": _("Change some fields"),
    "destroy": _("Delete"),
}


@dataclass(frozen=True)
class Choice:
    code: str
    label: str


@dataclass(frozen=True)
class Field:
    """One field of a request or response body, or one parameter."""

    name: str
    type: str  # JSON Schema's words: "string (date)", "array of integer", "object"
    title: str = ""
    description: str = ""  # HTML (prose()): a SafeString where not empty
    required: bool = False
    read_only: bool = False
    nullable: bool = False
    location: str = ""  # a parameter's: "path" or "query"
    choices: tuple[Choice, ...] = ()
    fields: tuple[Field, ...] = ()  # an object's own fields, or its items'


@dataclass(frozen=True)
class Body:
    media_types: tuple[str, ...]
    fields: tuple[Field, ...]
    type: str = "object"


@dataclass(frozen=True)
class Reply:
    status: str
    description: str
    body: Body | None


@dataclass(frozen=True)
class Operation:
    method: str  # "GET"
    path: str
    operation_id: str
    action: str  # "list", "retrieve", "create", "update", "partial_update", "destroy", ""
    summary: str
    description: SafeString
    parameters: tuple[Field, ...]
    request: Body | None
    replies: tuple[Reply, ...]
    security: tuple[str, ...]  # names of security schemes, any one of which will do

    @property
    def anchor(self) -> str:
        return self.operation_id.replace("_", "-")


@dataclass(frozen=True)
class Section:
    tag: str
    operations: tuple[Operation, ...]


@dataclass(frozen=True)
class SecurityScheme:
    name: str
    kind: str  # "http bearer", "cookie sessionid"
    description: SafeString


@dataclass(frozen=True)
class Reference:
    title: str
    version: str
    description: SafeString
    sections: tuple[Section, ...]
    security: tuple[SecurityScheme, ...]
    operation_count: int = field(default=0)


def prose(text: str | None) -> SafeString:
    """A schema description (a docstring or help text) as HTML: ``literals`` and `literals`
    as code, blank lines as paragraphs, line breaks inside a paragraph joined; every piece of
    text escaped by format_html."""
    paragraphs = [p for p in re.split(r"\n\s*\n", (text or "").strip()) if p.strip()]
    return format_html_join(
        "", "<p>{}</p>", ((_with_code(" ".join(p.split())),) for p in paragraphs)
    )


def _with_code(text: str) -> SafeString:
    """Text with its literals as ``<code>``: (text before, literal) pairs, then the rest."""
    pieces: list[tuple[str, str]] = []
    last = 0
    for match in _LITERAL.finditer(text):
        pieces.append((text[last : match.start()], match.group(1) or match.group(2)))
        last = match.end()
    return format_html("{}{}", format_html_join("", "{}<code>{}</code>", pieces), text[last:])


def _split_choices(description: str | None) -> tuple[str, tuple[Choice, ...]]:
    """An enum's description without its "* `code` - label" lines, and those lines."""
    rest, choices = [], []
    for line in (description or "").splitlines():
        match = _CHOICE_LINE.match(line.strip())
        if match:
            choices.append(Choice(match["code"], match["label"]))
        else:
            rest.append(line)
    return "\n".join(rest).strip(), tuple(choices)


class _Reader:
    """Reads one schema: follows references and describes types and fields."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.components: dict[str, Any] = schema.get("components", {}).get("schemas", {})

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        """``node`` with its reference followed and a single ``allOf`` merged in; a ``oneOf``
        of enums (a choice that may also be blank or null) becomes one enum."""
        node = dict(node)
        ref = node.pop("$ref", None)
        if ref:
            node = {**self.resolve(self.components.get(ref.rsplit("/", 1)[-1], {})), **node}
        all_of = node.pop("allOf", None)
        if all_of and len(all_of) == 1:
            node = {**self.resolve(all_of[0]), **node}
        one_of = node.get("oneOf")
        if one_of:
            parts = [self.resolve(part) for part in one_of]
            if all("enum" in part for part in parts):
                del node["oneOf"]
                codes: list[Any] = []
                lines: list[str] = []
                for part in parts:
                    if part["enum"] == [None]:
                        node["nullable"] = True
                        continue
                    codes += part["enum"]
                    lines.append(part.get("description", ""))
                    node.setdefault("type", part.get("type", "string"))
                node["enum"] = codes
                node["description"] = "\n".join(filter(None, [node.get("description", ""), *lines]))
        return node

    def type_of(self, node: dict[str, Any]) -> str:
        node = self.resolve(node)
        if "oneOf" in node or "anyOf" in node:
            options = node.get("oneOf") or node.get("anyOf") or []
            return " | ".join(dict.fromkeys(self.type_of(option) for option in options))
        kind = node.get("type", "object" if "properties" in node else "")
        if kind == "array":
            return f"array of {self.type_of(node.get('items', {}))}".strip()
        if node.get("format"):
            return f"{kind} ({node['format']})"
        return str(kind or "any")

    def fields_of(self, node: dict[str, Any], depth: int = 0) -> tuple[Field, ...]:
        """The fields of an object, or of the objects in an array."""
        node = self.resolve(node)
        if node.get("type") == "array":
            node = self.resolve(node.get("items", {}))
        if depth >= MAX_DEPTH:
            return ()
        required = set(node.get("required", ()))
        return tuple(
            self.field(name, prop, required=name in required, depth=depth)
            for name, prop in node.get("properties", {}).items()
        )

    def field(
        self, name: str, node: dict[str, Any], *, required: bool, depth: int = 0, location: str = ""
    ) -> Field:
        resolved = self.resolve(node)
        description, choices = _split_choices(resolved.get("description"))
        if not choices and "enum" in resolved:
            choices = tuple(Choice(str(code), "") for code in resolved["enum"] if code is not None)
        items = resolved.get("items", {}) if resolved.get("type") == "array" else {}
        if items and "enum" in self.resolve(items):
            _text, item_choices = _split_choices(self.resolve(items).get("description"))
            choices = choices or item_choices
        nested = (
            self.fields_of(resolved, depth + 1)
            if "properties" in resolved or "properties" in self.resolve(items)
            else ()
        )
        return Field(
            name=name,
            type=self.type_of(node),
            title=str(resolved.get("title", "")),
            description=prose(description),
            required=required,
            read_only=bool(resolved.get("readOnly")),
            nullable=bool(resolved.get("nullable")),
            location=location,
            choices=tuple(c for c in choices if c.code != ""),
            fields=nested,
        )

    def body(self, content: dict[str, Any]) -> Body | None:
        if not content:
            return None
        media_types = tuple(content)
        # Every media type of one body carries the same schema; JSON's is read.
        first = content.get("application/json") or next(iter(content.values()))
        schema = first.get("schema", {})
        return Body(
            media_types=media_types,
            fields=self.fields_of(schema),
            type=self.type_of(schema),
        )

    def operation(self, path: str, method: str, node: dict[str, Any]) -> Operation:
        operation_id = str(node.get("operationId", f"{method}{path}"))
        action = next(
            (
                suffix
                for suffix in ("partial_update", "list", "retrieve", "create", "update", "destroy")
                if operation_id.endswith("_" + suffix)
            ),
            "",
        )
        return Operation(
            method=method.upper(),
            path=path,
            operation_id=operation_id,
            action=action,
            summary=str(node.get("summary") or ACTION_SUMMARIES.get(action, "")),
            description=prose(node.get("description")),
            parameters=tuple(
                self.field(
                    str(p["name"]),
                    {**p.get("schema", {}), "description": p.get("description", "")},
                    required=bool(p.get("required")),
                    location=str(p.get("in", "")),
                )
                for p in node.get("parameters", ())
            ),
            request=self.body(node.get("requestBody", {}).get("content", {})),
            replies=tuple(
                Reply(
                    status=str(status),
                    description=str(reply.get("description", "")),
                    body=self.body(reply.get("content", {})),
                )
                for status, reply in node.get("responses", {}).items()
            ),
            security=tuple(
                name for requirement in node.get("security", ()) for name in requirement
            ),
        )


def reference_of(schema: dict[str, Any]) -> Reference:
    """The reference page's content for an OpenAPI 3 schema: operations grouped by their
    first tag, in the order the schema lists paths (drf-spectacular sorts them)."""
    reader = _Reader(schema)
    sections: dict[str, list[Operation]] = {}
    for path, methods in schema.get("paths", {}).items():
        for method in METHODS:
            if method in methods:
                node = methods[method]
                tag = str((node.get("tags") or [""])[0])
                sections.setdefault(tag, []).append(reader.operation(path, method, node))
    schemes = schema.get("components", {}).get("securitySchemes", {})
    info = schema.get("info", {})
    return Reference(
        title=str(info.get("title", "")),
        version=str(info.get("version", "")),
        description=prose(info.get("description")),
        sections=tuple(Section(tag, tuple(ops)) for tag, ops in sections.items()),
        security=tuple(
            SecurityScheme(
                name=name,
                kind=" ".join(
                    str(part)
                    for part in (scheme.get("type"), scheme.get("scheme") or scheme.get("in"))
                    if part
                )
                + (f" {scheme['name']}" if scheme.get("name") else ""),
                description=prose(scheme.get("description")),
            )
            for name, scheme in schemes.items()
        ),
        operation_count=sum(len(ops) for ops in sections.values()),
    )


@cache
def schema_in(language: str, version: str | None = None) -> dict[str, Any]:
    """The OpenAPI schema in ``language``, generated once per language, version and process
    (about a quarter of a second each time): it is the same for every caller, the schema being
    served public (the titles and labels are lazy translations, read with it active)."""
    with translation.override(language):
        generator = SchemaGenerator(api_version=version)  # type: ignore[no-untyped-call]
        schema: dict[str, Any] = generator.get_schema(request=None, public=True)  # type: ignore[no-untyped-call]
        return schema


@cache
def reference_in(language: str) -> Reference:
    """The API's reference in ``language``, read from its schema once per language and
    process."""
    with translation.override(language):
        return reference_of(schema_in(language))
