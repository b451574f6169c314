"""Keys and signatures for the fake WeChat Pay platform, its tests and the demo.

WeChat Pay v3 uses RSA-2048 PKCS#1 v1.5 with SHA-256 everywhere: the merchant signs its requests
(and the ``wx.requestPayment`` parameters) with its API certificate's private key, the platform
signs its responses and notifications with the platform key named by ``Wechatpay-Serial``. The
APIv3 key (32 ASCII characters) encrypts notification resources with AES-256-GCM.

Serials look like the real ones: a merchant certificate serial is 40 upper-case hex digits; the
platform uses the newer "WeChat Pay public key" mode, whose ids read ``PUB_KEY_ID_…``.

``ensure_demo_keys(directory)`` writes one shared key set for the demo (the fake platform and the
backend read the same files); the mchid, serials and APIv3 key of the demo are fixed constants.
"""

from __future__ import annotations

import base64
import os
import secrets
import string
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from miniapp_stub.wechat import DEFAULT_APPID

__all__ = [
    "DEFAULT_APIV3_KEY",
    "DEFAULT_MCHID",
    "DEFAULT_MERCHANT_SERIAL",
    "DEFAULT_PLATFORM_SERIAL",
    "DemoPayKeys",
    "MerchantKeys",
    "PlatformKeys",
    "ensure_demo_keys",
    "generate_platform_keys",
    "generate_test_merchant",
    "random_apiv3_key",
    "rfc3339",
    "rsa_sign",
    "rsa_verify",
]

DEFAULT_MCHID = "1900000109"
DEFAULT_MERCHANT_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
DEFAULT_PLATFORM_SERIAL = "PUB_KEY_ID_0119000001092025061500000000000001"
# Demo only: a real APIv3 key is a secret set in the merchant platform.
DEFAULT_APIV3_KEY = "DemoApiV3Key0fTheFakeWeChatPay32"

MERCHANT_KEY_FILE = "merchant_private_key.pem"
MERCHANT_PUBLIC_KEY_FILE = "merchant_public_key.pem"
PLATFORM_KEY_FILE = "platform_private_key.pem"
PLATFORM_PUBLIC_KEY_FILE = "platform_public_key.pem"

_ALNUM = string.ascii_letters + string.digits
CHINA_TZ = timezone(timedelta(hours=8))


def rfc3339(epoch_seconds: float) -> str:
    """WeChat Pay's time format: ``2025-06-15T10:34:56+08:00``."""
    return datetime.fromtimestamp(int(epoch_seconds), tz=CHINA_TZ).isoformat(timespec="seconds")


def random_apiv3_key() -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(32))


def random_nonce(length: int = 32) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def _new_private_key() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_pem(key: RSAPrivateKey | RSAPublicKey) -> str:
    public = key.public_key() if isinstance(key, RSAPrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def load_private_key(pem: str | bytes) -> RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, None)
    if not isinstance(key, RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key


def load_public_key(pem: str | bytes) -> RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    if not isinstance(key, RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key


def rsa_sign(key: RSAPrivateKey, message: bytes) -> str:
    """Base64 RSA-SHA256 (PKCS#1 v1.5) signature, as every v3 signature is."""
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa_verify(key: RSAPublicKey, message: bytes, signature_b64: str) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class MerchantKeys:
    """Everything about one merchant: the private half stays with the backend, the fake platform
    gets :meth:`FakeMerchant <miniapp_stub.pay.FakeMerchant>` built from the public half."""

    mchid: str
    serial_no: str
    private_key_pem: str = field(repr=False)
    public_key_pem: str
    apiv3_key: str = field(repr=False)
    appids: tuple[str, ...] = (DEFAULT_APPID,)


@dataclass(frozen=True)
class PlatformKeys:
    """The platform's signing key; ``serial`` is what ``Wechatpay-Serial`` names."""

    serial: str
    private_key_pem: str = field(repr=False)
    public_key_pem: str


def generate_test_merchant(
    mchid: str = DEFAULT_MCHID,
    appids: tuple[str, ...] = (DEFAULT_APPID,),
    *,
    serial_no: str | None = None,
    apiv3_key: str | None = None,
) -> MerchantKeys:
    key = _new_private_key()
    return MerchantKeys(
        mchid=mchid,
        serial_no=serial_no or secrets.token_hex(20).upper(),
        private_key_pem=private_pem(key),
        public_key_pem=public_pem(key),
        apiv3_key=apiv3_key or random_apiv3_key(),
        appids=appids,
    )


def generate_platform_keys(serial: str | None = None) -> PlatformKeys:
    key = _new_private_key()
    return PlatformKeys(
        serial=serial
        or "PUB_KEY_ID_01" + "".join(secrets.choice(string.digits) for _ in range(32)),
        private_key_pem=private_pem(key),
        public_key_pem=public_pem(key),
    )


@dataclass(frozen=True)
class DemoPayKeys:
    merchant: MerchantKeys
    platform: PlatformKeys
    directory: Path


def _write_atomically(path: Path, content: str, *, replace: bool) -> None:
    """Write ``path`` in one step. ``replace=False`` keeps an existing file: two processes
    starting together (the fake platform and the backend) end up with one key, never two."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(content)
        os.chmod(tmp, 0o600)
        if replace:
            os.replace(tmp, path)
            return
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def ensure_demo_keys(
    directory: Path, *, mchid: str = DEFAULT_MCHID, appids: tuple[str, ...] = (DEFAULT_APPID,)
) -> DemoPayKeys:
    """Load the demo key set from ``directory``, creating the missing key files first.

    Files: ``merchant_private_key.pem`` (backend), ``merchant_public_key.pem`` (fake platform),
    ``platform_private_key.pem`` (fake platform), ``platform_public_key.pem`` (backend). Public
    files are always derived from the private ones on disk, so they cannot disagree.
    """
    pairs = (
        (MERCHANT_KEY_FILE, MERCHANT_PUBLIC_KEY_FILE),
        (PLATFORM_KEY_FILE, PLATFORM_PUBLIC_KEY_FILE),
    )
    loaded: list[RSAPrivateKey] = []
    for private_name, public_name in pairs:
        private_path = directory / private_name
        if not private_path.exists():
            _write_atomically(private_path, private_pem(_new_private_key()), replace=False)
        key = load_private_key(private_path.read_bytes())
        # Rewritten every time so that it always matches the private key next to it.
        _write_atomically(directory / public_name, public_pem(key), replace=True)
        loaded.append(key)
    merchant_key, platform_key = loaded
    return DemoPayKeys(
        merchant=MerchantKeys(
            mchid=mchid,
            serial_no=DEFAULT_MERCHANT_SERIAL,
            private_key_pem=private_pem(merchant_key),
            public_key_pem=public_pem(merchant_key),
            apiv3_key=DEFAULT_APIV3_KEY,
            appids=appids,
        ),
        platform=PlatformKeys(
            serial=DEFAULT_PLATFORM_SERIAL,
            private_key_pem=private_pem(platform_key),
            public_key_pem=public_pem(platform_key),
        ),
        directory=directory,
    )
