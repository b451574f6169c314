"""/api/v1/filing/filings…, review queue and case search: the filing workflow over HTTP.

Every handler authorises through the policy (``filing.access``) on a fresh view of the filing, so
every denial is a 404 and a revoked power of attorney applies on the next request.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

from aiohttp import web
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from backend.appkeys import AUDIT, KEYRING, POLICY
from backend.auth.models import Account
from backend.auth.principal import Principal, Role
from backend.errors import NotFound, ValidationFailed
from backend.fieldcrypto import FieldCipher
from backend.http import endpoint, request_actor, require_principal
from backend.storage.http import read_upload
from backend.storage.purposes import RULES, Purpose
from backend.storage.service import register_file
from filing import filings as svc
from filing.access import (
    ASSIGN,
    EDIT,
    READ,
    RESOURCE,
    REVIEW,
    FilingAccess,
    load_access,
    sees_unmasked,
)
from filing.case_numbers import parse_case_number
from filing.models import (
    CaseEvent,
    CorrectionNotice,
    Evidence,
    Filing,
    FilingStatus,
    Forwarding,
    Party,
    Representation,
)
from filing.parties import create_party, party_out
from filing.schemas import (
    AssignIn,
    CaseEventOut,
    CaseNumberQuery,
    ClaimIn,
    CorrectionIn,
    CorrectionOut,
    EvidenceOut,
    EvidenceVerifyOut,
    FeeNoticeOut,
    FilingCreate,
    FilingOut,
    FilingPage,
    FilingSummaryOut,
    FilingUpdate,
    ForwardingOut,
    MineQuery,
    PartyIn,
    PartyOut,
    RefuseIn,
    RepresentationOut,
    ReviewItemOut,
    ReviewPage,
    RoutingReasonOut,
    TimelineOut,
)
from filing.workflow import (
    PENDING_REVIEW,
    china_date,
    invalid_transition,
    require_editable,
    time_left,
    utcnow,
)

routes = web.RouteTableDef()
TAGS = ("filing",)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _cipher(request: web.Request) -> FieldCipher:
    return FieldCipher(request.config_dict[KEYRING].field_key)


async def _authorize(
    request: web.Request, action: str, conn: BaseDBAsyncClient | None = None
) -> tuple[Filing, FilingAccess, list[Party]]:
    principal = require_principal(request)
    filing = await svc.get_filing(request.match_info["filing_id"], conn)
    access, parties = await load_access(filing)
    request.config_dict[POLICY].check(principal, action, RESOURCE, access)
    return filing, access, parties


def _uuid(value: str, field: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise ValidationFailed(
            f"{field} is not a valid id",
            errors=[{"location": "body", "field": field, "message": "not a UUID", "type": "uuid"}],
        ) from None


# ------------------------------------------------------------------------------- shapes


async def filing_out(
    filing: Filing, access: FilingAccess, parties: list[Party], principal: Principal
) -> FilingOut:
    reps = await Representation.filter(party__filing_id=filing.id).order_by("granted_at")
    evidence = await Evidence.filter(filing_id=filing.id, removed_at__isnull=True).order_by(
        "uploaded_at"
    )
    corrections = await CorrectionNotice.filter(filing_id=filing.id).order_by("issued_at")
    forwardings = await Forwarding.filter(filing_id=filing.id).order_by("at")
    fee = None
    if filing.fee_total is not None and filing.fee_due_on is not None:
        fee = FeeNoticeOut(
            total=str(filing.fee_total), due_on=str(filing.fee_due_on), quote=filing.fee_quote or {}
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
        received_at=_iso(filing.received_at),
        clock_started_at=_iso(filing.clock_started_at),
        decision_due_on=str(filing.decision_due_on) if filing.decision_due_on else None,
        case_number=filing.case_number,
        refusal_reason=filing.refusal_reason,
        assigned_judge_id=str(filing.assigned_judge_id) if filing.assigned_judge_id else None,
        assigned_clerk_id=str(filing.assigned_clerk_id) if filing.assigned_clerk_id else None,
        routing_reasons=[RoutingReasonOut(**r) for r in filing.routing_reasons],
        parties=[
            party_out(p, masked=not sees_unmasked(principal, access, p.role)) for p in parties
        ],
        representations=[
            RepresentationOut(
                id=str(r.id),
                party_id=str(r.party_id),  # type: ignore[attr-defined]
                lawyer_account_id=str(r.lawyer_account_id),
                power_of_attorney_file_id=str(r.power_of_attorney_file_id),
                granted_at=_iso(r.granted_at) or "",
                revoked_at=_iso(r.revoked_at),
            )
            for r in reps
        ],
        evidence=[_evidence_out(e) for e in evidence],
        corrections=[
            CorrectionOut(
                id=str(c.id),
                items=c.items,
                deadline=str(c.deadline),
                issued_at=_iso(c.issued_at) or "",
                answered_at=_iso(c.answered_at),
            )
            for c in corrections
        ],
        forwardings=[
            ForwardingOut(
                from_court=f.from_court_code,
                to_court=f.to_court_code,
                reason=f.reason,
                at=_iso(f.at) or "",
            )
            for f in forwardings
        ],
        fee_notice=fee,
    )


def _evidence_out(e: Evidence) -> EvidenceOut:
    return EvidenceOut(
        id=str(e.id),
        title=e.title,
        description=e.description,
        sha256=e.sha256,
        size=e.size,
        media_type=e.media_type,
        uploaded_at=_iso(e.uploaded_at) or "",
        anchor_seq=e.anchor_seq,
    )


def _summary(f: Filing) -> FilingSummaryOut:
    return FilingSummaryOut(
        id=str(f.id),
        status=f.status,
        receiving_court=f.receiving_court_code,
        competent_court=f.competent_court_code,
        cause=f.cause_code,
        case_number=f.case_number,
        created_at=_iso(f.created_at) or "",
    )


async def _detail(request: web.Request, filing: Filing) -> FilingOut:
    access, parties = await load_access(filing)
    return await filing_out(filing, access, parties, require_principal(request))


# ------------------------------------------------------------------------------ drafting


@routes.post("/filings")
@endpoint(
    "Start a draft filing at any court",
    body=FilingCreate,
    response=FilingOut,
    status=201,
    roles={Role.LITIGANT, Role.LAWYER},
    tags=TAGS,
    errors=(422,),
)
async def create_filing(request: web.Request, *, body: FilingCreate) -> FilingOut:
    principal = require_principal(request)
    async with in_transaction() as conn:
        filing = await svc.create_draft(
            conn, request.config_dict[AUDIT], request_actor(request), principal, body
        )
    return await _detail(request, filing)


@routes.get("/filings")
@endpoint("My filings (newest first)", query=MineQuery, response=FilingPage, tags=TAGS)
async def my_filings(request: web.Request, *, query: MineQuery) -> FilingPage:
    principal = require_principal(request)
    who = principal.account_id
    party_of = Party.filter(account_id=who).values_list("filing_id", flat=True)
    agent_of = Representation.filter(lawyer_account_id=who, revoked_at__isnull=True).values_list(
        "party__filing_id", flat=True
    )
    ids = {*(await party_of), *(await agent_of)}
    offset = int(query.cursor) if query.cursor and query.cursor.isdigit() else 0
    rows = (
        await Filing.filter(Q(id__in=list(ids)) | Q(created_by_id=who, status="draft"))
        .order_by("-created_at", "id")
        .offset(offset)
        .limit(query.limit + 1)
    )
    more = len(rows) > query.limit
    return FilingPage(
        items=[_summary(f) for f in rows[: query.limit]],
        next_cursor=str(offset + query.limit) if more else None,
    )


@routes.get("/filings/{filing_id}")
@endpoint("A filing: the case record, masked for the other side", response=FilingOut, tags=TAGS)
async def get_filing(request: web.Request) -> FilingOut:
    filing, access, parties = await _authorize(request, READ)
    return await filing_out(filing, access, parties, require_principal(request))


@routes.patch("/filings/{filing_id}")
@endpoint(
    "Change a draft's claims, amount or facts", body=FilingUpdate, response=FilingOut, tags=TAGS
)
async def update_filing(request: web.Request, *, body: FilingUpdate) -> FilingOut:
    async with in_transaction() as conn:
        filing, _, _ = await _authorize(request, EDIT, conn)
        await svc.update_draft(
            conn, request.config_dict[AUDIT], request_actor(request), filing, body
        )
    return await _detail(request, filing)


@routes.post("/filings/{filing_id}/parties")
@endpoint(
    "Add a party", body=PartyIn, response=PartyOut, status=201, tags=TAGS, errors=(404, 409, 422)
)
async def add_party(request: web.Request, *, body: PartyIn) -> PartyOut:
    principal = require_principal(request)
    async with in_transaction() as conn:
        filing, _, _ = await _authorize(request, EDIT, conn)
        require_editable(filing)
        account = principal.account_id if body.is_me else None
        party = await create_party(conn, filing, body, _cipher(request), account)
        await svc.add_event(conn, filing, "party_added", principal.account_id, {"role": party.role})
        await request.config_dict[AUDIT].record(
            conn,
            request_actor(request),
            "filing.add_party",
            RESOURCE,
            str(filing.id),
            {"party_id": str(party.id), "role": party.role},
        )
    return party_out(party, masked=False)


@routes.delete("/filings/{filing_id}/parties/{party_id}")
@endpoint("Remove a party from a draft", tags=TAGS, errors=(404, 409))
async def remove_party(request: web.Request) -> None:
    async with in_transaction() as conn:
        filing, _, parties = await _authorize(request, EDIT, conn)
        require_editable(filing)
        party = next((p for p in parties if str(p.id) == request.match_info["party_id"]), None)
        if party is None:
            raise NotFound("no such party")
        await party.delete(using_db=conn)
        await request.config_dict[AUDIT].record(
            conn,
            request_actor(request),
            "filing.remove_party",
            RESOURCE,
            str(filing.id),
            {"party_id": str(party.id)},
        )


@routes.post("/filings/{filing_id}/representations")
@endpoint(
    "A power of attorney (multipart: party_id, lawyer_id when the party uploads it, file: "
    "PDF/JPEG/PNG); sent by the lawyer while drafting, or by the party at any time",
    response=RepresentationOut,
    status=201,
    tags=TAGS,
    request_content={"multipart/form-data": {"schema": {"type": "object"}}},
    errors=(404, 409, 413, 415, 422),
)
async def add_representation(request: web.Request) -> RepresentationOut:
    principal = require_principal(request)
    filing, _, _ = await _authorize(request, EDIT)
    upload = await read_upload(
        request, rule=RULES[Purpose.DOCUMENT], text_fields=("party_id", "lawyer_id")
    )
    party_id = _uuid(upload.fields.get("party_id", ""), "party_id")
    async with in_transaction() as conn:
        filing, _, parties = await _authorize(request, EDIT, conn)
        party = next((p for p in parties if p.id == party_id), None)
        if party is None:
            raise NotFound("no such party")
        if party.account_id == principal.account_id:
            # The party appoints a lawyer (at any stage before a decision refuses the case).
            if filing.status == FilingStatus.REFUSED.value:
                raise invalid_transition(filing.status, "represented")
            lawyer_id = _uuid(upload.fields.get("lawyer_id", ""), "lawyer_id")
            lawyer = await Account.get_or_none(id=lawyer_id, using_db=conn)
            if lawyer is None or Role.LAWYER.value not in lawyer.roles:
                raise ValidationFailed(
                    "lawyer_id is not a lawyer's account",
                    errors=[
                        {
                            "location": "body",
                            "field": "lawyer_id",
                            "message": "not a lawyer",
                            "type": "not_lawyer",
                        }
                    ],
                )
        elif principal.has(Role.LAWYER):
            require_editable(filing)
            lawyer_id = principal.account_id
        else:
            raise NotFound("no such party")
        stored = await register_file(
            conn,
            blob=upload.blob,
            original_name=upload.filename,
            purpose=Purpose.DOCUMENT.value,
            owner_account_id=principal.account_id,
        )
        rep = await Representation.create(
            id=uuid4(),
            party_id=party_id,
            lawyer_account_id=lawyer_id,
            power_of_attorney_file_id=stored.id,
            granted_at=utcnow(),
            using_db=conn,
        )
        await svc.add_event(conn, filing, "representation_granted", principal.account_id)
        await request.config_dict[AUDIT].record(
            conn,
            request_actor(request),
            "filing.represent",
            RESOURCE,
            str(filing.id),
            {"party_id": str(party_id), "representation_id": str(rep.id)},
        )
    return RepresentationOut(
        id=str(rep.id),
        party_id=str(party_id),
        lawyer_account_id=str(rep.lawyer_account_id),
        power_of_attorney_file_id=str(stored.id),
        granted_at=_iso(rep.granted_at) or "",
        revoked_at=None,
    )


@routes.post("/filings/{filing_id}/representations/{rep_id}/revoke")
@endpoint("Revoke a power of attorney (the party or the lawyer)", tags=TAGS, errors=(404, 409))
async def revoke_representation(request: web.Request) -> None:
    principal = require_principal(request)
    async with in_transaction() as conn:
        filing, _, parties = await _authorize(request, READ, conn)
        try:
            rep_id = UUID(request.match_info["rep_id"])
        except ValueError:
            raise NotFound("no such representation") from None
        rep = (
            await Representation.filter(
                id=rep_id, party__filing_id=filing.id, revoked_at__isnull=True
            )
            .using_db(conn)
            .first()
        )
        if rep is None:
            raise NotFound("no such representation")
        party = next(p for p in parties if p.id == rep.party_id)  # type: ignore[attr-defined]
        if principal.account_id not in {party.account_id, rep.lawyer_account_id}:
            raise NotFound("no such representation")
        rep.revoked_at = utcnow()
        await rep.save(using_db=conn, update_fields=["revoked_at"])
        await svc.add_event(conn, filing, "representation_revoked", principal.account_id)
        await request.config_dict[AUDIT].record(
            conn,
            request_actor(request),
            "filing.revoke_representation",
            RESOURCE,
            str(filing.id),
            {"representation_id": str(rep.id)},
        )


@routes.post("/filings/{filing_id}/evidence")
@endpoint(
    "Add evidence (multipart: title, description, file)",
    response=EvidenceOut,
    status=201,
    tags=TAGS,
    request_content={"multipart/form-data": {"schema": {"type": "object"}}},
    errors=(404, 409, 413, 415, 422),
)
async def add_evidence(request: web.Request) -> EvidenceOut:
    principal = require_principal(request)
    filing, _, _ = await _authorize(request, EDIT)
    require_editable(filing)
    upload = await read_upload(
        request, rule=RULES[Purpose.EVIDENCE], text_fields=("title", "description")
    )
    title = upload.fields.get("title", "").strip()
    if not 1 <= len(title) <= 200:
        raise ValidationFailed(
            "give the evidence a title",
            errors=[
                {"location": "body", "field": "title", "message": "required", "type": "missing"}
            ],
        )
    async with in_transaction() as conn:
        filing, _, _ = await _authorize(request, EDIT, conn)
        require_editable(filing)
        stored = await register_file(
            conn,
            blob=upload.blob,
            original_name=upload.filename,
            purpose=Purpose.EVIDENCE.value,
            owner_account_id=principal.account_id,
        )
        evidence = await Evidence.create(
            id=uuid4(),
            filing=filing,
            title=title,
            description=upload.fields.get("description", ""),
            file_id=stored.id,
            sha256=upload.blob.sha256,
            size=upload.blob.size,
            media_type=upload.blob.media_type,
            uploaded_by_id=principal.account_id,
            uploaded_at=utcnow(),
            using_db=conn,
        )
        event = await request.config_dict[AUDIT].record(
            conn,
            request_actor(request),
            "filing.add_evidence",
            RESOURCE,
            str(filing.id),
            {"evidence_id": str(evidence.id), "sha256": evidence.sha256, "size": evidence.size},
        )
        evidence.anchor_seq = event.seq
        await evidence.save(using_db=conn, update_fields=["anchor_seq"])
        await svc.add_event(
            conn,
            filing,
            "evidence_added",
            principal.account_id,
            {"evidence_id": str(evidence.id), "sha256": evidence.sha256, "anchor_seq": event.seq},
        )
    return _evidence_out(evidence)


@routes.delete("/filings/{filing_id}/evidence/{evidence_id}")
@endpoint(
    "Withdraw an evidence item (kept in the record as withdrawn)", tags=TAGS, errors=(404, 409)
)
async def remove_evidence(request: web.Request) -> None:
    principal = require_principal(request)
    async with in_transaction() as conn:
        filing, _, _ = await _authorize(request, EDIT, conn)
        require_editable(filing)
        try:
            evidence_id = UUID(request.match_info["evidence_id"])
        except ValueError:
            raise NotFound("no such evidence") from None
        evidence = (
            await Evidence.filter(id=evidence_id, filing_id=filing.id, removed_at__isnull=True)
            .using_db(conn)
            .first()
        )
        if evidence is None:
            raise NotFound("no such evidence")
        # The row stays: its hash is anchored in the audit chain and the timeline refers to it.
        evidence.removed_at = utcnow()
        await evidence.save(using_db=conn, update_fields=["removed_at"])
        await svc.add_event(
            conn,
            filing,
            "evidence_withdrawn",
            principal.account_id,
            {"evidence_id": str(evidence.id)},
        )
        await request.config_dict[AUDIT].record(
            conn,
            request_actor(request),
            "filing.withdraw_evidence",
            RESOURCE,
            str(filing.id),
            {"evidence_id": str(evidence.id)},
        )


@routes.post("/filings/{filing_id}/evidence/verify")
@endpoint(
    "Does a file match an evidence item of this record? (multipart: file)",
    response=EvidenceVerifyOut,
    tags=TAGS,
    request_content={"multipart/form-data": {"schema": {"type": "object"}}},
    errors=(404, 413, 415, 422),
)
async def verify_evidence(request: web.Request) -> EvidenceVerifyOut:
    filing, _, _ = await _authorize(request, READ)
    upload = await read_upload(request, rule=RULES[Purpose.EVIDENCE])
    match = await Evidence.filter(
        filing_id=filing.id, sha256=upload.blob.sha256, removed_at__isnull=True
    ).first()
    return EvidenceVerifyOut(
        sha256=upload.blob.sha256,
        matches=match is not None,
        evidence_id=str(match.id) if match else None,
        anchor_seq=match.anchor_seq if match else None,
    )


@routes.post("/filings/{filing_id}/submit")
@endpoint(
    "Submit: route to the competent court (forwarding if needed)",
    response=FilingOut,
    tags=TAGS,
    errors=(404, 409, 422),
)
async def submit_filing(request: web.Request) -> FilingOut:
    principal = require_principal(request)
    async with in_transaction() as conn:
        filing, _, _ = await _authorize(request, EDIT, conn)
        await svc.submit(
            conn, request.config_dict[AUDIT], request_actor(request), principal, filing
        )
    return await _detail(request, filing)


@routes.post("/filings/{filing_id}/resubmit")
@endpoint(
    "Answer the correction notice (the review clock restarts the next day)",
    response=FilingOut,
    tags=TAGS,
    errors=(404, 409),
)
async def resubmit_filing(request: web.Request) -> FilingOut:
    principal = require_principal(request)
    async with in_transaction() as conn:
        filing, _, _ = await _authorize(request, EDIT, conn)
        await svc.resubmit(
            conn, request.config_dict[AUDIT], request_actor(request), principal, filing
        )
    return await _detail(request, filing)


# -------------------------------------------------------------------------------- review


@routes.get("/review-queue")
@endpoint(
    "Filings waiting for review at my court, oldest deadline first",
    query=MineQuery,
    response=ReviewPage,
    roles={Role.CLERK, Role.COURT_ADMIN},
    tags=TAGS,
)
async def review_queue(request: web.Request, *, query: MineQuery) -> ReviewPage:
    principal = require_principal(request)
    offset = int(query.cursor) if query.cursor and query.cursor.isdigit() else 0
    rows = (
        await Filing.filter(
            competent_court_code=principal.court_code,
            status__in=[s.value for s in PENDING_REVIEW],
        )
        .order_by("decision_due_on", "received_at", "id")
        .offset(offset)
        .limit(query.limit + 1)
    )
    today = china_date(utcnow())
    items = []
    for f in rows[: query.limit]:
        days, near, over = time_left(f.decision_due_on, today)
        items.append(
            ReviewItemOut(
                id=str(f.id),
                status=f.status,
                receiving_court=f.receiving_court_code,
                cause=f.cause_code,
                received_at=_iso(f.received_at),
                clock_started_at=_iso(f.clock_started_at),
                decision_due_on=str(f.decision_due_on) if f.decision_due_on else None,
                days_left=days,
                near_limit=near,
                over_limit=over,
            )
        )
    more = len(rows) > query.limit
    return ReviewPage(items=items, next_cursor=str(offset + query.limit) if more else None)


@routes.post("/filings/{filing_id}/corrections")
@endpoint(
    "Request corrections: one notice listing every item",
    body=CorrectionIn,
    response=CorrectionOut,
    status=201,
    tags=TAGS,
    errors=(404, 409, 422),
)
async def request_correction(request: web.Request, *, body: CorrectionIn) -> CorrectionOut:
    principal = require_principal(request)
    async with in_transaction() as conn:
        filing, _, _ = await _authorize(request, REVIEW, conn)
        notice = await svc.request_correction(
            conn,
            request.config_dict[AUDIT],
            request_actor(request),
            principal,
            filing,
            body.items,
            body.deadline_days,
        )
    return CorrectionOut(
        id=str(notice.id),
        items=notice.items,
        deadline=str(notice.deadline),
        issued_at=_iso(notice.issued_at) or "",
        answered_at=None,
    )


@routes.post("/filings/{filing_id}/register")
@endpoint(
    "Register the case: case number and fee notice",
    response=FilingOut,
    tags=TAGS,
    errors=(404, 409),
)
async def register_filing(request: web.Request) -> FilingOut:
    principal = require_principal(request)
    async with in_transaction() as conn:
        filing, _, _ = await _authorize(request, REVIEW, conn)
        await svc.register(
            conn, request.config_dict[AUDIT], request_actor(request), principal, filing
        )
    return await _detail(request, filing)


@routes.post("/filings/{filing_id}/refuse")
@endpoint(
    "Refuse registration, with reasons (appealable)",
    body=RefuseIn,
    response=FilingOut,
    tags=TAGS,
    errors=(404, 409),
)
async def refuse_filing(request: web.Request, *, body: RefuseIn) -> FilingOut:
    principal = require_principal(request)
    async with in_transaction() as conn:
        filing, _, _ = await _authorize(request, REVIEW, conn)
        await svc.refuse(
            conn, request.config_dict[AUDIT], request_actor(request), principal, filing, body.reason
        )
    return await _detail(request, filing)


@routes.post("/filings/{filing_id}/assignment")
@endpoint(
    "Assign the judge and clerk (court administrator)",
    body=AssignIn,
    response=FilingOut,
    tags=TAGS,
    errors=(404, 409, 422),
)
async def assign_staff(request: web.Request, *, body: AssignIn) -> FilingOut:
    principal = require_principal(request)
    judge = _uuid(body.judge_id, "judge_id") if body.judge_id else None
    clerk = _uuid(body.clerk_id, "clerk_id") if body.clerk_id else None
    async with in_transaction() as conn:
        filing, access, _ = await _authorize(request, ASSIGN, conn)
        await svc.assign(
            conn,
            request.config_dict[AUDIT],
            request_actor(request),
            principal,
            filing,
            access,
            judge,
            clerk,
        )
    return await _detail(request, filing)


# --------------------------------------------------------------------------- case record


@routes.get("/filings/{filing_id}/timeline")
@endpoint("The case record's timeline", response=TimelineOut, tags=TAGS)
async def timeline(request: web.Request) -> TimelineOut:
    principal = require_principal(request)
    filing, _, _ = await _authorize(request, READ)
    events = CaseEvent.filter(filing_id=filing.id)
    if not principal.is_court_staff:
        events = events.filter(visibility="all")
    return TimelineOut(
        items=[
            CaseEventOut(
                kind=e.kind,
                at=_iso(e.at) or "",
                actor_id=str(e.actor_id) if e.actor_id else None,
                details=e.details,
            )
            for e in await events.order_by("at", "id")
        ]
    )


@routes.get("/cases")
@endpoint(
    "Find a case by its number (either bracket form)",
    query=CaseNumberQuery,
    response=FilingSummaryOut,
    tags=TAGS,
    errors=(404, 422),
)
async def find_case(request: web.Request, *, query: CaseNumberQuery) -> FilingSummaryOut:
    number = str(parse_case_number(query.number))
    filing = await Filing.get_or_none(case_number=number)
    if filing is None:
        raise NotFound("no such case")
    access, _ = await load_access(filing)
    request.config_dict[POLICY].check(require_principal(request), READ, RESOURCE, access)
    return _summary(filing)


@routes.post("/cases/claim")
@endpoint(
    "Link my account to my party in a case (Online Litigation Rules Art. 10)",
    body=ClaimIn,
    response=FilingSummaryOut,
    tags=TAGS,
    errors=(404, 422),
)
async def claim_case(request: web.Request, *, body: ClaimIn) -> FilingSummaryOut:
    from identity.realname import get_real_name

    principal = require_principal(request)
    number = str(parse_case_number(body.case_number))
    record = await get_real_name(principal.account_id)
    async with in_transaction() as conn:
        filing = await Filing.get_or_none(case_number=number, using_db=conn)
        if filing is None or record is None:
            raise NotFound("no such case")
        party = (
            await Party.filter(
                filing_id=filing.id, id_number_hash=record.id_number_hash, account_id__isnull=True
            )
            .using_db(conn)
            .first()
        )
        if party is None:
            raise NotFound("no such case")
        party.account_id = principal.account_id
        await party.save(using_db=conn, update_fields=["account_id"])
        await svc.add_event(
            conn, filing, "party_linked", principal.account_id, {"role": party.role}
        )
        await request.config_dict[AUDIT].record(
            conn,
            request_actor(request),
            "filing.claim",
            RESOURCE,
            str(filing.id),
            {"party_id": str(party.id)},
        )
    return _summary(filing)
