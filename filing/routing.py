"""Jurisdiction: which court is competent for a first-instance civil filing, and why.

Pure functions over plain values, so every rule can be tested without a database. The rules, in
the order applied:

1. Internet-court designation (SPC provisions on Internet courts, 2018, Art. 2-3): a cause tagged
   with an Internet category goes to the Internet court of the region when that court hears the
   category and a party (plaintiff or defendant) is domiciled in its region.
2. Territory (CPL Art. 22, 24): the defendant's domicile; for a contract dispute the place of
   performance is an alternative forum. When the court the litigant filed at is one of the
   competent fora, the litigant's choice stands (CPL Art. 36: the first court seized).
3. Level (CPL Art. 18-19 and the SPC's amount thresholds): from the threshold on, the
   intermediate court of the region. The SPC notice 法〔2021〕242号 sets 5亿 when all parties are
   domiciled in the court's province (or all outside it) and 1亿 when only some are; it has changed
   before and has differed by province, so ``thresholds`` (by the province's two-digit division
   prefix) overrides it — a configurable policy, not a constant.
4. Case type: only a court whose ``case_types`` include the filing's type code is competent (an
   empty list means "not recorded": every type).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType


@dataclass(frozen=True)
class LevelThresholds:
    """Claims of at least these amounts (yuan) go to the intermediate court (5亿元以上 counts 5亿
    itself)."""

    same_province: Decimal  # every party domiciled inside the province, or every one outside
    cross_province: Decimal  # some parties inside, some outside


# 最高人民法院关于调整中级人民法院管辖第一审民事案件标准的通知 (法〔2021〕242号), nationwide since
# 2021-10-01.
NATIONAL_THRESHOLDS = LevelThresholds(Decimal("500000000"), Decimal("100000000"))
# Province overrides by two-digit division prefix ("33" Zhejiang); none at present.
PROVINCE_THRESHOLDS: Mapping[str, LevelThresholds] = MappingProxyType({})
# Kept for callers that configure one flat limit (claims strictly above it).
DEFAULT_INTERMEDIATE_THRESHOLD = NATIONAL_THRESHOLDS.same_province


@dataclass(frozen=True)
class CourtInfo:
    code: str
    level: str  # "high" | "intermediate" | "basic" | "internet"
    region_code: str
    name_zh: str = ""
    designated_categories: tuple[str, ...] = ()
    case_types: tuple[str, ...] = ()  # type codes heard; empty: not recorded (any)

    def hears(self, case_type: str) -> bool:
        return not self.case_types or case_type in self.case_types


@dataclass(frozen=True)
class RoutingInput:
    receiving_court: str
    party_regions: tuple[str, ...]  # domiciles of every plaintiff and defendant
    defendant_regions: tuple[str, ...]
    internet_category: str | None = None
    performance_region: str | None = None
    claim_amount: Decimal | None = None
    case_type: str = "民初"


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


def _limit_for(
    region: str, case: RoutingInput, thresholds: Mapping[str, LevelThresholds]
) -> tuple[Decimal, bool]:
    """The intermediate-court amount for a forum in ``region``; whether the parties straddle
    its province's border."""
    province = region[:2]
    limits = thresholds.get(province, NATIONAL_THRESHOLDS)
    inside = {r[:2] == province for r in case.party_regions}
    cross = len(inside) > 1
    return (limits.cross_province if cross else limits.same_province), cross


def route_filing(
    courts: Sequence[CourtInfo],
    case: RoutingInput,
    *,
    intermediate_threshold: Decimal | None = None,
    thresholds: Mapping[str, LevelThresholds] = PROVINCE_THRESHOLDS,
) -> RoutingResult:
    """The competent court with the reasons; ``court`` is None when no seeded court fits.

    ``intermediate_threshold`` replaces the province thresholds with one flat limit (claims
    strictly above it).
    """
    result = RoutingResult(court=None)
    hearing = [c for c in courts if c.hears(case.case_type)]
    if case.internet_category:
        court = _internet_court(courts, case.internet_category, case.party_regions)
        if court is not None and court.hears(case.case_type):
            result.court = court
            result.add(
                f"案由属于互联网法院集中管辖的类别（{case.internet_category}），"
                f"且当事人住所地在{court.name_zh or court.code}辖区",
                f"the cause is in an Internet-court category ({case.internet_category}) and a "
                f"party is domiciled in the region of {court.code}",
            )
            return result
        if court is not None:
            result.add(
                f"{court.name_zh or court.code}不受理{case.case_type}类案件",
                f"{court.code} does not hear {case.case_type} cases",
            )
        else:
            result.add(
                "案由属于互联网类别，但当事人住所地不在任何互联网法院辖区",
                "the cause is in an Internet category but no party lives in an Internet "
                "court's region",
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

    options: list[tuple[CourtInfo, Reason, Decimal, bool, bool]] = []
    for region, reason in fora:
        if intermediate_threshold is not None:
            limit, cross = intermediate_threshold, False
            above = case.claim_amount is not None and case.claim_amount > limit
        else:
            limit, cross = _limit_for(region, case, thresholds)
            above = case.claim_amount is not None and case.claim_amount >= limit
        court = (
            _intermediate_court_for(hearing, region) if above else _basic_court_for(hearing, region)
        )
        if court is not None:
            options.append((court, reason, limit, cross, above))
    if not options:
        if len(hearing) < len(courts):
            result.add(
                f"系统中没有受理{case.case_type}类案件的对应地区法院",
                f"no court in the reference data for these regions hears {case.case_type} cases",
            )
        else:
            result.add(
                "系统中没有对应地区的法院",
                "no court in the reference data serves the regions found",
            )
        return result
    chosen = next((o for o in options if o[0].code == case.receiving_court), options[0])
    court, reason, limit, cross, above = chosen
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
    if intermediate_threshold is not None:
        where_zh, where_en = "设定标准", "the configured limit"
    elif cross:
        where_zh, where_en = (
            "当事人一方住所地不在本省",
            "parties on both sides of the province's border",
        )
    else:
        where_zh, where_en = (
            "当事人住所地均在（或均不在）本省",
            "all parties inside (or all outside) the province",
        )
    if above:
        result.add(
            f"诉讼标的额达到中级人民法院管辖标准（{where_zh}：{limit}元），由中级人民法院管辖",
            f"the claim reaches the intermediate courts' limit ({where_en}: {limit} yuan): "
            "intermediate court (level)",
        )
    else:
        result.add(
            f"诉讼标的额在基层人民法院管辖范围内（{where_zh}：低于{limit}元）",
            f"the claim is within the basic courts' level jurisdiction ({where_en}: below "
            f"{limit} yuan)",
        )
    return result
