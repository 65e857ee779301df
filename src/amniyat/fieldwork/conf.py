"""Limits for fieldwork uploads, each overridable in settings.

Read at call time (not import time) so that a deployment, or a test with
``override_settings``, can change them.
"""

from __future__ import annotations

from django.conf import settings

MEBIBYTE = 1024 * 1024


def max_upload_bytes() -> int:
    """The largest file a person may upload (an XLSForm, a file of submissions)."""
    return int(getattr(settings, "AMNIYAT_MAX_UPLOAD_BYTES", 50 * MEBIBYTE))


def max_unpacked_bytes() -> int:
    """The most an .xlsx workbook (a zip file) may hold once unpacked."""
    return int(getattr(settings, "AMNIYAT_MAX_UNPACKED_BYTES", 50 * MEBIBYTE))


def max_zip_members() -> int:
    """The most files an .xlsx workbook (a zip file) may contain."""
    return int(getattr(settings, "AMNIYAT_MAX_ZIP_MEMBERS", 2000))


def size_label(size: int) -> str:
    """A size in the person's language: "50.0 MB"."""
    from django.template.defaultfilters import filesizeformat

    return str(filesizeformat(size)).replace("\xa0", " ")
