"""Size limits for files of submissions, each overridable in settings and read at call time.

An import file may be far larger than an XLSForm, so these are separate from
:mod:`amniyat.fieldwork.conf`: ``AMNIYAT_MAX_IMPORT_BYTES`` for the file as given,
``AMNIYAT_MAX_IMPORT_UNPACKED_BYTES`` for what a zip or workbook may hold once unpacked and
``AMNIYAT_MAX_IMPORT_RATIO`` for how much smaller than its content a zip may be (a zip bomb
is tiny on disk and enormous unpacked).
"""

from __future__ import annotations

from django.conf import settings

GIBIBYTE = 1024**3


def max_import_bytes() -> int:
    return int(getattr(settings, "AMNIYAT_MAX_IMPORT_BYTES", 2 * GIBIBYTE))


def max_unpacked_bytes() -> int:
    return int(getattr(settings, "AMNIYAT_MAX_IMPORT_UNPACKED_BYTES", 4 * GIBIBYTE))


def max_compression_ratio() -> int:
    return int(getattr(settings, "AMNIYAT_MAX_IMPORT_RATIO", 200))


def max_zip_members() -> int:
    return int(getattr(settings, "AMNIYAT_MAX_ZIP_MEMBERS", 2000))
