"""The public legal calendar: deadline calculator and the official rest days (mounted at
/api/v1/calendar/)."""

from __future__ import annotations

from datetime import date, timedelta

from aiohttp import web
from pydantic import Field, model_validator

from backend.http import endpoint
from backend.schemas import Input, Output
from service_of_process.calendar import (
    calendar_days,
    compute_deadline,
    covered_years,
)

routes = web.RouteTableDef()
TAGS = ("calendar",)

# The calculator answers statutory periods (at most months); a thousand days is generous and
# keeps every answer inside the few years the official calendar covers.
MAX_CALCULATOR_DAYS = 1000
# One listing spans at most a year, so an anonymous caller cannot ask for an unbounded answer.
MAX_LISTING_DAYS = 366
# Outside these years no answer is possible; rejecting them up front also keeps date arithmetic
# far from date.max.
EARLIEST_START = date(2000, 1, 1)
LATEST_START = date(2100, 12, 31)


class DeadlineQuery(Input):
    start: date = Field(
        ge=EARLIEST_START,
        le=LATEST_START,
        description="the day the period starts (e.g. the service date), YYYY-MM-DD; not counted",
        examples=["2026-09-16"],
    )
    days: int = Field(ge=1, le=MAX_CALCULATOR_DAYS, description="length of the period in days")
    provisional: bool = Field(
        default=False,
        description="answer for the year after the newest published holiday notice from the "
        "statutory festivals alone (marked provisional) instead of refusing",
    )


class DeadlineOut(Output):
    start: date
    days: int
    nominal_due: date = Field(description="start + days, before any roll-over")
    due: date = Field(description="the last day of the period")
    rolled_over: bool = Field(description="the nominal last day was a rest day or holiday")
    provisional: bool = Field(
        description="the year's official holiday notice is not published yet; check again"
    )
    skipped: list[date] = Field(description="rest days and holidays the last day moved across")
    explanation_zh: str
    explanation_en: str
    legal_basis: str = Field(examples=["Civil Procedure Law (2023) Art. 85"])


class CalendarDaysQuery(Input):
    first: date = Field(alias="from", ge=EARLIEST_START, le=LATEST_START, examples=["2026-10-01"])
    last: date = Field(alias="to", ge=EARLIEST_START, le=LATEST_START, examples=["2026-10-31"])

    @model_validator(mode="after")
    def _bounded(self) -> CalendarDaysQuery:
        if self.last < self.first:
            raise ValueError("'to' is before 'from'")
        if self.last - self.first >= timedelta(days=MAX_LISTING_DAYS):
            raise ValueError(f"list at most {MAX_LISTING_DAYS} days at a time")
        return self


class CalendarDayOut(Output):
    date: date
    weekday: int = Field(description="ISO weekday, 1 = Monday")
    working: bool
    kind: str = Field(
        description="holiday, rest_day (a weekday given as a rest day), weekend, "
        "make_up_working_day (a weekend day that is a working day)"
    )
    name_zh: str
    name_en: str


class CalendarDaysOut(Output):
    first: date = Field(serialization_alias="from")
    last: date = Field(serialization_alias="to")
    covered_from_year: int
    covered_to_year: int
    items: list[CalendarDayOut] = Field(
        description="every day that is not an ordinary Monday-to-Friday working day"
    )


@routes.get("/deadline")
@endpoint(
    "Compute the last day of a procedural period",
    query=DeadlineQuery,
    response=DeadlineOut,
    public=True,
    tags=TAGS,
    description="Civil Procedure Law (2023) Art. 85: the start day is not counted; a last day "
    "on a rest day or public holiday moves to the first working day after it, following the "
    "State Council's yearly holiday notice including make-up working days (调休上班). Years "
    "without a published notice are refused with `calendar_not_covered`, except the next one "
    "when `provisional=true`.",
    errors=(422,),
)
async def deadline(request: web.Request, *, query: DeadlineQuery) -> DeadlineOut:
    result = compute_deadline(query.start, query.days, allow_provisional=query.provisional)
    return DeadlineOut(
        start=result.start,
        days=result.days,
        nominal_due=result.nominal_due or result.due,
        due=result.due,
        rolled_over=result.rolled_over,
        provisional=result.provisional,
        skipped=list(result.skipped),
        explanation_zh=result.explanation_zh,
        explanation_en=result.explanation_en,
        legal_basis="Civil Procedure Law (2023) Art. 85 / 《中华人民共和国民事诉讼法》第八十五条",
    )


@routes.get("/days")
@endpoint(
    "Official rest days and make-up working days in a date range",
    query=CalendarDaysQuery,
    response=CalendarDaysOut,
    public=True,
    tags=TAGS,
    description=f"At most {MAX_LISTING_DAYS} days per request, inside the years whose State "
    "Council holiday notice is known.",
    errors=(422,),
)
async def days(request: web.Request, *, query: CalendarDaysQuery) -> CalendarDaysOut:
    years = covered_years()
    items = [
        CalendarDayOut(
            date=item.day,
            weekday=item.day.isoweekday(),
            working=item.working,
            kind=item.kind,
            name_zh=item.name_zh,
            name_en=item.name_en,
        )
        for item in calendar_days(query.first, query.last)
        if item.kind != "working_day"
    ]
    return CalendarDaysOut(
        first=query.first,
        last=query.last,
        covered_from_year=years.start,
        covered_to_year=years.stop - 1,
        items=items,
    )


def create_app() -> web.Application:
    """Mounted at /api/v1/calendar/."""
    app = web.Application()
    app.add_routes(routes)
    return app
