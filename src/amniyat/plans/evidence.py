"""Checking the files sent as evidence of progress, before anything of them is stored.

**Photos** are opened with Pillow and drawn again, pixel by pixel, into a new JPEG: nothing of
the file as sent survives but its picture. EXIF (the GPS position where it was taken, the
phone's make and model, the time, the owner's name some cameras write), XMP, IPTC, comments
and colour profiles are all left behind, because the new image is made from the pixels alone
(``Image.frombytes``), not copied with its ``info``. The EXIF orientation is applied first
(``ImageOps.exif_transpose``), so a photo taken sideways still stands up. Large photos are
scaled down to :data:`MAX_PHOTO_SIDE` pixels on their longer side (phones on slow connections
read them).

Refused, with a message: a file that is not an image (whatever its name or declared type says),
an image format phones do not send, and a *decompression bomb*, an image small on disk but
enormous once decoded: its pixel count is read from the header and refused above
:func:`max_photo_pixels` before any pixel is decoded, and Pillow's own guard
(``Image.MAX_IMAGE_PIXELS``, ``DecompressionBombError`` and its warning) is held as an error.

**Documents and meeting minutes** are PDF, Word (.docx) or OpenDocument (.odt) files,
recognised by their content (a Word or OpenDocument file is a zip, weighed first by
``core.archives``); they are stored as sent. Their own metadata (an author's name in a PDF) is
not removed: the person sending them is told so on the form.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from amniyat.core.archives import ArchiveRefused, checked_members

MEBIBYTE = 1024 * 1024
MAX_PHOTO_SIDE = 1600
JPEG_QUALITY = 82
# What phone cameras and messaging apps send (MPO: a JPEG with a second picture, as some
# cameras write).
PHOTO_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP"})
DOCUMENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "odt": "application/vnd.oasis.opendocument.text",
}


def max_evidence_bytes() -> int:
    """The largest file sent as evidence."""
    return int(getattr(settings, "AMNIYAT_EVIDENCE_MAX_BYTES", 10 * MEBIBYTE))


def max_evidence_files() -> int:
    """The most files sent with one update."""
    return int(getattr(settings, "AMNIYAT_EVIDENCE_MAX_FILES", 5))


def max_photo_pixels() -> int:
    """The most pixels a photo may have (a 48-megapixel phone camera's is under it)."""
    return int(getattr(settings, "AMNIYAT_MAX_PHOTO_PIXELS", 50_000_000))


@dataclass(frozen=True)
class CheckedFile:
    content: bytes
    content_type: str
    extension: str
    width: int | None = None
    height: int | None = None


def clean_photo(content: bytes) -> CheckedFile:
    """The photo drawn again as a JPEG without any of its metadata; ValidationError if it is
    not a photo this accepts."""
    not_image = _("This file is not a photo. Send a JPEG, PNG or WebP image.")
    bomb = _("This image is too large to open (more than {n} million pixels).").format(
        n=max_photo_pixels() // 1_000_000
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(content)) as image:
                if image.format not in PHOTO_FORMATS:
                    raise ValidationError(not_image)
                if image.width * image.height > max_photo_pixels():
                    raise ValidationError(bomb)
                image.seek(0)  # the first frame of an animated or multi-picture file
                if image.format in ("JPEG", "MPO"):
                    # Decoded at the smallest scale (1/2, 1/4, 1/8) still larger than what is
                    # kept: a 48-megapixel photo then takes a few MB, not 150.
                    image.draft("RGB", (MAX_PHOTO_SIDE, MAX_PHOTO_SIDE))
                image.load()
                upright = ImageOps.exif_transpose(image)
                assert upright is not None  # not in place: a new image is returned
                picture = upright.convert("RGBA" if _has_alpha(upright) else "RGB")
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ValidationError(bomb) from None
        except ValidationError:
            raise
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
            raise ValidationError(not_image) from None
    if picture.mode == "RGBA":
        # A transparent picture is laid on white: JPEG has no transparency.
        background = Image.new("RGB", picture.size, "white")
        background.paste(picture, mask=picture.getchannel("A"))
        picture = background
    picture.thumbnail((MAX_PHOTO_SIDE, MAX_PHOTO_SIDE), Image.Resampling.LANCZOS)
    # Made from the pixels alone: no info, no EXIF, no profile, no comment comes along.
    bare = Image.frombytes("RGB", picture.size, picture.tobytes())
    out = io.BytesIO()
    bare.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return CheckedFile(
        content=out.getvalue(),
        content_type="image/jpeg",
        extension="jpg",
        width=bare.width,
        height=bare.height,
    )


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )


def check_document(content: bytes) -> CheckedFile:
    """A PDF, Word or OpenDocument text file, recognised by its content."""
    refused = _("Send the document as PDF, Word (.docx) or OpenDocument (.odt).")
    if content.startswith(b"%PDF-"):
        return CheckedFile(content, DOCUMENT_TYPES["pdf"], "pdf")
    if not content.startswith(b"PK\x03\x04"):
        raise ValidationError(refused)
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = checked_members(
                archive,
                file=_("the document"),
                max_members=2000,
                max_unpacked=4 * max_evidence_bytes(),
                max_ratio=200,
            )
            names = {info.filename for info in members}
            if "word/document.xml" in names:
                return CheckedFile(content, DOCUMENT_TYPES["docx"], "docx")
            if "mimetype" in names and archive.read("mimetype").strip() == (
                DOCUMENT_TYPES["odt"].encode()
            ):
                return CheckedFile(content, DOCUMENT_TYPES["odt"], "odt")
    except ArchiveRefused as error:
        raise ValidationError(error.message) from None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError):
        pass
    raise ValidationError(refused)
