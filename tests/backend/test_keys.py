"""Secrets: generated on first run in development, refused when missing or weak in production."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from backend.errors import ConfigurationError
from backend.keys import load_keyring, rotate_jwt_keys
from backend.settings import Mode, Settings


def dev(tmp_path: Path, **kw: object) -> Settings:
    return Settings(var_dir=tmp_path, **kw)  # type: ignore[arg-type]


def prod(tmp_path: Path, **kw: object) -> Settings:
    return Settings(var_dir=tmp_path, mode=Mode.PRODUCTION, **kw)  # type: ignore[arg-type]


def test_development_generates_secrets_once(tmp_path: Path) -> None:
    first = load_keyring(dev(tmp_path))
    secrets_dir = tmp_path / "secrets"
    for name in ("jwt_keys.json", "server_key.json", "field_key"):
        path = secrets_dir / name
        assert path.exists()
        assert path.stat().st_mode & 0o077 == 0, f"{name} must be private (0600)"
    again = load_keyring(dev(tmp_path))
    assert again.field_key == first.field_key
    assert again.active_jwt_key.kid == first.active_jwt_key.kid
    assert len(first.field_key) == 32


def test_production_never_generates(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="production never generates"):
        load_keyring(prod(tmp_path))
    assert not (tmp_path / "secrets").exists()


def _provisioned(tmp_path: Path) -> dict[str, object]:
    load_keyring(dev(tmp_path))  # an operator's provisioning step, in effect
    key = base64.b64encode(os.urandom(32)).decode()
    return {"field_encryption_key": key}


def test_production_accepts_good_secrets(tmp_path: Path) -> None:
    extra = _provisioned(tmp_path)
    keyring = load_keyring(prod(tmp_path, **extra))
    assert keyring.server_key.kid


@pytest.mark.parametrize(
    ("field_key", "message"),
    [
        (base64.b64encode(b"\x00" * 32).decode(), "weak"),
        (base64.b64encode(b"0123456789abcdef" * 2).decode(), None),  # 16 distinct: allowed
        (base64.b64encode(b"abababababababababababababababab").decode(), "weak"),
        (base64.b64encode(os.urandom(16)).decode(), "32 bytes"),
        ("not base64 !!", "base64"),
    ],
)
def test_production_refuses_weak_field_key(
    tmp_path: Path, field_key: str, message: str | None
) -> None:
    _provisioned(tmp_path)
    settings = prod(tmp_path, field_encryption_key=field_key)
    if message is None:
        load_keyring(settings)
        return
    with pytest.raises(ConfigurationError, match=message):
        load_keyring(settings)


def test_production_refuses_world_readable_key_file(tmp_path: Path) -> None:
    extra = _provisioned(tmp_path)
    (tmp_path / "secrets" / "jwt_keys.json").chmod(0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        load_keyring(prod(tmp_path, **extra))


def test_non_ed25519_keys_are_refused(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    rsa_pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    path = tmp_path / "jwt.json"
    path.write_text(
        json.dumps(
            {
                "keys": [
                    {
                        "kid": "rsa-key-0001",
                        "created_at": "2026-01-01T00:00:00+00:00",
                        "private_pem": rsa_pem,
                    }
                ]
            }
        )
    )
    path.chmod(0o600)
    with pytest.raises(ConfigurationError, match="Ed25519"):
        load_keyring(dev(tmp_path, jwt_keys_file=path))


def test_rotation_keeps_previous_keys(tmp_path: Path) -> None:
    settings = dev(tmp_path)
    original = load_keyring(settings).active_jwt_key.kid
    for _ in range(3):
        rotate_jwt_keys(settings, keep=2)
    kids = [k.kid for k in load_keyring(settings).jwt_keys]
    assert len(kids) == 3 and original not in kids
    assert load_keyring(settings).active_jwt_key.kid == kids[-1]


def test_database_url_switches_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("MC_DATABASE_URL", raising=False)
    assert dev(tmp_path).effective_database_url.startswith("sqlite://")
    assert dev(tmp_path).should_auto_migrate
    pg = Settings(var_dir=tmp_path, database_url="postgres://u@h/db")
    assert pg.is_postgres and not pg.should_auto_migrate
    with pytest.raises(ValueError, match="sqlite:// or postgres://"):
        Settings(var_dir=tmp_path, database_url="mysql://u@h/db")


def test_environment_variables_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://u@h/db")
    monkeypatch.setenv("MC_ACCESS_TOKEN_TTL_S", "300")
    settings = Settings(var_dir=tmp_path)
    assert settings.is_postgres and settings.access_token_ttl_s == 300
    monkeypatch.setenv("MC_ACCESS_TOKEN_TTL_S", "3600")  # longer than 15 minutes: refused
    with pytest.raises(ValueError, match="less than or equal to 900"):
        Settings(var_dir=tmp_path)
