"""Unified social credit codes (GB 32100-2015)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from identity.credit_code import (
    CreditCode,
    InvalidIdentifier,
    credit_code_check_char,
    parse_credit_code,
)
from identity.idcard import InvalidIdentifier as IdcardInvalidIdentifier

# Published codes of registered organisations (business licences and law-firm licences).
PUBLISHED = [
    "91350100M000100Y43",  # the example found in most write-ups of GB 32100
    "9144030071526726XG",
    "914403001922038216",
    "91110000802100433B",
    "91330100716105852F",
    "31110000400000448M",  # authority 3 (justice), type 1: a law firm
]

# Written out independently of the module under test.
_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def build(first17: str) -> str:
    check = 31 - sum(_CHARS.index(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 31
    return first17 + _CHARS[0 if check == 31 else check]


def code_of(value: str) -> str:
    with pytest.raises(InvalidIdentifier) as info:
        parse_credit_code(value)
    return info.value.code


@pytest.mark.parametrize("value", PUBLISHED)
def test_published_codes_are_valid(value: str) -> None:
    assert parse_credit_code(value).code == value
    assert build(value[:17]) == value


def test_fields() -> None:
    code = parse_credit_code("91350100M000100Y43")
    assert code.registration_authority == "9"
    assert code.organisation_type == "1"
    assert code.area_code == "350100"
    assert code.organisation_code == "M000100Y4"
    assert code.check_char == "3"
    assert code.registration_authority_name == "工商"
    assert code.organisation_type_name == "企业"
    assert str(code) == "91350100M000100Y43"


def test_law_firm_type_name() -> None:
    code = parse_credit_code("31110000400000448M")
    assert code.registration_authority_name == "司法行政"
    assert code.organisation_type_name == "律师执业机构"


def test_unknown_authority_or_type_is_not_rejected() -> None:
    code = parse_credit_code(build("B7330100MA2ABCDEF"))
    assert code.registration_authority_name is None
    assert code.organisation_type_name is None


def test_normalisation() -> None:
    assert parse_credit_code("  91350100m000100y43\t").code == "91350100M000100Y43"
    assert parse_credit_code("９１３５０１００Ｍ０００１００Ｙ４３").code == "91350100M000100Y43"


def test_shared_exception_type() -> None:
    assert InvalidIdentifier is IdcardInvalidIdentifier
    assert issubclass(InvalidIdentifier, ValueError)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "credit_code_required"),
        ("91350100M000100Y4", "credit_code_length"),
        ("91350100M000100Y433", "credit_code_length"),
        ("91350100M000100Y4-", "credit_code_format"),
        ("91350100M000100年43", "credit_code_format"),
        ("91350100MOOO100Y43", "credit_code_format"),  # letter O for zero
        ("9135010OM000100Y43", "credit_code_format"),
        ("91350100M000100Y4I", "credit_code_format"),
        ("91350100M000100Y4Z", "credit_code_format"),
        ("91350100M000100Y44", "credit_code_checksum"),
        ("91350100M000100Y40", "credit_code_checksum"),
        ("91350100M000100Y34", "credit_code_checksum"),  # transposition
    ],
)
def test_errors(value: str, code: str) -> None:
    assert code_of(value) == code


def test_excluded_letters_are_named_in_the_message() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        parse_credit_code("91350100MOOO100Y43")
    assert "I, O, Z, S, V" in info.value.message and "不使用" in info.value.message
    with pytest.raises(InvalidIdentifier) as info:
        parse_credit_code("91350100M000100Y44")
    assert "校验" in str(info.value)


def test_check_value_31_is_written_zero() -> None:
    # a weighted sum of 0 mod 31 gives 31 - 0 = 31, which is written "0"
    body = "00000000000000000"
    assert credit_code_check_char(body) == "0"
    assert parse_credit_code(body + "0") == CreditCode(body + "0")


def test_check_char_helper_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        credit_code_check_char("91350100M000100Y")
    with pytest.raises(ValueError):
        credit_code_check_char("91350100M000100YI")


_body = st.text(alphabet=_CHARS, min_size=17, max_size=17)


@given(first17=_body, lower=st.booleans())
def test_every_generated_code_parses_back(first17: str, lower: bool) -> None:
    value = build(first17)
    parsed = parse_credit_code(value.lower() if lower else value)
    assert parsed.code == value
    assert (
        parsed.registration_authority
        + parsed.organisation_type
        + parsed.area_code
        + parsed.organisation_code
        + parsed.check_char
        == value
    )


@given(first17=_body, delta=st.integers(min_value=1, max_value=30))
def test_any_other_check_character_fails(first17: str, delta: int) -> None:
    value = build(first17)
    wrong = _CHARS[(_CHARS.index(value[-1]) + delta) % 31]
    assert code_of(value[:-1] + wrong) == "credit_code_checksum"


@given(
    first17=_body,
    position=st.integers(min_value=0, max_value=16),
    delta=st.integers(min_value=1, max_value=30),
)
def test_any_single_character_change_fails(first17: str, position: int, delta: int) -> None:
    value = build(first17)
    changed = _CHARS[(_CHARS.index(value[position]) + delta) % 31]
    typo = value[:position] + changed + value[position + 1 :]
    assert code_of(typo) == "credit_code_checksum"
