"""The mediation agreement: put to the parties by the mediator, e-signed for every party after a
face check — by the party or by its lawyer under an unrevoked power of attorney (the signature
records both) — effective at the last party's signature (Online Mediation Rules Art. 19), which
yields the mediation statement handed to the DocumentServer for electronic service."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID, uuid4

from tortoise.backends.base.client import BaseDBAsyncClient

from backend.audit.service import AuditLog
from backend.auth.principal import Actor, Principal
from backend.errors import Conflict, NotFound
from backend.keys import SigningKey
from backend.storage.blobs import BlobStore
from backend.storage.purposes import Purpose
from backend.storage.service import register_file
from backend.storage.sniff import FileKind
from filing.filings import add_event
from hearings.asynchronous.access import Case
from hearings.asynchronous.models import DocumentSignature
from hearings.asynchronous.notify import DocumentServer, ServedDocument, notify
from hearings.asynchronous.pdf import Section, render_pdf
from hearings.asynchronous.signing import sign, signatures_of
from hearings.mediation.access import RESOURCE
from hearings.mediation.models import Agreement, Mediation
from hearings.mediation.service import require_active, require_mediator, utcnow

AGREEMENT_KIND = "mediation_agreement"
MAX_STATEMENT_BYTES = 20 * 1024 * 1024


def terms_digest(mediation: Mediation, terms: str) -> str:
    return hashlib.sha256(f"{mediation.id}\n{terms}".encode()).hexdigest()


async def put_agreement(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    case: Case,
    mediation: Mediation,
    principal: Principal,
    terms: str,
) -> Agreement:
    """The mediator puts agreed terms to the parties; an earlier unsigned draft is superseded."""
    require_active(mediation)
    require_mediator(mediation)
    await (
        Agreement.filter(mediation_id=mediation.id, status="awaiting_signatures")
        .using_db(conn)
        .update(status="superseded")
    )
    agreement = await Agreement.create(
        id=uuid4(),
        mediation=mediation,
        terms=terms,
        terms_sha256=terms_digest(mediation, terms),
        created_by_id=principal.account_id,
        created_at=utcnow(),
        using_db=conn,
    )
    details = {
        "mediation_id": str(mediation.id),
        "agreement_id": str(agreement.id),
        "sha256": agreement.terms_sha256,
    }
    await audit.record(conn, actor, "mediation.agreement", RESOURCE, str(case.filing.id), details)
    await add_event(
        conn, case.filing, "mediation_agreement_proposed", principal.account_id, details
    )
    await notify(
        conn,
        signing_accounts(case),
        "signature_awaited",
        case_label=case.label,
        when=agreement.created_at,
        key=f"agreement:{agreement.id}",
    )
    return agreement


def required_parties(case: Case) -> frozenset[UUID]:
    """Every party of the case must have signed (Art. 19), itself or through its lawyer."""
    return frozenset(p.id for p in case.parties)


def signing_accounts(case: Case) -> frozenset[UUID]:
    """Who may sign: each party's own account and the lawyers acting for it."""
    return frozenset(a for p in case.parties for a in case.accounts_for_party(p.id))


def signed_parties(case: Case, rows: list[DocumentSignature]) -> frozenset[UUID]:
    """Parties with a signature; a signature from before parties were named counts for the
    parties whose own account signed."""
    named = {r.party_id for r in rows if r.party_id is not None}
    legacy = {r.signer_id for r in rows if r.party_id is None}
    return frozenset(named | {p.id for p in case.parties if p.account_id in legacy})


async def current_agreement(
    mediation: Mediation, conn: BaseDBAsyncClient | None = None
) -> Agreement:
    agreement = (
        await Agreement.filter(
            mediation_id=mediation.id, status__in=("awaiting_signatures", "effective")
        )
        .using_db(conn)
        .order_by("-created_at")
        .first()
    )
    if agreement is None:
        raise NotFound("尚无调解协议 / no agreement yet")
    return agreement


@dataclass(frozen=True)
class Signed:
    agreement: Agreement
    signature: DocumentSignature
    service_request_id: UUID | None


async def sign_agreement(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    key: SigningKey,
    blobs: BlobStore,
    server: DocumentServer,
    case: Case,
    mediation: Mediation,
    principal: Principal,
    presence_verified_at: datetime,
    party_id: UUID | None = None,
) -> Signed:
    """Sign for the caller's party (``party_id`` names it when a lawyer acts for several)."""
    require_active(mediation)
    agreement = await current_agreement(mediation, conn)
    if agreement.status != "awaiting_signatures":
        raise Conflict("协议已生效 / the agreement is already in effect", code="already_effective")
    if not case.parties_for(principal.account_id):
        raise NotFound("no agreement for you to sign")  # staff never sign for a party
    party = case.speaking_for(principal, party_id)
    role = case.role_of(principal)
    signature = await sign(
        conn,
        key,
        document_kind=AGREEMENT_KIND,
        document_id=agreement.id,
        sha256=agreement.terms_sha256,
        signer_id=principal.account_id,
        signer_role=role,
        presence_verified_at=presence_verified_at,
        party_id=party.id,
    )
    details = {
        "agreement_id": str(agreement.id),
        "signer_role": role,
        "party_id": str(party.id),
        "as_agent": party.account_id != principal.account_id,
    }
    await audit.record(conn, actor, "mediation.sign", RESOURCE, str(case.filing.id), details)
    await add_event(conn, case.filing, "mediation_agreement_signed", principal.account_id, details)
    rows = await DocumentSignature.filter(
        document_kind=AGREEMENT_KIND, document_id=agreement.id
    ).using_db(conn)
    if not required_parties(case) <= signed_parties(case, rows):
        return Signed(agreement, signature, None)
    # The last signature: the agreement takes effect at that moment (Art. 19).
    agreement.status, agreement.effective_at = "effective", signature.signed_at
    mediation.status, mediation.closed_at = "agreed", signature.signed_at
    await mediation.save(using_db=conn)
    data = await asyncio.get_running_loop().run_in_executor(
        None, render_pdf, *await _statement(case, mediation, agreement)
    )
    blob = await blobs.put_bytes(
        data, allowed=frozenset({FileKind.PDF}), max_bytes=MAX_STATEMENT_BYTES
    )
    stored = await register_file(
        conn,
        blob=blob,
        original_name="mediation-statement.pdf",
        purpose=Purpose.DOCUMENT.value,
        owner_account_id=mediation.mediator_id or principal.account_id,
    )
    agreement.statement_file_id, agreement.statement_sha256 = stored.id, blob.sha256
    await agreement.save(using_db=conn)
    request_id = await server.serve(
        conn,
        ServedDocument(
            filing_id=case.filing.id,
            document_kind="mediation_statement",
            document_id=agreement.id,
            file_id=stored.id,
            sha256=blob.sha256,
            title_zh="民事调解书",
            title_en="Mediation statement",
        ),
        sorted(case.participant_accounts, key=str),
    )
    details = {"agreement_id": str(agreement.id), "statement_sha256": blob.sha256}
    await audit.record(conn, actor, "mediation.effective", RESOURCE, str(case.filing.id), details)
    await add_event(conn, case.filing, "mediation_agreement_effective", None, details)
    return Signed(agreement, signature, request_id)


async def _statement(
    case: Case, mediation: Mediation, agreement: Agreement
) -> tuple[str, str, list[Section]]:
    rows = await signatures_of(AGREEMENT_KIND, agreement.id)
    names = {p.id: (p.role, p.name, p.account_id) for p in case.parties}

    def line(row: DocumentSignature) -> str:
        role, name, own = names.get(row.party_id, (row.signer_role, "", None))  # type: ignore[arg-type]
        by = (
            " 本人签署/signed in person"
            if row.signer_id == own
            else (" 委托代理人代为签署/signed by the lawyer as agent" if row.party_id else "")
        )
        return f"{role} {name}{by} {row.signed_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"

    return (
        "调解书 / Mediation statement",
        f"案号/case: {case.label}",
        [
            Section("当事人 / Parties", [f"{p.role}: {p.name}" for p in case.parties]),
            Section("调解协议 / Agreed terms", [agreement.terms]),
            Section(
                "签名 / Signatures",
                [line(r) for r in rows]
                + [f"生效时间/effective: {agreement.effective_at:%Y-%m-%d %H:%M:%S} UTC"],
            ),
            Section("协议摘要 / Terms SHA-256", [agreement.terms_sha256]),
        ],
    )
