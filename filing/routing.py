"""Jurisdiction: which court is competent for a first-instance civil filing, and why.

Pure functions over plain values, so every rule can be tested without a database. The rules, in
the order applied:

1. Internet-court designation (SPC provisions on Internet courts, 2018, Art. 2-3): a cause tagged
   with an Internet category goes to the Internet court of the region when that court hears the
   category and a party (plaintiff or defendant) is domiciled in its region.
2. Territory (CPL Art. 22, 24): the defendant's domicile; for a contract dispute the place of
   performance is an alternative forum. When the court the litigant filed at is one of the
   competent fora, the litigant's choice stands (CPL Art. 36: the first court seized).
3. Level (CPL Art. 18-19 and the SPC's amount thresholds, which differ by province — a
   configurable policy): above ``intermediate_threshold`` the intermediate court of the region.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

# Claims above this go to the intermediate court. The real thresholds are set per province by
# the SPC (e.g. 5亿 in some provinces for ordinary cases); this default is a policy, not a rule.
DEFAULT_INTERMEDIATE_THRESHOLD = Decimal("500000000")


@dataclass(frozen=True)
class CourtInfo:
    code: str
    level: str  # "high" | "intermediate" | "basic" | "internet"
    region_code: str
    name_zh: str = ""
    designated_categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class RoutingInput:
    receiving_court: str
    party_regions: tuple[str, ...]  # domiciles of every plaintiff and defendant
    defendant_regions: tuple[str, ...]
    internet_category: str | None = None
    performance_region: str | None = None
    claim_amount: Decimal | None = None


@dataclass(frozen=True)
class Reason:
    zh: str
    en: str


@dataclass
class RoutingResult:
    court: CourtInfo | None
    reasons: list[Reason] = field(default_factory=list)

    def add(self, zh: str, en: str) -> None:
        self.reasons.append(Reason(zh, en))


def region_prefix(region_code: str) -> str:
    """The prefix of division codes a region covers: 330100 → 3301, 110000 → 11."""
    code = region_code
    while code.endswith("00") and len(code) > 2:
        code = code[:-2]
    return code


def covers(court_region: str, region: str) -> bool:
    return region.startswith(region_prefix(court_region))


def _basic_court_for(courts: Sequence[CourtInfo], region: str) -> CourtInfo | None:
    basic = [c for c in courts if c.level == "basic"]
    exact = [c for c in basic if c.region_code == region]
    if exact:
        return exact[0]
    # A district without its own court in the data: the basic court covering the most specific
    # enclosing region.
    enclosing = sorted(
        (c for c in basic if covers(c.region_code, region)),
        key=lambda c: -len(region_prefix(c.region_code)),
    )
    return enclosing[0] if enclosing else None


def _intermediate_court_for(courts: Sequence[CourtInfo], region: str) -> CourtInfo | None:
    candidates = sorted(
        (c for c in courts if c.level == "intermediate" and covers(c.region_code, region)),
        key=lambda c: -len(region_prefix(c.region_code)),
    )
    return candidates[0] if candidates else None


def _internet_court(
    courts: Sequence[CourtInfo], category: str, regions: Iterable[str]
) -> CourtInfo | None:
    for region in regions:
        for court in courts:
            if (
                court.level == "internet"
                and category in court.designated_categories
                and covers(court.region_code, region)
            ):
                return court
    return None


def route_filing(
    courts: Sequence[CourtInfo],
    case: RoutingInput,
    *,
    intermediate_threshold: Decimal = DEFAULT_INTERMEDIATE_THRESHOLD,
) -> RoutingResult:
    """The competent court with the reasons; ``court`` is None when no seeded court fits."""
    result = RoutingResult(court=None)
    if case.internet_category:
        court = _internet_court(courts, case.internet_category, case.party_regions)
        if court is not None:
            result.court = court
            result.add(
                f"案由属于互联网法院集中管辖的类别（{case.internet_category}），"
                f"且当事人住所地在{court.name_zh or court.code}辖区",
                f"the cause is in an Internet-court category ({case.internet_category}) and a "
                f"party is domiciled in the region of {court.code}",
            )
            return result
        result.add(
            "案由属于互联网类别，但当事人住所地不在任何互联网法院辖区",
            "the cause is in an Internet category but no party lives in an Internet court's region",
        )

    fora: list[tuple[str, Reason]] = [
        (
            region,
            Reason(f"被告住所地（{region}）", f"the defendant's domicile (division {region})"),
        )
        for region in case.defendant_regions
    ]
    if case.performance_region:
        fora.append(
            (
                case.performance_region,
                Reason(
                    f"合同履行地（{case.performance_region}）",
                    f"the place of contract performance (division {case.performance_region})",
                ),
            )
        )
    if not fora:
        result.add("缺少被告住所地，无法确定管辖法院", "no defendant domicile to route by")
        return result

    above = case.claim_amount is not None and case.claim_amount > intermediate_threshold
    options: list[tuple[CourtInfo, Reason]] = []
    for region, reason in fora:
        court = (
            _intermediate_court_for(courts, region) if above else _basic_court_for(courts, region)
        )
        if court is not None:
            options.append((court, reason))
    if not options:
        result.add(
            "系统中没有对应地区的法院",
            "no court in the reference data serves the regions found",
        )
        return result
    chosen = next((o for o in options if o[0].code == case.receiving_court), options[0])
    court, reason = chosen
    result.court = court
    result.add(
        f"地域管辖：{reason.zh}，由{court.name_zh or court.code}管辖（民事诉讼法第22、24条）",
        f"territorial jurisdiction: {reason.en} → {court.code} (CPL Art. 22, 24)",
    )
    if len(options) > 1 and court.code == case.receiving_court:
        result.add(
            "原告可在多个有管辖权的法院中选择，尊重其选择的受理法院",
            "several courts are competent; the plaintiff's choice of the receiving court stands",
        )
    if above:
        result.add(
            f"诉讼标的额超过{intermediate_threshold}元，由中级人民法院管辖",
            f"the claim exceeds {intermediate_threshold} yuan: intermediate court (level)",
        )
    else:
        result.add(
            "诉讼标的额在基层人民法院管辖范围内",
            "the claim is within the basic courts' level jurisdiction",
        )
    return result
