"""Files encrypted at rest (exports of submissions, prepared downloads), with the keys that
encrypt personal answers in the database.

An export can hold every personal and sensitive answer of a form, and a download the decrypted
notes of every discussion, in clear inside the file: stored under ``MEDIA_ROOT`` as it is, it
would be less protected than the rows it came from.
So every file is written encrypted, in a streaming form of the AES-256-GCM that
:mod:`amniyat.core.fields` uses for a value (the "STREAM" construction of Hoang, Reyhanitabar,
Rogaway and Vizár, *Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance*,
2015, as Tink's streaming AEAD and age use it):

* a header: ``AMNYX1``, the 4-byte id of the key, a random 7-byte nonce prefix;
* then the file in pieces of 1 MiB, each sealed on its own with the nonce
  ``prefix ‖ piece number (4 bytes) ‖ 1 if it is the last piece else 0`` and the header as
  associated data.

A piece altered, moved, dropped, or a file cut short after a whole piece, fails to decrypt;
nothing of it is served. Keys rotate as the fields' keys do: the first configured key
encrypts, any of them decrypts (the key id picks it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import IO

from cryptography.exceptions import InvalidTag

from amniyat.core.fields import keyring

MAGIC = b"AMNYX1"
PIECE = 1 << 20
_TAG = 16
_KEY_ID = 4
_PREFIX = 7
HEADER_BYTES = len(MAGIC) + _KEY_ID + _PREFIX


class UnreadableFile(Exception):
    """The file is not one of these, was altered, or no configured key opens it."""


def _nonce(prefix: bytes, number: int, last: bool) -> bytes:
    return prefix + number.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def encrypt_file(source: IO[bytes], target: IO[bytes]) -> None:
    """Write ``source`` to ``target`` encrypted under the first configured key."""
    key = keyring().keys[0]
    prefix = os.urandom(_PREFIX)
    header = MAGIC + key.id + prefix
    target.write(header)
    number = 0
    piece = source.read(PIECE)
    while True:
        following = source.read(PIECE)
        last = not following
        target.write(key.aead.encrypt(_nonce(prefix, number, last), piece, header))
        if last:
            return
        number += 1
        piece = following


def decrypted_pieces(source: IO[bytes]) -> Iterator[bytes]:
    """The clear text of an encrypted file, a piece at a time; raises
    :class:`UnreadableFile` (before the first piece, or at the piece that fails)."""
    header = source.read(HEADER_BYTES)
    if len(header) != HEADER_BYTES or not header.startswith(MAGIC):
        raise UnreadableFile("Not an encrypted export.")
    key_id = header[len(MAGIC) : len(MAGIC) + _KEY_ID]
    prefix = header[len(MAGIC) + _KEY_ID :]
    sealed = PIECE + _TAG
    piece = source.read(sealed)
    following = source.read(sealed)
    candidates = keyring().find(key_id)
    number = 0
    while True:
        last = not following
        nonce = _nonce(prefix, number, last)
        for key in candidates:
            try:
                clear = key.aead.decrypt(nonce, piece, header)
            except (InvalidTag, ValueError):
                continue
            candidates = [key]  # the key that opened the first piece opens the rest
            break
        else:
            raise UnreadableFile(f"Piece {number} of the export cannot be decrypted.")
        yield clear
        if last:
            return
        number += 1
        piece, following = following, source.read(sealed)
