"""E-signatures on generated documents (transcripts, mediation agreements).

The signer steps up first (parties and lawyers: a recent face check; court staff: a fresh
authenticator code) and the server's Ed25519 key signs a canonical
statement binding the document's SHA-256 to the signer, their role, the party signed for (a lawyer
signs as agent for their client) and the time; anyone holding the server's public key can check
each signature against the document.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from uuid import UUID, uuid4

from cryptography.exceptions import InvalidSignature
from tortoise.backends.base.client import BaseDBAsyncClient

from backend.errors import Conflict
from backend.keys import SigningKey
from hearings.asynchronous.models import DocumentSignature


def statement(
    document_kind: str,
    document_id: UUID,
    sha256: str,
    signer_id: UUID,
    signer_role: str,
    signed_at: datetime,
    presence_verified_at: datetime | None,
    party_id: UUID | None = None,
    step_up_method: str = "face",
) -> bytes:
    body: dict[str, str | None] = {
        "document_kind": document_kind,
        "document_id": str(document_id),
        "sha256": sha256,
        "signer_id": str(signer_id),
        "signer_role": signer_role,
        "signed_at": signed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "presence_verified_at": presence_verified_at.astimezone(UTC).isoformat()
        if presence_verified_at
        else None,
    }
    if party_id is not None:  # absent from statements signed before parties were named
        body["party_id"] = str(party_id)
    if step_up_method != "face":  # absent from face-checked statements, as before
        body["step_up_method"] = step_up_method
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def _statement_of(row: DocumentSignature) -> bytes:
    return statement(
        row.document_kind,
        row.document_id,
        row.document_sha256,
        row.signer_id,
        row.signer_role,
        row.signed_at,
        row.presence_verified_at,
        row.party_id,
        row.step_up_method,
    )


async def sign(
    conn: BaseDBAsyncClient,
    key: SigningKey,
    *,
    document_kind: str,
    document_id: UUID,
    sha256: str,
    signer_id: UUID,
    signer_role: str,
    presence_verified_at: datetime | None,
    party_id: UUID | None = None,
    step_up_method: str = "face",
) -> DocumentSignature:
    """Sign as ``signer_id``, for ``party_id`` (null: the judge). Each party signs once, in
    person or through its lawyer; a lawyer for several parties signs once for each."""
    mine = DocumentSignature.filter(
        document_kind=document_kind, document_id=document_id, signer_id=signer_id
    )
    mine = mine.filter(party_id=party_id) if party_id else mine.filter(party_id__isnull=True)
    if await mine.using_db(conn).exists():
        raise Conflict("您已签名 / you have already signed", code="already_signed")
    if (
        party_id is not None
        and await DocumentSignature.filter(
            document_kind=document_kind, document_id=document_id, party_id=party_id
        )
        .using_db(conn)
        .exists()
    ):
        raise Conflict("该当事人已签名 / this party has already signed", code="already_signed")
    row = DocumentSignature(
        id=uuid4(),
        document_kind=document_kind,
        document_id=document_id,
        document_sha256=sha256,
        signer_id=signer_id,
        signer_role=signer_role,
        party_id=party_id,
        signed_at=datetime.now(UTC),
        presence_verified_at=presence_verified_at,
        step_up_method=step_up_method,
        key_id=key.kid,
    )
    row.signature = base64.b64encode(key.private_key.sign(_statement_of(row))).decode()
    await row.save(using_db=conn)
    return row


async def signatures_of(document_kind: str, document_id: UUID) -> list[DocumentSignature]:
    return await DocumentSignature.filter(
        document_kind=document_kind, document_id=document_id
    ).order_by("signed_at")


def signature_valid(row: DocumentSignature, key: SigningKey, sha256: str) -> bool:
    """The signature verifies under the server key and covers exactly ``sha256``."""
    if row.key_id != key.kid or row.document_sha256 != sha256:
        return False
    try:
        key.public_key.verify(base64.b64decode(row.signature), _statement_of(row))
    except (InvalidSignature, ValueError):
        return False
    return True
