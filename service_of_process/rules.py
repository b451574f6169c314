"""The legal rules of e-service as pure functions: when service is effective and which time
limits run from it. Every rule names its article (../shared/LEGAL.md §4, §5)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from service_of_process.documents import DocumentKind
from service_of_process.models import AttemptStatus, Channel, ServiceRule

# Dates of service and the days deadlines count from are court dates: China Standard Time.
COURT_TZ = ZoneInfo("Asia/Shanghai")

# CPL Art. 95: public notice is deemed served 30 days after publication (60 for parties abroad).
PUBLIC_NOTICE_DAYS = 30
PUBLIC_NOTICE_DAYS_ABROAD = 60

# WeChat subscribe messages are courtesy notices (DESIGN §4): they never effect service.
EFFECTIVE_CHANNELS = frozenset({Channel.INAPP, Channel.SMS, Channel.EMAIL})


@dataclass(frozen=True)
class DeadlineRule:
    kind: str  # response | evidence | appeal
    days: int
    article: str
    name_zh: str
    name_en: str


# Which time limit a served document starts (CPL 2023).
DEADLINE_RULES: dict[DocumentKind, DeadlineRule] = {
    # Art. 128: the defence is due within 15 days of receiving the complaint.
    DocumentKind.NOTICE_OF_RESPONSE: DeadlineRule(
        "response", 15, "CPL Art. 128", "答辩期", "defence"
    ),
    # The evidence period is set by the court; 15 days is the usual first-instance minimum
    # (SPC evidence provisions; LEGAL.md does not fix it: treat as policy, not statute).
    DocumentKind.EVIDENCE_NOTICE: DeadlineRule(
        "evidence", 15, "SPC evidence provisions", "举证期限", "evidence period"
    ),
    # Art. 171: appeal within 15 days of service of a judgment, 10 days of a ruling.
    DocumentKind.JUDGMENT: DeadlineRule("appeal", 15, "CPL Art. 171", "上诉期", "appeal period"),
    DocumentKind.RULING: DeadlineRule("appeal", 10, "CPL Art. 171", "上诉期", "appeal period"),
}

# CPL (2023) Art. 285: a defendant without a domicile in the PRC answers within 30 days of
# receiving the complaint; Art. 286: a party without a domicile in the PRC appeals a judgment
# or a ruling within 30 days of its service. Other limits (the evidence period) are unchanged.
ABROAD_DEADLINE_RULES: dict[str, DeadlineRule] = {
    "response": DeadlineRule(
        "response",
        30,
        "CPL Art. 285",
        "答辩期（在中华人民共和国领域内没有住所的当事人）",
        "defence (party without a domicile in the PRC)",
    ),
    "appeal": DeadlineRule(
        "appeal",
        30,
        "CPL Art. 286",
        "上诉期（在中华人民共和国领域内没有住所的当事人）",
        "appeal period (party without a domicile in the PRC)",
    ),
}

LEGAL_GROUNDS: dict[str, tuple[str, str]] = {
    ServiceRule.REACHED_CONFIRMED_ADDRESS: (
        "送达至受送达人提供或确认的电子地址，以到达该特定系统的时间为送达日期"
        "（《人民法院在线诉讼规则》第三十一条、《民事诉讼法》第九十条）",
        "Served to an electronic address the recipient gave or confirmed: the service date is "
        "when it reached that system (Online Litigation Rules Art. 31; CPL Art. 90)",
    ),
    ServiceRule.RECIPIENT_ACTION: (
        "受送达人回复或作出相应行为（签收），以该时间为送达日期（《人民法院在线诉讼规则》第三十一条）",
        "The recipient replied or acted on it (signed for receipt): served at that moment "
        "(Online Litigation Rules Art. 31)",
    ),
    ServiceRule.READ_RECEIPT: (
        "系统显示受送达人已查阅，推定送达，但有相反证据的除外（《人民法院在线诉讼规则》第三十一条）",
        "The system shows the recipient read it: presumed served, unless proven otherwise "
        "(Online Litigation Rules Art. 31)",
    ),
    ServiceRule.POSTAL: (
        "邮寄送达，以签收日期为送达日期（《民事诉讼法》）",
        "Served by post: the date the recipient signed for it (CPL)",
    ),
    ServiceRule.PUBLIC_NOTICE: (
        "公告送达，自发出公告之日起经过三十日即视为送达（《民事诉讼法》第九十五条）",
        "Public notice: deemed served 30 days after publication (CPL Art. 95)",
    ),
}

NOT_SERVED_GROUND = ("尚未送达", "Not yet served")


@dataclass(frozen=True)
class Effective:
    """A candidate moment of effective service, the rule behind it and its evidence."""

    at: datetime
    rule: ServiceRule
    evidence: dict[str, Any]


@dataclass(frozen=True)
class AttemptFacts:
    attempt_id: str
    channel: str
    status: str
    address_confirmed: bool
    delivered_at: datetime | None


def effective_service(
    *,
    consented: bool,
    attempts: Iterable[AttemptFacts],
    signed_at: datetime | None,
    first_opened_at: datetime | None,
    postal_served_at: datetime | None = None,
    published_at: datetime | None = None,
    abroad: bool = False,
) -> Effective | None:
    """The earliest effective service among everything that happened (Art. 31: with several
    channels the earliest effective one counts), or None while nothing is effective.

    Without consent (Art. 29) no electronic channel is effective; signing in-app establishes it
    (accepted a completed e-service without objecting), so the caller records that consent
    before asking.
    """
    candidates: list[Effective] = []
    if consented:
        for attempt in attempts:
            if (
                attempt.address_confirmed
                and attempt.status == AttemptStatus.DELIVERED
                and attempt.delivered_at is not None
                and attempt.channel in EFFECTIVE_CHANNELS
            ):
                candidates.append(
                    Effective(
                        attempt.delivered_at,
                        ServiceRule.REACHED_CONFIRMED_ADDRESS,
                        {"attempt_id": attempt.attempt_id, "channel": attempt.channel},
                    )
                )
        if signed_at is not None:
            candidates.append(Effective(signed_at, ServiceRule.RECIPIENT_ACTION, {"act": "signed"}))
        if first_opened_at is not None:
            candidates.append(
                Effective(first_opened_at, ServiceRule.READ_RECEIPT, {"act": "opened"})
            )
    if postal_served_at is not None:
        candidates.append(Effective(postal_served_at, ServiceRule.POSTAL, {"act": "postal"}))
    if published_at is not None:
        days = PUBLIC_NOTICE_DAYS_ABROAD if abroad else PUBLIC_NOTICE_DAYS
        evidence: dict[str, Any] = {
            "published_at": published_at.astimezone(UTC).isoformat(),
            "days": days,
        }
        if abroad:
            evidence["abroad"] = True  # CPL Art. 95 as applied to parties abroad: 60 days
        candidates.append(
            Effective(published_at + timedelta(days=days), ServiceRule.PUBLIC_NOTICE, evidence)
        )
    if not candidates:
        return None
    return min(candidates, key=lambda c: c.at)


def court_date(moment: datetime) -> date:
    """The calendar day of a moment at the court (China Standard Time)."""
    return moment.astimezone(COURT_TZ).date()


def deadline_rules_for(kinds: Iterable[str], *, abroad: bool = False) -> list[DeadlineRule]:
    """The time limits started by serving these documents, one per kind of limit; for a
    recipient without a domicile in the PRC the longer periods of CPL Art. 285–286."""
    seen: dict[str, DeadlineRule] = {}
    for kind in kinds:
        rule = DEADLINE_RULES.get(DocumentKind(kind))
        if rule is not None and rule.kind not in seen:
            if abroad:
                rule = ABROAD_DEADLINE_RULES.get(rule.kind, rule)
            seen[rule.kind] = rule
    return list(seen.values())
