"""Encrypting and hashing a batch of submissions gives what the one-at-a-time functions give:
values any reader decrypts, under the first key, and the same hashes."""

from __future__ import annotations

import json
from typing import Any

import polars as pl
import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from amniyat.core.fields import PREFIX, decrypt_text
from amniyat.fieldwork.imports import sealing
from amniyat.fieldwork.models import Submission

TEXTS = [
    '{"respondent/name":"Respondent 1","respondent/phone":"+992900000001"}',
    "",
    "x" * 15,
    "x" * 16,  # a whole block: a whole block of padding follows
    "Ж" * 100,
    '{"note":"quotes \\" and \\\\ and \\n"}',
    "🙂 " * 40,
]


def test_every_token_decrypts_to_its_text() -> None:
    tokens = sealing.encrypt_many(pl.Series("p", [*TEXTS, None])).to_list()
    assert tokens[-1] is None
    for text, token in zip(TEXTS, tokens, strict=False):
        assert token.startswith(PREFIX)
        assert decrypt_text(token) == text
    assert len(set(tokens[:-1])) == len(TEXTS)  # a fresh IV each


def test_values_are_encrypted_under_the_first_key(settings: Any) -> None:
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [first, second]
    token = sealing.encrypt_many(pl.Series("p", ["secret"])).item()
    assert decrypt_text(token) == "secret"
    settings.FIELD_ENCRYPTION_KEYS = [first]
    assert decrypt_text(token) == "secret"
    settings.FIELD_ENCRYPTION_KEYS = [second]
    with pytest.raises(ImproperlyConfigured):
        decrypt_text(token)


def test_hashes_are_those_of_submission_hash_content() -> None:
    answers = [{"b": "Ж", "a": [1, 2]}, {}, {"x": 'quote " here'}]
    canonical = [
        json.dumps(a, sort_keys=True, ensure_ascii=False, separators=(",", ":")) for a in answers
    ]
    hashes = sealing.content_hashes(pl.Series("combined", canonical)).to_list()
    assert hashes == [Submission.hash_content(a) for a in answers]
