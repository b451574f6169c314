"""Request and response shapes of /api/v1/fees/ and /api/v1/filing/.

Money travels as decimal strings in yuan (``"2300.00"``), never as JSON numbers, plus ``total_fen``
as an integer for payment.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, WithJsonSchema, field_validator

from backend.schemas import Input, Output, PageQuery
from filing.case_numbers import validate_court_code
from filing.catalogue import CaseCategory
from filing.fees import AmountUse, CourtFeeSchedule, FeeCaseType, FeeKind, Procedure, parse_amount
from filing.models import CourtLevel

# ---------------------------------------------------------------------------------- fees

# In the query the amount is text: a decimal number of yuan with at most 2 places.
_AMOUNT_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": r"^[0-9]+(\.[0-9]{1,2})?$", "maxLength": 40},
        {"type": "null"},
    ]
}


class FeeQuoteQuery(Input):
    case_type: FeeCaseType = Field(description="see GET /api/v1/fees/case-types")
    amount: Annotated[Decimal | None, WithJsonSchema(_AMOUNT_SCHEMA, mode="validation")] = Field(
        default=None,
        description="yuan as a decimal string with at most 2 decimal places, e.g. 350000 or "
        "1234.50; its meaning depends on the case type",
        examples=["350000"],
    )
    procedure: Procedure = Field(
        default=Procedure.ORDINARY, description="simple and small_claims halve the fee (Art. 16)"
    )
    court: str | None = Field(
        default=None,
        max_length=16,
        description="court code (浙0281): use that court's amounts inside the statutory ranges",
    )
    mediated_or_withdrawn: bool = Field(default=False, description="Art. 15 halving")
    counterclaim_joined: bool = Field(default=False, description="Art. 18 halving")
    appeal: bool = Field(default=False, description="Art. 17: amount = the amount appealed")
    labour_remuneration: bool = Field(
        default=False, description="claim for unpaid labour remuneration: no prepayment (Art. 20)"
    )

    @field_validator("amount", mode="before")
    @classmethod
    def _amount(cls, value: Any) -> Decimal | None:
        if value is None or value == "":
            return None
        return parse_amount(value)

    @field_validator("court")
    @classmethod
    def _court(cls, value: str | None) -> str | None:
        return None if not value else validate_court_code(value)


class FeeLineOut(Output):
    label_zh: str
    label_en: str
    basis: str
    fee: Decimal
    lower: Decimal | None = Field(description="band lower bound (exclusive), yuan")
    upper: Decimal | None = Field(description="band upper bound (inclusive); null = open")
    rate: Decimal | None = Field(description="rate on the amount in the band; null = flat")
    amount_in_band: Decimal | None


class FeeAdjustmentOut(Output):
    code: str = Field(examples=["halving", "payment_order_third", "preservation_cap"])
    label_zh: str
    label_en: str
    basis: str
    before: Decimal
    after: Decimal


class HalvingGroundOut(Output):
    code: str = Field(examples=["simple_procedure", "mediation_or_withdrawal", "counterclaim"])
    label_zh: str
    label_en: str
    basis: str


class HalvingOut(Output):
    applied: bool
    times: int
    stacking: bool = Field(description="policy: whether several grounds halve more than once")
    grounds: list[HalvingGroundOut]
    explanation_zh: str
    explanation_en: str


class CourtRefOut(Output):
    code: str
    name_zh: str
    name_en: str


class FeeQuoteOut(Output):
    case_type: FeeCaseType
    name_zh: str
    name_en: str
    kind: FeeKind
    amount: Decimal | None
    procedure: Procedure
    appeal: bool
    currency: str = Field(examples=["CNY"])
    total: Decimal = Field(examples=["2300.00"])
    total_fen: int
    subtotal: Decimal = Field(description="sum of the lines, before adjustments")
    lines: list[FeeLineOut]
    adjustments: list[FeeAdjustmentOut]
    halving: HalvingOut
    prepayment_required: bool
    notes_zh: list[str]
    notes_en: list[str]
    legal_basis: list[str]
    court: CourtRefOut | None
    schedule_source: str


class FeeRangeOut(Output):
    schedule_field: str
    minimum: Decimal
    maximum: Decimal
    default: Decimal


class FeeCaseTypeOut(Output):
    case_type: FeeCaseType
    name_zh: str
    name_en: str
    kind: FeeKind
    basis: str
    amount: AmountUse
    amount_meaning_zh: str
    amount_meaning_en: str
    court_configured: FeeRangeOut | None = Field(
        description="the per-case amount each court fixes inside this statutory range"
    )


class ProcedureOut(Output):
    procedure: Procedure
    name_zh: str
    name_en: str


class FeeCaseTypeList(Output):
    items: list[FeeCaseTypeOut]
    procedures: list[ProcedureOut]


# ---------------------------------------------------------------------------- reference


class CourtQuery(PageQuery):
    level: CourtLevel | None = None


class InternetCategoryOut(Output):
    key: str
    name_zh: str
    name_en: str


class CourtOut(Output):
    code: str
    name_zh: str
    name_en: str
    level: CourtLevel
    region_code: str
    parent_code: str | None
    case_types: list[str]
    designated_categories: list[InternetCategoryOut]
    fee_schedule: CourtFeeSchedule


class CourtPage(Output):
    items: list[CourtOut]
    next_cursor: str | None = None


class CauseQuery(PageQuery):
    q: str | None = Field(
        default=None, min_length=1, max_length=50, description="part of the name or code"
    )
    internet: bool = Field(default=False, description="only causes in an Internet-court category")


class CauseOut(Output):
    code: str
    parent_code: str | None
    level: int = Field(description="3 = third-level cause, 4 = fourth-level")
    name_zh: str
    name_en: str
    path_zh: str
    path_en: str
    internet_category: InternetCategoryOut | None


class CausePage(Output):
    items: list[CauseOut]
    next_cursor: str | None = None


class CaseTypeCodeOut(Output):
    code: str
    name_zh: str
    name_en: str
    category: CaseCategory


class CaseTypeCodeList(Output):
    items: list[CaseTypeCodeOut]


class CaseNumberQuery(Input):
    number: str = Field(min_length=1, max_length=64, examples=["(2026)浙0281民初1234号"])


class CaseNumberOut(Output):
    number: str = Field(description="canonical form, ASCII brackets")
    year: int
    court_code: str
    special_code: str
    type_code: str
    type_name_zh: str
    type_name_en: str
    serial: int
    court: CourtRefOut | None = Field(description="the court, when it is in the reference data")
