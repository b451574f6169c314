"""Working days for mediation deadlines — deliberately small and replaceable.

The default calendar knows only weekends. The official holiday calendar (with make-up working
days) is built elsewhere; the application holds the calendar under :data:`WORKING_DAYS`, so it
can be swapped without touching mediation.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from aiohttp import web

IsWorkingDay = Callable[[date], bool]


def weekdays_only(day: date) -> bool:
    return day.weekday() < 5


def add_working_days(start: date, days: int, is_working_day: IsWorkingDay = weekdays_only) -> date:
    """The ``days``-th working day after ``start`` (``start`` itself never counts)."""
    current, left = start, days
    while left > 0:
        current += timedelta(days=1)
        if is_working_day(current):
            left -= 1
    return current


def period_end(start: date, days: int, is_working_day: IsWorkingDay = weekdays_only) -> date:
    """CPL Art. 85: the start day is not counted; a period ending on a rest day ends on the
    next working day."""
    end = start + timedelta(days=days)
    while not is_working_day(end):
        end += timedelta(days=1)
    return end


WORKING_DAYS = web.AppKey["IsWorkingDay"]("mediation_working_days")
