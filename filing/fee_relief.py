"""Fee relief (Decree 481 Art. 44-47, LEGAL.md §1): a natural-person party applies to defer
(缓交), reduce (减交) or waive (免交) the case fee; the court decides.

A grant changes what is due: a waiver makes the fee nothing (``fee_payable`` 0), a reduction sets
the reduced amount (at least 30 % off, Art. 46), a deferral moves the payment deadline. The
payment endpoint reads the same fields, so what it charges follows the decision. Each change runs
in the caller's transaction with its timeline events and audit event.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_DOWN, Decimal
from uuid import UUID, uuid4

from tortoise.backends.base.client import BaseDBAsyncClient

from backend.audit.service import AuditLog
from backend.auth.principal import Actor, Principal
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.storage.service import get_file
from filing.access import RESOURCE
from filing.filings import add_event, field_error
from filing.models import (
    FeeRelief,
    FeeReliefKind,
    FeeReliefStatus,
    Filing,
    FilingStatus,
    Party,
    Representation,
)
from filing.workflow import china_date, utcnow

MIN_REDUCTION_SHARE = Decimal("0.30")  # Art. 46: a reduction takes off at least 30 %


def max_reduced_amount(filing: Filing) -> Decimal:
    total = Decimal(filing.fee_total or 0)
    return (total * (1 - MIN_REDUCTION_SHARE)).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def _require_fee_open(filing: Filing) -> None:
    if filing.status != FilingStatus.REGISTERED.value or filing.fee_total is None:
        raise Conflict(
            "fee relief is decided on a registered case's fee notice", code="fee_not_due"
        )
    if filing.fee_paid_at is not None:
        raise Conflict("the fee is already paid", code="fee_not_due")
    if filing.fee_relief == FeeReliefKind.WAIVER.value:
        raise Conflict("the fee was waived", code="fee_not_due")


def _check_reduced(filing: Filing, field: str, amount: Decimal) -> None:
    ceiling = max_reduced_amount(filing)
    if not Decimal("0") < amount <= ceiling:
        raise field_error(
            field,
            "reduction_out_of_range",
            f"a reduced fee is more than 0 and at most {ceiling} (at least 30 % off "
            f"{filing.fee_total}, Decree 481 Art. 46) / 减交后应缴金额须大于0且不超过{ceiling}元",
        )


def _check_deferred(filing: Filing, field: str, due_on: date) -> None:
    current = filing.fee_due_on or china_date(utcnow())
    if due_on <= current:
        raise field_error(
            field,
            "deferral_not_later",
            f"a deferred payment date is after the current deadline {current} / "
            f"缓交期限须晚于{current}",
        )


async def apply(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    principal: Principal,
    filing: Filing,
    parties: list[Party],
    *,
    party_id: UUID,
    kind: FeeReliefKind,
    grounds: str,
    requested_payable: Decimal | None,
    requested_due_on: date | None,
    supporting_file_id: UUID | None,
) -> FeeRelief:
    _require_fee_open(filing)
    party = next((p for p in parties if p.id == party_id), None)
    if party is None:
        raise NotFound("no such party")
    # The party itself, or its lawyer under an unrevoked power of attorney.
    is_own = party.account_id == principal.account_id
    if not is_own and not await _represents(conn, principal.account_id, party.id):
        raise NotFound("no such party")
    if party.kind != "natural":
        # Art. 44-47 relieve natural persons who cannot afford the fee.
        raise ValidationFailed(
            "fee relief is for natural persons; an organisation cannot apply / "
            "缓、减、免交诉讼费用仅适用于自然人",
            code="relief_natural_persons_only",
            errors=[
                {
                    "location": "body",
                    "field": "party_id",
                    "message": "an organisation",
                    "type": "relief_natural_persons_only",
                }
            ],
        )
    if kind is FeeReliefKind.REDUCTION and requested_payable is not None:
        _check_reduced(filing, "requested_payable", requested_payable)
    if kind is FeeReliefKind.DEFERRAL and requested_due_on is not None:
        _check_deferred(filing, "requested_due_on", requested_due_on)
    if kind is not FeeReliefKind.REDUCTION and requested_payable is not None:
        raise field_error("requested_payable", "not_applicable", "only a reduction has an amount")
    if kind is not FeeReliefKind.DEFERRAL and requested_due_on is not None:
        raise field_error("requested_due_on", "not_applicable", "only a deferral has a date")
    if supporting_file_id is not None:
        try:
            await get_file(supporting_file_id, owner_account_id=principal.account_id, conn=conn)
        except NotFound:
            raise field_error(
                "supporting_file_id", "unknown_file", "no file of yours with this id"
            ) from None
    if (
        await FeeRelief.filter(filing_id=filing.id, status=FeeReliefStatus.PENDING.value)
        .using_db(conn)
        .exists()
    ):
        raise Conflict(
            "an application for fee relief is already waiting for a decision",
            code="relief_pending",
        )
    relief = await FeeRelief.create(
        id=uuid4(),
        filing=filing,
        party=party,
        applicant_account_id=principal.account_id,
        kind=kind.value,
        grounds=grounds,
        supporting_file_id=supporting_file_id,
        requested_payable=requested_payable,
        requested_due_on=requested_due_on,
        using_db=conn,
    )
    await add_event(
        conn,
        filing,
        "fee_relief_requested",
        principal.account_id,
        {"relief_id": str(relief.id), "kind": kind.value, "party_role": party.role},
    )
    await audit.record(
        conn,
        actor,
        "filing.fee_relief_apply",
        RESOURCE,
        str(filing.id),
        {"relief_id": str(relief.id), "kind": kind.value},
    )
    return relief


async def _represents(conn: BaseDBAsyncClient, lawyer: UUID, party_id: UUID) -> bool:
    return (
        await Representation.filter(
            party_id=party_id, lawyer_account_id=lawyer, revoked_at__isnull=True
        )
        .using_db(conn)
        .exists()
    )


async def decide(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    principal: Principal,
    filing: Filing,
    relief_id: UUID,
    *,
    grant: bool,
    reason: str | None,
    payable: Decimal | None,
    due_on: date | None,
) -> FeeRelief:
    relief = (
        await FeeRelief.filter(id=relief_id, filing_id=filing.id)
        .using_db(conn)
        .select_for_update()
        .first()
    )
    if relief is None:
        raise NotFound("no such application")
    if relief.status != FeeReliefStatus.PENDING.value:
        raise Conflict(
            f"the application was already {relief.status}",
            code="invalid_transition",
            extra={"status": relief.status},
        )
    _require_fee_open(filing)
    kind = FeeReliefKind(relief.kind)
    now = utcnow()
    changed: dict[str, str] = {}
    if not grant:
        if not reason:
            raise field_error("reason", "reason_required", "give the reasons for refusing")
        relief.status = FeeReliefStatus.REFUSED.value
    else:
        if kind is FeeReliefKind.WAIVER:
            relief.granted_payable = Decimal("0.00")
            filing.fee_payable = Decimal("0.00")
            changed["payable"] = "0.00"
        elif kind is FeeReliefKind.REDUCTION:
            amount = payable if payable is not None else relief.requested_payable
            if amount is None:
                raise field_error("payable", "payable_required", "give the reduced amount")
            amount = Decimal(amount).quantize(Decimal("0.01"))
            _check_reduced(filing, "payable", amount)
            relief.granted_payable = amount
            filing.fee_payable = amount
            changed["payable"] = str(amount)
        else:
            new_date = due_on if due_on is not None else relief.requested_due_on
            if new_date is None:
                raise field_error("due_on", "due_on_required", "give the deferred payment date")
            _check_deferred(filing, "due_on", new_date)
            relief.granted_due_on = new_date
            filing.fee_due_on = new_date
            changed["due_on"] = str(new_date)
        relief.status = FeeReliefStatus.GRANTED.value
        filing.fee_relief = kind.value
        await filing.save(
            using_db=conn, update_fields=["fee_payable", "fee_due_on", "fee_relief", "updated_at"]
        )
    relief.decided_by_id = principal.account_id
    relief.decided_at = now
    if reason is not None:
        relief.decision_reason = reason
    await relief.save(using_db=conn)
    await add_event(
        conn,
        filing,
        "fee_relief_decided",
        principal.account_id,
        {
            "relief_id": str(relief.id),
            "kind": kind.value,
            "outcome": relief.status,
            **({"reason": reason} if reason else {}),
            **changed,
        },
        at=now,
    )
    await audit.record(
        conn,
        actor,
        "filing.fee_relief_decide",
        RESOURCE,
        str(filing.id),
        {"relief_id": str(relief.id), "kind": kind.value, "outcome": relief.status, **changed},
    )
    return relief
