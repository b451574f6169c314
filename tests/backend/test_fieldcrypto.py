from __future__ import annotations

import os

import pytest

from backend.fieldcrypto import DecryptionError, FieldCipher

ID = "11010519491231002X"


def test_round_trip_and_randomised() -> None:
    cipher = FieldCipher(os.urandom(32))
    first = cipher.encrypt(ID, context="resident_id")
    second = cipher.encrypt(ID, context="resident_id")
    assert first != second  # fresh nonce each time
    assert ID.encode() not in first
    assert cipher.decrypt(first, context="resident_id") == ID


def test_context_key_and_tamper_are_refused() -> None:
    key = os.urandom(32)
    cipher = FieldCipher(key)
    blob = cipher.encrypt(ID, context="resident_id")
    with pytest.raises(DecryptionError):
        cipher.decrypt(blob, context="phone")
    with pytest.raises(DecryptionError):
        FieldCipher(os.urandom(32)).decrypt(blob, context="resident_id")
    flipped = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(DecryptionError):
        cipher.decrypt(flipped, context="resident_id")
    with pytest.raises(DecryptionError):
        cipher.decrypt(b"\x02" + blob[1:], context="resident_id")


def test_lookup_hash_is_keyed_and_deterministic() -> None:
    key = os.urandom(32)
    assert FieldCipher(key).lookup_hash(ID, context="resident_id") == FieldCipher(key).lookup_hash(
        ID, context="resident_id"
    )
    assert FieldCipher(key).lookup_hash(ID, context="resident_id") != FieldCipher(
        os.urandom(32)
    ).lookup_hash(ID, context="resident_id")
    assert FieldCipher(key).lookup_hash(ID, context="a") != FieldCipher(key).lookup_hash(
        ID, context="b"
    )
