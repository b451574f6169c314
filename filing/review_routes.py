"""/api/v1/filing/: the review queue, correction, registration, refusal, assignment, the
timeline, case search and linking a party's account to a registered case.
"""

from __future__ import annotations

from aiohttp import web
from tortoise.transactions import in_transaction

from backend.appkeys import AUDIT, POLICY, SETTINGS
from backend.auth.principal import Role
from backend.errors import NotFound
from backend.http import endpoint, request_actor, require_principal
from backend.schemas import Output, PageQuery
from filing import clock, review
from filing import filings as svc
from filing.access import (
    ASSIGN,
    READ,
    RESOURCE,
    REVIEW,
    load_access,
)
from filing.case_numbers import parse_case_number
from filing.models import (
    CaseEvent,
    Filing,
    Party,
)
from filing.party_links import PARTY_LINKED
from filing.record import (
    authorize,
    detail,
    iso,
    summary,
    uuid_field,
)
from filing.registration_service import REGISTRATION_SERVICE
from filing.schemas import (
    AssignIn,
    CaseEventOut,
    CaseNumberQuery,
    ClaimIn,
    CorrectionIn,
    CorrectionOut,
    FilingOut,
    FilingSummaryOut,
    MineQuery,
    RefuseIn,
    ReviewItemOut,
    ReviewPage,
    TimelineOut,
)
from filing.workflow import (
    PENDING_REVIEW,
    china_date,
    time_left,
    utcnow,
)
from identity.models import RealNameStatus
from identity.realname import get_real_name

routes = web.RouteTableDef()
TAGS = ("filing",)


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
                received_at=iso(f.received_at),
                clock_started_at=iso(f.clock_started_at),
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
        filing, _, _ = await authorize(request, REVIEW, conn)
        notice = await review.request_correction(
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
        issued_at=iso(notice.issued_at) or "",
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
    notices = request.config_dict[REGISTRATION_SERVICE]
    filing, _, _ = await authorize(request, REVIEW)
    prepared = await notices.prepare(filing, await review.expected_number(filing))
    async with in_transaction() as conn:
        filing, _, _ = await authorize(request, REVIEW, conn)
        await review.register(
            conn, request.config_dict[AUDIT], request_actor(request), principal, filing
        )
        # Serve the notice of response on the defendants in the same transaction.
        await notices.registered(conn, filing, request_actor(request), prepared)
    return await detail(request, filing)


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
        filing, _, _ = await authorize(request, REVIEW, conn)
        await review.refuse(
            conn, request.config_dict[AUDIT], request_actor(request), principal, filing, body.reason
        )
    return await detail(request, filing)


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
    judge = uuid_field(body.judge_id, "judge_id") if body.judge_id else None
    clerk = uuid_field(body.clerk_id, "clerk_id") if body.clerk_id else None
    async with in_transaction() as conn:
        filing, access, _ = await authorize(request, ASSIGN, conn)
        await review.assign(
            conn,
            request.config_dict[AUDIT],
            request_actor(request),
            principal,
            filing,
            access,
            judge,
            clerk,
        )
    return await detail(request, filing)


class ClockAlertOut(Output):
    id: str
    status: str
    receiving_court: str
    cause: str
    received_at: str | None
    decision_due_on: str
    days_left: int
    seconds_left: int  # to the end of the decision day, China time; negative when overdue
    over_limit: bool
    flagged: bool  # the overdue event was raised


class ClockAlertPage(Output):
    items: list[ClockAlertOut]
    alert_days: int
    next_cursor: str | None = None


@routes.get("/clock-alerts")
@endpoint(
    "Filings at my court near or past the 7-day decision limit (court administrator)",
    query=PageQuery,
    response=ClockAlertPage,
    roles={Role.COURT_ADMIN},
    tags=TAGS,
    description="CPL Art. 126: pending filings whose decision is due within "
    "MC_FILING_CLOCK_ALERT_DAYS days, or overdue, most urgent first, with the time left.",
)
async def clock_alerts(request: web.Request, *, query: PageQuery) -> ClockAlertPage:
    principal = require_principal(request)
    offset = int(query.cursor) if query.cursor and query.cursor.isdigit() else 0
    days = request.config_dict[SETTINGS].filing_clock_alert_days
    alerts, more = await clock.clock_alerts(
        principal.court_code or "", days, now=utcnow(), offset=offset, limit=query.limit
    )
    return ClockAlertPage(
        items=[
            ClockAlertOut(
                id=str(a.filing.id),
                status=a.filing.status,
                receiving_court=a.filing.receiving_court_code,
                cause=a.filing.cause_code,
                received_at=iso(a.filing.received_at),
                decision_due_on=str(a.filing.decision_due_on),
                days_left=a.days_left,
                seconds_left=a.seconds_left,
                over_limit=a.over_limit,
                flagged=a.flagged,
            )
            for a in alerts
        ],
        alert_days=days,
        next_cursor=str(offset + query.limit) if more else None,
    )


# --------------------------------------------------------------------------- case record


@routes.get("/filings/{filing_id}/timeline")
@endpoint("The case record's timeline", response=TimelineOut, tags=TAGS)
async def timeline(request: web.Request) -> TimelineOut:
    principal = require_principal(request)
    filing, _, _ = await authorize(request, READ)
    events = CaseEvent.filter(filing_id=filing.id)
    if not principal.is_court_staff:
        events = events.filter(visibility="all")
    return TimelineOut(
        items=[
            CaseEventOut(
                kind=e.kind,
                at=iso(e.at) or "",
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
    return summary(filing)


@routes.post("/cases/claim")
@endpoint(
    "Link my account to my party in a case (Online Litigation Rules Art. 10)",
    body=ClaimIn,
    response=FilingSummaryOut,
    tags=TAGS,
    errors=(404, 422),
)
async def claim_case(request: web.Request, *, body: ClaimIn) -> FilingSummaryOut:
    principal = require_principal(request)
    number = str(parse_case_number(body.case_number))
    record = await get_real_name(principal.account_id)
    async with in_transaction() as conn:
        filing = await Filing.get_or_none(case_number=number, using_db=conn)
        if filing is None or record is None or record.status != RealNameStatus.VERIFIED.value:
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
        await request.config_dict[PARTY_LINKED].party_linked(
            conn, filing, party, request_actor(request)
        )
    return summary(filing)
