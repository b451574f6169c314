"""Review of a submitted filing by the competent court: one correction notice, resubmission
(the clock restarts), registration with case number and fee notice, refusal, assignment.

Each function runs inside the caller's transaction together with its audit event and timeline
entries.
"""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID, uuid4

from tortoise.backends.base.client import BaseDBAsyncClient

from backend.audit.service import AuditLog
from backend.auth.models import Account
from backend.auth.principal import Actor, Principal, Role
from backend.errors import Conflict
from filing.access import RESOURCE, FilingAccess
from filing.case_numbers import allocate_case_number, expected_case_number
from filing.courts import court_fee_schedule
from filing.fees import FeeCaseType, fee_payment_deadline, quote_fee
from filing.filings import add_event, field_error
from filing.models import (
    CorrectionNotice,
    Court,
    Filing,
    FilingStatus,
)
from filing.workflow import (
    TRANSITIONS,
    S,
    china_date,
    invalid_transition,
    start_clock,
    transition,
    utcnow,
)


async def request_correction(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    principal: Principal,
    filing: Filing,
    items: list[str],
    deadline_days: int,
) -> CorrectionNotice:
    # One notice listing every correction (立案登记制): a second round is not allowed.
    if await CorrectionNotice.exists(filing_id=filing.id):
        raise Conflict(
            "a correction notice was already issued; only one is allowed",
            code="invalid_transition",
            extra={"status": filing.status},
        )
    transition(filing, S.CORRECTION_REQUESTED)
    now = utcnow()
    cleaned = [" ".join(i.split()) for i in items if i.strip()]
    if not cleaned:
        raise field_error("items", "items_required", "list at least one correction")
    notice = await CorrectionNotice.create(
        id=uuid4(),
        filing=filing,
        items=cleaned,
        deadline=china_date(now) + timedelta(days=deadline_days),
        issued_by_id=principal.account_id,
        issued_at=now,
        using_db=conn,
    )
    await filing.save(using_db=conn, update_fields=["status", "updated_at"])
    await add_event(
        conn,
        filing,
        "correction_requested",
        principal.account_id,
        {"items": cleaned, "deadline": str(notice.deadline)},
        at=now,
    )
    await audit.record(
        conn,
        actor,
        "filing.request_correction",
        RESOURCE,
        str(filing.id),
        {"items_count": len(cleaned)},
    )
    return notice


async def correction_deadline_passed(
    conn: BaseDBAsyncClient, filing: Filing, today: date
) -> date | None:
    """The deadline of the unanswered correction notice, if it has passed."""
    notice = (
        await CorrectionNotice.filter(filing_id=filing.id, answered_at__isnull=True)
        .using_db(conn)
        .first()
    )
    if notice is None or notice.deadline >= today:
        return None
    return notice.deadline


async def resubmit(
    conn: BaseDBAsyncClient, audit: AuditLog, actor: Actor, principal: Principal, filing: Filing
) -> None:
    transition(filing, S.RESUBMITTED)
    now = utcnow()
    # SPC Provisions on Case Registration (登记立案若干问题的规定) Art. 7: material not
    # corrected within the deadline is returned; the court then refuses the filing if the party
    # insists. A late answer is therefore no correction: the party files anew (or the court
    # refuses this one, which is appealable).
    missed = await correction_deadline_passed(conn, filing, china_date(now))
    if missed is not None:
        raise Conflict(
            f"the correction deadline {missed} has passed; the material is returned — file a "
            f"new complaint / 补正期限（{missed}）已过，诉状退回，请重新起诉",
            code="correction_deadline_passed",
            extra={"deadline": str(missed)},
        )
    await (
        CorrectionNotice.filter(filing_id=filing.id, answered_at__isnull=True)
        .using_db(conn)
        .update(answered_at=now)
    )
    start_clock(filing, now, restart=True)  # Online Litigation Rules Art. 9
    await filing.save(using_db=conn)
    await add_event(
        conn,
        filing,
        "resubmitted",
        principal.account_id,
        {
            "clock_restarts": str(filing.clock_started_at),
            "decision_due_on": str(filing.decision_due_on),
        },
        at=now,
    )
    await audit.record(conn, actor, "filing.resubmit", RESOURCE, str(filing.id))


def _fee_case_type(filing: Filing) -> FeeCaseType:
    if filing.claim_amount is not None and filing.claim_amount > 0:
        return FeeCaseType.PROPERTY
    return FeeCaseType.OTHER_NON_PROPERTY


def _registering_court(filing: Filing) -> str:
    return filing.competent_court_code or filing.receiving_court_code


async def expected_number(filing: Filing) -> str:
    """The case number registering ``filing`` now would most likely give it (unless another
    registration at the same court takes it first): what notices rendered ahead print."""
    if S.REGISTERED not in TRANSITIONS[S(filing.status)]:
        # Refused before anything is rendered for it (register() checks again under lock).
        raise invalid_transition(filing.status, S.REGISTERED.value)
    year = china_date(utcnow()).year
    return str(await expected_case_number(_registering_court(filing), filing.case_type_code, year))


async def register(
    conn: BaseDBAsyncClient, audit: AuditLog, actor: Actor, principal: Principal, filing: Filing
) -> Filing:
    transition(filing, S.REGISTERED)
    now = utcnow()
    court_code = _registering_court(filing)
    court = await Court.get(code=court_code, using_db=conn)
    kind = _fee_case_type(filing)
    quote = quote_fee(
        kind,
        filing.claim_amount if kind is FeeCaseType.PROPERTY else None,
        procedure=filing.procedure,
        schedule=court_fee_schedule(court),
    )
    number = await allocate_case_number(
        conn, court_code, filing.case_type_code, china_date(now).year
    )
    filing.case_number = str(number)
    filing.decided_at = now
    filing.fee_total = quote.total
    # The notice is delivered with the registration in the mini-program: received today.
    filing.fee_due_on = fee_payment_deadline(china_date(now))
    filing.fee_quote = {
        "case_type": quote.case_type.value,
        "procedure": quote.procedure.value,
        "amount": None if quote.amount is None else str(quote.amount),
        "subtotal": str(quote.subtotal),
        "total": str(quote.total),
        "total_fen": quote.total_fen,
        "prepayment_required": quote.prepayment_required,
    }
    await filing.save(using_db=conn)
    await add_event(
        conn,
        filing,
        "registered",
        principal.account_id,
        {"case_number": filing.case_number},
        at=now,
    )
    await add_event(
        conn,
        filing,
        "fee_notice_issued",
        None,
        {"total": str(quote.total), "due_on": str(filing.fee_due_on)},
        at=now,
    )
    await audit.record(
        conn,
        actor,
        "filing.register",
        RESOURCE,
        str(filing.id),
        {"case_number": filing.case_number, "fee_total": str(quote.total)},
    )
    return filing


async def refuse(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    principal: Principal,
    filing: Filing,
    reason: str,
) -> None:
    now = utcnow()
    if filing.status == S.CORRECTION_REQUESTED.value:
        # Only once the correction deadline has passed unanswered (Art. 7 above).
        if await correction_deadline_passed(conn, filing, china_date(now)) is None:
            raise invalid_transition(filing.status, S.REFUSED.value)
    transition(filing, S.REFUSED)
    filing.refusal_reason = reason
    filing.decided_at = now
    await filing.save(using_db=conn)
    # CPL Art. 126: the inadmissibility ruling is appealable.
    await add_event(conn, filing, "refused", principal.account_id, {"reason": reason}, at=now)
    await audit.record(conn, actor, "filing.refuse", RESOURCE, str(filing.id))


async def assign(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    principal: Principal,
    filing: Filing,
    access: FilingAccess,
    judge_id: UUID | None,
    clerk_id: UUID | None,
) -> None:
    if filing.status != FilingStatus.REGISTERED.value:
        raise Conflict(
            "judges are assigned to registered cases",
            code="invalid_transition",
            extra={"status": filing.status},
        )
    for field_name, account_id, role in (
        ("judge_id", judge_id, Role.JUDGE),
        ("clerk_id", clerk_id, Role.CLERK),
    ):
        if account_id is None:
            continue
        account = await Account.get_or_none(id=account_id, using_db=conn)
        if (
            account is None
            or role.value not in account.roles
            or account.court_code != access.court_code
        ):
            raise field_error(field_name, "not_court_staff", f"not a {role.value} of this court")
    if judge_id is not None:
        filing.assigned_judge_id = judge_id
    if clerk_id is not None:
        filing.assigned_clerk_id = clerk_id
    await filing.save(
        using_db=conn, update_fields=["assigned_judge_id", "assigned_clerk_id", "updated_at"]
    )
    await add_event(
        conn,
        filing,
        "assigned",
        principal.account_id,
        {
            "judge_id": str(judge_id) if judge_id else None,
            "clerk_id": str(clerk_id) if clerk_id else None,
        },
        visibility="court",
    )
    await audit.record(conn, actor, "filing.assign", RESOURCE, str(filing.id))
