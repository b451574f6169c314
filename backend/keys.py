"""Key material: JWT signing key set, field-encryption key, server signing key.

In development missing secrets are generated into ``var/secrets`` on first run; in production they
must be supplied and are refused when weak, so a mis-deployed server fails at start, not later.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from backend.errors import ConfigurationError
from backend.settings import Mode, Settings


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: Ed25519PrivateKey
    created_at: datetime

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    def public_jwk(self) -> dict[str, str]:
        raw = self.public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "alg": "EdDSA",
            "use": "sig",
            "kid": self.kid,
            "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode(),
        }


@dataclass(frozen=True)
class KeyRing:
    """The JWT key set (newest signs, all verify) plus the other server secrets."""

    jwt_keys: tuple[SigningKey, ...]
    field_key: bytes
    server_key: SigningKey

    @property
    def active_jwt_key(self) -> SigningKey:
        return max(self.jwt_keys, key=lambda k: k.created_at)

    def jwt_key(self, kid: str) -> SigningKey | None:
        return next((k for k in self.jwt_keys if k.kid == kid), None)


def _new_signing_key() -> dict[str, str]:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return {
        "kid": secrets.token_urlsafe(12),
        "created_at": datetime.now(UTC).isoformat(),
        "private_pem": pem.decode(),
    }


def _load_signing_key(entry: dict[str, str], source: Path) -> SigningKey:
    try:
        key = serialization.load_pem_private_key(entry["private_pem"].encode(), password=None)
        created = datetime.fromisoformat(entry["created_at"])
        kid = entry["kid"]
    except (KeyError, ValueError, TypeError) as exc:
        raise ConfigurationError(f"malformed key entry in {source}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(f"{source}: only Ed25519 keys are accepted")
    if len(kid) < 8:
        raise ConfigurationError(f"{source}: key id {kid!r} is too short")
    return SigningKey(kid=kid, private_key=key, created_at=created)


def _write_private(path: Path, data: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _check_private_file(path: Path, settings: Settings) -> None:
    if settings.mode is Mode.PRODUCTION and path.stat().st_mode & 0o077:
        raise ConfigurationError(f"{path} is readable by group or others; chmod 600 it")


def _key_file(settings: Settings, configured: Path | None, default_name: str) -> Path:
    path = configured or settings.secrets_dir / default_name
    if not path.exists():
        if settings.mode is Mode.PRODUCTION:
            raise ConfigurationError(f"{path} is missing; production never generates secrets")
        _write_private(path, json.dumps({"keys": [_new_signing_key()]}, indent=2))
    _check_private_file(path, settings)
    return path


def _load_key_file(path: Path) -> tuple[SigningKey, ...]:
    try:
        entries = json.loads(path.read_text())["keys"]
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigurationError(f"cannot read key set {path}: {exc}") from exc
    keys = tuple(_load_signing_key(e, path) for e in entries)
    if not keys:
        raise ConfigurationError(f"{path} holds no keys")
    if len({k.kid for k in keys}) != len(keys):
        raise ConfigurationError(f"{path} repeats a key id")
    return keys


def _field_key(settings: Settings) -> bytes:
    if settings.field_encryption_key is not None:
        encoded = settings.field_encryption_key.get_secret_value()
    else:
        path = settings.secrets_dir / "field_key"
        if not path.exists():
            if settings.mode is Mode.PRODUCTION:
                raise ConfigurationError("MC_FIELD_ENCRYPTION_KEY must be set in production")
            _write_private(path, base64.b64encode(secrets.token_bytes(32)).decode())
        _check_private_file(path, settings)
        encoded = path.read_text().strip()
    try:
        key = base64.b64decode(encoded, validate=True)
    except ValueError as exc:
        raise ConfigurationError("field encryption key must be base64") from exc
    if len(key) != 32:
        raise ConfigurationError("field encryption key must be 32 bytes (AES-256)")
    # A key with few distinct bytes is a placeholder someone typed, not a random key.
    if len(set(key)) < 16:
        raise ConfigurationError("field encryption key looks weak (too few distinct bytes)")
    return key


def load_keyring(settings: Settings) -> KeyRing:
    jwt_path = _key_file(settings, settings.jwt_keys_file, "jwt_keys.json")
    server_path = _key_file(settings, settings.server_signing_key_file, "server_key.json")
    return KeyRing(
        jwt_keys=_load_key_file(jwt_path),
        field_key=_field_key(settings),
        server_key=_load_key_file(server_path)[-1],
    )


def rotate_jwt_keys(settings: Settings, keep: int = 2) -> SigningKey:
    """Add a new signing key; keep the previous ones so tokens they signed stay valid."""
    path = _key_file(settings, settings.jwt_keys_file, "jwt_keys.json")
    entries = json.loads(path.read_text())["keys"]
    entries.append(_new_signing_key())
    entries = entries[-(keep + 1) :]
    _write_private(path, json.dumps({"keys": entries}, indent=2))
    return _load_key_file(path)[-1]
