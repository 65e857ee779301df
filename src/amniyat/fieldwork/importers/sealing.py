"""Encrypting the personal answers of a batch of submissions, and hashing their content.

Each value becomes its own Fernet token from ``cryptography`` (``core.fields.encrypt_text``:
a random IV, AES-128-CBC, HMAC-SHA256, the first of ``FIELD_ENCRYPTION_KEYS``), so every
reader decrypts it as before. The encryption is left to the library, value by value: batching
the cipher by hand would be faster, but cryptography is not a place for home-made shortcuts.
"""

from __future__ import annotations

import hashlib

import polars as pl

from amniyat.core.fields import encrypt_text


def content_hashes(texts: pl.Series) -> pl.Series:
    """SHA-256 (hex) of each text's UTF-8 bytes: ``Submission.hash_content`` of the canonical
    JSON, which the text already is."""
    sha256 = hashlib.sha256
    return pl.Series(
        texts.name,
        [sha256(data).hexdigest() for data in texts.cast(pl.Binary)],
        dtype=pl.String,
    )


def encrypt_many(texts: pl.Series) -> pl.Series:
    """``encrypt_text`` of every text (nulls stay null)."""
    return pl.Series(
        texts.name,
        [None if text is None else encrypt_text(text) for text in texts.to_list()],
        dtype=pl.String,
    )
