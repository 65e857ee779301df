"""Encryption at rest: AES-256-GCM values, older Fernet values still read, key rotation, and
tampering detected."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from amniyat.core.fields import (
    FERNET_PREFIX,
    PREFIX,
    decrypt_text,
    encrypt_text,
    encrypt_texts,
)
from tests.factories import GroupMemberFactory


@pytest.fixture
def keys(settings: Any) -> list[str]:
    keys = [Fernet.generate_key().decode(), Fernet.generate_key().decode()]
    settings.FIELD_ENCRYPTION_KEYS = keys[:1]
    return keys


def test_a_value_reads_back_and_hides_its_text(keys: list[str]) -> None:
    token = encrypt_text("Зарина Назарова, +992 90 123 4567")
    assert token.startswith(PREFIX)
    assert "Зарина" not in token and "992" not in token
    assert decrypt_text(token) == "Зарина Назарова, +992 90 123 4567"


def test_every_value_has_its_own_nonce(keys: list[str]) -> None:
    tokens = encrypt_texts(["same"] * 50 + [None])
    assert tokens[-1] is None
    assert len(set(tokens[:-1])) == 50
    assert {decrypt_text(t) for t in tokens[:-1] if t} == {"same"}


def test_values_written_with_fernet_still_read(keys: list[str]) -> None:
    old = FERNET_PREFIX + Fernet(keys[0].encode()).encrypt(b"Dilnoza").decode()
    assert decrypt_text(old) == "Dilnoza"


def test_keys_rotate_without_a_migration(settings: Any, keys: list[str]) -> None:
    old_token = encrypt_text("written with the old key")
    settings.FIELD_ENCRYPTION_KEYS = [keys[1], keys[0]]
    new_token = encrypt_text("written with the new key")
    assert decrypt_text(old_token) == "written with the old key"
    assert decrypt_text(new_token) == "written with the new key"
    settings.FIELD_ENCRYPTION_KEYS = [keys[1]]
    assert decrypt_text(new_token) == "written with the new key"
    with pytest.raises(ImproperlyConfigured):
        decrypt_text(old_token)


def test_an_altered_value_is_refused_not_misread(keys: list[str]) -> None:
    token = encrypt_text("the answer")
    packed = bytearray(base64.urlsafe_b64decode(token.removeprefix(PREFIX)))
    packed[-1] ^= 1
    altered = PREFIX + base64.urlsafe_b64encode(bytes(packed)).decode()
    with pytest.raises(ImproperlyConfigured):
        decrypt_text(altered)
    with pytest.raises(ImproperlyConfigured):
        decrypt_text(PREFIX + "not base64 at all!")


def test_plain_text_is_not_taken_for_an_encrypted_value() -> None:
    with pytest.raises(ValueError, match="not encrypted"):
        decrypt_text("Dilnoza")


def test_bad_keys_are_named(settings: Any) -> None:
    settings.FIELD_ENCRYPTION_KEYS = ["too-short"]
    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS"):
        encrypt_text("x")


@pytest.mark.django_db
def test_the_model_field_stores_aes_gcm_and_reads_fernet(keys: list[str]) -> None:
    member = GroupMemberFactory(display_name="Zarina Nazarova")
    table = member._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT display_name FROM {table} WHERE id = %s", [member.pk])  # noqa: S608
        (raw,) = cursor.fetchone()
        assert raw.startswith(PREFIX) and "Zarina" not in raw
        old = FERNET_PREFIX + Fernet(keys[0].encode()).encrypt(b"Old Name").decode()
        cursor.execute(
            f"UPDATE {table} SET display_name = %s WHERE id = %s",  # noqa: S608
            [old, member.pk],
        )
    member.refresh_from_db()
    assert member.display_name == "Old Name"
    member.save(update_fields=["display_name"])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT display_name FROM {table} WHERE id = %s", [member.pk])  # noqa: S608
        (raw,) = cursor.fetchone()
    assert raw.startswith(PREFIX)
