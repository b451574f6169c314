"""Validators of the documents a party without a resident ID gives (identity.documents)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from identity.documents import (
    COUNTRIES,
    mask_identifier,
    parse_country,
    parse_foreign_registration_number,
    parse_hk_macau_permit,
    parse_hmt_residence_permit,
    parse_passport_number,
    parse_taiwan_permit,
)
from identity.documents import parse_foreign_permanent_resident_id as permanent
from identity.idcard import InvalidIdentifier, mask_resident_id

# ISO 7064 MOD 11-2 as GB 11643 states it, written out independently of the code under test.
_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_CHECK = "10X98765432"


def mod11_2(first17: str) -> str:
    return first17 + _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def wrong_check(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


# 2023 permanent resident ID: 9, province 11, nationality 840, born 1985-01-01, sequence 001.
PERMANENT_2023 = mod11_2("91184019850101001")
# Residence permits: Hong Kong (81), Macao (82), Taiwan (83) area codes.
HK_PERMIT = mod11_2("81000019900101001")
TW_PERMIT = mod11_2("83000019751231002")


def code_of(parse: Callable[[str], str], value: str) -> str:
    with pytest.raises(InvalidIdentifier) as info:
        parse(value)
    # The message never repeats the number (too short a value may occur in the text by chance).
    assert len(value) < 5 or value.strip().upper() not in info.value.message
    return info.value.code


@pytest.mark.parametrize(
    ("parse", "value", "expected"),
    [
        (parse_hk_macau_permit, "H12345678", "H12345678"),
        (parse_hk_macau_permit, " m87654321 ", "M87654321"),
        (parse_hk_macau_permit, "Ｈ１２３４５６７８", "H12345678"),  # full-width input
        (parse_taiwan_permit, "01234567", "01234567"),
        (permanent, "usa110065010130", "USA110065010130"),
        (permanent, PERMANENT_2023, PERMANENT_2023),
        (parse_hmt_residence_permit, HK_PERMIT, HK_PERMIT),
        (parse_hmt_residence_permit, TW_PERMIT, TW_PERMIT),
        (parse_passport_number, "e12345678", "E12345678"),
        (parse_passport_number, "12345", "12345"),
        (parse_passport_number, "A" * 20, "A" * 20),
        (parse_foreign_registration_number, " hrb   12345 ", "HRB 12345"),
        (parse_foreign_registration_number, "12-3456789", "12-3456789"),
        (parse_foreign_registration_number, "7", "7"),
        (parse_country, "usa", "USA"),
        (parse_country, "HKG", "HKG"),
    ],
)
def test_valid_numbers_are_normalised(
    parse: Callable[[str], str], value: str, expected: str
) -> None:
    assert parse(value) == expected


@pytest.mark.parametrize(
    ("parse", "value", "code"),
    [
        (parse_hk_macau_permit, "H1234567", "hk_macau_permit_format"),
        (parse_hk_macau_permit, "H123456789", "hk_macau_permit_format"),
        (parse_hk_macau_permit, "X12345678", "hk_macau_permit_format"),
        (parse_hk_macau_permit, "H1234567A", "hk_macau_permit_format"),
        (parse_taiwan_permit, "1234567", "taiwan_permit_format"),
        (parse_taiwan_permit, "A1234567", "taiwan_permit_format"),
        (permanent, "US1110065010130", "permanent_resident_id_format"),
        (permanent, "USA11006501013", "permanent_resident_id_format"),
        (permanent, "8" + PERMANENT_2023[1:], "permanent_resident_id_format"),
        (permanent, wrong_check(PERMANENT_2023), "permanent_resident_id_checksum"),
        (parse_hmt_residence_permit, mod11_2("33028119900101002"), "residence_permit_prefix"),
        (parse_hmt_residence_permit, wrong_check(HK_PERMIT), "id_checksum"),
        (parse_hmt_residence_permit, mod11_2("81000019901301001"), "id_date"),
        (parse_passport_number, "1234", "passport_format"),
        (parse_passport_number, "A" * 21, "passport_format"),
        (parse_passport_number, "E1234-567", "passport_format"),
        (parse_foreign_registration_number, "", "registration_number_format"),
        (parse_foreign_registration_number, "-123", "registration_number_format"),
        (parse_foreign_registration_number, "AB@12", "registration_number_format"),
        (parse_foreign_registration_number, "1" * 41, "registration_number_format"),
        (parse_country, "US", "country_unknown"),
        (parse_country, "ZZZ", "country_unknown"),
    ],
)
def test_wrong_numbers_are_refused_with_a_stable_code(
    parse: Callable[[str], str], value: str, code: str
) -> None:
    assert code_of(parse, value) == code


def test_country_list_is_iso_3166_alpha_3() -> None:
    assert len(COUNTRIES) == 249
    assert {"CHN", "HKG", "MAC", "TWN", "USA", "GBR", "DEU"} <= COUNTRIES
    assert all(len(c) == 3 and c.isascii() and c.isupper() for c in COUNTRIES)


def test_masking_never_shows_most_of_a_short_number() -> None:
    resident = mod11_2("33028119900101002")
    assert mask_identifier(resident) == mask_resident_id(resident)
    assert mask_identifier("H12345678") == "H1*****78"
    assert mask_identifier("01234567") == "01****67"
    assert mask_identifier("USA110065010130") == "USA*********130"
    assert mask_identifier("1234") == "1**4"
    assert mask_identifier("") == ""
