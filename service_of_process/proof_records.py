"""The proof of service from the record, and checking a presented proof against the record.

The proof is signed with the server's Ed25519 key (``MC_SERVER_SIGNING_KEY_FILE``), the same key
that signs the audit checkpoints: it is the court's seal for machine-checkable records. Its key
id is the key's ``kid``, so a rotated key keeps verifying older proofs as long as it stays in the
file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from backend.keys import SigningKey
from service_of_process.models import ServiceAttempt, ServiceDelivery, ServiceDocument, ServiceTask
from service_of_process.postal import failure_label
from service_of_process.proof import ProofAttempt, ProofDocument, ProofOfService
from service_of_process.rules import LEGAL_GROUNDS, NOT_SERVED_GROUND

ROLE_LABELS = {
    "plaintiff": "原告 / plaintiff",
    "defendant": "被告 / defendant",
    "third_party": "第三人 / third party",
    "agent": "诉讼代理人 / agent",
}


async def build_proof(
    delivery: ServiceDelivery, *, issued_at: datetime | None = None
) -> ProofOfService:
    task = await ServiceTask.get(id=delivery.task_id)  # type: ignore[attr-defined]
    documents = await ServiceDocument.filter(task_id=task.id).order_by("position")
    attempts = await ServiceAttempt.filter(delivery_id=delivery.id).order_by(
        "created_at", "channel"
    )
    rows = [
        ProofAttempt(
            channel=a.channel,
            address_masked=a.address_masked,
            status=a.status,
            at=a.delivered_at or a.sent_at or a.created_at,
            detail=a.detail,
        )
        for a in attempts
    ]
    if delivery.signed_at is not None:
        rows.append(
            ProofAttempt(
                channel="receipt",
                address_masked="",
                status="signed",
                at=delivery.signed_at,
                detail=f"signed in the app after a {delivery.signed_method} identity check",
            )
        )
    if delivery.postal_failed_at is not None:
        rows.append(
            ProofAttempt(
                "postal",
                "",
                "returned",
                delivery.postal_failed_at,
                f"{delivery.postal_failure_tracking}: {failure_label(delivery.postal_failure)}",
            )
        )
    if delivery.published_at is not None:
        notice = " ".join(
            part for part in (delivery.notice_medium, delivery.notice_reference) if part
        )
        rows.append(
            ProofAttempt(
                "public_notice", "", "published", delivery.published_at, notice or "public notice"
            )
        )
    if delivery.postal_served_at is not None:
        rows.append(
            ProofAttempt(
                "postal", "", "served", delivery.postal_served_at, delivery.postal_tracking or ""
            )
        )
    rows.sort(key=lambda r: r.at)
    ground = LEGAL_GROUNDS.get(delivery.service_rule or "", NOT_SERVED_GROUND)
    return ProofOfService(
        proof_id=str(delivery.id),
        court_name_zh=task.court_name_zh,
        case_number=task.case_number,
        recipient_name=delivery.recipient_name,
        recipient_role=ROLE_LABELS.get(delivery.recipient_role, delivery.recipient_role),
        documents=tuple(ProofDocument(d.title_zh, d.sha256, d.size) for d in documents),
        attempts=tuple(rows),
        service_date=delivery.service_date,
        legal_ground_zh=ground[0],
        legal_ground_en=ground[1],
        issued_at=issued_at or datetime.now(UTC),
    )


def public_keys(server_key: SigningKey) -> dict[str, Ed25519PublicKey]:
    return {server_key.kid: server_key.public_key}


async def compare_with_record(proof: ProofOfService) -> tuple[ServiceDelivery | None, list[str]]:
    """The delivery the proof names and how the proof differs from its current record."""
    try:
        delivery_id = UUID(proof.proof_id)
    except ValueError:
        return None, ["the proof names no delivery of this court"]
    delivery = await ServiceDelivery.get_or_none(id=delivery_id)
    if delivery is None:
        return None, ["the proof names no delivery of this court"]
    record = await build_proof(delivery, issued_at=proof.issued_at)
    differences: list[str] = []
    if {(d.sha256, d.size) for d in proof.documents} != {
        (d.sha256, d.size) for d in record.documents
    }:
        differences.append("documents (SHA-256) differ from the record")
    if proof.service_date != record.service_date:
        differences.append(
            "the service date differs from the record (it may have been fixed "
            "after this proof was issued)"
        )
    for name in ("case_number", "recipient_name", "court_name_zh"):
        if getattr(proof, name) != getattr(record, name):
            differences.append(f"{name} differs from the record")
    return delivery, differences
