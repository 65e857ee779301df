"""Size limits for files of submissions, each overridable in settings and read at call time.

An import file may be far larger than an XLSForm, so these are separate from
:mod:`amniyat.fieldwork.conf`: ``AMNIYAT_MAX_IMPORT_BYTES`` for the file as given,
``AMNIYAT_MAX_IMPORT_UNPACKED_BYTES`` for what a zip or workbook may hold once unpacked and
``AMNIYAT_MAX_IMPORT_RATIO`` for how much smaller than its content a zip may be (a zip bomb
is tiny on disk and enormous unpacked), and ``AMNIYAT_MAX_IMPORT_ROW_BYTES`` for one row of a
CSV file (a damaged or hostile file can be one endless line, which would otherwise be read
whole as one answer).
"""

from __future__ import annotations

from django.conf import settings

GIBIBYTE = 1024**3
MEBIBYTE = 1024**2


def max_import_bytes() -> int:
    return int(getattr(settings, "AMNIYAT_MAX_IMPORT_BYTES", 2 * GIBIBYTE))


def max_unpacked_bytes() -> int:
    return int(getattr(settings, "AMNIYAT_MAX_IMPORT_UNPACKED_BYTES", 4 * GIBIBYTE))


def max_compression_ratio() -> int:
    return int(getattr(settings, "AMNIYAT_MAX_IMPORT_RATIO", 200))


def max_zip_members() -> int:
    return int(getattr(settings, "AMNIYAT_MAX_ZIP_MEMBERS", 2000))


def max_row_bytes() -> int:
    """One row of a CSV file, quoted line breaks and all: far more than any real submission
    (a long geotrace is well under 1 MB)."""
    return int(getattr(settings, "AMNIYAT_MAX_IMPORT_ROW_BYTES", 8 * MEBIBYTE))
