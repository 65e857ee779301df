"""The one check every uploaded zip passes before anything is read from it: files of
submissions, REFI-QDA projects, Word and OpenDocument notes. A zip is a promise about its size
that its maker controls, so the central directory is weighed first: how many files, how much
once unpacked, how tightly packed (a zip bomb is tiny on disk and enormous unpacked) and
whether a member's name climbs out of its folder (``../``, ``/etc/…``, ``C:\\…``). No
archive a person sends has a reason to hold such a name, so every one is refused for it,
whether or not the reader happens to use names as paths today.

Declared sizes can be trusted as upper bounds: :mod:`zipfile` never unpacks more of a member
than its header declares (a member that would unpack to more fails its checksum), so weighing
the central directory is enough, and nothing is decompressed before the archive passes."""

from __future__ import annotations

import re
import zipfile
import zlib

from django.utils.translation import gettext as _

# A member over this size must not be packed more tightly than the ratio allows.
RATIO_CHECKED_ABOVE = 1024 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")


# zipfile's ways of failing on a member it has listed: damaged data (BadZipFile for a bad
# checksum, zlib.error for a broken deflate stream, EOFError for a truncated one), an encrypted
# member (RuntimeError), a compression method it does not implement (NotImplementedError), and
# the operating system's (OSError). Each is a file that cannot be read, not a bug.
MEMBER_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    RuntimeError,
    NotImplementedError,
    OSError,
)


class ArchiveRefused(Exception):
    """An archive that must not be read further; ``message`` says why, translated."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def checked_members(
    archive: zipfile.ZipFile,
    *,
    file: str,
    max_members: int,
    max_unpacked: int,
    max_ratio: int,
    safe_paths: bool = True,
) -> list[zipfile.ZipInfo]:
    """The archive's members, once they pass every limit; :class:`ArchiveRefused` otherwise.
    ``file`` is the archive's name as the person knows it."""
    infos = archive.infolist()
    if len(infos) > max_members:
        raise ArchiveRefused(
            _("“{file}” holds too many files ({count}).").format(file=file, count=len(infos))
        )
    total = 0
    for info in infos:
        member = info.filename.replace("\\", "/")
        if safe_paths and (
            member.startswith("/") or ".." in member.split("/") or _DRIVE.match(member)
        ):
            raise ArchiveRefused(
                _("“{file}” holds a file with an unsafe path: “{member}”.").format(
                    file=file, member=info.filename
                )
            )
        if info.file_size > RATIO_CHECKED_ABOVE and info.file_size > max_ratio * max(
            info.compress_size, 1
        ):
            raise ArchiveRefused(
                _(
                    "“{file}” looks like a zip bomb: “{member}” unpacks to far more than its size."
                ).format(file=file, member=info.filename)
            )
        total += info.file_size
    if total > max_unpacked:
        raise ArchiveRefused(
            _("“{file}” is too large once unpacked ({size} MB; the limit is {limit} MB).").format(
                file=file, size=total // 2**20, limit=max_unpacked // 2**20
            )
        )
    return infos


def member_bytes(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, *, file: str, limit: int
) -> bytes:
    """A member's content, never more than ``limit`` bytes whatever its header says; a member
    that cannot be read, or is larger, raises :class:`ArchiveRefused` naming it."""
    try:
        with archive.open(info) as member:
            content = member.read(limit + 1)
    except MEMBER_ERRORS as error:
        raise ArchiveRefused(
            _("“{file}”: “{member}” cannot be read from the archive ({reason}).").format(
                file=file, member=info.filename, reason=error
            )
        ) from error
    if len(content) > limit:
        raise ArchiveRefused(_("“{file}” is too large once unpacked.").format(file=file))
    return content
