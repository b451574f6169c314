"""The signed proof of service (电子送达凭证): a PDF whose content is signed with the court's
Ed25519 key, and its verification."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from backend.errors import AppError


class ProofInvalid(AppError):
    status = 422
    code = "proof_invalid"
    title = "Proof of service invalid / 送达凭证无效"


@dataclass(frozen=True)
class ProofDocument:
    title: str
    sha256: str
    size: int


@dataclass(frozen=True)
class ProofAttempt:
    channel: str
    address_masked: str
    status: str
    at: datetime
    detail: str


@dataclass(frozen=True)
class ProofOfService:
    proof_id: str
    court_name_zh: str
    case_number: str
    recipient_name: str
    recipient_role: str
    documents: tuple[ProofDocument, ...]
    attempts: tuple[ProofAttempt, ...]
    service_date: datetime | None
    legal_ground_zh: str
    legal_ground_en: str
    issued_at: datetime


def render_proof(proof: ProofOfService, signing_key: Ed25519PrivateKey, key_id: str) -> bytes:
    """The proof as a PDF carrying its canonical JSON and an Ed25519 signature over it."""
    raise NotImplementedError("proof PDFs are being implemented")


def verify_proof(pdf: bytes, public_keys: Mapping[str, Ed25519PublicKey]) -> ProofOfService:
    """Check a proof PDF's signature and that its visible text matches the signed data."""
    raise NotImplementedError("proof PDFs are being implemented")
