"""A small XForm with its schema, and an OpenRosa client that does the Digest handshake
the way ODK Collect does, with the MD5 arithmetic written out here rather than borrowed
from the server."""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import Client

from amniyat.accounts.models import Programme
from amniyat.fieldwork.models import Assessment, Form, FormVersion

FORM_ID = "household"
VERSION = "2024060101"
XFORM = f"""<?xml version="1.0"?>
<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml"
    xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms">
  <h:head>
    <h:title>Household safety survey</h:title>
    <model>
      <instance>
        <data id="{FORM_ID}" version="{VERSION}">
          <district/><age/><name/><concerns/><photo/>
          <household><member_age/></household>
          <meta><instanceID/></meta>
        </data>
      </instance>
      <bind nodeset="/data/district" type="string"/>
      <bind nodeset="/data/age" type="int"/>
      <bind nodeset="/data/name" type="string"/>
      <bind nodeset="/data/concerns" type="string"/>
      <bind nodeset="/data/photo" type="binary"/>
      <bind nodeset="/data/household/member_age" type="int"/>
      <bind nodeset="/data/meta/instanceID" type="string" readonly="true()"
        jr:preload="uid"/>
    </model>
  </h:head>
  <h:body>
    <input ref="/data/district"><label>District</label></input>
    <input ref="/data/age"><label>Age</label></input>
    <input ref="/data/name"><label>Name</label></input>
    <select ref="/data/concerns"><label>Concerns</label>
      <item><label>Theft</label><value>theft</value></item>
      <item><label>Violence</label><value>violence</value></item>
    </select>
    <upload ref="/data/photo" mediatype="image/*"><label>Photo</label></upload>
    <repeat nodeset="/data/household">
      <input ref="/data/household/member_age"><label>Member age</label></input>
    </repeat>
  </h:body>
</h:html>
"""
SCHEMA: list[dict[str, Any]] = [
    {"name": "district", "path": "/data/district", "type": "text", "repeat": None},
    {"name": "age", "path": "/data/age", "type": "integer", "repeat": None},
    {"name": "name", "path": "/data/name", "type": "text", "repeat": None},
    {"name": "concerns", "path": "/data/concerns", "type": "select_multiple", "repeat": None},
    {"name": "photo", "path": "/data/photo", "type": "image", "repeat": None},
    {
        "name": "member_age",
        "path": "/data/household/member_age",
        "type": "integer",
        "repeat": "/data/household",
    },
]
SENSITIVITY = {
    "/data/district": "public",
    "/data/age": "internal",
    "/data/name": "personal",
    "/data/concerns": "sensitive",
    "/data/photo": "personal",
    "/data/household/member_age": "internal",
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_form(
    programme: Programme,
    *,
    form_id: str = FORM_ID,
    is_open: bool = True,
    assessment: Assessment | None = None,
    public_key: str = "",
) -> tuple[Form, FormVersion]:
    assessment = assessment or Assessment.objects.create(
        programme=programme,
        title=f"Baseline {form_id} {Assessment.objects.count() + 1}",
        kind=Assessment.Kind.BASELINE,
    )
    form = Form.objects.create(
        assessment=assessment, form_id=form_id, title="Household safety survey", is_open=is_open
    )
    version = FormVersion.objects.create(
        form=form,
        version=VERSION,
        xlsform=b"",
        xlsform_name="household.xlsx",
        xform=XFORM.replace(f'id="{FORM_ID}"', f'id="{form_id}"'),
        schema=SCHEMA,
        sensitivity=SENSITIVITY,
        public_key=public_key,
    )
    return form, version


def submission_xml(
    instance_id: str = "uuid:4b1f0c7e-0000-4000-8000-000000000001",
    *,
    form_id: str = FORM_ID,
    version: str = VERSION,
    age: str = "34",
    members: tuple[str, ...] = ("61", "9"),
) -> bytes:
    household = "".join(f"<household><member_age>{m}</member_age></household>" for m in members)
    return (
        f'<?xml version="1.0"?><data xmlns:orx="http://openrosa.org/xforms" id="{form_id}" '
        f'version="{version}"><district>Vakhsh</district><age>{age}</age>'
        f"<name>Dilnoza</name><concerns>theft violence</concerns><photo>photo.jpg</photo>"
        f"{household}<meta><instanceID>{instance_id}</instanceID></meta></data>"
    ).encode()


def md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


_CHALLENGE = re.compile(r'(\w+)=(?:"([^"]*)"|([^,\s]*))')


def digest_authorization(
    challenge: str, *, method: str, uri: str, username: str, password: str, nc: int = 1
) -> str:
    """The Authorization header answering a Digest challenge (RFC 7616, MD5, qop=auth)."""
    assert challenge.startswith("Digest "), challenge
    digest_part = challenge[len("Digest ") :].split(", Basic ")[0]
    params = {key: quoted or bare for key, quoted, bare in _CHALLENGE.findall(digest_part)}
    assert params["qop"] == "auth"
    ha1 = md5(f"{username}:{params['realm']}:{password}")
    ha2 = md5(f"{method}:{uri}")
    cnonce, count = secrets.token_hex(8), f"{nc:08x}"
    response = md5(f"{ha1}:{params['nonce']}:{count}:{cnonce}:auth:{ha2}")
    return (
        f'Digest username="{username}", realm="{params["realm"]}", nonce="{params["nonce"]}", '
        f'uri="{uri}", algorithm=MD5, qop=auth, nc={count}, cnonce="{cnonce}", '
        f'response="{response}", opaque="{params["opaque"]}"'
    )


class Collect:
    """What ODK Collect does: ask, get a 401 challenge, answer it."""

    def __init__(self, username: str, password: str, client: Client | None = None) -> None:
        self.username, self.password = username, password
        self.client = client or Client(raise_request_exception=False)

    def challenge(self, path: str) -> str:
        response = self.client.head(path)
        assert response.status_code == 401, response.status_code
        return str(response["WWW-Authenticate"])

    def authorization(self, method: str, path: str) -> str:
        return digest_authorization(
            self.challenge(path),
            method=method,
            uri=path,
            username=self.username,
            password=self.password,
        )

    def get(self, path: str) -> HttpResponse:
        auth = self.authorization("GET", path)
        return self.client.get(path, HTTP_AUTHORIZATION=auth)  # type: ignore[return-value]

    def head(self, path: str) -> HttpResponse:
        auth = self.authorization("HEAD", path)
        return self.client.head(path, HTTP_AUTHORIZATION=auth)  # type: ignore[return-value]

    def submit(self, path: str, xml: bytes, files: dict[str, bytes] | None = None) -> HttpResponse:
        data: dict[str, Any] = {
            "xml_submission_file": SimpleUploadedFile("submission.xml", xml, "text/xml")
        }
        for name, content in (files or {}).items():
            data[name] = SimpleUploadedFile(name, content, "application/octet-stream")
        auth = self.authorization("POST", path)
        return self.client.post(path, data, HTTP_AUTHORIZATION=auth)  # type: ignore[return-value]
