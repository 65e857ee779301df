"""Reading a member of an uploaded zip: a damaged, truncated or oversized member is refused
with a message naming it, never an unhandled error."""

from __future__ import annotations

import io
import zipfile

import pytest

from amniyat.core.archives import ArchiveRefused, member_bytes

TEXT = ("id,label\n" + "".join(f"{i},factor {i}\n" for i in range(2000))).encode()


def damaged_zip() -> bytes:
    """A zip whose only member's deflated data has bytes flipped in the middle."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("factors.csv", TEXT)
    data = bytearray(buffer.getvalue())
    for offset in range(60, 90):
        data[offset] ^= 0xFF
    return bytes(data)


def test_a_good_member_reads_whole() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("factors.csv", TEXT)
    with zipfile.ZipFile(buffer) as archive:
        info = archive.getinfo("factors.csv")
        assert member_bytes(archive, info, file="map.zip", limit=len(TEXT)) == TEXT
        with pytest.raises(ArchiveRefused, match="too large once unpacked"):
            member_bytes(archive, info, file="map.zip", limit=len(TEXT) - 1)


def test_a_damaged_member_is_refused_by_name() -> None:
    with zipfile.ZipFile(io.BytesIO(damaged_zip())) as archive:
        info = archive.getinfo("factors.csv")
        with pytest.raises(ArchiveRefused) as refused:
            member_bytes(archive, info, file="map.zip", limit=10**6)
    assert "“map.zip”: “factors.csv” cannot be read from the archive" in refused.value.message


@pytest.mark.django_db
def test_a_damaged_map_zip_is_a_problem_not_a_crash() -> None:
    from amniyat.drivers.maps.exchange import MapImportError, read_map_files
    from tests.factories import ProgrammeFactory

    with pytest.raises(MapImportError) as error:
        read_map_files([("map.zip", damaged_zip())], programme=ProgrammeFactory())
    assert "cannot be read from the archive" in str(error.value.problems)
