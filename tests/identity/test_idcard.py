"""Resident ID numbers (GB 11643-1999)."""

from __future__ import annotations

import pickle
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from identity.idcard import (
    InvalidIdentifier,
    ResidentId,
    mask_resident_id,
    parse_resident_id,
    resident_id_check_char,
)

# The worked example in GB 11643-1999 itself: Beijing Chaoyang, born 1949-12-31, sequence 002.
STANDARD_EXAMPLE = "11010519491231002X"
TODAY = date(2025, 6, 1)

# Written out independently of the module under test, as the standard states them.
_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_CHECK = ["1", "0", "X", "9", "8", "7", "6", "5", "4", "3", "2"]


def build(area: str, birth: date, sequence: int) -> str:
    """An ID number made by the test's own implementation of the standard."""
    body = f"{area}{birth:%Y%m%d}{sequence:03d}"
    return body + _CHECK[sum(int(c) * w for c, w in zip(body, _WEIGHTS, strict=True)) % 11]


def parse(value: str) -> ResidentId:
    return parse_resident_id(value, today=TODAY)


def code_of(value: str, today: date = TODAY) -> str:
    with pytest.raises(InvalidIdentifier) as info:
        parse_resident_id(value, today=today)
    assert isinstance(info.value, ValueError)
    return info.value.code


def test_standard_example() -> None:
    rid = parse(STANDARD_EXAMPLE)
    assert rid.number == STANDARD_EXAMPLE
    assert rid.area_code == "110105"
    assert rid.birth_date == date(1949, 12, 31)
    assert rid.sequence == "002"
    assert rid.sex == "female"
    assert rid.check_char == "X"
    assert rid.masked == "1101**********002X"


def test_builder_agrees_with_the_standard_example() -> None:
    assert build("110105", date(1949, 12, 31), 2) == STANDARD_EXAMPLE
    assert resident_id_check_char(STANDARD_EXAMPLE[:17]) == "X"


def test_lowercase_x_whitespace_and_full_width_input() -> None:
    assert parse("  11010519491231002x\n").number == STANDARD_EXAMPLE
    assert parse("１１０１０５１９４９１２３１００２ｘ").number == STANDARD_EXAMPLE


def test_sex_from_sequence_parity() -> None:
    assert parse(build("330206", date(1990, 3, 7), 123)).sex == "male"
    assert parse(build("330206", date(1990, 3, 7), 124)).sex == "female"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "id_required"),
        ("   ", "id_required"),
        ("11010519491231002", "id_length"),
        ("11010519491231002X1", "id_length"),
        ("110105491231002", "id_length"),  # first-generation 15-digit number
        ("1101051949123100XX", "id_format"),
        ("11010519491231002Y", "id_format"),
        ("1101051949-231002X", "id_format"),
        ("11010519491231 02X", "id_format"),
        ("110105194912310021", "id_checksum"),
        ("110105194912310020", "id_checksum"),
    ],
)
def test_format_and_checksum_errors(value: str, code: str) -> None:
    assert code_of(value) == code


def test_every_wrong_check_character_is_rejected() -> None:
    for wrong in "0123456789X":
        if wrong != "X":
            assert code_of(STANDARD_EXAMPLE[:17] + wrong) == "id_checksum"


def test_single_digit_typos_are_caught() -> None:
    # the point of MOD 11-2: any one changed digit fails the check (or the date)
    for position in range(17):
        for digit in "0123456789":
            if digit == STANDARD_EXAMPLE[position]:
                continue
            typo = STANDARD_EXAMPLE[:position] + digit + STANDARD_EXAMPLE[position + 1 :]
            with pytest.raises(InvalidIdentifier):
                parse(typo)


@pytest.mark.parametrize(
    ("birth", "code"),
    [
        ("19990230", "id_date"),
        ("19991301", "id_date"),
        ("19990001", "id_date"),
        ("19990100", "id_date"),
        ("19000229", "id_date"),  # 1900 is not a leap year
        ("21000229", "id_date"),
        ("18991231", "id_date_implausible"),
        ("20250602", "id_date_future"),
    ],
)
def test_date_errors(birth: str, code: str) -> None:
    # a correct check character, so only the date can be at fault
    body = f"330206{birth}123"
    assert code_of(body + resident_id_check_char(body)) == code


def test_gb11643s_second_example_is_before_1900() -> None:
    # The standard's other example (Shantou, born 1880-01-01): checksum right, date implausible.
    assert resident_id_check_char("44052418800101001") == "4"
    assert code_of("440524188001010014") == "id_date_implausible"


@pytest.mark.parametrize("birth", [date(2000, 2, 29), date(2024, 2, 29), date(1900, 1, 1), TODAY])
def test_boundary_dates_are_valid(birth: date) -> None:
    assert parse(build("330206", birth, 1)).birth_date == birth


def test_future_is_relative_to_today_in_china() -> None:
    number = build("330206", TODAY, 1)
    assert code_of(number, today=TODAY - timedelta(days=1)) == "id_date_future"
    # without an explicit date it uses the current Chinese calendar date
    assert parse_resident_id(build("330206", date(2000, 1, 1), 1)).birth_date.year == 2000


def test_messages_are_bilingual_and_do_not_echo_the_number() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        parse("110105194912310021")
    message = str(info.value)
    assert "check" in message and "校验" in message
    assert "110105194912310021" not in message
    assert info.value.message == message
    copy = pickle.loads(pickle.dumps(info.value))
    assert (copy.code, copy.message) == (info.value.code, info.value.message)


def test_age_and_minority() -> None:
    rid = parse(build("330206", date(2007, 6, 1), 11))
    assert rid.age_on(date(2025, 5, 31)) == 17
    assert rid.is_minor_on(date(2025, 5, 31))
    assert rid.age_on(date(2025, 6, 1)) == 18
    assert not rid.is_minor_on(date(2025, 6, 1))
    assert rid.age_on(date(2007, 6, 1)) == 0
    with pytest.raises(ValueError):
        rid.age_on(date(2007, 5, 31))


def test_leap_day_birthday_counts_from_first_of_march() -> None:
    rid = parse(build("330206", date(2004, 2, 29), 11))
    assert rid.age_on(date(2022, 2, 28)) == 17
    assert rid.is_minor_on(date(2022, 2, 28))
    assert rid.age_on(date(2022, 3, 1)) == 18
    assert rid.age_on(date(2024, 2, 29)) == 20


def test_masking() -> None:
    assert mask_resident_id("33020619900307123X") == "3302**********123X"
    assert mask_resident_id(" 33020619900307123x ") == "3302**********123X"
    assert mask_resident_id("12345678") == "********"
    assert mask_resident_id("") == ""
    assert len(mask_resident_id("123456789012345")) == 15


def test_repr_and_str_never_show_the_number() -> None:
    rid = parse(STANDARD_EXAMPLE)
    for text in (repr(rid), str(rid), f"{rid}", repr([rid])):
        assert STANDARD_EXAMPLE not in text
        assert "1949" not in text
        assert "1101**********002X" in text


def test_value_object_semantics() -> None:
    assert parse(STANDARD_EXAMPLE) == parse(STANDARD_EXAMPLE.lower())
    assert hash(parse(STANDARD_EXAMPLE)) == hash(parse(STANDARD_EXAMPLE))
    with pytest.raises(AttributeError):
        parse(STANDARD_EXAMPLE).number = "x"  # type: ignore[misc]


def test_check_char_helper_rejects_bad_input() -> None:
    for bad in ("1234", "1101051949123100X", "１１０１０５１９４９１２３１００２"):
        with pytest.raises(ValueError):
            resident_id_check_char(bad)


@given(
    area=st.from_regex(r"[1-8][0-9]{5}", fullmatch=True),
    birth=st.dates(min_value=date(1900, 1, 1), max_value=TODAY),
    sequence=st.integers(min_value=0, max_value=999),
    lower=st.booleans(),
)
def test_every_generated_number_parses_back(
    area: str, birth: date, sequence: int, lower: bool
) -> None:
    number = build(area, birth, sequence)
    rid = parse(f" {number.lower() if lower else number} ")
    assert rid.number == number
    assert rid.area_code == area
    assert rid.birth_date == birth
    assert rid.sex == ("male" if sequence % 2 else "female")
    assert rid.masked == number[:4] + "*" * 10 + number[-4:]


@given(
    area=st.from_regex(r"[1-8][0-9]{5}", fullmatch=True),
    birth=st.dates(min_value=date(1900, 1, 1), max_value=TODAY),
    sequence=st.integers(min_value=0, max_value=999),
    delta=st.integers(min_value=1, max_value=10),
)
def test_any_other_check_character_fails(area: str, birth: date, sequence: int, delta: int) -> None:
    number = build(area, birth, sequence)
    wrong = _CHECK[(_CHECK.index(number[-1]) + delta) % 11]
    assert code_of(number[:-1] + wrong) == "id_checksum"


def test_a_foreign_permanent_resident_number_is_not_a_resident_id() -> None:
    # The 2023 Foreign Permanent Resident ID Card: same layout and checksum, leading 9.
    number = build("933101", date(1985, 5, 17), 123)
    assert code_of(number) == "id_foreign_permanent_resident"
