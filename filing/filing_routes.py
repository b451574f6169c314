"""/api/v1/filing/filings…: drafting, parties, powers of attorney, evidence, submission.

Every handler authorises through the policy (``filing.access``) on a fresh view of the filing, so
every denial is a 404 and a revoked power of attorney applies on the next request.
"""

from __future__ import annotations

from uuid import UUID, uuid4

from aiohttp import web
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from backend.appkeys import AUDIT, POLICY, RATE_LIMITER
from backend.auth.models import Account
from backend.auth.principal import Role
from backend.errors import NotFound, ValidationFailed
from backend.http import endpoint, request_actor, require_principal
from backend.storage.http import file_response, read_upload
from backend.storage.purposes import RULES, Purpose
from backend.storage.service import get_file, register_file
from filing import filings as svc
from filing import review
from filing.access import (
    EDIT,
    READ,
    RESOURCE,
    REVIEW,
    load_access,
)
from filing.models import (
    Evidence,
    Filing,
    FilingStatus,
    Party,
    Representation,
)
from filing.parties import create_party, party_out, update_party
from filing.record import (
    authorize,
    detail,
    evidence_out,
    field_cipher,
    iso,
    read_record,
    summary,
    uuid_field,
)
from filing.schemas import (
    EvidenceOut,
    EvidenceVerifyOut,
    FilingCreate,
    FilingOut,
    FilingPage,
    FilingUpdate,
    MineQuery,
    PartyIn,
    PartyOut,
    PartyUpdate,
    RepresentationOut,
)
from filing.workflow import (
    invalid_transition,
    require_editable,
    utcnow,
)

routes = web.RouteTableDef()
TAGS = ("filing",)
# DESIGN §5: filing is rate limited per account (drafts are cheap to create, so they are capped).
DRAFTS_PER_HOUR = 30
SUBMISSIONS_PER_HOUR = 20


async def _limit(request: web.Request, what: str, limit: int) -> None:
    principal = require_principal(request)
    await request.config_dict[RATE_LIMITER].hit(
        f"filing.{what}:{principal.account_id}", limit=limit, window_s=3600, what=what
    )


# ------------------------------------------------------------------------------ drafting


@routes.post("/filings")
@endpoint(
    "Start a draft filing at any court",
    body=FilingCreate,
    response=FilingOut,
    status=201,
    roles={Role.LITIGANT, Role.LAWYER},
    tags=TAGS,
    errors=(422, 429),
)
async def create_filing(request: web.Request, *, body: FilingCreate) -> FilingOut:
    principal = require_principal(request)
    await _limit(request, "new filings", DRAFTS_PER_HOUR)
    async with in_transaction() as conn:
        filing = await svc.create_draft(
            conn, request.config_dict[AUDIT], request_actor(request), principal, body
        )
    return await detail(request, filing)


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
        items=[summary(f) for f in rows[: query.limit]],
        next_cursor=str(offset + query.limit) if more else None,
    )


@routes.get("/filings/{filing_id}")
@endpoint("A filing: the case record, masked for the other side", response=FilingOut, tags=TAGS)
async def get_filing(request: web.Request) -> FilingOut:
    return await read_record(request, READ)


@routes.patch("/filings/{filing_id}")
@endpoint(
    "Change a draft's claims, amount or facts", body=FilingUpdate, response=FilingOut, tags=TAGS
)
async def update_filing(request: web.Request, *, body: FilingUpdate) -> FilingOut:
    async with in_transaction() as conn:
        filing, _, _ = await authorize(request, EDIT, conn)
        await svc.update_draft(
            conn, request.config_dict[AUDIT], request_actor(request), filing, body
        )
    return await detail(request, filing)


@routes.post("/filings/{filing_id}/parties")
@endpoint(
    "Add a party", body=PartyIn, response=PartyOut, status=201, tags=TAGS, errors=(404, 409, 422)
)
async def add_party(request: web.Request, *, body: PartyIn) -> PartyOut:
    principal = require_principal(request)
    async with in_transaction() as conn:
        filing, _, _ = await authorize(request, EDIT, conn)
        require_editable(filing)
        account = principal.account_id if body.is_me else None
        party = await create_party(conn, filing, body, field_cipher(request), account)
        await svc.add_event(conn, filing, "party_added", principal.account_id, {"role": party.role})
        await request.config_dict[AUDIT].record(
            conn,
            request_actor(request),
            "filing.add_party",
            RESOURCE,
            str(filing.id),
            {"party_id": str(party.id), "role": party.role},
        )
    return party_out(party, masked=False, staff=principal.is_court_staff)


# What only the party side declares (service address and its confirmation: consent to
# electronic service); a clerk corrects the domicile facts the court itself establishes.
_PARTY_SIDE_ONLY = ("service_address", "service_address_confirmed")


@routes.patch("/filings/{filing_id}/parties/{party_id}")
@endpoint(
    "Change a party's identifying document, domicile (in or outside the PRC mainland) or "
    "addresses: the filing side while drafting or correcting; the clerk of the court holding "
    "the case after submission (not the service address, which only the party declares)",
    body=PartyUpdate,
    response=PartyOut,
    tags=TAGS,
    errors=(404, 409, 422),
)
async def edit_party(request: web.Request, *, body: PartyUpdate) -> PartyOut:
    principal = require_principal(request)
    policy = request.config_dict[POLICY]
    async with in_transaction() as conn:
        filing = await svc.get_filing(request.match_info["filing_id"], conn)
        access, parties = await load_access(filing)
        if policy.permits(principal, REVIEW, RESOURCE, access):
            for field in _PARTY_SIDE_ONLY:
                if field in body.model_fields_set:
                    raise ValidationFailed(
                        f"{field} is declared by the party, not the court",
                        errors=[
                            {
                                "location": "body",
                                "field": field,
                                "message": "declared by the party / 由当事人填写",
                                "type": "party_side_only",
                            }
                        ],
                    )
        else:
            policy.check(principal, EDIT, RESOURCE, access)
            require_editable(filing)
        party = next((p for p in parties if str(p.id) == request.match_info["party_id"]), None)
        if party is None:
            raise NotFound("no such party")
        changes = await update_party(conn, party, body, field_cipher(request))
        if changes:
            fields = sorted(changes)
            await svc.add_event(
                conn, filing, "party_changed", principal.account_id, {"fields": fields}
            )
            await request.config_dict[AUDIT].record(
                conn,
                request_actor(request),
                "filing.edit_party",
                RESOURCE,
                str(filing.id),
                # Field names only: addresses are personal data the audit trail need not copy.
                {"party_id": str(party.id), "fields": fields, **_flags(changes)},
            )
    return party_out(party, masked=False, staff=principal.is_court_staff)


def _flags(changes: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in changes.items() if k == "domiciled_abroad"}


@routes.delete("/filings/{filing_id}/parties/{party_id}")
@endpoint("Remove a party from a draft", tags=TAGS, errors=(404, 409))
async def remove_party(request: web.Request) -> None:
    async with in_transaction() as conn:
        filing, _, parties = await authorize(request, EDIT, conn)
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
    filing, _, _ = await authorize(request, EDIT)
    upload = await read_upload(
        request, rule=RULES[Purpose.DOCUMENT], text_fields=("party_id", "lawyer_id")
    )
    party_id = uuid_field(upload.fields.get("party_id", ""), "party_id")
    async with in_transaction() as conn:
        filing, _, parties = await authorize(request, EDIT, conn)
        party = next((p for p in parties if p.id == party_id), None)
        if party is None:
            raise NotFound("no such party")
        if party.account_id == principal.account_id:
            # The party appoints a lawyer (at any stage before a decision refuses the case).
            if filing.status == FilingStatus.REFUSED.value:
                raise invalid_transition(filing.status, "represented")
            lawyer_id = uuid_field(upload.fields.get("lawyer_id", ""), "lawyer_id")
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
        granted_at=iso(rep.granted_at) or "",
        revoked_at=None,
    )


@routes.post("/filings/{filing_id}/representations/{rep_id}/revoke")
@endpoint("Revoke a power of attorney (the party or the lawyer)", tags=TAGS, errors=(404, 409))
async def revoke_representation(request: web.Request) -> None:
    principal = require_principal(request)
    async with in_transaction() as conn:
        filing, _, parties = await authorize(request, READ, conn)
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
    filing, _, _ = await authorize(request, EDIT)
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
        filing, _, _ = await authorize(request, EDIT, conn)
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
    return evidence_out(evidence)


@routes.delete("/filings/{filing_id}/evidence/{evidence_id}")
@endpoint(
    "Withdraw an evidence item (kept in the record as withdrawn)", tags=TAGS, errors=(404, 409)
)
async def remove_evidence(request: web.Request) -> None:
    principal = require_principal(request)
    async with in_transaction() as conn:
        filing, _, _ = await authorize(request, EDIT, conn)
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


@routes.get("/filings/{filing_id}/evidence/{evidence_id}/file")
@endpoint(
    "Download an evidence file (as an attachment)",
    tags=TAGS,
    response_content={"application/octet-stream": {"schema": {"type": "string"}}},
    errors=(404,),
)
async def evidence_file(request: web.Request) -> web.StreamResponse:
    filing, _, _ = await authorize(request, READ)
    try:
        evidence_id = UUID(request.match_info["evidence_id"])
    except ValueError:
        raise NotFound("no such evidence") from None
    evidence = await Evidence.get_or_none(id=evidence_id, filing_id=filing.id)
    if evidence is None:
        raise NotFound("no such evidence")
    stored = await get_file(evidence.file_id)
    return await file_response(request, stored.blob.as_stored(), stored.original_name)


@routes.post("/filings/{filing_id}/evidence/verify")
@endpoint(
    "Does a file match an evidence item of this record? (multipart: file)",
    response=EvidenceVerifyOut,
    tags=TAGS,
    request_content={"multipart/form-data": {"schema": {"type": "object"}}},
    errors=(404, 413, 415, 422),
)
async def verify_evidence(request: web.Request) -> EvidenceVerifyOut:
    filing, _, _ = await authorize(request, READ)
    upload = await read_upload(request, rule=RULES[Purpose.EVIDENCE], keep=False)
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
    errors=(404, 409, 422, 429),
)
async def submit_filing(request: web.Request) -> FilingOut:
    principal = require_principal(request)
    await _limit(request, "submissions", SUBMISSIONS_PER_HOUR)
    async with in_transaction() as conn:
        filing, _, _ = await authorize(request, EDIT, conn)
        await svc.submit(
            conn, request.config_dict[AUDIT], request_actor(request), principal, filing
        )
    return await detail(request, filing)


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
        filing, _, _ = await authorize(request, EDIT, conn)
        await review.resubmit(
            conn, request.config_dict[AUDIT], request_actor(request), principal, filing
        )
    return await detail(request, filing)
