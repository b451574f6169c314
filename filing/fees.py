"""Litigation fee calculator — 诉讼费用交纳办法 (State Council Decree No. 481, 2007); LEGAL §1.

Pure: no I/O, ``decimal.Decimal`` throughout (never floats), money rounded to the fen half-up.

Rounding: each breakdown line is rounded to the fen. Every band below the top one is complete and
its fee a whole number of yuan (e.g. 90,000 × 2.5 % = 2,250), so only the top, partial band can
carry a fraction: the sum of the rounded lines therefore equals the exact sum rounded once.
Adjustments (the 1/3 for a payment order, each halving) are applied to the rounded running amount
and rounded again.

Provinces fix the exact amount inside the ranges of Art. 13(2), (3), (6) (Art. 13, last paragraph);
the no-amount enforcement fee of Art. 14(1) is a range too and is treated the same way. Those
amounts are a court's :class:`CourtFeeSchedule`, validated against the ranges.

Halvings (Art. 15, 16, 18): whether two grounds stack is not settled (LEGAL §1, "check"), so it is a
policy flag — ``CourtFeeSchedule.stack_halvings``, default ``False``: any number of grounds halve
the fee once. With ``True`` each ground halves again (simple procedure + mediation → a quarter).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from backend.errors import ValidationFailed

CURRENCY = "CNY"
FEN = Decimal("0.01")
ZERO = Decimal("0")
MAX_AMOUNT = Decimal(10) ** 13  # 10 trillion yuan: anything above is a typo, not a claim
_MAX_AMOUNT_TEXT = 40
# Enough digits for 10^13 × a three-digit rate and the 1/3 of a payment order, with traps on.
_CONTEXT = Context(
    prec=40, rounding=ROUND_HALF_UP, traps=[InvalidOperation, DivisionByZero, Overflow]
)


class FeeInputError(ValidationFailed, ValueError):
    """A fee request the statute cannot price (422)."""

    code = "invalid_fee_request"


def _bad(field_name: str, message: str) -> FeeInputError:
    return FeeInputError(message, errors=[{"field": field_name, "message": message}])


# ------------------------------------------------------------------------------ legal basis

_DECREE_ZH = "《诉讼费用交纳办法》"
_DECREE_EN = "Measures on the Payment of Litigation Costs (State Council Decree 481)"


def _basis(zh: str, en: str) -> str:
    return f"{_DECREE_ZH}{zh} / {_DECREE_EN}, {en}"


ART_13_1 = _basis("第十三条第（一）项", "Art. 13(1)")
ART_13_2_1 = _basis("第十三条第（二）项第1目", "Art. 13(2)1")
ART_13_2_2 = _basis("第十三条第（二）项第2目", "Art. 13(2)2")
ART_13_2_3 = _basis("第十三条第（二）项第3目", "Art. 13(2)3")
ART_13_3 = _basis("第十三条第（三）项", "Art. 13(3)")
ART_13_4 = _basis("第十三条第（四）项", "Art. 13(4)")
ART_13_5_1 = _basis("第十三条第（五）项第1目", "Art. 13(5)1")
ART_13_5_2 = _basis("第十三条第（五）项第2目", "Art. 13(5)2")
ART_13_6 = _basis("第十三条第（六）项", "Art. 13(6)")
ART_14_1 = _basis("第十四条第（一）项", "Art. 14(1)")
ART_14_2 = _basis("第十四条第（二）项", "Art. 14(2)")
ART_14_3 = _basis("第十四条第（三）项", "Art. 14(3)")
ART_15 = _basis("第十五条", "Art. 15")
ART_16 = _basis("第十六条", "Art. 16")
ART_17 = _basis("第十七条", "Art. 17")
ART_18 = _basis("第十八条", "Art. 18")
ART_20 = _basis("第二十条", "Art. 20")
ART_22 = _basis("第二十二条", "Art. 22")

# ------------------------------------------------------------------------------ case types


class FeeCaseType(StrEnum):
    PROPERTY = "property"  # Art. 13(1)
    DIVORCE = "divorce"  # Art. 13(2)1
    PERSONALITY_RIGHTS = "personality_rights"  # Art. 13(2)2
    OTHER_NON_PROPERTY = "other_non_property"  # Art. 13(2)3
    INTELLECTUAL_PROPERTY = "intellectual_property"  # Art. 13(3)
    LABOUR = "labour"  # Art. 13(4)
    ADMINISTRATIVE_IP_MARITIME = "administrative_ip_maritime"  # Art. 13(5)1
    ADMINISTRATIVE = "administrative"  # Art. 13(5)2
    JURISDICTION_OBJECTION = "jurisdiction_objection"  # Art. 13(6)
    ENFORCEMENT = "enforcement"  # Art. 14(1)
    PRESERVATION = "preservation"  # Art. 14(2)
    PAYMENT_ORDER = "payment_order"  # Art. 14(3)


class FeeKind(StrEnum):
    ACCEPTANCE = "acceptance"  # 案件受理费 (Art. 13): the halvings of Art. 15, 16, 18 apply
    APPLICATION = "application"  # 申请费 (Art. 14): no halving


class Procedure(StrEnum):
    ORDINARY = "ordinary"
    SIMPLE = "simple"
    # Small claims are heard under the simple-procedure chapter (CPL 2023 Art. 165), so the
    # Art. 16 halving applies to them as well.
    SMALL_CLAIMS = "small_claims"


class AmountUse(StrEnum):
    REQUIRED = "required"
    OPTIONAL = "optional"
    NOT_USED = "not_used"


# ------------------------------------------------------------------- court fee schedule


def _money(value: int) -> Decimal:
    return Decimal(value).quantize(FEN)


@dataclass(frozen=True)
class FeeRange:
    minimum: Decimal
    maximum: Decimal
    basis: str
    label_zh: str
    label_en: str


# The ranges inside which a province fixes the amount (per case).
SCHEDULE_RANGES: dict[str, FeeRange] = {
    # Art. 13(2)1: divorce, 50–300 per case
    "divorce": FeeRange(_money(50), _money(300), ART_13_2_1, "离婚案件", "divorce"),
    # Art. 13(2)2: personality rights, 100–500 per case
    "personality_rights": FeeRange(
        _money(100), _money(500), ART_13_2_2, "人格权案件", "personality rights"
    ),
    # Art. 13(2)3: other non-property cases, 50–100 per case
    "other_non_property": FeeRange(
        _money(50), _money(100), ART_13_2_3, "其他非财产案件", "other non-property case"
    ),
    # Art. 13(3): IP case without an amount in dispute, 500–1,000 per case
    "ip_without_amount": FeeRange(
        _money(500), _money(1000), ART_13_3, "无争议金额的知识产权案件", "IP case, no amount"
    ),
    # Art. 13(6): jurisdiction objection dismissed, 50–100 per case
    "jurisdiction_objection": FeeRange(
        _money(50), _money(100), ART_13_6, "管辖权异议不成立", "jurisdiction objection dismissed"
    ),
    # Art. 14(1): enforcement without an amount, 50–500 per case
    "enforcement_without_amount": FeeRange(
        _money(50), _money(500), ART_14_1, "无执行金额的执行申请", "enforcement, no amount"
    ),
}


class CourtFeeSchedule(BaseModel):
    """A court's per-case amounts inside the statutory ranges, plus the halving policy."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    divorce: Decimal
    personality_rights: Decimal
    other_non_property: Decimal
    ip_without_amount: Decimal
    jurisdiction_objection: Decimal
    enforcement_without_amount: Decimal
    # LEGAL §1 "(check)": whether Art. 15/16/18 halvings compound. False: halve once at most.
    stack_halvings: bool = False
    source: str = Field(default="", max_length=300, description="the rule the amounts come from")

    @field_validator(*SCHEDULE_RANGES)
    @classmethod
    def _whole_fen(cls, value: Decimal, info: ValidationInfo) -> Decimal:
        if not value.is_finite() or abs(value) > MAX_AMOUNT:
            raise ValueError(f"{info.field_name}: not an amount")
        rounded = value.quantize(FEN, rounding=ROUND_HALF_UP, context=_CONTEXT)
        if value != rounded:
            raise ValueError(f"{info.field_name}: a whole number of fen is required")
        return rounded  # always printed to the fen: "50.00"

    @model_validator(mode="after")
    def _within_statute(self) -> CourtFeeSchedule:
        for name, limits in SCHEDULE_RANGES.items():
            value: Decimal = getattr(self, name)
            if not limits.minimum <= value <= limits.maximum:
                raise ValueError(
                    f"{name} = {value} is outside the statutory range "
                    f"{limits.minimum}–{limits.maximum} ({limits.basis})"
                )
        return self

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


# Until a court enters its province's standard, quotes use the statutory minimum of each range.
DEFAULT_FEE_SCHEDULE = CourtFeeSchedule(
    **{name: limits.minimum for name, limits in SCHEDULE_RANGES.items()},
    source="statutory minimum of each range (default until the province's standard is entered)",
)

# ------------------------------------------------------------------------------ scales


@dataclass(frozen=True)
class Scale:
    """Cumulative bands: ``flat`` fee for amounts up to ``flat_upto``, then each rate on the part
    of the amount inside its band. Without a flat part, amounts below the first band are free."""

    name_zh: str
    name_en: str
    basis: str
    bands: tuple[tuple[Decimal, Decimal | None, Decimal], ...]  # (lower, upper, rate)
    flat_upto: Decimal | None = None
    flat_fee: Decimal | None = None


def _d(value: str | int) -> Decimal:
    return Decimal(value)


# Art. 13(1): property cases. Up to 10,000: 50 per case; then the part of the amount in each band
# at its rate (cumulative).
PROPERTY_SCALE = Scale(
    "财产案件受理费", "property case fee", ART_13_1,
    bands=(
        (_d(10_000), _d(100_000), _d("0.025")),  # 10,000–100,000: 2.5 %
        (_d(100_000), _d(200_000), _d("0.02")),  # 100,000–200,000: 2 %
        (_d(200_000), _d(500_000), _d("0.015")),  # 200,000–500,000: 1.5 %
        (_d(500_000), _d(1_000_000), _d("0.01")),  # 500,000–1,000,000: 1 %
        (_d(1_000_000), _d(2_000_000), _d("0.009")),  # 1,000,000–2,000,000: 0.9 %
        (_d(2_000_000), _d(5_000_000), _d("0.008")),  # 2,000,000–5,000,000: 0.8 %
        (_d(5_000_000), _d(10_000_000), _d("0.007")),  # 5,000,000–10,000,000: 0.7 %
        (_d(10_000_000), _d(20_000_000), _d("0.006")),  # 10,000,000–20,000,000: 0.6 %
        (_d(20_000_000), None, _d("0.005")),  # above 20,000,000: 0.5 %
    ),
    flat_upto=_d(10_000), flat_fee=_d(50),
)  # fmt: skip

# Art. 13(2)1: divorce with property division: nothing extra up to 200,000; the excess at 0.5 %.
DIVORCE_PROPERTY_SCALE = Scale(
    "离婚案件财产分割", "divorce property division", ART_13_2_1,
    bands=((_d(200_000), None, _d("0.005")),),
)  # fmt: skip

# Art. 13(2)2: personality rights with damages: nothing extra up to 50,000; 50,000–100,000 at 1 %;
# above 100,000 at 0.5 %.
PERSONALITY_DAMAGES_SCALE = Scale(
    "人格权案件损害赔偿", "personality rights damages", ART_13_2_2,
    bands=((_d(50_000), _d(100_000), _d("0.01")), (_d(100_000), None, _d("0.005"))),
)  # fmt: skip

# Art. 14(1): enforcement. Up to 10,000: 50; 10,000–500,000: 1.5 %; 500,000–5,000,000: 1 %;
# 5,000,000–10,000,000: 0.5 %; above 10,000,000: 0.1 % (cumulative).
ENFORCEMENT_SCALE = Scale(
    "执行申请费", "enforcement application fee", ART_14_1,
    bands=(
        (_d(10_000), _d(500_000), _d("0.015")),
        (_d(500_000), _d(5_000_000), _d("0.01")),
        (_d(5_000_000), _d(10_000_000), _d("0.005")),
        (_d(10_000_000), None, _d("0.001")),
    ),
    flat_upto=_d(10_000), flat_fee=_d(50),
)  # fmt: skip

# Art. 14(2): preservation. Up to 1,000 (or no amount): 30; 1,000–100,000: 1 %; above 100,000:
# 0.5 % (cumulative); at most 5,000 in all.
PRESERVATION_SCALE = Scale(
    "保全申请费", "preservation application fee", ART_14_2,
    bands=((_d(1_000), _d(100_000), _d("0.01")), (_d(100_000), None, _d("0.005"))),
    flat_upto=_d(1_000), flat_fee=_d(30),
)  # fmt: skip
PRESERVATION_NO_AMOUNT_FEE = _d(30)  # Art. 14(2): no amount involved → 30
PRESERVATION_CAP = _d(5_000)  # Art. 14(2): 最多不超过5000元

LABOUR_FEE = _d(10)  # Art. 13(4): 10 per case
ADMINISTRATIVE_IP_MARITIME_FEE = _d(100)  # Art. 13(5)1: trademark, patent, maritime: 100
ADMINISTRATIVE_FEE = _d(50)  # Art. 13(5)2: other administrative cases: 50
PAYMENT_ORDER_FRACTION = Decimal(1) / Decimal(3)  # Art. 14(3): 1/3 of the property scale

# ------------------------------------------------------------------------------ case types


@dataclass(frozen=True)
class CaseTypeInfo:
    case_type: FeeCaseType
    name_zh: str
    name_en: str
    kind: FeeKind
    basis: str
    amount: AmountUse
    amount_meaning_zh: str = ""
    amount_meaning_en: str = ""
    # The per-case fee: a fixed amount, or the name of the CourtFeeSchedule field holding it.
    per_case: Decimal | str | None = None
    per_case_zh: str = ""
    per_case_en: str = ""
    scale: Scale | None = None  # applied to the amount, when one is given
    scale_replaces_per_case: bool = False  # with an amount: the scale alone (else added)

    @property
    def schedule_field(self) -> str | None:
        return self.per_case if isinstance(self.per_case, str) else None


CASE_TYPES: tuple[CaseTypeInfo, ...] = (
    # Art. 13(1): property cases, the cumulative scale on the amount claimed.
    CaseTypeInfo(
        FeeCaseType.PROPERTY, "财产案件", "Property case", FeeKind.ACCEPTANCE, ART_13_1,
        AmountUse.REQUIRED, "诉讼请求的金额或者价额（上诉案件为上诉请求数额）",
        "amount claimed (on appeal: the amount appealed)", scale=PROPERTY_SCALE,
    ),
    # Art. 13(2)1: divorce, 50–300 per case (court-set) + 0.5 % of division above 200,000.
    CaseTypeInfo(
        FeeCaseType.DIVORCE, "离婚案件", "Divorce", FeeKind.ACCEPTANCE, ART_13_2_1,
        AmountUse.OPTIONAL, "涉及分割的财产总额", "total property to be divided",
        per_case="divorce", per_case_zh="离婚案件，每件", per_case_en="divorce, per case",
        scale=DIVORCE_PROPERTY_SCALE,
    ),
    # Art. 13(2)2: personality rights, 100–500 per case (court-set) + the damages bands.
    CaseTypeInfo(
        FeeCaseType.PERSONALITY_RIGHTS,
        "侵害姓名权、名称权、肖像权、名誉权、荣誉权以及其他人格权的案件",
        "Personality rights (name, portrait, reputation, honour …)", FeeKind.ACCEPTANCE,
        ART_13_2_2, AmountUse.OPTIONAL, "请求的损害赔偿金额", "damages claimed",
        per_case="personality_rights", per_case_zh="人格权案件，每件",
        per_case_en="personality rights, per case", scale=PERSONALITY_DAMAGES_SCALE,
    ),
    # Art. 13(2)3: other non-property cases, 50–100 per case (court-set).
    CaseTypeInfo(
        FeeCaseType.OTHER_NON_PROPERTY, "其他非财产案件", "Other non-property case",
        FeeKind.ACCEPTANCE, ART_13_2_3, AmountUse.NOT_USED, per_case="other_non_property",
        per_case_zh="其他非财产案件，每件", per_case_en="other non-property case, per case",
    ),
    # Art. 13(3): IP without an amount 500–1,000 per case (court-set); with one, Art. 13(1).
    CaseTypeInfo(
        FeeCaseType.INTELLECTUAL_PROPERTY, "知识产权民事案件", "Intellectual property (civil)",
        FeeKind.ACCEPTANCE, ART_13_3, AmountUse.OPTIONAL, "争议金额或者价额",
        "amount in dispute (with an amount: the property scale)", per_case="ip_without_amount",
        per_case_zh="无争议金额或者价额的，每件",
        per_case_en="IP case without an amount in dispute, per case",
        scale=PROPERTY_SCALE, scale_replaces_per_case=True,
    ),
    # Art. 13(4): labour disputes, 10 per case.
    CaseTypeInfo(
        FeeCaseType.LABOUR, "劳动争议案件", "Labour dispute", FeeKind.ACCEPTANCE, ART_13_4,
        AmountUse.NOT_USED, per_case=LABOUR_FEE, per_case_zh="劳动争议案件，每件",
        per_case_en="labour dispute, per case",
    ),
    # Art. 13(5)1: trademark, patent and maritime administrative cases, 100 per case.
    CaseTypeInfo(
        FeeCaseType.ADMINISTRATIVE_IP_MARITIME, "商标、专利、海事行政案件",
        "Administrative case: trademark, patent or maritime", FeeKind.ACCEPTANCE, ART_13_5_1,
        AmountUse.NOT_USED, per_case=ADMINISTRATIVE_IP_MARITIME_FEE,
        per_case_zh="商标、专利、海事行政案件，每件",
        per_case_en="trademark, patent or maritime administrative case, per case",
    ),
    # Art. 13(5)2: other administrative cases, 50 per case.
    CaseTypeInfo(
        FeeCaseType.ADMINISTRATIVE, "其他行政案件", "Other administrative case",
        FeeKind.ACCEPTANCE, ART_13_5_2, AmountUse.NOT_USED, per_case=ADMINISTRATIVE_FEE,
        per_case_zh="其他行政案件，每件", per_case_en="other administrative case, per case",
    ),
    # Art. 13(6): jurisdiction objection dismissed, 50–100 per case (court-set).
    CaseTypeInfo(
        FeeCaseType.JURISDICTION_OBJECTION, "管辖权异议（异议不成立的）",
        "Jurisdiction objection (payable when dismissed)", FeeKind.ACCEPTANCE, ART_13_6,
        AmountUse.NOT_USED, per_case="jurisdiction_objection",
        per_case_zh="管辖权异议不成立的，每件",
        per_case_en="jurisdiction objection dismissed, per case",
    ),
    # Art. 14(1): enforcement: no amount 50–500 per case (court-set); with one, its scale.
    CaseTypeInfo(
        FeeCaseType.ENFORCEMENT, "申请执行", "Enforcement application", FeeKind.APPLICATION,
        ART_14_1, AmountUse.OPTIONAL, "执行金额或者价额", "amount to be enforced",
        per_case="enforcement_without_amount", per_case_zh="没有执行金额或者价额的，每件",
        per_case_en="enforcement without an amount, per case",
        scale=ENFORCEMENT_SCALE, scale_replaces_per_case=True,
    ),
    # Art. 14(2): preservation: no amount 30 per case; with one, its scale (capped in quote_fee).
    CaseTypeInfo(
        FeeCaseType.PRESERVATION, "申请保全措施", "Preservation application",
        FeeKind.APPLICATION, ART_14_2, AmountUse.OPTIONAL, "申请保全的财产数额",
        "value of the property to be preserved", per_case=PRESERVATION_NO_AMOUNT_FEE,
        per_case_zh="不涉及财产数额的，每件",
        per_case_en="preservation without an amount, per case",
        scale=PRESERVATION_SCALE, scale_replaces_per_case=True,
    ),
    # Art. 14(3): payment order: the property scale, reduced to 1/3 in quote_fee.
    CaseTypeInfo(
        FeeCaseType.PAYMENT_ORDER, "申请支付令", "Payment order application",
        FeeKind.APPLICATION, ART_14_3, AmountUse.REQUIRED, "请求给付的金额",
        "amount demanded", scale=PROPERTY_SCALE,
    ),
)  # fmt: skip
CASE_TYPE_INFO: dict[FeeCaseType, CaseTypeInfo] = {i.case_type: i for i in CASE_TYPES}

FEE_PAYMENT_DAYS = 7  # Art. 22: within 7 days from the day after the fee notice is received

# ------------------------------------------------------------------------------ result


@dataclass(frozen=True)
class FeeLine:
    label_zh: str
    label_en: str
    basis: str
    fee: Decimal
    lower: Decimal | None = None  # band bounds (yuan); None = open / not a band
    upper: Decimal | None = None
    rate: Decimal | None = None  # None for a flat amount
    amount_in_band: Decimal | None = None


@dataclass(frozen=True)
class FeeAdjustment:
    code: str  # payment_order_third | preservation_cap | halving
    label_zh: str
    label_en: str
    basis: str
    before: Decimal
    after: Decimal


@dataclass(frozen=True)
class HalvingGround:
    code: str  # simple_procedure | mediation_or_withdrawal | counterclaim
    label_zh: str
    label_en: str
    basis: str


@dataclass(frozen=True)
class Halving:
    grounds: tuple[HalvingGround, ...]
    times: int  # how many halvings were applied
    stacking: bool  # the policy in force

    @property
    def applied(self) -> bool:
        return self.times > 0

    @property
    def explanation_en(self) -> str:
        if not self.grounds:
            return "no halving ground"
        names = ", ".join(g.label_en for g in self.grounds)
        if self.stacking or len(self.grounds) == 1:
            return f"halved {self.times}× ({names})"
        return (
            f"halved once although {len(self.grounds)} grounds apply ({names}); "
            "halvings do not stack"
        )

    @property
    def explanation_zh(self) -> str:
        if not self.grounds:
            return "无减半事由"
        names = "、".join(g.label_zh for g in self.grounds)
        if self.stacking or len(self.grounds) == 1:
            return f"减半交纳{self.times}次（{names}）"
        return f"同时具有{len(self.grounds)}项减半事由（{names}），只减半一次"


@dataclass(frozen=True)
class FeeQuote:
    case_type: FeeCaseType
    name_zh: str
    name_en: str
    kind: FeeKind
    amount: Decimal | None
    procedure: Procedure
    appeal: bool
    lines: tuple[FeeLine, ...]
    subtotal: Decimal  # sum of the lines
    adjustments: tuple[FeeAdjustment, ...]
    halving: Halving
    total: Decimal
    prepayment_required: bool
    notes_zh: tuple[str, ...]
    notes_en: tuple[str, ...]
    legal_basis: tuple[str, ...]
    schedule: CourtFeeSchedule
    currency: str = CURRENCY

    @property
    def total_fen(self) -> int:
        return int(self.total * 100)


# ------------------------------------------------------------------------------ inputs

_AMOUNT_TEXT = re.compile(r"(-?)(\d+)(?:\.(\d+))?")


def parse_amount(value: object, field_name: str = "amount") -> Decimal:
    """A claim amount in yuan: a decimal string (``"350000"``, ``"1234.5"``), an int or a
    Decimal; positive, at most 2 decimal places, at most 10^13. Floats are refused (inexact)."""
    if isinstance(value, bool | float):
        raise _bad(field_name, f"{field_name} must be a decimal string, not a float or boolean")
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise _bad(field_name, f"{field_name} must be a finite number")
        amount = value
    elif isinstance(value, str):
        text = value.strip()
        if len(text) > _MAX_AMOUNT_TEXT:
            raise _bad(field_name, f"{field_name} is absurdly long")
        match = _AMOUNT_TEXT.fullmatch(text)
        if match is None:
            raise _bad(
                field_name,
                f"{field_name} must be a plain decimal number of yuan, e.g. 350000 or 1234.50 "
                "(no exponent, sign, separators or currency)",
            )
        if match.group(3) is not None and len(match.group(3)) > 2:
            raise _bad(field_name, f"{field_name} may have at most 2 decimal places (fen)")
        amount = Decimal(text)
    else:
        raise _bad(field_name, f"{field_name} must be a decimal string")
    if amount < 0:
        raise _bad(field_name, f"{field_name} must not be negative")
    if amount == 0:
        raise _bad(field_name, f"{field_name} must be greater than zero (leave it out if none)")
    if amount > MAX_AMOUNT:
        raise _bad(field_name, f"{field_name} must not exceed {MAX_AMOUNT:,} yuan")
    if amount != amount.quantize(FEN, rounding=ROUND_HALF_UP, context=_CONTEXT):
        raise _bad(field_name, f"{field_name} may have at most 2 decimal places (fen)")
    return amount


def _enum(cls: type[Any], value: object, field_name: str) -> Any:
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        raise _bad(field_name, f"{field_name} {value!r} is not one of: {allowed}") from None


# ------------------------------------------------------------------------------ arithmetic


def _round(value: Decimal) -> Decimal:
    return value.quantize(FEN, rounding=ROUND_HALF_UP, context=_CONTEXT)


def _yuan(value: Decimal) -> str:
    return f"{value.normalize(_CONTEXT):,f}" if value == value.to_integral() else f"{value:,}"


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize(_CONTEXT):f}"


def scale_lines(scale: Scale, amount: Decimal) -> list[FeeLine]:
    """The lines of ``scale`` for ``amount``: one per band the amount reaches."""
    lines: list[FeeLine] = []
    with localcontext(_CONTEXT):
        if scale.flat_upto is not None and scale.flat_fee is not None:
            lines.append(
                FeeLine(
                    f"不超过{_yuan(scale.flat_upto)}元的，每件{_yuan(scale.flat_fee)}元",
                    f"up to {_yuan(scale.flat_upto)}: {_yuan(scale.flat_fee)} per case",
                    scale.basis,
                    _round(scale.flat_fee),
                    lower=ZERO,
                    upper=scale.flat_upto,
                    amount_in_band=min(amount, scale.flat_upto),
                )
            )
        else:
            first = scale.bands[0][0]
            lines.append(
                FeeLine(
                    f"不超过{_yuan(first)}元的，不另行交纳",
                    f"up to {_yuan(first)}: nothing extra",
                    scale.basis,
                    _round(ZERO),
                    lower=ZERO,
                    upper=first,
                    amount_in_band=min(amount, first),
                )
            )
        for lower, upper, rate in scale.bands:
            if amount <= lower:
                break
            top = amount if upper is None else min(amount, upper)
            in_band = top - lower
            if upper is None:
                label_zh = f"超过{_yuan(lower)}元的部分，按照{_percent(rate)}%交纳"
                label_en = f"above {_yuan(lower)} at {_percent(rate)} %"
            else:
                label_zh = (
                    f"超过{_yuan(lower)}元至{_yuan(upper)}元的部分，按照{_percent(rate)}%交纳"
                )
                label_en = f"{_yuan(lower)}–{_yuan(upper)} at {_percent(rate)} %"
            lines.append(
                FeeLine(
                    label_zh,
                    label_en,
                    scale.basis,
                    _round(in_band * rate),
                    lower=lower,
                    upper=upper,
                    rate=rate,
                    amount_in_band=in_band,
                )
            )
    return lines


def property_fee(amount: object) -> Decimal:
    """Art. 13(1) fee on ``amount`` (no halving)."""
    return sum((line.fee for line in scale_lines(PROPERTY_SCALE, parse_amount(amount))), ZERO)


# ------------------------------------------------------------------------------ halving

_GROUND_SIMPLE = HalvingGround(
    "simple_procedure", "适用简易程序（含小额诉讼程序）", "simple (summary) procedure", ART_16
)
_GROUND_SETTLED = HalvingGround(
    "mediation_or_withdrawal", "调解结案或者申请撤诉", "closed by mediation or withdrawn", ART_15
)
_GROUND_COUNTERCLAIM = HalvingGround(
    "counterclaim",
    "反诉或者有独立请求权的第三人的请求合并审理",
    "counterclaim or third-party claim heard together",
    ART_18,
)


def _halving_grounds(
    procedure: Procedure, mediated_or_withdrawn: bool, counterclaim_joined: bool
) -> tuple[HalvingGround, ...]:
    grounds: list[HalvingGround] = []
    if procedure in (Procedure.SIMPLE, Procedure.SMALL_CLAIMS):
        grounds.append(_GROUND_SIMPLE)  # Art. 16: simple procedure → half
    if mediated_or_withdrawn:
        grounds.append(_GROUND_SETTLED)  # Art. 15: mediation or withdrawal → half
    if counterclaim_joined:
        grounds.append(_GROUND_COUNTERCLAIM)  # Art. 18: counterclaim heard together → half
    return tuple(grounds)


# ------------------------------------------------------------------------------ quote


def quote_fee(
    case_type: FeeCaseType | str,
    amount: object = None,
    *,
    procedure: Procedure | str = Procedure.ORDINARY,
    mediated_or_withdrawn: bool = False,
    counterclaim_joined: bool = False,
    appeal: bool = False,
    labour_remuneration: bool = False,
    schedule: CourtFeeSchedule = DEFAULT_FEE_SCHEDULE,
    stack_halvings: bool | None = None,
) -> FeeQuote:
    """Price one fee. Raises :class:`FeeInputError` (422) for a request the statute cannot price.

    ``amount``: yuan as a decimal string, int or Decimal (see :func:`parse_amount`); its meaning and
    whether it is required depend on the case type (``CASE_TYPE_INFO``).
    ``appeal``: Art. 17 — the amount is the amount appealed.
    ``labour_remuneration``: a claim for unpaid labour remuneration (Art. 20, no prepayment).
    ``stack_halvings``: overrides ``schedule.stack_halvings`` for this quote.
    """
    kind_of = _enum(FeeCaseType, case_type, "case_type")
    proc = _enum(Procedure, procedure, "procedure")
    info = CASE_TYPE_INFO[kind_of]
    value: Decimal | None = None
    if amount is not None and amount != "":
        value = parse_amount(amount)
    if info.amount is AmountUse.REQUIRED and value is None:
        raise _bad("amount", f"{kind_of.value}: the amount ({info.amount_meaning_en}) is required")
    if info.amount is AmountUse.NOT_USED and value is not None:
        raise _bad("amount", f"{kind_of.value} is charged per case; leave the amount out")

    grounds = _halving_grounds(proc, mediated_or_withdrawn, counterclaim_joined)
    if info.kind is FeeKind.APPLICATION:
        if grounds:
            raise _bad(
                "procedure",
                "the halvings of Art. 15, 16 and 18 apply to case acceptance fees, "
                f"not to the {info.name_en.lower()} fee",
            )
        if appeal:
            raise _bad("appeal", "Art. 17 (appeal fee) applies to case acceptance fees only")
    if appeal and proc is not Procedure.ORDINARY:
        raise _bad("procedure", "an appeal is not heard under simple or small-claims procedure")
    if labour_remuneration and kind_of not in (FeeCaseType.PROPERTY, FeeCaseType.LABOUR):
        raise _bad(
            "labour_remuneration",
            "a claim for labour remuneration is a labour dispute or a property case",
        )

    notes_zh: list[str] = []
    notes_en: list[str] = []
    basis: list[str] = [info.basis]
    lines = _base_lines(info, value, schedule, basis)
    adjustments: list[FeeAdjustment] = []
    with localcontext(_CONTEXT):
        subtotal = sum((line.fee for line in lines), ZERO)
        running = subtotal
        if kind_of is FeeCaseType.PAYMENT_ORDER:
            # Art. 14(3): 1/3 of the property-case fee on the amount demanded.
            after = _round(running * PAYMENT_ORDER_FRACTION)
            adjustments.append(
                FeeAdjustment(
                    "payment_order_third", "按财产案件受理费标准的1/3交纳",
                    "one third of the property-case fee", ART_14_3, running, after,
                )
            )  # fmt: skip
            running = after
        if kind_of is FeeCaseType.PRESERVATION and running > PRESERVATION_CAP:
            # Art. 14(2): preservation fees are capped at 5,000.
            adjustments.append(
                FeeAdjustment(
                    "preservation_cap", "保全申请费最多不超过5,000元",
                    "preservation fee capped at 5,000", ART_14_2, running, _round(PRESERVATION_CAP),
                )
            )  # fmt: skip
            running = _round(PRESERVATION_CAP)
        stacking = schedule.stack_halvings if stack_halvings is None else stack_halvings
        times = len(grounds) if stacking else min(len(grounds), 1)
        for ground in grounds[:times]:
            after = _round(running / 2)
            adjustments.append(
                FeeAdjustment(
                    "halving", f"减半交纳：{ground.label_zh}", f"halved: {ground.label_en}",
                    ground.basis, running, after,
                )
            )  # fmt: skip
            running = after
        basis.extend(g.basis for g in grounds)

    if appeal:
        basis.append(ART_17)
        notes_zh.append("上诉案件按照不服一审判决部分的上诉请求数额交纳案件受理费（第十七条）")
        notes_en.append("on appeal the fee is computed on the amount appealed (Art. 17)")
    prepayment_required = True
    if labour_remuneration:
        # Art. 20: claims for unpaid labour remuneration need no prepayment of the fee.
        prepayment_required = False
        basis.append(ART_20)
        notes_zh.append("追索劳动报酬的案件可以不预交案件受理费（第二十条）")
        notes_en.append("claims for unpaid labour remuneration need no prepayment (Art. 20)")
    if kind_of is FeeCaseType.ENFORCEMENT:
        # Art. 20: the enforcement application fee is paid after enforcement, not in advance.
        prepayment_required = False
        basis.append(ART_20)
        notes_zh.append("执行申请费不由申请人预交，执行后交纳（第二十条）")
        notes_en.append("the enforcement fee is not prepaid; it is collected after enforcement")
    if kind_of is FeeCaseType.JURISDICTION_OBJECTION:
        notes_zh.append("仅在管辖权异议不成立时交纳")
        notes_en.append("payable only when the objection is dismissed")
    if prepayment_required:
        basis.append(ART_22)
        notes_zh.append("自接到交费通知次日起7日内交纳，逾期未交按撤诉处理（第二十二条）")
        notes_en.append(
            "pay within 7 days from the day after the fee notice is received, otherwise the "
            "filing is treated as withdrawn (Art. 22)"
        )
    return FeeQuote(
        case_type=kind_of,
        name_zh=info.name_zh,
        name_en=info.name_en,
        kind=info.kind,
        amount=value,
        procedure=proc,
        appeal=appeal,
        lines=tuple(lines),
        subtotal=subtotal,
        adjustments=tuple(adjustments),
        halving=Halving(grounds, times, stacking),
        total=running,
        prepayment_required=prepayment_required,
        notes_zh=tuple(notes_zh),
        notes_en=tuple(notes_en),
        legal_basis=tuple(dict.fromkeys(basis)),
        schedule=schedule,
    )


def _base_lines(
    info: CaseTypeInfo, amount: Decimal | None, schedule: CourtFeeSchedule, basis: list[str]
) -> list[FeeLine]:
    """The fee before any adjustment, as breakdown lines (the rules are in ``CASE_TYPES``)."""
    lines: list[FeeLine] = []
    use_scale = amount is not None and info.scale is not None
    if info.per_case is not None and not (use_scale and info.scale_replaces_per_case):
        fee = getattr(schedule, info.per_case) if isinstance(info.per_case, str) else info.per_case
        lines.append(FeeLine(info.per_case_zh, info.per_case_en, info.basis, _round(fee)))
    if use_scale:
        assert amount is not None and info.scale is not None
        lines += scale_lines(info.scale, amount)
        basis.append(info.scale.basis)  # Art. 13(1) for IP with an amount and payment orders
    return lines


# ------------------------------------------------------------------------------ deadline


def fee_payment_deadline(
    notice_received_on: date, *, roll_forward: Callable[[date], date] | None = None
) -> date:
    """Last day to pay the fee (Art. 22): 7 days counted from the day after the notice arrived.

    Calendar days only; the receipt day is not counted (CPL Art. 85, LEGAL §5), so a notice
    received on 1 March must be paid by 8 March. Rolling a last day that falls on a rest day or
    holiday forward to the next working day is the holiday calendar's job: pass it as
    ``roll_forward``.
    """
    if isinstance(notice_received_on, datetime) or not isinstance(notice_received_on, date):
        raise TypeError("pass the calendar date the notice was received (a date, not a datetime)")
    last_day = notice_received_on + timedelta(days=FEE_PAYMENT_DAYS)
    return roll_forward(last_day) if roll_forward is not None else last_day


def amount_due(total: object, payable: object) -> Decimal | None:
    """What is to be paid on a fee notice of ``total``: ``payable`` once a reduction or waiver
    was granted (Decree 481 Art. 44-47; 0 when waived), else the total; None before any notice.

    The one rule behind the payment order, the dashboard's fee state and its fee deadline.
    Accepts model values and raw rows alike (SQLite may hand the column back as text or float).
    """
    amount = payable if payable is not None else total
    if amount is None or isinstance(amount, Decimal):
        return amount
    return Decimal(str(amount))
