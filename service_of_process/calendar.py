"""China's official working-day calendar and the counting of procedural periods.

Civil Procedure Law (2023) Art. 85: the day a period starts is not counted; when the last day of
the period is a public holiday or rest day, the period ends on the first working day after it.
Only the last day moves; rest days and holidays inside the period count as ordinary days.

Which days are rest days comes from the State Council General Office's yearly holiday notice
(国务院办公厅关于某年部分节假日安排的通知): public holidays, the weekdays given as rest days, and
the weekend days declared working days (调休上班). The maintained ``holidays`` package encodes
those notices; we never guess a year whose notice it does not have.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from holidays import HolidayBase
from holidays.countries.china import China

from backend.errors import AppError, ValidationFailed

# The library has checked its China calendar against the official notices from 2001 on.
FIRST_COVERED_YEAR = 2001
# Longest period compute_deadline accepts (ten years); statutory periods in days are far shorter.
MAX_PERIOD_DAYS = 3660

WEEKDAYS_ZH = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class CalendarNotCovered(AppError):
    """The official calendar for a year is not known (not yet published, or before 2001)."""

    status = 422
    code = "calendar_not_covered"
    title = "Calendar not available / 该年度节假日安排不可用"


@dataclass(frozen=True)
class Deadline:
    start: date
    days: int
    due: date
    rolled_over: bool
    explanation_zh: str
    explanation_en: str
    # The last day before any roll-over (start + days).
    nominal_due: date | None = None
    # The rest days the last day moved across (empty unless rolled_over).
    skipped: tuple[date, ...] = ()
    # Computed for a year whose official notice is not out yet, from the statutory festivals
    # only (see compute_deadline's allow_provisional); re-check once the notice is published.
    provisional: bool = False


@dataclass(frozen=True)
class CalendarDay:
    day: date
    working: bool
    # holiday, rest_day (a weekday given as a rest day), weekend, make_up_working_day, working_day
    kind: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class _Year:
    holidays_zh: dict[date, str]
    holidays_en: dict[date, str]
    make_up_working_days: frozenset[date]


def _china(**options: Any) -> HolidayBase:
    return China(**options)  # type: ignore[no-untyped-call]  # the library's __init__ is untyped


@functools.cache
def last_covered_year() -> int:
    # The newest year for which the library carries a State Council notice (its table of
    # swapped days has an entry per notice); later years would only be estimates from the
    # statutory festivals, without the make-up working days.
    years: dict[int, object] = _china().special_public_holidays
    return max(years)


def covered_years() -> range:
    return range(FIRST_COVERED_YEAR, last_covered_year() + 1)


def check_covered(day: date, *, allow_provisional: bool = False) -> None:
    years = covered_years()
    if allow_provisional and day.year == years.stop:
        return
    if day.year not in years:
        raise CalendarNotCovered(
            f"China's official holiday calendar for {day.year} is not available; covered years: "
            f"{years.start}–{years.stop - 1} (the State Council publishes each year's holiday "
            f"notice late in the year before) / {day.year}年节假日安排尚无官方数据，"
            f"可用年度为{years.start}–{years.stop - 1}年",
            extra={"year": day.year, "first_year": years.start, "last_year": years.stop - 1},
        )


@functools.cache
def _year(year: int) -> _Year:
    # Pure data derived from the installed library; caching it is what keeps a 10,000-document
    # fan-out from rebuilding the calendar per deadline.
    zh = _china(years=year, language="zh_CN")
    en = _china(years=year, language="en_US")
    return _Year(
        holidays_zh=dict(zh.items()),
        holidays_en=dict(en.items()),
        make_up_working_days=frozenset(d for d in zh.weekend_workdays if d.year == year),
    )


def describe_day(day: date, *, allow_provisional: bool = False) -> CalendarDay:
    """What kind of day ``day`` is. With ``allow_provisional``, the year after the last
    published notice is answered from the library's estimate (statutory festivals, no make-up
    working days) instead of being refused."""
    check_covered(day, allow_provisional=allow_provisional)
    year = _year(day.year)
    weekend = day.weekday() >= 5
    if day in year.make_up_working_days:
        return CalendarDay(
            day, True, "make_up_working_day", "调休上班日", "make-up working day (调休上班)"
        )
    if day in year.holidays_zh:
        name_zh, name_en = year.holidays_zh[day], year.holidays_en[day]
        substituted = name_zh.startswith("休息日")
        kind = "rest_day" if substituted else "holiday"
        return CalendarDay(day, False, kind, name_zh, name_en)
    if weekend:
        return CalendarDay(day, False, "weekend", "周末休息日", "weekend rest day")
    return CalendarDay(day, True, "working_day", "工作日", "working day")


def is_working_day(day: date) -> bool:
    return describe_day(day).working


def calendar_days(first: date, last: date) -> Iterator[CalendarDay]:
    day = first
    while day <= last:
        yield describe_day(day)
        day += timedelta(days=1)


def _festivals(days: list[CalendarDay]) -> tuple[list[str], list[str]]:
    """Names of the festivals in a run of rest days, without the substituted days and the
    "observed" duplicates, in date order."""
    zh: list[str] = []
    en: list[str] = []
    for item in days:
        if item.kind != "holiday":
            continue
        name_zh = item.name_zh.split("（")[0]
        name_en = item.name_en.removesuffix(" (observed)")
        if name_zh not in zh:
            zh.append(name_zh)
        if name_en not in en:
            en.append(name_en)
    return zh, en


def _rest_break(day: date, provisional: bool) -> list[CalendarDay]:
    """The whole run of consecutive rest days containing ``day`` (a non-working day)."""
    years = range(covered_years().start, covered_years().stop + provisional)
    before: list[CalendarDay] = []
    cursor = day - timedelta(days=1)
    while (
        cursor.year in years
        and not (item := describe_day(cursor, allow_provisional=provisional)).working
    ):
        before.append(item)
        cursor -= timedelta(days=1)
    after: list[CalendarDay] = []
    cursor = day
    while not (item := describe_day(cursor, allow_provisional=provisional)).working:
        after.append(item)
        cursor += timedelta(days=1)
    return [*reversed(before), *after]


def _zh(day: date) -> str:
    return f"{day.isoformat()}（{WEEKDAYS_ZH[day.weekday()]}）"


def _en(day: date) -> str:
    return f"{day.isoformat()} ({WEEKDAYS_EN[day.weekday()]})"


def compute_deadline(start: date, days: int, *, allow_provisional: bool = False) -> Deadline:
    """The last day of a period of ``days`` days starting on ``start`` (CPL Art. 85).

    Raises CalendarNotCovered when the last day falls in a year whose official holiday notice
    is not known. With ``allow_provisional``, a last day in the year right after the newest
    notice is computed from the statutory festivals and marked ``provisional`` instead (the
    notice comes out in November; a service in December needs an answer before then)."""
    if not 1 <= days <= MAX_PERIOD_DAYS:
        raise ValidationFailed(
            f"a period is 1 to {MAX_PERIOD_DAYS} days, not {days}", code="period_out_of_range"
        )
    # Art. 85: the start day is not counted, so day 1 is the day after it and day N is start + N.
    try:
        nominal = start + timedelta(days=days)
    except OverflowError:
        check_covered(date.max)
        raise
    counting_zh = (
        f"期间开始的日不计算在期间内（《民事诉讼法》第八十五条），自{start.isoformat()}的次日起算，"
        f"第{days}日为{_zh(nominal)}"
    )
    counting_en = (
        f"The start day {start.isoformat()} is not counted (Civil Procedure Law Art. 85); "
        f"counting from the next day, day {days} is {_en(nominal)}"
    )
    last = describe_day(nominal, allow_provisional=allow_provisional)
    skipped: tuple[date, ...] = ()
    if last.working:
        due = nominal
        if last.kind == "make_up_working_day":
            why_zh = "，该日为国务院办公厅节假日安排中的调休上班日，属于工作日，不顺延"
            why_en = (
                ", a weekend day the State Council's holiday notice declares a working day "
                "(调休上班), so it is not moved"
            )
        else:
            why_zh = "，为工作日"
            why_en = ", a working day"
        explanation_zh = f"{counting_zh}{why_zh}；期间于{due.isoformat()}届满。"
        explanation_en = f"{counting_en}{why_en}; the period ends on {due.isoformat()}."
    else:
        run = _rest_break(nominal, allow_provisional)
        skipped = tuple(item.day for item in run if item.day >= nominal)
        due = skipped[-1] + timedelta(days=1)
        festivals_zh, festivals_en = _festivals(run)
        if festivals_zh:
            span_zh = f"{run[0].day.isoformat()}至{run[-1].day.isoformat()}"
            span_en = f"{run[0].day.isoformat()} – {run[-1].day.isoformat()}"
            why_zh = f"，处于{'、'.join(festivals_zh)}放假期间（{span_zh}），为法定休假日"
            why_en = f", which falls in the {', '.join(festivals_en)} holiday break ({span_en})"
        elif last.kind == "rest_day":
            why_zh = f"，为调休休息日（{last.name_zh}）"
            why_en = f", a rest day ({last.name_en})"
        else:
            why_zh = "，为周末休息日"
            why_en = ", a weekend rest day"
        explanation_zh = (
            f"{counting_zh}{why_zh}；期间届满的最后一日是法定休假日的，以法定休假日后的第一日"
            f"为期间届满的日期（《民事诉讼法》第八十五条），顺延至下一个工作日{_zh(due)}。"
        )
        explanation_en = (
            f"{counting_en}{why_en}; a period whose last day is a public holiday or rest day "
            "ends on the first working day after it (Civil Procedure Law Art. 85), so it moves "
            f"to the next working day {_en(due)}."
        )
    unpublished = sorted({d.year for d in (nominal, due)} - set(covered_years()))
    if unpublished:
        year = unpublished[0]
        explanation_zh += (
            f"（暂定：{year}年节假日安排尚未公布，本结果仅按法定节日推算，未计调休，"
            "通知公布后须重新核对。）"
        )
        explanation_en += (
            f" (Provisional: the State Council has not published the {year} holiday notice "
            "yet; this uses the statutory festivals without swapped days and must be checked "
            "again once the notice is out.)"
        )
    return Deadline(
        start=start,
        days=days,
        due=due,
        rolled_over=due != nominal,
        explanation_zh=explanation_zh,
        explanation_en=explanation_en,
        nominal_due=nominal,
        skipped=skipped,
        provisional=bool(unpublished),
    )
