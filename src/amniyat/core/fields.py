"""Model fields that keep personal and free-text data encrypted at rest.

Values are encrypted with Fernet (AES-128-CBC with HMAC-SHA256) from the ``cryptography``
package. ``MultiFernet`` takes the list of keys in ``FIELD_ENCRYPTION_KEYS``: the first key
encrypts, every key decrypts, so keys rotate without a data migration. Small wrapper rather
than a third-party field package because production keys must not be derived from
``SECRET_KEY`` (rotating the session key must never make data unreadable) and must rotate;
only a development machine without keys falls back to a key derived from ``SECRET_KEY``.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

_PREFIX = "fernet:"


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...], secret: str) -> MultiFernet:
    if not keys:
        # Development fallback only: production settings refuse to start without keys.
        digest = hashlib.sha256(("amniyat-field-key:" + secret).encode()).digest()
        keys = (base64.urlsafe_b64encode(digest).decode(),)
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as error:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must hold Fernet keys (32 url-safe base64 bytes)."
        ) from error


def cipher() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS), settings.SECRET_KEY)


def encrypt_text(value: str) -> str:
    return _PREFIX + cipher().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt_text(value: str) -> str:
    if not value.startswith(_PREFIX):
        raise ValueError("Value is not encrypted.")
    try:
        return cipher().decrypt(value[len(_PREFIX) :].encode("ascii")).decode("utf-8")
    except InvalidToken as error:
        raise ImproperlyConfigured(
            "Encrypted data cannot be read with the configured FIELD_ENCRYPTION_KEYS."
        ) from error


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """A text field stored encrypted; it cannot be filtered or ordered on in the database."""

    description = "Text encrypted at rest"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return decrypt_text(value)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value.startswith(_PREFIX):
            return decrypt_text(value)
        return super().to_python(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt_text(str(value))
