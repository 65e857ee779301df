"""OpenRosa responses: the headers every one carries, the message envelope, the form list
and the manifest documents.

XML here is only ever *built* (with ElementTree, which escapes text and attributes); every
XML that arrives is parsed with defusedxml in :mod:`amniyat.fieldwork.collection.openrosa.instance`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Building only: parsing goes through defusedxml.
from xml.etree.ElementTree import Element, SubElement, tostring

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.http import http_date
from django.utils.translation import get_language

from amniyat.fieldwork.collection.openrosa import auth

OPENROSA_VERSION = "1.0"
XML_CONTENT_TYPE = "text/xml; charset=utf-8"
RESPONSE_NS = "http://openrosa.org/http/response"
FORM_LIST_NS = "http://openrosa.org/xforms/xformsList"
MANIFEST_NS = "http://openrosa.org/xforms/xformsManifest"
# WSGI servers that write a Date header themselves; a second one would be invalid.
_SERVERS_WITH_DATE = ("gunicorn",)


def max_submission_bytes() -> int:
    """The largest submission POST accepted (and advertised to clients)."""
    return int(getattr(settings, "AMNIYAT_OPENROSA_MAX_BYTES", 10 * 1024 * 1024))


def _xml(root: Element) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="unicode").encode(
        "utf-8"
    )


def with_openrosa_headers(
    request: HttpRequest, response: HttpResponse, *, submission: bool = False
) -> HttpResponse:
    response["X-OpenRosa-Version"] = OPENROSA_VERSION
    if not request.META.get("SERVER_SOFTWARE", "").lower().startswith(_SERVERS_WITH_DATE):
        response["Date"] = http_date()
    response["Content-Language"] = (get_language() or settings.LANGUAGE_CODE).split("-")[0]
    if submission:
        response["X-OpenRosa-Accept-Content-Length"] = str(max_submission_bytes())
    response["Cache-Control"] = "no-store"
    return response


def xml_response(
    request: HttpRequest, body: bytes, *, status: int = 200, submission: bool = False
) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type=XML_CONTENT_TYPE)
    return with_openrosa_headers(request, response, submission=submission)


def message(
    request: HttpRequest,
    text: str,
    *,
    status: int,
    nature: str = "",
    submission: bool = False,
) -> HttpResponse:
    """The OpenRosa envelope with one message for the person holding the phone."""
    root = Element("OpenRosaResponse", {"xmlns": RESPONSE_NS})
    node = SubElement(root, "message", {"nature": nature} if nature else {})
    node.text = text
    return xml_response(request, _xml(root), status=status, submission=submission)


def unauthorized(
    request: HttpRequest, denial: auth.Denial, *, submission: bool = False
) -> HttpResponse:
    response = message(request, denial.message, status=401, nature="error", submission=submission)
    response["WWW-Authenticate"] = auth.challenge(request, stale=denial.stale)
    return response


@dataclass(frozen=True)
class FormEntry:
    form_id: str
    name: str
    version: str
    md5: str
    download_url: str
    manifest_url: str


def form_list(request: HttpRequest, entries: Iterable[FormEntry]) -> HttpResponse:
    """The Form List API document (https://docs.getodk.org/openrosa-form-list/)."""
    root = Element("xforms", {"xmlns": FORM_LIST_NS})
    for entry in entries:
        xform = SubElement(root, "xform")
        for tag, text in (
            ("formID", entry.form_id),
            ("name", entry.name),
            ("version", entry.version),
            ("hash", f"md5:{entry.md5}"),
            ("downloadUrl", entry.download_url),
            ("manifestUrl", entry.manifest_url),
        ):
            SubElement(xform, tag).text = text
    return xml_response(request, _xml(root))


def manifest(request: HttpRequest) -> HttpResponse:
    """The media files of a form; Amniyat forms have none yet, so the list is empty."""
    return xml_response(request, _xml(Element("manifest", {"xmlns": MANIFEST_NS})))
