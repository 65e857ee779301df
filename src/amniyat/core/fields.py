"""Model fields that keep personal and free-text data encrypted at rest.

Values are encrypted with AES-256-GCM (``cryptography``'s ``AESGCM``, an authenticated cipher:
a value altered in the database fails to decrypt rather than reading as something else) and
stored as ``aesgcm:`` and URL-safe base64 of a 4-byte key id, a random 12-byte nonce, and the
ciphertext with its tag. Values written before this format, ``fernet:`` and a Fernet token
(AES-128-CBC with HMAC-SHA256), still read; they are written anew as AES-GCM when next saved.

``FIELD_ENCRYPTION_KEYS`` is a list of keys (32 URL-safe base64 bytes each, as
``Fernet.generate_key`` makes them): the first key encrypts, every key decrypts, so keys rotate
without a data migration. The AES key is derived from each with HKDF-SHA256; the key id lets a
reader pick the right key at once. A key encrypts at most 2^32 values with random nonces before
the chance of a repeated nonce stops being negligible; rotate keys well before that.

Why GCM rather than Fernet for new values: a Fernet value costs about 7 µs (AES-CBC, a separate
HMAC, each through Python), an AES-GCM value about 1 µs in one library call, and an import
encrypts the personal answers of every row.

Small wrapper rather than a third-party field package because production keys must not be
derived from ``SECRET_KEY`` (rotating the session key must never make data unreadable) and must
rotate; only a development machine without keys falls back to a key derived from ``SECRET_KEY``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "aesgcm:"
FERNET_PREFIX = "fernet:"
_KEY_ID_BYTES = 4
_NONCE_BYTES = 12
_HKDF_INFO = b"amniyat field encryption: AES-256-GCM"
_HASH_INFO = b"amniyat keyed hash: HMAC-SHA256"
KEYED_HASH_LENGTH = 32  # hex digits: 128 bits
_UNREADABLE = "Encrypted data cannot be read with the configured FIELD_ENCRYPTION_KEYS."


@dataclass(frozen=True)
class _Key:
    id: bytes
    aead: AESGCM


@dataclass(frozen=True)
class Keyring:
    """The configured keys: AES-GCM keys (the first encrypts) and, to read older values,
    the same keys as Fernet keys."""

    keys: tuple[_Key, ...]
    fernet: MultiFernet
    hash_keys: tuple[bytes, ...]  # HMAC keys, derived apart from the AES keys

    def find(self, key_id: bytes) -> list[_Key]:
        """The keys with this id first, then the others (ids of 4 bytes may, rarely, clash)."""
        return sorted(self.keys, key=lambda key: key.id != key_id)


@lru_cache(maxsize=4)
def _keyring(keys: tuple[str, ...], secret: str) -> Keyring:
    if not keys:
        # Development fallback only: production settings refuse to start without keys.
        digest = hashlib.sha256(("amniyat-field-key:" + secret).encode()).digest()
        keys = (base64.urlsafe_b64encode(digest).decode(),)
    try:
        fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        material = [base64.urlsafe_b64decode(key.encode()) for key in keys]
    except (ValueError, binascii.Error) as error:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must hold keys of 32 url-safe base64 bytes "
            "(as Fernet.generate_key() makes them)."
        ) from error
    derived = []
    for raw in material:
        aes_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(raw)
        key_id = hashlib.sha256(b"amniyat key id:" + aes_key).digest()[:_KEY_ID_BYTES]
        derived.append(_Key(id=key_id, aead=AESGCM(aes_key)))
    hash_keys = tuple(
        HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HASH_INFO).derive(raw)
        for raw in material
    )
    return Keyring(keys=tuple(derived), fernet=fernet, hash_keys=hash_keys)


def keyring() -> Keyring:
    return _keyring(tuple(settings.FIELD_ENCRYPTION_KEYS), settings.SECRET_KEY)


def keyed_hash(text: str) -> str:
    """HMAC-SHA256 of ``text`` under the first key (its first 128 bits, hex), for a column
    that is encrypted but must be filtered on. Without the key a hash cannot be checked
    against guessed names, as a plain SHA-256 of a short name could. Empty text has none."""
    if not text:
        return ""
    return _digest(keyring().hash_keys[0], text.encode("utf-8"))


def keyed_hashes_for_lookup(text: str) -> list[str]:
    """The hashes ``text`` may be stored under, one per configured key, so that rows written
    before a key rotation are still found."""
    if not text:
        return []
    data = text.encode("utf-8")
    return [_digest(key, data) for key in keyring().hash_keys]


def _digest(key: bytes, data: bytes) -> str:
    return hmac.new(key, data, hashlib.sha256).hexdigest()[:KEYED_HASH_LENGTH]


def encrypt_text(value: str) -> str:
    """``value`` encrypted under the first key."""
    (token,) = encrypt_texts([value])
    assert token is not None
    return token


def encrypt_texts(values: Sequence[str | None]) -> list[str | None]:
    """Each value encrypted under the first key, each with its own random nonce (None stays
    None): what an import uses for thousands of rows at a time."""
    key = keyring().keys[0]
    nonces = os.urandom(_NONCE_BYTES * len(values))
    encrypt = key.aead.encrypt
    encode = base64.urlsafe_b64encode
    head = key.id
    tokens: list[str | None] = []
    for index, value in enumerate(values):
        if value is None:
            tokens.append(None)
            continue
        nonce = nonces[index * _NONCE_BYTES : (index + 1) * _NONCE_BYTES]
        sealed = encrypt(nonce, value.encode("utf-8"), None)
        tokens.append(PREFIX + encode(head + nonce + sealed).decode("ascii"))
    return tokens


def is_encrypted(value: str) -> bool:
    return value.startswith((PREFIX, FERNET_PREFIX))


def decrypt_text(value: str) -> str:
    if value.startswith(PREFIX):
        return _decrypt_aead(value[len(PREFIX) :])
    if value.startswith(FERNET_PREFIX):
        try:
            token = value[len(FERNET_PREFIX) :].encode("ascii")
            return keyring().fernet.decrypt(token).decode("utf-8")
        except InvalidToken as error:
            raise ImproperlyConfigured(_UNREADABLE) from error
    raise ValueError("Value is not encrypted.")


def _decrypt_aead(text: str) -> str:
    try:
        packed = base64.urlsafe_b64decode(text.encode("ascii"))
    except (ValueError, binascii.Error) as error:
        raise ImproperlyConfigured(_UNREADABLE) from error
    key_id = packed[:_KEY_ID_BYTES]
    nonce = packed[_KEY_ID_BYTES : _KEY_ID_BYTES + _NONCE_BYTES]
    sealed = packed[_KEY_ID_BYTES + _NONCE_BYTES :]
    for key in keyring().find(key_id):
        try:
            return key.aead.decrypt(nonce, sealed, None).decode("utf-8")
        except (InvalidTag, ValueError):
            continue
    raise ImproperlyConfigured(_UNREADABLE)


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """A text field stored encrypted; it cannot be filtered or ordered on in the database."""

    description = "Text encrypted at rest"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return decrypt_text(value)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and is_encrypted(value):
            return decrypt_text(value)
        return super().to_python(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt_text(str(value))
