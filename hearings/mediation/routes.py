"""/api/v1/mediation/: online mediation of a case."""

from __future__ import annotations

from uuid import UUID

from aiohttp import web
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from backend.appkeys import AUDIT, BLOBS, KEYRING, POLICY
from backend.errors import NotFound
from backend.http import endpoint, request_actor, require_principal
from backend.storage.http import file_response
from backend.storage.service import get_file
from filing.filings import get_filing
from hearings.asynchronous.access import Case, case_of
from hearings.asynchronous.notify import DOCUMENT_SERVER
from hearings.asynchronous.schemas import SignQuery
from hearings.asynchronous.signing import signature_valid, signatures_of
from hearings.mediation import agreement as agreements
from hearings.mediation import service
from hearings.mediation.access import (
    MANAGE,
    MEDIATE,
    PARTICIPATE,
    READ,
    RESOURCE,
    MediationAccess,
    register_policy,
)
from hearings.mediation.models import Agreement, Mediation, MediationSession, Proposal
from hearings.mediation.schemas import (
    AgreementIn,
    AgreementOut,
    CloseIn,
    MediationList,
    MediationOut,
    MediatorIn,
    ProposalIn,
    ProposalOut,
    SessionIn,
    SessionOut,
    SignatureOut,
)
from hearings.mediation.workdays import WORKING_DAYS, weekdays_only
from hearings.video_routes import VIDEO_ROOMS
from identity.presence import require_signing_step_up

routes = web.RouteTableDef()
TAGS = ("mediation",)
ONE = "/mediations/{mediation_id}"


async def _case(
    request: web.Request,
    filing_id: str,
    mediator: UUID | None,
    actions: tuple[str, ...],
    conn: BaseDBAsyncClient | None,
) -> Case:
    principal = require_principal(request)
    filing = await get_filing(filing_id, conn)
    case = await case_of(filing)
    target = MediationAccess(case.access, mediator)
    if not any(
        request.config_dict[POLICY].permits(principal, a, RESOURCE, target) for a in actions
    ):
        raise NotFound("no such case")
    return case


async def _authorize(
    request: web.Request, *actions: str, conn: BaseDBAsyncClient | None = None
) -> tuple[Case, Mediation]:
    try:
        mediation_id = UUID(request.match_info["mediation_id"])
    except ValueError:
        raise NotFound("no such mediation") from None
    mediation = await service.get_mediation(mediation_id, conn)
    case = await _case(request, str(mediation.filing_id), mediation.mediator_id, actions, conn)
    return case, mediation


async def _out(mediation: Mediation) -> MediationOut:
    sessions = await MediationSession.filter(mediation_id=mediation.id).order_by("starts_at")
    proposals = await Proposal.filter(mediation_id=mediation.id).order_by("created_at")
    return MediationOut(
        id=mediation.id,
        filing_id=mediation.filing_id,
        phase=mediation.phase,
        status=service.effective_status(mediation),
        requested_at=mediation.requested_at,
        designation_due_on=mediation.designation_due_on,
        mediator_id=mediation.mediator_id,
        designated_at=mediation.designated_at,
        designated_late=mediation.designated_late,
        designation_overdue=mediation.mediator_id is None
        and service.today() > mediation.designation_due_on,
        period_days=mediation.period_days,
        ends_on=mediation.ends_on,
        closed_at=mediation.closed_at,
        sessions=[SessionOut.model_validate(s) for s in sessions],
        proposals=[
            ProposalOut(
                id=p.id,
                author_role=p.author_role,
                terms=p.terms,
                counter_to=p.counter_to_id,
                created_at=p.created_at,
            )
            for p in proposals
        ],
    )


async def _agreement_out(request: web.Request, case: Case, agreement: Agreement) -> AgreementOut:
    key = request.config_dict[KEYRING].server_key
    rows = await signatures_of(agreements.AGREEMENT_KIND, agreement.id)
    own = {p.id: p.account_id for p in case.parties}
    names = {p.id: p.name for p in case.parties}
    return AgreementOut(
        id=agreement.id,
        terms=agreement.terms,
        terms_sha256=agreement.terms_sha256,
        status=agreement.status,
        created_at=agreement.created_at,
        effective_at=agreement.effective_at,
        statement_sha256=agreement.statement_sha256,
        signatures=[
            SignatureOut(
                signer_role=r.signer_role,
                party_id=r.party_id,
                party_name=names.get(r.party_id) if r.party_id else None,
                signer_id=r.signer_id,
                as_agent=r.party_id is not None and r.signer_id != own.get(r.party_id),
                signed_at=r.signed_at,
                valid=signature_valid(r, key, agreement.terms_sha256),
            )
            for r in rows
        ],
        awaiting=len(agreements.required_parties(case) - agreements.signed_parties(case, rows)),
    )


@routes.post("/cases/{filing_id}/mediations")
@endpoint(
    "Start online mediation of a case (every party must have consented, scope `mediation`)",
    response=MediationOut,
    status=201,
    tags=TAGS,
    errors=(404, 409),
    description="The mediator is due within 3 working days (Online Mediation Rules Art. 10); the "
    "period is 30 days before filing, 15 (ordinary) or 7 (simple, small claims) after (Art. 24).",
)
async def start(request: web.Request) -> MediationOut:
    principal = require_principal(request)
    async with in_transaction() as conn:
        case = await _case(
            request, request.match_info["filing_id"], None, (PARTICIPATE, MANAGE), conn
        )
        mediation = await service.start(
            conn,
            request.config_dict[AUDIT],
            request_actor(request),
            case,
            principal,
            request.config_dict[WORKING_DAYS],
        )
    return await _out(mediation)


@routes.get("/cases/{filing_id}/mediations")
@endpoint("A case's mediations", response=MediationList, tags=TAGS, errors=(404,))
async def list_mediations(request: web.Request) -> MediationList:
    principal = require_principal(request)
    case = await case_of(await get_filing(request.match_info["filing_id"], None))
    rows = await Mediation.filter(filing_id=case.filing.id).order_by("requested_at")
    # Whoever may read the case's mediations sees them all; a designated mediator who is not
    # on the case's bench sees the ones they mediate. Nobody else learns the case exists.
    policy = request.config_dict[POLICY]
    visible = [
        m
        for m in rows
        if policy.permits(principal, READ, RESOURCE, MediationAccess(case.access, m.mediator_id))
    ]
    if not visible and not policy.permits(
        principal, READ, RESOURCE, MediationAccess(case.access, None)
    ):
        raise NotFound("no such case")
    return MediationList(items=[await _out(m) for m in visible])


@routes.get(ONE)
@endpoint("One mediation", response=MediationOut, tags=TAGS, errors=(404,))
async def get_one(request: web.Request) -> MediationOut:
    _, mediation = await _authorize(request, READ)
    return await _out(mediation)


@routes.post(ONE + "/mediator")
@endpoint(
    "Designate the mediator (Art. 10: within 3 working days)",
    body=MediatorIn,
    response=MediationOut,
    tags=TAGS,
    errors=(404, 409, 422),
)
async def designate(request: web.Request, *, body: MediatorIn) -> MediationOut:
    async with in_transaction() as conn:
        case, mediation = await _authorize(request, MANAGE, conn=conn)
        await service.designate(
            conn,
            request.config_dict[AUDIT],
            request_actor(request),
            case,
            mediation,
            body.mediator_id,
        )
    # Once committed, as after the remove control: the live rooms of the mediation's sessions
    # drop a replaced mediator and let the new one in.
    for session in await MediationSession.filter(mediation_id=mediation.id):
        if session.video_hearing_id is not None:
            await request.config_dict[VIDEO_ROOMS].sync_members(session.video_hearing_id)
    return await _out(mediation)


@routes.post(ONE + "/sessions")
@endpoint(
    "Mediator: schedule a session (asynchronous, or live in a video room)",
    description="A live session schedules a video hearing (video_hearing_id) with every party "
    "and lawyer invited and the mediator as its host. Mediation is not a court session: no "
    "3-day hearing notice, so it may start at once; 422 starts_in_past for a past time, 409 "
    "video_needs_registered_case before filing.",
    body=SessionIn,
    response=SessionOut,
    status=201,
    tags=TAGS,
    errors=(404, 409, 422),
)
async def add_session(request: web.Request, *, body: SessionIn) -> SessionOut:
    principal = require_principal(request)
    async with in_transaction() as conn:
        case, mediation = await _authorize(request, MEDIATE, conn=conn)
        session = await service.add_session(
            conn,
            request.config_dict[AUDIT],
            request_actor(request),
            principal,
            case,
            mediation,
            body.mode,
            body.starts_at,
            body.note,
        )
    return SessionOut.model_validate(session)


@routes.post(ONE + "/proposals")
@endpoint(
    "Make a proposal or a counter-proposal",
    body=ProposalIn,
    response=ProposalOut,
    status=201,
    tags=TAGS,
    errors=(404, 409, 422),
)
async def propose(request: web.Request, *, body: ProposalIn) -> ProposalOut:
    principal = require_principal(request)
    async with in_transaction() as conn:
        case, mediation = await _authorize(request, PARTICIPATE, MEDIATE, conn=conn)
        proposal = await service.propose(
            conn,
            request.config_dict[AUDIT],
            request_actor(request),
            case,
            mediation,
            principal,
            body.terms,
            body.counter_to,
        )
    return ProposalOut(
        id=proposal.id,
        author_role=proposal.author_role,
        terms=proposal.terms,
        counter_to=proposal.counter_to_id,
        created_at=proposal.created_at,
    )


@routes.post(ONE + "/agreement")
@endpoint(
    "Mediator: put the agreed terms to the parties for signature",
    body=AgreementIn,
    response=AgreementOut,
    status=201,
    tags=TAGS,
    errors=(404, 409, 422),
)
async def put_agreement(request: web.Request, *, body: AgreementIn) -> AgreementOut:
    principal = require_principal(request)
    async with in_transaction() as conn:
        case, mediation = await _authorize(request, MEDIATE, conn=conn)
        agreement = await agreements.put_agreement(
            conn,
            request.config_dict[AUDIT],
            request_actor(request),
            case,
            mediation,
            principal,
            body.terms,
        )
    return await _agreement_out(request, case, agreement)


@routes.get(ONE + "/agreement")
@endpoint(
    "The current agreement and who has signed it", response=AgreementOut, tags=TAGS, errors=(404,)
)
async def get_agreement(request: web.Request) -> AgreementOut:
    case, mediation = await _authorize(request, READ)
    return await _agreement_out(request, case, await agreements.current_agreement(mediation))


@routes.post(ONE + "/agreement/sign")
@endpoint(
    "Party, or its lawyer as agent: e-sign the agreement (face check from the last 5 minutes); "
    "the last party's signature makes it effective and sends the mediation statement to "
    "electronic service",
    query=SignQuery,
    response=AgreementOut,
    tags=TAGS,
    errors=(403, 404, 409, 422),
)
async def sign(request: web.Request, *, query: SignQuery) -> AgreementOut:
    principal = require_principal(request)
    # Parties and lawyers: a face check. Court staff never sign for a party (404 below), even
    # after their own step-up.
    step_up = require_signing_step_up(principal)
    async with in_transaction() as conn:
        case, mediation = await _authorize(request, PARTICIPATE, conn=conn)
        signed = await agreements.sign_agreement(
            conn,
            request.config_dict[AUDIT],
            request_actor(request),
            request.config_dict[KEYRING].server_key,
            request.config_dict[BLOBS],
            request.config_dict[DOCUMENT_SERVER],
            case,
            mediation,
            principal,
            step_up.verified_at,
            query.party_id,
        )
    return await _agreement_out(request, case, signed.agreement)


@routes.get(ONE + "/statement")
@endpoint(
    "Download the mediation statement (once the agreement is effective)",
    tags=TAGS,
    errors=(404,),
    response_content={"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
)
async def statement(request: web.Request) -> web.StreamResponse:
    _, mediation = await _authorize(request, READ)
    agreement = await agreements.current_agreement(mediation)
    if agreement.statement_file_id is None:
        raise NotFound("调解书尚未生成 / no mediation statement yet")
    stored = await get_file(agreement.statement_file_id)
    return await file_response(request, stored.blob.as_stored(), "mediation-statement.pdf")


@routes.post(ONE + "/close")
@endpoint(
    "Mediator: end the mediation without agreement",
    body=CloseIn,
    response=MediationOut,
    tags=TAGS,
    errors=(404, 409, 422),
)
async def close(request: web.Request, *, body: CloseIn) -> MediationOut:
    principal = require_principal(request)
    async with in_transaction() as conn:
        case, mediation = await _authorize(request, MEDIATE, conn=conn)
        await service.close_failed(
            conn,
            request.config_dict[AUDIT],
            request_actor(request),
            case,
            mediation,
            principal,
            body.note,
        )
    return await _out(mediation)


def install(app: web.Application) -> None:
    """Policy rules, the working-day calendar (unless one is set) and /api/v1/mediation/."""
    register_policy(app[POLICY])
    if WORKING_DAYS not in app:
        app[WORKING_DAYS] = weekdays_only
    sub = web.Application()
    sub.add_routes(routes)
    app.add_subapp("/api/v1/mediation/", sub)
