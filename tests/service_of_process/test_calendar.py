"""The legal calendar and CPL Art. 85 period counting.

Every expected date below is worked out by hand from the State Council General Office's holiday
notices (国务院办公厅关于…年部分节假日安排的通知):
- 2024 (published October 2023): New Year 1 Jan; Spring Festival 10–17 Feb, work Sun 4 Feb and Sun
  18 Feb; Qingming 4–6 Apr, work Sun 7 Apr; Labour Day 1–5 May, work Sun 28 Apr and Sat 11 May;
  Dragon Boat 8–10 Jun; Mid-Autumn 15–17 Sep, work Sat 14 Sep; National Day 1–7 Oct, work Sun
  29 Sep and Sat 12 Oct.
- 2025 (published November 2024): New Year 1 Jan; Spring Festival 28 Jan–4 Feb, work Sun 26 Jan and
  Sat 8 Feb; Qingming 4–6 Apr; Labour Day 1–5 May, work Sun 27 Apr; Dragon Boat 31 May–2 Jun;
  National Day + Mid-Autumn 1–8 Oct, work Sun 28 Sep and Sat 11 Oct.
- 2026 (published November 2025): New Year 1–3 Jan, work Sun 4 Jan; Spring Festival 15–23 Feb, work
  Sat 14 Feb and Sat 28 Feb; Qingming 4–6 Apr; Labour Day 1–5 May, work Sat 9 May; Dragon Boat
  19–21 Jun; Mid-Autumn 25–27 Sep; National Day 1–7 Oct, work Sun 20 Sep and Sat 10 Oct.
CPL (2023) Art. 85: the start day is not counted (day N of a period is start + N days); only a
LAST day that is a rest day or holiday moves, to the first working day after it.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.errors import ValidationFailed
from service_of_process.calendar import (
    MAX_PERIOD_DAYS,
    CalendarNotCovered,
    compute_deadline,
    covered_years,
    describe_day,
    is_working_day,
)


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# Whole rest breaks from the notices (weekends inside them included).
OFFICIAL_BREAKS = [
    (date(2024, 1, 1), date(2024, 1, 1)),
    (date(2024, 2, 10), date(2024, 2, 17)),
    (date(2024, 4, 4), date(2024, 4, 6)),
    (date(2024, 5, 1), date(2024, 5, 5)),
    (date(2024, 6, 8), date(2024, 6, 10)),
    (date(2024, 9, 15), date(2024, 9, 17)),
    (date(2024, 10, 1), date(2024, 10, 7)),
    (date(2025, 1, 1), date(2025, 1, 1)),
    (date(2025, 1, 28), date(2025, 2, 4)),
    (date(2025, 4, 4), date(2025, 4, 6)),
    (date(2025, 5, 1), date(2025, 5, 5)),
    (date(2025, 5, 31), date(2025, 6, 2)),
    (date(2025, 10, 1), date(2025, 10, 8)),
    (date(2026, 1, 1), date(2026, 1, 3)),
    (date(2026, 2, 15), date(2026, 2, 23)),
    (date(2026, 4, 4), date(2026, 4, 6)),
    (date(2026, 5, 1), date(2026, 5, 5)),
    (date(2026, 6, 19), date(2026, 6, 21)),
    (date(2026, 9, 25), date(2026, 9, 27)),
    (date(2026, 10, 1), date(2026, 10, 7)),
]

# Weekend days the notices declare working days (调休上班).
OFFICIAL_MAKE_UP_DAYS = [
    date(2024, 2, 4),
    date(2024, 2, 18),
    date(2024, 4, 7),
    date(2024, 4, 28),
    date(2024, 5, 11),
    date(2024, 9, 14),
    date(2024, 9, 29),
    date(2024, 10, 12),
    date(2025, 1, 26),
    date(2025, 2, 8),
    date(2025, 4, 27),
    date(2025, 9, 28),
    date(2025, 10, 11),
    date(2026, 1, 4),
    date(2026, 2, 14),
    date(2026, 2, 28),
    date(2026, 5, 9),
    date(2026, 9, 20),
    date(2026, 10, 10),
]


def test_calendar_2024_to_2026_matches_the_state_council_notices() -> None:
    rest = {d for first, last in OFFICIAL_BREAKS for d in days_between(first, last)}
    make_up = set(OFFICIAL_MAKE_UP_DAYS)
    for day in days_between(date(2024, 1, 1), date(2026, 12, 31)):
        if day in make_up:
            expected = True
        elif day in rest:
            expected = False
        else:
            expected = day.weekday() < 5
        assert is_working_day(day) is expected, day


def test_make_up_days_and_holidays_are_described() -> None:
    assert describe_day(date(2026, 10, 10)).kind == "make_up_working_day"
    national_day = describe_day(date(2026, 10, 1))
    assert (national_day.kind, national_day.name_zh, national_day.name_en) == (
        "holiday",
        "国庆节",
        "National Day",
    )
    # Wednesday 7 Oct 2026 is a weekday given as a rest day in exchange for Sat 10 Oct.
    swapped = describe_day(date(2026, 10, 7))
    assert swapped.kind == "rest_day" and not swapped.working
    assert "2026-10-10" in swapped.name_zh
    assert describe_day(date(2026, 3, 7)).kind == "weekend"
    assert describe_day(date(2026, 3, 9)).kind == "working_day"


# (start, days, due, rolled_over) — the reasoning for each case is in its comment.
CASES = [
    pytest.param(
        # Day 15 after Fri 6 Mar 2026 is Sat 21 Mar; Sun 22 Mar is also a rest day (no holiday
        # in March), so the period ends on Mon 23 Mar.
        date(2026, 3, 6),
        15,
        date(2026, 3, 23),
        True,
        id="weekend-roll-over",
    ),
    pytest.param(
        # Mon 2 Mar + 15 = Tue 17 Mar, an ordinary working day: no roll-over.
        date(2026, 3, 2),
        15,
        date(2026, 3, 17),
        False,
        id="plain-working-day",
    ),
    pytest.param(
        # Thu 4 Jun + 15 = Fri 19 Jun 2026, Dragon Boat Festival (break 19–21 Jun) → Mon 22 Jun.
        date(2026, 6, 4),
        15,
        date(2026, 6, 22),
        True,
        id="dragon-boat-holiday",
    ),
    pytest.param(
        # Sun 22 Mar + 15 = Mon 6 Apr 2026, the Qingming break (4–6 Apr) → Tue 7 Apr.
        date(2026, 3, 22),
        15,
        date(2026, 4, 7),
        True,
        id="qingming-observed-monday",
    ),
    pytest.param(
        # Wed 16 Sep + 15 = Thu 1 Oct 2026, first day of the National Day break (1–7 Oct);
        # Thu 8 Oct is the first working day after it.
        date(2026, 9, 16),
        15,
        date(2026, 10, 8),
        True,
        id="national-day-2026",
    ),
    pytest.param(
        # Mon 14 Sep + 20 = Sun 4 Oct 2026, inside the National Day break → Thu 8 Oct.
        date(2026, 9, 14),
        20,
        date(2026, 10, 8),
        True,
        id="national-day-2026-weekend-inside",
    ),
    pytest.param(
        # Tue 23 Sep + 15 = Wed 8 Oct 2025, the last day of the 8-day National Day and
        # Mid-Autumn break (1–8 Oct) → Thu 9 Oct.
        date(2025, 9, 23),
        15,
        date(2025, 10, 9),
        True,
        id="national-day-2025",
    ),
    pytest.param(
        # Sun 1 Feb + 15 = Mon 16 Feb 2026 (New Year's Eve, Spring Festival break 15–23 Feb)
        # → Tue 24 Feb.
        date(2026, 2, 1),
        15,
        date(2026, 2, 24),
        True,
        id="spring-festival-2026",
    ),
    pytest.param(
        # Mon 13 Jan + 15 = Tue 28 Jan 2025 (New Year's Eve, break 28 Jan–4 Feb) → Wed 5 Feb.
        date(2025, 1, 13),
        15,
        date(2025, 2, 5),
        True,
        id="spring-festival-2025",
    ),
    pytest.param(
        # Fri 13 Feb + 15 = Sat 28 Feb 2026, a make-up working day: NOT moved to Mon 2 Mar.
        date(2026, 2, 13),
        15,
        date(2026, 2, 28),
        False,
        id="make-up-saturday",
    ),
    pytest.param(
        # Fri 25 Sep + 15 = Sat 10 Oct 2026, a make-up working day: stays on the Saturday.
        date(2026, 9, 25),
        15,
        date(2026, 10, 10),
        False,
        id="make-up-saturday-after-national-day",
    ),
    pytest.param(
        # Sat 20 Jan + 15 = Sun 4 Feb 2024, a make-up working day before the Spring Festival.
        date(2024, 1, 20),
        15,
        date(2024, 2, 4),
        False,
        id="make-up-sunday-2024",
    ),
    pytest.param(
        # Wed 17 Dec 2025 + 15 = Thu 1 Jan 2026 (New Year break 1–3 Jan); the first working day
        # after it is Sun 4 Jan 2026, a make-up working day — not Mon 5 Jan.
        date(2025, 12, 17),
        15,
        date(2026, 1, 4),
        True,
        id="roll-over-onto-make-up-sunday",
    ),
    pytest.param(
        # Served on National Day itself (Thu 1 Oct 2026): the holiday start day is not counted
        # and the holidays inside the period count, so day 9 is Sat 10 Oct, a make-up working
        # day, and the period ends there.
        date(2026, 10, 1),
        9,
        date(2026, 10, 10),
        False,
        id="start-on-holiday",
    ),
    pytest.param(
        # Start Fri 2 Oct 2026 (holiday) + 3 = Mon 5 Oct, still in the break → Thu 8 Oct.
        date(2026, 10, 2),
        3,
        date(2026, 10, 8),
        True,
        id="start-and-end-in-holiday",
    ),
    pytest.param(
        # Mon 28 Sep + 15 = Tue 13 Oct 2026: the whole National Day break lies inside the
        # period and counts; the last day is a working day, so nothing moves.
        date(2026, 9, 28),
        15,
        date(2026, 10, 13),
        False,
        id="holiday-inside-period-counts",
    ),
    pytest.param(
        # Fri 16 Jan + 15 = Sat 31 Jan 2026 (month end, ordinary weekend) → Mon 2 Feb.
        date(2026, 1, 16),
        15,
        date(2026, 2, 2),
        True,
        id="month-end-weekend",
    ),
    pytest.param(
        # Wed 14 Feb + 15 = Thu 29 Feb 2024 (leap day), a working day.
        date(2024, 2, 14),
        15,
        date(2024, 2, 29),
        False,
        id="leap-day",
    ),
    pytest.param(
        # Thu 30 Apr + 1 = Fri 1 May 2026, Labour Day break 1–5 May → Wed 6 May.
        date(2026, 4, 30),
        1,
        date(2026, 5, 6),
        True,
        id="month-end-into-labour-day",
    ),
    pytest.param(
        # Sat 31 Jan + 15 = Sun 15 Feb 2026, the first day of the Spring Festival break → 24 Feb.
        date(2026, 1, 31),
        15,
        date(2026, 2, 24),
        True,
        id="month-end-start-into-spring-festival",
    ),
    pytest.param(
        # Wed 16 Sep + 10 (appeal against a ruling, Art. 171) = Sat 26 Sep 2026, inside the
        # Mid-Autumn break (25–27 Sep) → Mon 28 Sep.
        date(2026, 9, 16),
        10,
        date(2026, 9, 28),
        True,
        id="mid-autumn-ten-days",
    ),
]


@pytest.mark.parametrize(("start", "days", "due", "rolled_over"), CASES)
def test_compute_deadline(start: date, days: int, due: date, rolled_over: bool) -> None:
    result = compute_deadline(start, days)
    assert (result.start, result.days, result.due, result.rolled_over) == (
        start,
        days,
        due,
        rolled_over,
    )
    assert result.nominal_due == start + timedelta(days=days)
    if rolled_over:
        assert result.skipped[0] == result.nominal_due
        assert result.skipped[-1] == due - timedelta(days=1)
    else:
        assert result.skipped == ()


def test_explanations_say_why_in_both_languages() -> None:
    national_day = compute_deadline(date(2026, 9, 16), 15)
    assert "2026-10-01" in national_day.explanation_en
    assert "National Day" in national_day.explanation_en
    assert "2026-10-08" in national_day.explanation_en
    assert "Art. 85" in national_day.explanation_en
    assert "国庆节" in national_day.explanation_zh
    assert "顺延至下一个工作日2026-10-08" in national_day.explanation_zh
    assert "第八十五条" in national_day.explanation_zh

    make_up = compute_deadline(date(2026, 2, 13), 15)
    assert "调休上班" in make_up.explanation_zh and "不顺延" in make_up.explanation_zh
    assert "not moved" in make_up.explanation_en

    weekend = compute_deadline(date(2026, 3, 6), 15)
    assert "weekend" in weekend.explanation_en and "周末" in weekend.explanation_zh

    plain = compute_deadline(date(2026, 3, 2), 15)
    assert "a working day" in plain.explanation_en and "工作日" in plain.explanation_zh


def test_years_without_an_official_notice_are_refused() -> None:
    years = covered_years()
    assert years.start == 2001 and years.stop - 1 >= 2026
    unpublished = years.stop  # the library only estimates this year, without make-up days
    with pytest.raises(CalendarNotCovered) as info:
        compute_deadline(date(unpublished - 1, 12, 25), 15)
    assert info.value.status == 422
    assert str(unpublished) in info.value.detail
    with pytest.raises(CalendarNotCovered):
        is_working_day(date(2000, 6, 1))


@pytest.mark.parametrize("days", [0, -1, MAX_PERIOD_DAYS + 1])
def test_period_length_is_bounded(days: int) -> None:
    with pytest.raises(ValidationFailed):
        compute_deadline(date(2026, 3, 2), days)


def test_far_future_start_fails_clearly() -> None:
    with pytest.raises(CalendarNotCovered):
        compute_deadline(date.max - timedelta(days=3), 15)


@given(
    start=st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 10, 31)),
    days=st.integers(min_value=1, max_value=45),
)
def test_due_is_the_first_working_day_on_or_after_the_nominal_last_day(
    start: date, days: int
) -> None:
    nominal = start + timedelta(days=days)
    if nominal.year > 2026:
        return
    result = compute_deadline(start, days)
    assert result.due >= nominal
    assert is_working_day(result.due)
    assert all(not is_working_day(day) for day in days_between(nominal, result.due)[:-1])


def test_the_year_after_the_newest_notice_can_be_answered_provisionally() -> None:
    last = covered_years().stop - 1
    # 17 Dec + 15 days = 1 Jan of the next year, New Year's Day in every year's calendar.
    start = date(last, 12, 17)
    with pytest.raises(CalendarNotCovered):
        compute_deadline(start, 15)
    result = compute_deadline(start, 15, allow_provisional=True)
    assert result.provisional is True
    assert result.nominal_due == date(last + 1, 1, 1)
    assert result.rolled_over and result.due > result.nominal_due
    assert "Provisional" in result.explanation_en and "暂定" in result.explanation_zh
    # Only the next year: two years ahead is still refused.
    with pytest.raises(CalendarNotCovered):
        compute_deadline(date(last + 1, 12, 17), 15, allow_provisional=True)
    # A deadline inside the published years is never marked provisional.
    assert compute_deadline(date(last, 3, 2), 15, allow_provisional=True).provisional is False
