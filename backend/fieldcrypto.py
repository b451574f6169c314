"""Encryption of personal data at rest (AES-256-GCM) with a keyed hash for exact-match lookup.

The ID number itself is never stored in clear and never logged; the ciphertext carries a version
byte so the key can be rotated later, and the lookup hash uses a subkey derived from the same
field key so that knowing a hash does not reveal the encryption key.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = b"\x01"
NONCE_BYTES = 12


class DecryptionError(ValueError):
    """Ciphertext is corrupt, truncated, for another record, or under another key."""


class FieldCipher:
    def __init__(self, field_key: bytes) -> None:
        if len(field_key) != 32:
            raise ValueError("field key must be 32 bytes")
        self._aead = AESGCM(field_key)
        self._lookup_key = hmac.new(field_key, b"mobile-court/lookup-hash/v1", "sha256").digest()

    def encrypt(self, plaintext: str, *, context: str) -> bytes:
        """``context`` (e.g. "resident_id") is bound as associated data: a ciphertext copied into
        another column or purpose fails to decrypt there."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return VERSION + nonce + sealed

    def decrypt(self, blob: bytes, *, context: str) -> str:
        if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != VERSION:
            raise DecryptionError("unknown ciphertext format")
        nonce, sealed = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, sealed, context.encode()).decode()
        except InvalidTag as exc:
            raise DecryptionError("ciphertext does not authenticate") from exc

    def lookup_hash(self, value: str, *, context: str) -> str:
        """Deterministic keyed hash for finding a record by an exact value without storing it."""
        message = context.encode() + b"\x00" + value.encode()
        return hmac.new(self._lookup_key, message, hashlib.sha256).hexdigest()
