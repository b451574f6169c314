"""Case numbers (案号): format, parse and allocate.

Format (SPC rules on case numbers, 法〔2015〕137号 as amended by 法〔2018〕335号; LEGAL §2)::

    (year)court-code[special-trial code]type-code serial号      e.g. (2026)浙0281民初1234号

Printed with ASCII parentheses; ``（）`` and full-width digits are accepted on input (NFKC).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient

from backend.errors import ValidationFailed
from filing.catalogue import (
    CASE_TYPES_BY_CODE,
    PROVINCES_BY_ABBREVIATION,
    SPECIAL_TRIAL_CODES,
    SUPREME_COURT_CODE,
)
from filing.models import CaseNumberCounter

# The rules took effect on 2016-01-01; earlier cases used the old form (…字第…号).
MIN_YEAR = 2016
MAX_YEAR = 2100
MAX_SERIAL = 10**9  # far above any court's yearly intake; keeps the number inside an INT column


class CaseNumberError(ValidationFailed, ValueError):
    code = "invalid_case_number"


class CourtCodeShape(StrEnum):
    SUPREME = "supreme"  # 最高法
    HIGH = "high"  # province abbreviation alone: 浙
    INTERMEDIATE = "intermediate"  # abbreviation + 2 digits: 浙02
    BASIC = "basic"  # abbreviation + 4 digits: 浙0281 (basic and Internet courts)


# Court levels (filing.models.Court.level) and the code shape each must have.
LEVEL_SHAPES: dict[str, CourtCodeShape] = {
    "high": CourtCodeShape.HIGH,
    "intermediate": CourtCodeShape.INTERMEDIATE,
    "basic": CourtCodeShape.BASIC,
    "internet": CourtCodeShape.BASIC,  # Internet courts are basic courts: 浙0192, 京0491, 粤0192
}

_DIGITS_SHAPE = {0: CourtCodeShape.HIGH, 2: CourtCodeShape.INTERMEDIATE, 4: CourtCodeShape.BASIC}


def normalise(text: str) -> str:
    """Full-width brackets and digits to ASCII (NFKC), whitespace removed."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def court_code_shape(code: str) -> CourtCodeShape:
    """The shape of a court code; raises CaseNumberError with the reason when it is not one."""
    code = normalise(code)
    if code == SUPREME_COURT_CODE:
        return CourtCodeShape.SUPREME
    if not code:
        raise CaseNumberError("the court code is empty")
    abbreviation, digits = code[0], code[1:]
    if abbreviation not in PROVINCES_BY_ABBREVIATION:
        raise CaseNumberError(
            f"{abbreviation!r} is not a province abbreviation used in court codes (浙, 京, 粤 …)"
        )
    if not (digits == "" or (digits.isascii() and digits.isdigit())):
        raise CaseNumberError(f"court code {code!r}: only digits may follow the abbreviation")
    shape = _DIGITS_SHAPE.get(len(digits))
    if shape is None:
        raise CaseNumberError(
            f"court code {code!r}: a high court is the abbreviation alone, an intermediate court "
            "adds 2 digits, a basic or Internet court 4 digits"
        )
    return shape


def validate_court_code(code: str, level: str | None = None) -> str:
    """The normalised court code; with ``level``, also check the code's shape fits that level."""
    shape = court_code_shape(code)
    code = normalise(code)
    if level is not None:
        expected = LEVEL_SHAPES.get(level)
        if expected is None:
            raise CaseNumberError(f"unknown court level {level!r}")
        if shape != expected:
            raise CaseNumberError(f"court code {code!r} does not have the shape of a {level} court")
    return code


def _split_type(code: str) -> tuple[str, str]:
    """(special-trial prefix, type code) for a type part such as 民初 or 知民终."""
    if code in CASE_TYPES_BY_CODE:
        return "", code
    prefix, rest = code[:1], code[1:]
    if prefix in SPECIAL_TRIAL_CODES and rest in CASE_TYPES_BY_CODE:
        return prefix, rest
    raise CaseNumberError(
        f"unknown case type code {code!r} (known: {', '.join(CASE_TYPES_BY_CODE)})"
    )


def validate_type_code(code: str) -> str:
    code = normalise(code)
    if code not in CASE_TYPES_BY_CODE:
        raise CaseNumberError(
            f"unknown case type code {code!r} (known: {', '.join(CASE_TYPES_BY_CODE)})"
        )
    return code


def _check_year(year: int) -> None:
    if isinstance(year, bool) or not isinstance(year, int):
        raise CaseNumberError("the year must be an integer")
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise CaseNumberError(
            f"year {year} is outside {MIN_YEAR}–{MAX_YEAR} (the current format dates from 2016)"
        )


def _check_serial(serial: int) -> None:
    if isinstance(serial, bool) or not isinstance(serial, int):
        raise CaseNumberError("the serial must be an integer")
    if not 1 <= serial <= MAX_SERIAL:
        raise CaseNumberError(f"serial {serial} is outside 1–{MAX_SERIAL}")


@dataclass(frozen=True)
class CaseNumber:
    year: int
    court_code: str
    type_code: str
    serial: int
    special_code: str = ""  # special-trial prefix such as 知, usually empty

    def __post_init__(self) -> None:
        _check_year(self.year)
        court_code_shape(self.court_code)
        validate_type_code(self.type_code)
        if normalise(self.court_code) != self.court_code:
            raise CaseNumberError("pass the court code normalised (see normalise())")
        if self.special_code and self.special_code not in SPECIAL_TRIAL_CODES:
            raise CaseNumberError(f"unknown special-trial code {self.special_code!r}")
        _check_serial(self.serial)

    def __str__(self) -> str:
        return f"({self.year}){self.court_code}{self.special_code}{self.type_code}{self.serial}号"


_YEAR = re.compile(r"\((\d+)\)")
# court abbreviation, court digits, type code, serial, anything left over (all before 号)
_BODY = re.compile(rf"({SUPREME_COURT_CODE}|\D)(\d*)(\D*)(\d*)(.*)")


def parse_case_number(text: str) -> CaseNumber:
    """Parse ``(2026)浙0281民初1234号`` (or with full-width brackets) into its parts.

    Raises CaseNumberError (422, code ``invalid_case_number``) naming the part that is wrong.
    """
    if not isinstance(text, str):
        raise CaseNumberError("a case number must be text")
    if len(text) > 64:
        raise CaseNumberError("a case number is at most a few dozen characters")
    s = normalise(text)
    if not s:
        raise CaseNumberError("the case number is empty")
    if "字第" in s:
        raise CaseNumberError(
            "this is a pre-2016 case number (…字第…号); only the current format is supported"
        )
    year_match = _YEAR.match(s)
    if year_match is None:
        raise CaseNumberError("a case number starts with the year in brackets, e.g. (2026)")
    if len(year_match.group(1)) != 4:
        raise CaseNumberError("the year in brackets must have four digits")
    year = int(year_match.group(1))
    _check_year(year)
    if not s.endswith("号"):
        raise CaseNumberError("a case number ends with 号")
    body = _BODY.fullmatch(s[year_match.end() : -1])
    if body is None:
        raise CaseNumberError("the court code is missing after the year")
    abbreviation, court_digits, type_part, digits, rest = body.groups()
    if not type_part:
        raise CaseNumberError("the case type code (民初, 执 …) is missing after the court code")
    court_code = abbreviation + court_digits
    court_code_shape(court_code)
    special_code, type_code = _split_type(type_part)
    if not digits:
        raise CaseNumberError("the serial number (digits before 号) is missing")
    if rest:
        raise CaseNumberError(f"unexpected {rest!r} after the serial number")
    if digits.startswith("0"):
        raise CaseNumberError(f"serial {digits!r} has a leading zero; serials start at 1")
    return CaseNumber(year, court_code, type_code, int(digits), special_code)


def format_case_number(year: int, court_code: str, type_code: str, serial: int) -> str:
    return str(CaseNumber(year, normalise(court_code), normalise(type_code), serial))


# ------------------------------------------------------------------------- serial allocation

# One counter row per court + type + year. The upsert takes the row lock (PostgreSQL) or the
# database write lock (SQLite) and holds it to the end of the caller's transaction, so concurrent
# registrations queue on it; a registration that rolls back gives its serial back — no gaps, no
# duplicates.
_ALLOCATE = (
    "INSERT INTO filing_case_counter (court_code, type_code, year, last_serial) "
    "VALUES ({p1}, {p2}, {p3}, 1) "
    "ON CONFLICT (court_code, type_code, year) "
    "DO UPDATE SET last_serial = filing_case_counter.last_serial + 1 "
    "RETURNING last_serial"
)
_ALLOCATE_PG = _ALLOCATE.format(p1="$1", p2="$2", p3="$3")
_ALLOCATE_SQLITE = _ALLOCATE.format(p1="?", p2="?", p3="?")


async def allocate_serial(
    conn: BaseDBAsyncClient, court_code: str, type_code: str, year: int
) -> int:
    """The next serial for court + type + year (1, 2, 3 …).

    ``conn`` must be the registration's transaction (``in_transaction()``): the serial is taken
    for good only when that transaction commits, and other allocations for the same counter wait
    until it ends. Outside a transaction a later failure would leave a gap, so that is refused.
    """
    if not isinstance(conn, TransactionalDBClient):
        raise TypeError("allocate_serial needs the registration's transaction connection")
    court_code = validate_court_code(court_code)
    type_code = validate_type_code(type_code)
    _check_year(year)
    sql = _ALLOCATE_PG if conn.capabilities.dialect == "postgres" else _ALLOCATE_SQLITE
    rows = await conn.execute_query_dict(sql, [court_code, type_code, year])
    serial = int(rows[0]["last_serial"])
    _check_serial(serial)
    return serial


async def expected_case_number(court_code: str, type_code: str, year: int) -> CaseNumber:
    """The number :func:`allocate_case_number` would hand out next, read without the counter's
    lock: another registration may take it first, so use it only for work done ahead that is
    checked against the allocated number afterwards."""
    court_code, type_code = validate_court_code(court_code), validate_type_code(type_code)
    counter = await CaseNumberCounter.get_or_none(
        court_code=court_code, type_code=type_code, year=year
    )
    return CaseNumber(year, court_code, type_code, (counter.last_serial if counter else 0) + 1)


async def allocate_case_number(
    conn: BaseDBAsyncClient, court_code: str, type_code: str, year: int
) -> CaseNumber:
    serial = await allocate_serial(conn, court_code, type_code, year)
    return CaseNumber(year, normalise(court_code), normalise(type_code), serial)
