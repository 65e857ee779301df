"""The API reference page (/api-reference/): drawn on the server from the OpenAPI schema, every
endpoint on it, light, without script, in the reader's language."""

from __future__ import annotations

import gzip
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from amniyat.api.reference import reference_in, reference_of

SCHEMA: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Test API", "version": "7", "description": "Groups <b>and</b> members."},
    "paths": {
        "/api/v1/groups/": {
            "get": {
                "operationId": "groups_list",
                "description": "Groups you may see. Filter with ``?programme=SLUG``.",
                "tags": ["groups"],
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer"},
                    }
                ],
                "security": [{"personalToken": []}, {"cookieAuth": []}],
                "responses": {
                    "200": {
                        "description": "",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/PaginatedGroupList"}
                            }
                        },
                    }
                },
            },
            "post": {
                "operationId": "groups_create",
                "tags": ["groups"],
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/GroupRequest"}
                        },
                        "multipart/form-data": {
                            "schema": {"$ref": "#/components/schemas/GroupRequest"}
                        },
                    }
                },
                "responses": {"201": {"description": "", "content": {}}},
            },
        },
        "/api/v1/places/{id}/": {
            "get": {
                "operationId": "places_retrieve",
                "summary": "One place",
                "tags": ["places"],
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
                ],
                "responses": {"200": {"description": ""}},
            }
        },
    },
    "components": {
        "schemas": {
            "KindEnum": {
                "enum": ["cswg", "youth_group"],
                "type": "string",
                "description": "* `cswg` - working group\n* `youth_group` - youth group",
            },
            "BlankEnum": {"enum": [""]},
            "NullEnum": {"enum": [None]},
            "Group": {
                "type": "object",
                "required": ["id", "name"],
                "properties": {
                    "id": {"type": "integer", "readOnly": True},
                    "name": {"type": "string", "title": "Name"},
                    "kind": {"$ref": "#/components/schemas/KindEnum"},
                    "closed_on": {"type": "string", "format": "date", "nullable": True},
                },
            },
            "GroupRequest": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string"},
                    "kind": {
                        "oneOf": [
                            {"$ref": "#/components/schemas/KindEnum"},
                            {"$ref": "#/components/schemas/BlankEnum"},
                            {"$ref": "#/components/schemas/NullEnum"},
                        ]
                    },
                },
            },
            "PaginatedGroupList": {
                "type": "object",
                "required": ["count", "results"],
                "properties": {
                    "count": {"type": "integer"},
                    "results": {"type": "array", "items": {"$ref": "#/components/schemas/Group"}},
                },
            },
        },
        "securitySchemes": {
            "personalToken": {"type": "http", "scheme": "bearer", "description": "`Bearer amn_…`"},
            "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
        },
    },
}


def test_operations_are_grouped_by_tag_with_their_fields_read_through_references() -> None:
    reference = reference_of(SCHEMA)
    assert [s.tag for s in reference.sections] == ["groups", "places"]
    assert reference.operation_count == 3
    listing, creating = reference.sections[0].operations
    assert (listing.method, listing.path, listing.action) == ("GET", "/api/v1/groups/", "list")
    assert listing.summary == "List, a page at a time"  # from the action: the schema has none
    assert reference.sections[1].operations[0].summary == "One place"
    assert (
        listing.description
        == "<p>Groups you may see. Filter with <code>?programme=SLUG</code>.</p>"
    )
    assert listing.security == ("personalToken", "cookieAuth")
    [limit] = listing.parameters
    assert (limit.name, limit.location, limit.type, limit.required) == (
        "limit",
        "query",
        "integer",
        False,
    )

    body = listing.replies[0].body
    assert body is not None
    count, results = body.fields
    assert (count.name, count.required) == ("count", True)
    assert results.type == "array of object"
    fields = {f.name: f for f in results.fields}
    assert fields["id"].read_only and fields["id"].required
    assert fields["name"].title == "Name"
    assert [(c.code, c.label) for c in fields["kind"].choices] == [
        ("cswg", "working group"),
        ("youth_group", "youth group"),
    ]
    assert fields["kind"].description == ""  # the choices are listed, not repeated as prose
    assert fields["closed_on"].type == "string (date)" and fields["closed_on"].nullable

    assert creating.request is not None
    assert creating.request.media_types == ("application/json", "multipart/form-data")
    kind = {f.name: f for f in creating.request.fields}["kind"]
    # A choice that may be blank or null: one enum, null allowed, the blank code not offered.
    assert [c.code for c in kind.choices] == ["cswg", "youth_group"] and kind.nullable


def test_schema_text_is_escaped() -> None:
    reference = reference_of(SCHEMA)
    assert reference.description == "<p>Groups &lt;b&gt;and&lt;/b&gt; members.</p>"
    token = {s.name: s for s in reference.security}["personalToken"]
    assert token.kind == "http bearer"
    assert token.description == "<p><code>Bearer amn_…</code></p>"


@pytest.mark.django_db
def test_the_reference_lists_every_endpoint_of_the_schema(scene: dict[str, Any]) -> None:
    client = Client()
    client.force_login(scene["facilitator"])
    schema = client.get("/api/schema/?format=json").json()
    response = client.get(reverse("core:api_reference"), HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    page = gzip.decompress(response.content).decode()
    for path, methods in schema["paths"].items():
        for method in methods:
            summary = f'api-{method}">{method.upper()}</span> <code class="api-path">{path}</code>'
            assert summary in page, (method, path)
    # Sections are the resources, not the version.
    assert 'id="tag-groups"' in page and 'id="tag-v1"' not in page
    # The schema itself, for tools.
    assert 'href="/api/schema/"' in page and 'href="/api/schema/?format=json"' in page
    # No script of its own, and light: the page is a few kilobytes compressed.
    scripts = re.findall(r"<script[^>]*>", page)
    assert all("src=" in tag for tag in scripts)
    assert not [tag for tag in scripts if "swagger" in tag.lower()]
    assert len(response.content) < 20_000


@pytest.mark.django_db
def test_the_reference_is_in_the_readers_language(scene: dict[str, Any]) -> None:
    client = Client()
    client.force_login(scene["facilitator"])
    page = client.get(reverse("core:api_reference"), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert '<html lang="ru">' in page
    # Choice labels come from the models' translated labels.
    kinds = {
        c.code: c.label
        for section in reference_in("ru").sections
        if section.tag == "groups"
        for f in section.operations[0].replies[0].body.fields  # type: ignore[union-attr]
        if f.name == "results"
        for g in f.fields
        if g.name == "kind"
        for c in g.choices
    }
    english = {
        c.code: c.label
        for section in reference_in("en").sections
        if section.tag == "groups"
        for f in section.operations[0].replies[0].body.fields  # type: ignore[union-attr]
        if f.name == "results"
        for g in f.fields
        if g.name == "kind"
        for c in g.choices
    }
    assert kinds.keys() == english.keys() and "cswg" in kinds
    assert kinds["cswg"] != english["cswg"]
    assert kinds["cswg"] in page


@pytest.mark.django_db
def test_the_reference_needs_a_signed_in_reader() -> None:
    response = Client().get(reverse("core:api_reference"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
