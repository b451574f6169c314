"""The case record as the API shows it: authorisation of a filing request and the response
shapes (masked for the other side). Shared by the drafting and the review routes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from aiohttp import web
from tortoise.backends.base.client import BaseDBAsyncClient

from backend.appkeys import DATABASE, KEYRING, POLICY
from backend.auth.principal import Principal
from backend.errors import NotFound, ValidationFailed
from backend.fieldcrypto import FieldCipher
from backend.http import require_principal
from filing import filings as svc
from filing.access import (
    RESOURCE,
    FilingAccess,
    build_access,
    load_access,
    load_record_access,
    sees_unmasked,
)
from filing.models import (
    CorrectionNotice,
    Evidence,
    Filing,
    Forwarding,
    Party,
    Representation,
)
from filing.parties import party_out
from filing.schemas import (
    CorrectionOut,
    EvidenceOut,
    FeeNoticeOut,
    FilingOut,
    FilingSummaryOut,
    ForwardingOut,
    RepresentationOut,
    RoutingReasonOut,
)


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def field_cipher(request: web.Request) -> FieldCipher:
    return FieldCipher(request.config_dict[KEYRING].field_key)


async def authorize(
    request: web.Request, action: str, conn: BaseDBAsyncClient | None = None
) -> tuple[Filing, FilingAccess, list[Party]]:
    principal = require_principal(request)
    filing = await svc.get_filing(request.match_info["filing_id"], conn)
    access, parties = await load_access(filing)
    request.config_dict[POLICY].check(principal, action, RESOURCE, access)
    return filing, access, parties


def uuid_field(value: str, field: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise ValidationFailed(
            f"{field} is not a valid id",
            errors=[{"location": "body", "field": field, "message": "not a UUID", "type": "uuid"}],
        ) from None


# ------------------------------------------------------------------------------- shapes


async def filing_out(
    filing: Filing,
    access: FilingAccess,
    parties: list[Party],
    principal: Principal,
    representations: list[Representation] | None = None,
    collections: tuple[list[Evidence], list[CorrectionNotice], list[Forwarding]] | None = None,
) -> FilingOut:
    """``representations``: every one of the filing's, oldest first, when the caller already
    read them (``load_record_access``); read here otherwise. ``collections``: the evidence (not
    removed), correction notices and forwardings in record order, when already read."""
    reps = representations
    if reps is None:
        reps = await Representation.filter(party__filing_id=filing.id).order_by("granted_at")
    if collections is not None:
        evidence, corrections, forwardings = collections
    else:
        evidence = await Evidence.filter(filing_id=filing.id, removed_at__isnull=True).order_by(
            "uploaded_at"
        )
        corrections = await CorrectionNotice.filter(filing_id=filing.id).order_by("issued_at")
        forwardings = await Forwarding.filter(filing_id=filing.id).order_by("at")
    # A lawyer's account id is for court staff and the side the lawyer acts for (the console
    # invites by it); the other side never learns it.
    role_of = {p.id: p.role for p in parties}
    fee = None
    if filing.fee_total is not None and filing.fee_due_on is not None:
        fee = FeeNoticeOut(
            total=str(filing.fee_total),
            due_on=str(filing.fee_due_on),
            quote=filing.fee_quote or {},
            payable=None if filing.fee_payable is None else str(filing.fee_payable),
            relief=filing.fee_relief,
            paid=filing.fee_paid_at is not None,
        )
    return FilingOut(
        id=str(filing.id),
        status=filing.status,
        receiving_court=filing.receiving_court_code,
        competent_court=filing.competent_court_code,
        case_type=filing.case_type_code,
        procedure=filing.procedure,
        cause=filing.cause_code,
        claim_amount=None if filing.claim_amount is None else str(filing.claim_amount),
        claims=filing.claims,
        facts_and_reasons=filing.facts_and_reasons,
        received_at=iso(filing.received_at),
        clock_started_at=iso(filing.clock_started_at),
        decision_due_on=str(filing.decision_due_on) if filing.decision_due_on else None,
        case_number=filing.case_number,
        refusal_reason=filing.refusal_reason,
        assigned_judge_id=str(filing.assigned_judge_id) if filing.assigned_judge_id else None,
        assigned_clerk_id=str(filing.assigned_clerk_id) if filing.assigned_clerk_id else None,
        routing_reasons=[RoutingReasonOut(**r) for r in filing.routing_reasons],
        parties=[
            party_out(
                p,
                masked=not sees_unmasked(principal, access, p.role),
                staff=principal.is_court_staff,
            )
            for p in parties
        ],
        representations=[
            RepresentationOut(
                id=str(r.id),
                party_id=str(r.party_id),  # type: ignore[attr-defined]
                lawyer_account_id=str(r.lawyer_account_id)
                if sees_unmasked(principal, access, role_of.get(r.party_id, ""))  # type: ignore[attr-defined]
                else None,
                power_of_attorney_file_id=str(r.power_of_attorney_file_id),
                granted_at=iso(r.granted_at) or "",
                revoked_at=iso(r.revoked_at),
            )
            for r in reps
        ],
        evidence=[evidence_out(e) for e in evidence],
        corrections=[
            CorrectionOut(
                id=str(c.id),
                items=c.items,
                deadline=str(c.deadline),
                issued_at=iso(c.issued_at) or "",
                answered_at=iso(c.answered_at),
            )
            for c in corrections
        ],
        forwardings=[
            ForwardingOut(
                from_court=f.from_court_code,
                to_court=f.to_court_code,
                reason=f.reason,
                at=iso(f.at) or "",
            )
            for f in forwardings
        ],
        fee_notice=fee,
    )


def evidence_out(e: Evidence) -> EvidenceOut:
    return EvidenceOut(
        id=str(e.id),
        title=e.title,
        description=e.description,
        sha256=e.sha256,
        size=e.size,
        media_type=e.media_type,
        uploaded_at=iso(e.uploaded_at) or "",
        anchor_seq=e.anchor_seq,
    )


def summary(f: Filing) -> FilingSummaryOut:
    return FilingSummaryOut(
        id=str(f.id),
        status=f.status,
        receiving_court=f.receiving_court_code,
        competent_court=f.competent_court_code,
        cause=f.cause_code,
        case_number=f.case_number,
        created_at=iso(f.created_at) or "",
    )


async def detail(request: web.Request, filing: Filing) -> FilingOut:
    access, parties, reps = await load_record_access(filing)
    return await filing_out(filing, access, parties, require_principal(request), reps)


# The case record's reads, for the polling hot path: whole rows (``SELECT *``) as models, in the
# orders the ORM queries of ``load_record_access`` / ``filing_out`` use.
FILING_SQL = "SELECT * FROM filing_filing WHERE id = ?"
PARTIES_SQL = "SELECT * FROM filing_party WHERE filing_id = ? ORDER BY created_at, id"
REPRESENTATIONS_SQL = (
    "SELECT r.* FROM filing_representation r JOIN filing_party p ON p.id = r.party_id "
    "WHERE p.filing_id = ? ORDER BY r.granted_at"
)
EVIDENCE_SQL = (
    "SELECT * FROM filing_evidence WHERE filing_id = ? AND removed_at IS NULL ORDER BY uploaded_at"
)
CORRECTIONS_SQL = "SELECT * FROM filing_correction WHERE filing_id = ? ORDER BY issued_at"
FORWARDINGS_SQL = "SELECT * FROM filing_forwarding WHERE filing_id = ? ORDER BY at"


async def read_record(request: web.Request, action: str) -> FilingOut:
    """Authorise ``action`` and answer with the case record, reading the parties and powers of
    attorney once for both (the hot path of a lawyer polling a case's status).

    Committed data, read outside any transaction through ``Database.read`` (raw SQL into the
    same models): building six ORM queries cost more CPU than running them.
    """
    principal = require_principal(request)
    try:
        key = UUID(request.match_info["filing_id"])
    except ValueError:
        raise NotFound("no such case") from None
    db = request.config_dict[DATABASE]
    param = db.uuid_param(key)
    found = await db.read_models(Filing, db.sql(FILING_SQL), param)
    if not found:
        raise NotFound("no such case")
    filing = found[0]
    parties = await db.read_models(Party, db.sql(PARTIES_SQL), param)
    reps = (
        await db.read_models(Representation, db.sql(REPRESENTATIONS_SQL), param) if parties else []
    )
    access = build_access(filing, parties, reps)
    request.config_dict[POLICY].check(principal, action, RESOURCE, access)
    return await filing_out(
        filing,
        access,
        parties,
        principal,
        reps,
        collections=(
            await db.read_models(Evidence, db.sql(EVIDENCE_SQL), param),
            await db.read_models(CorrectionNotice, db.sql(CORRECTIONS_SQL), param),
            await db.read_models(Forwarding, db.sql(FORWARDINGS_SQL), param),
        ),
    )
