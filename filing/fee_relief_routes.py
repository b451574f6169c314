"""/api/v1/filing/filings/{id}/fee-reliefs: applying for fee deferral, reduction or waiver
(Decree 481 Art. 44-47) and the court's decision."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal
from uuid import UUID

from aiohttp import web
from pydantic import Field
from tortoise.transactions import in_transaction

from backend.appkeys import AUDIT
from backend.auth.principal import Principal
from backend.errors import NotFound
from backend.http import endpoint, request_actor, require_principal
from backend.schemas import Input, Output
from filing import fee_relief
from filing.access import EDIT, FEE_DECIDE, READ, FilingAccess
from filing.models import FeeRelief, FeeReliefKind
from filing.record import authorize, iso, uuid_field

routes = web.RouteTableDef()
TAGS = ("filing",)


class FeeReliefIn(Input):
    party_id: str = Field(description="the natural-person party applying (you, or your client)")
    kind: FeeReliefKind
    grounds: str = Field(min_length=2, max_length=2000)
    requested_payable: Decimal | None = Field(
        default=None, gt=0, max_digits=16, decimal_places=2, description="reduction: amount"
    )
    requested_due_on: date | None = Field(default=None, description="deferral: pay by")
    supporting_file_id: str | None = Field(
        default=None, description="a file you uploaded at POST /api/v1/files (purpose document)"
    )


class FeeReliefDecisionIn(Input):
    outcome: Literal["grant", "refuse"]
    reason: str | None = Field(default=None, min_length=2, max_length=2000)
    payable: Decimal | None = Field(
        default=None, gt=0, max_digits=16, decimal_places=2, description="reduction: amount due"
    )
    due_on: date | None = Field(default=None, description="deferral: the new payment date")


class FeeReliefOut(Output):
    id: str
    party_id: str
    kind: str
    status: str
    grounds: str | None  # the applicant's side and the court only
    supporting_file_id: str | None
    requested_payable: str | None
    requested_due_on: str | None
    created_at: str
    decided_at: str | None
    decision_reason: str | None
    granted_payable: str | None
    granted_due_on: str | None


class FeeReliefList(Output):
    items: list[FeeReliefOut]


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def relief_out(relief: FeeRelief, *, private: bool) -> FeeReliefOut:
    return FeeReliefOut(
        id=str(relief.id),
        party_id=str(relief.party_id),  # type: ignore[attr-defined]
        kind=relief.kind,
        status=relief.status,
        grounds=relief.grounds if private else None,
        supporting_file_id=_text(relief.supporting_file_id) if private else None,
        requested_payable=_text(relief.requested_payable),
        requested_due_on=_text(relief.requested_due_on),
        created_at=iso(relief.created_at) or "",
        decided_at=iso(relief.decided_at),
        decision_reason=relief.decision_reason,
        granted_payable=_text(relief.granted_payable),
        granted_due_on=_text(relief.granted_due_on),
    )


def _sees_grounds(
    principal: Principal, access: FilingAccess, relief: FeeRelief, party_roles: dict[UUID, str]
) -> bool:
    # Grounds speak of the applicant's means: the court and the applicant's side only.
    if principal.is_court_staff:
        return True
    role = party_roles.get(relief.party_id)  # type: ignore[attr-defined]
    return role is not None and role in access.side_of(principal.account_id)


@routes.post("/filings/{filing_id}/fee-reliefs")
@endpoint(
    "Apply for fee deferral, reduction or waiver (natural persons; Decree 481 Art. 44-47)",
    body=FeeReliefIn,
    response=FeeReliefOut,
    status=201,
    tags=TAGS,
    errors=(404, 409, 422),
)
async def apply_for_relief(request: web.Request, *, body: FeeReliefIn) -> FeeReliefOut:
    principal = require_principal(request)
    party_id = uuid_field(body.party_id, "party_id")
    file_id = (
        uuid_field(body.supporting_file_id, "supporting_file_id")
        if body.supporting_file_id
        else None
    )
    async with in_transaction() as conn:
        filing, _, parties = await authorize(request, EDIT, conn)
        relief = await fee_relief.apply(
            conn,
            request.config_dict[AUDIT],
            request_actor(request),
            principal,
            filing,
            parties,
            party_id=party_id,
            kind=body.kind,
            grounds=body.grounds,
            requested_payable=body.requested_payable,
            requested_due_on=body.requested_due_on,
            supporting_file_id=file_id,
        )
    return relief_out(relief, private=True)


@routes.get("/filings/{filing_id}/fee-reliefs")
@endpoint("Fee relief applications of a case", response=FeeReliefList, tags=TAGS, errors=(404,))
async def list_reliefs(request: web.Request) -> FeeReliefList:
    principal = require_principal(request)
    filing, access, parties = await authorize(request, READ)
    roles = {p.id: p.role for p in parties}
    rows = await FeeRelief.filter(filing_id=filing.id).order_by("created_at", "id")
    return FeeReliefList(
        items=[relief_out(r, private=_sees_grounds(principal, access, r, roles)) for r in rows]
    )


@routes.post("/filings/{filing_id}/fee-reliefs/{relief_id}/decision")
@endpoint(
    "Grant or refuse a fee relief application (the court's clerk, judge or administrator)",
    body=FeeReliefDecisionIn,
    response=FeeReliefOut,
    tags=TAGS,
    errors=(404, 409, 422),
)
async def decide_relief(request: web.Request, *, body: FeeReliefDecisionIn) -> FeeReliefOut:
    principal = require_principal(request)
    try:
        relief_id = UUID(request.match_info["relief_id"])
    except ValueError:
        raise NotFound("no such application") from None
    async with in_transaction() as conn:
        filing, _, _ = await authorize(request, FEE_DECIDE, conn)
        relief = await fee_relief.decide(
            conn,
            request.config_dict[AUDIT],
            request_actor(request),
            principal,
            filing,
            relief_id,
            grant=body.outcome == "grant",
            reason=body.reason,
            payable=body.payable,
            due_on=body.due_on,
        )
    return relief_out(relief, private=True)
