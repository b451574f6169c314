"""The filing state machine and the review clock (立案登记制).

draft → submitted (at the competent court) | forwarded (filed elsewhere, sent on to it)
submitted | forwarded | resubmitted → correction_requested | registered | refused
correction_requested → resubmitted | refused (deadline passed unanswered)

CPL Art. 126: a decision within 7 days of receipt. Online Litigation Rules Art. 9: after corrected
material arrives the period restarts the next day. CPL Art. 85: the day a period starts from is
not counted.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from backend.errors import Conflict
from filing.models import Filing, FilingStatus

S = FilingStatus
REVIEW_DAYS = 7  # CPL Art. 126
NEAR_LIMIT_DAYS = 2  # the review queue flags filings with this many days or fewer left
PENDING_REVIEW = (S.SUBMITTED, S.FORWARDED, S.RESUBMITTED)

TRANSITIONS: dict[FilingStatus, frozenset[FilingStatus]] = {
    S.DRAFT: frozenset({S.SUBMITTED, S.FORWARDED}),
    S.SUBMITTED: frozenset({S.CORRECTION_REQUESTED, S.REGISTERED, S.REFUSED}),
    S.FORWARDED: frozenset({S.CORRECTION_REQUESTED, S.REGISTERED, S.REFUSED}),
    S.RESUBMITTED: frozenset({S.CORRECTION_REQUESTED, S.REGISTERED, S.REFUSED}),
    # Refused only once the correction deadline passed unanswered (filing.review.refuse).
    S.CORRECTION_REQUESTED: frozenset({S.RESUBMITTED, S.REFUSED}),
    S.REGISTERED: frozenset(),
    S.REFUSED: frozenset(),
}
EDITABLE = frozenset({S.DRAFT, S.CORRECTION_REQUESTED})


def china_date(moment: datetime) -> date:
    from identity.idcard import CHINA_TZ

    return moment.astimezone(CHINA_TZ).date()


def utcnow() -> datetime:
    return datetime.now(UTC)


def invalid_transition(current: str, wanted: str) -> Conflict:
    return Conflict(
        f"a filing that is {current} cannot become {wanted}",
        code="invalid_transition",
        extra={"status": current},
    )


def transition(filing: Filing, to: FilingStatus) -> None:
    current = S(filing.status)
    if to not in TRANSITIONS[current]:
        raise invalid_transition(current.value, to.value)
    filing.status = to.value


def require_editable(filing: Filing) -> None:
    if S(filing.status) not in EDITABLE:
        raise Conflict(
            f"a filing that is {filing.status} cannot be changed",
            code="invalid_transition",
            extra={"status": filing.status},
        )


def start_clock(filing: Filing, arrived_at: datetime, *, restart: bool) -> None:
    """Set the review clock for material that arrived at ``arrived_at``.

    First receipt: the clock runs from receipt. Corrected material: it restarts at the beginning
    of the next day (China time). Either way the arrival day is not counted, so the decision is
    due 7 days after the arrival date.
    """
    from identity.idcard import CHINA_TZ

    arrived_on = china_date(arrived_at)
    filing.received_at = filing.received_at or arrived_at
    if restart:
        next_day = datetime.combine(arrived_on + timedelta(days=1), time(0), tzinfo=CHINA_TZ)
        filing.clock_started_at = next_day.astimezone(UTC)
    else:
        filing.clock_started_at = arrived_at
    filing.decision_due_on = arrived_on + timedelta(days=REVIEW_DAYS)


def time_left(due_on: date | None, today: date) -> tuple[int | None, bool, bool]:
    """(days left including today's, near the limit, over the limit)."""
    if due_on is None:
        return None, False, False
    days = (due_on - today).days
    return days, 0 <= days <= NEAR_LIMIT_DAYS, days < 0
