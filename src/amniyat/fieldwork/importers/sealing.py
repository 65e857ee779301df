"""Encrypting the personal answers of a batch of submissions, and hashing their content.

Each value is encrypted on its own with ``core.fields.encrypt_texts`` (AES-256-GCM under the
first of ``FIELD_ENCRYPTION_KEYS``, a fresh random nonce each), exactly as the model field
stores it, so every reader decrypts it as before.
"""

from __future__ import annotations

import hashlib

import polars as pl

from amniyat.core.fields import encrypt_texts


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
    """Each text encrypted as the model field encrypts it (nulls stay null)."""
    return pl.Series(texts.name, encrypt_texts(texts.to_list()), dtype=pl.String)
