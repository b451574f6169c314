"""Resident identity card numbers (居民身份证号码, GB 11643-1999).

Layout: 6-digit area code + birth date YYYYMMDD + 3-digit sequence (odd = male) + check character.
The check character is ISO 7064 MOD 11-2: weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 over the
first 17 digits, ``sum mod 11`` = 0..10 mapping to ``1 0 X 9 8 7 6 5 4 3 2``.

The area code is deliberately not checked against a division table: codes are retired and
re-issued over time and a stale table would lock real people out. The checksum and the date
catch typing errors; identity itself is proven elsewhere (real-name and face verification).

``ResidentId`` never shows the full number in ``repr``/``str``, so it cannot leak into logs by
accident.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Literal

__all__ = [
    "InvalidIdentifier",
    "ResidentId",
    "mask_resident_id",
    "parse_resident_id",
    "resident_id_check_char",
]

Sex = Literal["male", "female"]

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
EARLIEST_BIRTH_DATE = date(1900, 1, 1)
ADULT_AGE = 18

# China has had a single UTC+8 offset without daylight saving since 1991; "today" for a birth
# date check is the Chinese calendar day, not the server's.
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")

_SHAPE = re.compile(r"[0-9]{17}[0-9X]")


class InvalidIdentifier(ValueError):
    """An identifier failed validation.

    ``code`` is stable and machine-readable (for a 422 field error); ``message`` is bilingual
    text fit to show to the person who typed the number. The message never repeats the number.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __reduce__(self) -> tuple[type[InvalidIdentifier], tuple[str, str]]:
        return (type(self), (self.code, self.message))


def china_today() -> date:
    return datetime.now(CHINA_TZ).date()


def resident_id_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("expected exactly 17 ASCII digits")
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def mask_resident_id(number: str) -> str:
    """``3302**********123X``: first 4 and last 4 characters kept, the rest hidden.

    Never raises, so it is safe to use on unvalidated input (e.g. in an error path). Input of
    8 characters or fewer is hidden entirely, since keeping 4 + 4 would reveal all of it.
    """
    text = number.strip().upper()
    if len(text) <= 8:
        return "*" * len(text)
    return text[:4] + "*" * (len(text) - 8) + text[-4:]


@dataclass(frozen=True, slots=True)
class ResidentId:
    number: str = field(repr=False)
    area_code: str = field(repr=False)
    birth_date: date = field(repr=False)
    sex: Sex = field(repr=False)

    @property
    def sequence(self) -> str:
        return self.number[14:17]

    @property
    def check_char(self) -> str:
        return self.number[17]

    @property
    def masked(self) -> str:
        return mask_resident_id(self.number)

    def age_on(self, on: date) -> int:
        """Completed years (周岁) on ``on``.

        The age goes up on the birthday itself; someone born on 29 February gains a year on
        1 March in common years.
        """
        if on < self.birth_date:
            raise ValueError("date is before the birth date")
        years = on.year - self.birth_date.year
        if (on.month, on.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years

    def is_minor_on(self, on: date) -> bool:
        """Under 18 on ``on`` (Civil Code art. 17)."""
        return self.age_on(on) < ADULT_AGE

    def __repr__(self) -> str:
        return f"ResidentId({self.masked})"

    __str__ = __repr__


def _normalise(value: str) -> str:
    # NFKC folds full-width digits and Ｘ/ｘ typed with a Chinese input method into ASCII.
    return unicodedata.normalize("NFKC", value).strip().upper()


def parse_resident_id(value: str, *, today: date | None = None) -> ResidentId:
    """Validate and decompose an 18-character resident ID number.

    ``today`` (default: the current date in China) bounds the birth date from above.
    Raises :class:`InvalidIdentifier` naming the first problem found.
    """
    if not isinstance(value, str):
        raise InvalidIdentifier("id_format", "ID number must be text / 身份证号码必须为文本")
    number = _normalise(value)
    if not number:
        raise InvalidIdentifier("id_required", "ID number is required / 请填写身份证号码")
    if len(number) == 15 and number.isascii() and number.isdigit():
        raise InvalidIdentifier(
            "id_length",
            "15-digit first-generation ID numbers are no longer valid; enter the 18-character "
            "number / 第一代15位身份证号码已停止使用，请输入18位身份证号码",
        )
    if len(number) != 18:
        raise InvalidIdentifier(
            "id_length",
            f"ID number must have 18 characters, got {len(number)} / "
            f"身份证号码应为18位，实际为{len(number)}位",
        )
    if not _SHAPE.fullmatch(number):
        raise InvalidIdentifier(
            "id_format",
            "ID number must be 17 digits followed by a digit or X / "
            "身份证号码应为17位数字加1位数字或X",
        )
    if number[0] == "9":
        # The 2023 Foreign Permanent Resident ID Card uses this layout with a leading 9; it is a
        # different document (identity.documents), not a resident identity card.
        raise InvalidIdentifier(
            "id_foreign_permanent_resident",
            "A number starting with 9 is a Foreign Permanent Resident ID Card, not a resident "
            "ID: choose that document / 以9开头的号码为外国人永久居留身份证，请选择该证件类型",
        )
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidIdentifier(
            "id_date",
            "ID number contains an impossible birth date / 身份证号码中的出生日期不存在",
        ) from None
    if birth < EARLIEST_BIRTH_DATE:
        raise InvalidIdentifier(
            "id_date_implausible",
            "ID number has a birth date before 1900 / 身份证号码中的出生日期早于1900年",
        )
    if birth > (today if today is not None else china_today()):
        raise InvalidIdentifier(
            "id_date_future",
            "ID number has a birth date in the future / 身份证号码中的出生日期晚于今天",
        )
    if resident_id_check_char(number[:17]) != number[17]:
        raise InvalidIdentifier(
            "id_checksum",
            "ID number check digit does not match; please check for a typing error / "
            "身份证号码校验位不正确，请检查是否输入有误",
        )
    return ResidentId(
        number=number,
        area_code=number[:6],
        birth_date=birth,
        sex="male" if int(number[16]) % 2 else "female",
    )
