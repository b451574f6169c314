"""The service-date rules and deadline edge cases as pure functions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from service_of_process.calendar import compute_deadline, last_covered_year
from service_of_process.models import ServiceRule
from service_of_process.rules import AttemptFacts, effective_service
from service_of_process.service import deadline_from

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def _attempt(channel: str, confirmed: bool, at: datetime | None) -> AttemptFacts:
    return AttemptFacts("a-" + channel, channel, "delivered" if at else "sent", confirmed, at)


def test_earliest_effective_channel_wins_and_wechat_never_counts() -> None:
    result = effective_service(
        consented=True,
        attempts=[
            _attempt("wechat", True, T0 - timedelta(hours=5)),
            _attempt("email", True, T0 + timedelta(minutes=3)),
            _attempt("sms", True, T0 + timedelta(minutes=1)),
            _attempt("inapp", False, T0 - timedelta(hours=1)),
        ],
        signed_at=T0 + timedelta(hours=2),
        first_opened_at=None,
    )
    assert result is not None
    assert result.at == T0 + timedelta(minutes=1)
    assert result.rule is ServiceRule.REACHED_CONFIRMED_ADDRESS
    assert result.evidence["channel"] == "sms"


def test_unconfirmed_arrival_waits_for_the_recipient() -> None:
    attempts = [_attempt("inapp", False, T0), _attempt("sms", False, T0)]
    assert (
        effective_service(consented=True, attempts=attempts, signed_at=None, first_opened_at=None)
        is None
    )
    opened = effective_service(
        consented=True,
        attempts=attempts,
        signed_at=T0 + timedelta(hours=3),
        first_opened_at=T0 + timedelta(hours=1),
    )
    assert opened is not None and opened.rule is ServiceRule.READ_RECEIPT
    assert opened.at == T0 + timedelta(hours=1)


def test_without_consent_nothing_electronic_is_effective() -> None:
    result = effective_service(
        consented=False,
        attempts=[_attempt("email", True, T0)],
        signed_at=T0,
        first_opened_at=T0,
        published_at=T0,
    )
    assert result is not None and result.rule is ServiceRule.PUBLIC_NOTICE
    assert result.at == T0 + timedelta(days=30)


def test_deadline_beyond_the_calendar_is_nominal_and_provisional() -> None:
    start = date(last_covered_year() + 3, 3, 1)
    due, rolled, provisional, why_zh, why_en = deadline_from(start, 15)
    assert due == start + timedelta(days=15) and provisional and not rolled
    assert "not published" in why_en and "待法院确认" in why_zh
    known = date(2026, 9, 25)  # 15 days end on 2026-10-10, a make-up working day (Saturday)
    due, _, provisional, _, _ = deadline_from(known, 15)
    assert due == date(2026, 10, 10) == compute_deadline(known, 15).due and not provisional


def test_parties_abroad_get_the_longer_periods() -> None:
    from service_of_process.rules import deadline_rules_for

    home = {r.kind: r for r in deadline_rules_for(["notice_of_response", "evidence_notice"])}
    abroad = {
        r.kind: r
        for r in deadline_rules_for(["notice_of_response", "evidence_notice"], abroad=True)
    }
    # CPL Art. 285: 30 days to defend instead of 15; the evidence period is not a CPL one.
    assert (home["response"].days, home["response"].article) == (15, "CPL Art. 128")
    assert (abroad["response"].days, abroad["response"].article) == (30, "CPL Art. 285")
    assert abroad["evidence"] == home["evidence"]
    # CPL Art. 286: 30 days to appeal a judgment or a ruling (15 and 10 at home).
    for kind, days_home in (("judgment", 15), ("ruling", 10)):
        [at_home] = deadline_rules_for([kind])
        [away] = deadline_rules_for([kind], abroad=True)
        assert at_home.days == days_home
        assert (away.kind, away.days, away.article) == ("appeal", 30, "CPL Art. 286")
        assert "没有住所" in away.name_zh


def test_public_notice_to_a_party_abroad_is_deemed_served_after_60_days() -> None:
    home = effective_service(
        consented=False, attempts=[], signed_at=None, first_opened_at=None, published_at=T0
    )
    away = effective_service(
        consented=False,
        attempts=[],
        signed_at=None,
        first_opened_at=None,
        published_at=T0,
        abroad=True,
    )
    assert home is not None and away is not None
    assert home.at == T0 + timedelta(days=30) and home.evidence["days"] == 30
    assert away.at == T0 + timedelta(days=60)
    assert away.evidence["days"] == 60 and away.evidence["abroad"] is True
