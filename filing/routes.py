"""/api/v1/fees/ (fee quotes) and /api/v1/filing/ (courts, causes of action, case numbers).

Everything here is public reference data: no personal data, no case data.
"""

from __future__ import annotations

from aiohttp import web

from backend.errors import NotFound, ValidationFailed
from backend.http import endpoint
from backend.policy import Policy
from filing import courts
from filing.case_numbers import parse_case_number
from filing.catalogue import CASE_TYPE_CODES, CASE_TYPES_BY_CODE, INTERNET_CATEGORIES_BY_KEY
from filing.clock import clock_ctx as clock_ctx
from filing.fees import (
    CASE_TYPES,
    DEFAULT_FEE_SCHEDULE,
    SCHEDULE_RANGES,
    FeeQuote,
    Procedure,
    quote_fee,
)
from filing.models import CauseOfAction, Court, CourtLevel
from filing.parties import DOCUMENTS
from filing.payments import payments_ctx as payments_ctx
from filing.schemas import (
    CaseNumberOut,
    CaseNumberQuery,
    CaseTypeCodeList,
    CaseTypeCodeOut,
    CauseOut,
    CausePage,
    CauseQuery,
    CourtOut,
    CourtPage,
    CourtQuery,
    CourtRefOut,
    FeeAdjustmentOut,
    FeeCaseTypeList,
    FeeCaseTypeOut,
    FeeLineOut,
    FeeQuoteOut,
    FeeQuoteQuery,
    FeeRangeOut,
    HalvingGroundOut,
    HalvingOut,
    IdTypeList,
    IdTypeOut,
    InternetCategoryOut,
    ProcedureOut,
)

fee_routes = web.RouteTableDef()
filing_routes = web.RouteTableDef()
FEE_TAGS = ("fees",)
FILING_TAGS = ("filing",)

PROCEDURE_NAMES = {
    Procedure.ORDINARY: ("普通程序", "ordinary procedure"),
    Procedure.SIMPLE: ("简易程序", "simple (summary) procedure"),
    Procedure.SMALL_CLAIMS: ("小额诉讼程序", "small claims procedure"),
}

# ------------------------------------------------------------------------------- shapes


def court_ref(court: Court) -> CourtRefOut:
    return CourtRefOut(code=court.code, name_zh=court.name_zh, name_en=court.name_en)


def quote_out(quote: FeeQuote, court: Court | None) -> FeeQuoteOut:
    return FeeQuoteOut(
        case_type=quote.case_type,
        name_zh=quote.name_zh,
        name_en=quote.name_en,
        kind=quote.kind,
        amount=quote.amount,
        procedure=quote.procedure,
        appeal=quote.appeal,
        currency=quote.currency,
        total=quote.total,
        total_fen=quote.total_fen,
        subtotal=quote.subtotal,
        lines=[FeeLineOut.model_validate(line) for line in quote.lines],
        adjustments=[FeeAdjustmentOut.model_validate(a) for a in quote.adjustments],
        halving=HalvingOut(
            applied=quote.halving.applied,
            times=quote.halving.times,
            stacking=quote.halving.stacking,
            grounds=[HalvingGroundOut.model_validate(g) for g in quote.halving.grounds],
            explanation_zh=quote.halving.explanation_zh,
            explanation_en=quote.halving.explanation_en,
        ),
        prepayment_required=quote.prepayment_required,
        notes_zh=list(quote.notes_zh),
        notes_en=list(quote.notes_en),
        legal_basis=list(quote.legal_basis),
        court=court_ref(court) if court is not None else None,
        schedule_source=quote.schedule.source,
    )


def _category(key: str) -> InternetCategoryOut | None:
    category = INTERNET_CATEGORIES_BY_KEY.get(key)
    if category is None:
        return None
    return InternetCategoryOut(key=category.key, name_zh=category.name_zh, name_en=category.name_en)


def court_out(court: Court) -> CourtOut:
    return CourtOut(
        code=court.code,
        name_zh=court.name_zh,
        name_en=court.name_en,
        level=CourtLevel(court.level),
        region_code=court.region_code,
        parent_code=court.parent_code,
        case_types=list(court.case_types),
        designated_categories=[
            c for key in court.designated_categories if (c := _category(key)) is not None
        ],
        fee_schedule=courts.court_fee_schedule(court),
    )


def cause_out(cause: CauseOfAction) -> CauseOut:
    path_zh, path_en = courts.cause_path(cause)
    return CauseOut(
        code=cause.code,
        parent_code=cause.parent_code,
        level=cause.level,
        name_zh=cause.name_zh,
        name_en=cause.name_en,
        path_zh=path_zh,
        path_en=path_en,
        internet_category=_category(cause.internet_category) if cause.internet_category else None,
    )


# --------------------------------------------------------------------------------- fees


@fee_routes.get("/quote")
@endpoint(
    "Quote a litigation fee with its breakdown",
    query=FeeQuoteQuery,
    response=FeeQuoteOut,
    public=True,
    tags=FEE_TAGS,
    description="Decree 481 (诉讼费用交纳办法): Art. 13 case acceptance fees, Art. 14 application "
    "fees, the halvings of Art. 15, 16 and 18. With `court`, that court's amounts inside the "
    "statutory ranges are used; otherwise the default schedule. A quote, not a fee notice.",
    errors=(422,),
)
async def quote(request: web.Request, *, query: FeeQuoteQuery) -> FeeQuoteOut:
    schedule = DEFAULT_FEE_SCHEDULE
    court: Court | None = None
    if query.court is not None:
        try:
            court = await courts.get_court(query.court)
        except NotFound:
            raise ValidationFailed(
                f"no court with code {query.court!r}; see GET /api/v1/filing/courts",
                code="unknown_court",
                errors=[{"location": "query", "field": "court", "message": "unknown court"}],
            ) from None
        schedule = courts.court_fee_schedule(court)
    result = quote_fee(
        query.case_type,
        query.amount,
        procedure=query.procedure,
        mediated_or_withdrawn=query.mediated_or_withdrawn,
        counterclaim_joined=query.counterclaim_joined,
        appeal=query.appeal,
        labour_remuneration=query.labour_remuneration,
        schedule=schedule,
    )
    return quote_out(result, court)


@fee_routes.get("/case-types")
@endpoint(
    "Fee case types and procedures",
    response=FeeCaseTypeList,
    public=True,
    tags=FEE_TAGS,
)
async def fee_case_types(request: web.Request) -> FeeCaseTypeList:
    items = []
    for info in CASE_TYPES:
        configured = None
        if info.schedule_field is not None:
            limits = SCHEDULE_RANGES[info.schedule_field]
            configured = FeeRangeOut(
                schedule_field=info.schedule_field,
                minimum=limits.minimum,
                maximum=limits.maximum,
                default=getattr(DEFAULT_FEE_SCHEDULE, info.schedule_field),
            )
        items.append(
            FeeCaseTypeOut(
                case_type=info.case_type,
                name_zh=info.name_zh,
                name_en=info.name_en,
                kind=info.kind,
                basis=info.basis,
                amount=info.amount,
                amount_meaning_zh=info.amount_meaning_zh,
                amount_meaning_en=info.amount_meaning_en,
                court_configured=configured,
            )
        )
    procedures = [
        ProcedureOut(procedure=p, name_zh=zh, name_en=en) for p, (zh, en) in PROCEDURE_NAMES.items()
    ]
    return FeeCaseTypeList(items=items, procedures=procedures)


# ------------------------------------------------------------------------------- filing


@filing_routes.get("/courts")
@endpoint(
    "Courts", query=CourtQuery, response=CourtPage, public=True, tags=FILING_TAGS, errors=(422,)
)
async def list_courts(request: web.Request, *, query: CourtQuery) -> CourtPage:
    rows, next_cursor = await courts.list_courts(
        level=query.level, limit=query.limit, cursor=query.cursor
    )
    return CourtPage(items=[court_out(c) for c in rows], next_cursor=next_cursor)


@filing_routes.get("/courts/{code}")
@endpoint("One court", response=CourtOut, public=True, tags=FILING_TAGS, errors=(404,))
async def get_court(request: web.Request) -> CourtOut:
    return court_out(await courts.get_court(request.match_info["code"]))


@filing_routes.get("/causes")
@endpoint(
    "Civil causes of action (民事案件案由)",
    query=CauseQuery,
    response=CausePage,
    public=True,
    tags=FILING_TAGS,
    errors=(422,),
)
async def list_causes(request: web.Request, *, query: CauseQuery) -> CausePage:
    rows, next_cursor = await courts.search_causes(
        query.q, internet_only=query.internet, limit=query.limit, cursor=query.cursor
    )
    return CausePage(items=[cause_out(c) for c in rows], next_cursor=next_cursor)


@filing_routes.get("/case-types")
@endpoint(
    "Case type codes of case numbers", response=CaseTypeCodeList, public=True, tags=FILING_TAGS
)
async def case_type_codes(request: web.Request) -> CaseTypeCodeList:
    return CaseTypeCodeList(
        items=[
            CaseTypeCodeOut(code=t.code, name_zh=t.name_zh, name_en=t.name_en, category=t.category)
            for t in CASE_TYPE_CODES
        ]
    )


@filing_routes.get("/id-types")
@endpoint(
    "Documents identifying a party: resident ID, permits, passport, credit code, registration "
    "abroad",
    response=IdTypeList,
    public=True,
    tags=FILING_TAGS,
)
async def id_types(request: web.Request) -> IdTypeList:
    return IdTypeList(
        items=[
            IdTypeOut(
                code=code,
                kind=doc.kind,
                name_zh=doc.name_zh,
                name_en=doc.name_en,
                number_field=doc.number_field,
                country_required=doc.country_required,
                domiciled_abroad_default=doc.abroad,
            )
            for code, doc in DOCUMENTS.items()
        ]
    )


@filing_routes.get("/case-numbers/parse")
@endpoint(
    "Parse a case number (案号)",
    query=CaseNumberQuery,
    response=CaseNumberOut,
    public=True,
    tags=FILING_TAGS,
    errors=(422,),
)
async def parse_number(request: web.Request, *, query: CaseNumberQuery) -> CaseNumberOut:
    number = parse_case_number(query.number)
    court = await Court.get_or_none(code=number.court_code)
    kind = CASE_TYPES_BY_CODE[number.type_code]
    return CaseNumberOut(
        number=str(number),
        year=number.year,
        court_code=number.court_code,
        special_code=number.special_code,
        type_code=number.type_code,
        type_name_zh=kind.name_zh,
        type_name_en=kind.name_en,
        serial=number.serial,
        court=court_ref(court) if court is not None else None,
    )


# -------------------------------------------------------------------------------- apps


def register_policy(policy: Policy) -> None:
    """Filing rules (who sees and acts on a filing); see filing.access."""
    from filing.access import register_policy as register_filing_policy

    register_filing_policy(policy)


def create_fees_app() -> web.Application:
    """Mounted at /api/v1/fees/."""
    app = web.Application()
    app.add_routes(fee_routes)
    return app


def create_app() -> web.Application:
    """Mounted at /api/v1/filing/."""
    from filing.dashboard_routes import routes as dashboard_routes
    from filing.fee_relief_routes import routes as fee_relief_routes
    from filing.filing_routes import routes as drafting_routes
    from filing.payment_routes import routes as payment_routes
    from filing.review_routes import routes as review_routes

    app = web.Application()
    app.add_routes(filing_routes)
    app.add_routes(drafting_routes)
    app.add_routes(review_routes)
    app.add_routes(payment_routes)
    app.add_routes(dashboard_routes)
    app.add_routes(fee_relief_routes)
    return app
