"""Encrypting the personal answers of a batch of submissions, hashing their content, and
sealing the columns copied out of the answers (the enumerator): encrypted, with a keyed hash
to filter on.

Each value is encrypted on its own with ``core.fields.encrypt_texts`` (AES-256-GCM under the
first of ``FIELD_ENCRYPTION_KEYS``, a fresh random nonce each), exactly as the model field
stores it, so every reader decrypts it as before.

An encrypted column cannot be filtered on in the database, so beside it goes a keyed hash
(``core.fields.keyed_hash``: HMAC-SHA256 under a key derived from ``FIELD_ENCRYPTION_KEYS``).
It is written under the first key; a filter looks for the hash under every key, so that rows
written before a key rotation are still found.
"""

from __future__ import annotations

import hashlib

import polars as pl

from amniyat.core.fields import encrypt_texts, keyed_hash


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


def seal_repeated(texts: pl.Series) -> tuple[pl.Series, pl.Series]:
    """A column of a batch that repeats few values (the enumerator: a few dozen names over
    thousands of rows) encrypted and keyed-hashed, each distinct text once. Rows with the
    same text share one ciphertext: AES-GCM under one nonce with the same plaintext gives the
    same bytes and reveals nothing the shared keyed hash does not already (that the rows have
    the same text); a nonce is never used for two different texts. Empty text stays empty."""
    values = texts.fill_null("")
    distinct = [text for text in values.unique().to_list() if text]
    sealed = dict(zip(distinct, encrypt_texts(distinct), strict=True))
    digests = {text: keyed_hash(text) for text in distinct}
    sealed[""] = digests[""] = ""
    return (
        values.replace_strict(sealed, return_dtype=pl.String),
        values.replace_strict(digests, return_dtype=pl.String),
    )
