"""Request and response shapes of /api/v1/fees/ and /api/v1/filing/.

Money travels as decimal strings in yuan (``"2300.00"``), never as JSON numbers, plus ``total_fen``
as an integer for payment.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, StrictBool, WithJsonSchema, field_validator

from backend.schemas import Input, Output, PageQuery
from filing.case_numbers import validate_court_code
from filing.catalogue import CaseCategory
from filing.fees import AmountUse, CourtFeeSchedule, FeeCaseType, FeeKind, Procedure, parse_amount
from filing.models import CourtLevel, IdType

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


# ------------------------------------------------------------------------------ filings


def _claim_amount(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip() in {"0", "0.0", "0.00"}:
        return Decimal("0.00")
    return parse_amount(value, "claim_amount")


class FilingCreate(Input):
    court: str = Field(min_length=1, max_length=8, description="court code where you file")
    cause: str = Field(min_length=1, max_length=64, description="cause of action code")
    case_type: str = Field(default="民初", max_length=4)
    procedure: Procedure = Procedure.ORDINARY
    claim_amount: Annotated[Decimal | None, WithJsonSchema(_AMOUNT_SCHEMA)] = None
    performance_region: str | None = Field(default=None, pattern=r"^[0-9]{6}$")
    claims: str = Field(default="", max_length=5000)
    facts_and_reasons: str = Field(default="", max_length=50000)

    @field_validator("claim_amount", mode="before")
    @classmethod
    def _amount(cls, value: object) -> Decimal | None:
        return _claim_amount(value)


class FilingUpdate(Input):
    claim_amount: Annotated[Decimal | None, WithJsonSchema(_AMOUNT_SCHEMA)] = None
    claims: str | None = Field(default=None, max_length=5000)
    facts_and_reasons: str | None = Field(default=None, max_length=50000)

    @field_validator("claim_amount", mode="before")
    @classmethod
    def _amount(cls, value: object) -> Decimal | None:
        return _claim_amount(value)


_ABROAD = (
    "在中华人民共和国大陆没有住所 / no domicile in the PRC mainland: documents served on this "
    "party (or its agent) run the 30-day response and appeal periods of CPL Art. 285-286"
)


_ID_TYPE = (
    "the identifying document (GET /api/v1/filing/id-types); default resident_id for a person, "
    "credit_code for an organisation"
)
_COUNTRY = (
    "ISO 3166-1 alpha-3: a passport's nationality, or where a foreign organisation is registered"
)
_ABROAD_DEFAULT = (
    f"{_ABROAD}. Omitted: true for HK/Macao/Taiwan travel permits, foreign passports and "
    "organisations registered abroad, false otherwise"
)


class PartyIdentity(Input):
    """The document fields: which one is needed depends on ``id_type``."""

    id_type: IdType | None = Field(default=None, description=_ID_TYPE)
    id_number: str | None = Field(
        default=None, max_length=32, description="a person's document number"
    )
    credit_code: str | None = Field(default=None, max_length=32)
    registration_number: str | None = Field(
        default=None, max_length=60, description="an organisation's registration number abroad"
    )
    country: str | None = Field(default=None, max_length=8, description=_COUNTRY)


class PartyIn(PartyIdentity):
    role: str = Field(pattern="^(plaintiff|defendant|third_party)$")
    kind: str = Field(pattern="^(natural|organisation)$")
    name: str = Field(min_length=1, max_length=200)
    region_code: str = Field(pattern=r"^[0-9]{6}$", description="division code of the domicile")
    address: str = Field(min_length=2, max_length=300)
    service_address: str | None = Field(default=None, max_length=200)
    service_address_confirmed: bool = False
    domiciled_abroad: StrictBool | None = Field(default=None, description=_ABROAD_DEFAULT)
    is_me: bool = Field(default=False, description="link this party to your own account")

    @field_validator("domiciled_abroad")
    @classmethod
    def _given_not_null(cls, value: bool | None) -> bool | None:
        # Omitted means the document's default; an explicit null is a client mistake.
        if value is None:
            raise ValueError("true or false; omit it for the document's default")
        return value


class PartyUpdate(PartyIdentity):
    """Only the fields given change. A change of document gives the number again (with the
    country where the document needs one); the type stays unless ``id_type`` is given."""

    region_code: str | None = Field(
        default=None, pattern=r"^[0-9]{6}$", description="division code of the domicile"
    )
    address: str | None = Field(default=None, min_length=2, max_length=300)
    service_address: str | None = Field(default=None, max_length=200)
    service_address_confirmed: StrictBool | None = None
    domiciled_abroad: StrictBool | None = Field(default=None, description=_ABROAD_DEFAULT)


class IdTypeOut(Output):
    code: IdType
    kind: str = Field(examples=["natural", "organisation"])
    name_zh: str
    name_en: str
    number_field: str = Field(examples=["id_number", "credit_code", "registration_number"])
    country_required: bool
    domiciled_abroad_default: bool


class IdTypeList(Output):
    items: list[IdTypeOut]


class PartyOut(Output):
    id: str
    role: str
    kind: str
    name: str
    id_type: IdType
    id_type_name: str = Field(examples=["护照 / Passport"])
    id_number_masked: str | None
    credit_code: str | None
    registration_number: str | None
    country: str | None
    region_code: str
    address: str
    service_address: str | None
    service_address_confirmed: bool
    domiciled_abroad: bool
    linked: bool
    account_id: str | None = Field(
        description="the linked account: shown to court staff only, null for everyone else"
    )
    masked: bool


class RepresentationOut(Output):
    id: str
    party_id: str
    lawyer_account_id: str | None = Field(
        description="shown to court staff and the represented side, null for the other side"
    )
    power_of_attorney_file_id: str
    granted_at: str
    revoked_at: str | None


class EvidenceOut(Output):
    id: str
    title: str
    description: str
    sha256: str
    size: int
    media_type: str
    uploaded_at: str
    anchor_seq: int | None


class EvidenceVerifyOut(Output):
    sha256: str
    matches: bool
    evidence_id: str | None = None
    anchor_seq: int | None = None


class CorrectionIn(Input):
    items: list[str] = Field(min_length=1, max_length=50)
    deadline_days: int = Field(default=15, ge=1, le=60)


class CorrectionOut(Output):
    id: str
    items: list[str]
    deadline: str
    issued_at: str
    answered_at: str | None


class ForwardingOut(Output):
    from_court: str
    to_court: str
    reason: str
    at: str


class RoutingReasonOut(Output):
    zh: str
    en: str


class FeeNoticeOut(Output):
    total: str
    due_on: str
    quote: dict[str, Any]
    # After a granted fee relief: what is due now (null: the total) and which relief.
    payable: str | None = None
    relief: str | None = None
    paid: bool = False


class FilingOut(Output):
    id: str
    status: str
    receiving_court: str
    competent_court: str | None
    case_type: str
    procedure: str
    cause: str
    claim_amount: str | None
    claims: str
    facts_and_reasons: str
    received_at: str | None
    clock_started_at: str | None
    decision_due_on: str | None
    case_number: str | None
    refusal_reason: str | None
    assigned_judge_id: str | None
    assigned_clerk_id: str | None
    routing_reasons: list[RoutingReasonOut]
    parties: list[PartyOut]
    representations: list[RepresentationOut]
    evidence: list[EvidenceOut]
    corrections: list[CorrectionOut]
    forwardings: list[ForwardingOut]
    fee_notice: FeeNoticeOut | None


class FilingSummaryOut(Output):
    id: str
    status: str
    receiving_court: str
    competent_court: str | None
    cause: str
    case_number: str | None
    created_at: str


class FilingPage(Output):
    items: list[FilingSummaryOut]
    next_cursor: str | None = None


class MineQuery(PageQuery):
    mine: str | None = Field(default=None, max_length=5)


class ReviewItemOut(Output):
    id: str
    status: str
    receiving_court: str
    cause: str
    received_at: str | None
    clock_started_at: str | None
    decision_due_on: str | None
    days_left: int | None
    near_limit: bool
    over_limit: bool


class ReviewPage(Output):
    items: list[ReviewItemOut]
    next_cursor: str | None = None


class RefuseIn(Input):
    reason: str = Field(min_length=2, max_length=2000)


class AssignIn(Input):
    judge_id: str | None = Field(default=None, max_length=36)
    clerk_id: str | None = Field(default=None, max_length=36)


class CaseEventOut(Output):
    kind: str
    at: str
    actor_id: str | None
    details: dict[str, Any]


class TimelineOut(Output):
    items: list[CaseEventOut]


class ClaimIn(Input):
    case_number: str = Field(min_length=1, max_length=64)
