"""The QR code that sets up ODK Collect for one device in a single scan.

ODK Collect reads its settings from a QR code holding ``base64(zlib(JSON))``, where the JSON
has ``general`` (server address, user name, password…), ``admin`` and ``project`` sections
(https://docs.getodk.org/collect-import-export/). A setting the code leaves out goes back to
its default when scanned.
"""

from __future__ import annotations

import base64
import json
import zlib

from amniyat.core.qrcodes import qr_data_uri


def collect_settings(*, server_url: str, username: str, password: str, project: str) -> str:
    """The text of the settings QR code."""
    settings = {
        "general": {"server_url": server_url, "username": username, "password": password},
        "admin": {},
        "project": {"name": project},
    }
    raw = json.dumps(settings, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return base64.b64encode(zlib.compress(raw)).decode("ascii")


def read_collect_settings(payload: str) -> dict[str, dict[str, str]]:
    """The settings back from the text of a QR code (the way ODK Collect reads it)."""
    settings: dict[str, dict[str, str]] = json.loads(zlib.decompress(base64.b64decode(payload)))
    return settings


def image(payload: str, *, title: str) -> str:
    """The QR code as an SVG ``data:`` URI for an ``<img>``, large enough for an old phone's
    camera."""
    return qr_data_uri(payload, title=title)
