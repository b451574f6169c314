"""Identity documents other than the resident ID card, and ISO 3166-1 alpha-3 country codes.

Each ``parse_*`` function normalises (NFKC, trim, upper case) and returns the canonical number,
or raises :class:`InvalidIdentifier` with a stable code and a bilingual message that never
repeats the number. Only what the issuing authority documents is enforced: shape everywhere,
the check character where one is published (2023 permanent resident ID, residence permits).
"""

from __future__ import annotations

import re
import unicodedata

from identity.idcard import InvalidIdentifier, parse_resident_id, resident_id_check_char

__all__ = [
    "COUNTRIES",
    "mask_identifier",
    "parse_country",
    "parse_foreign_permanent_resident_id",
    "parse_foreign_registration_number",
    "parse_hk_macau_permit",
    "parse_hmt_residence_permit",
    "parse_passport_number",
    "parse_taiwan_permit",
]

# ISO 3166-1 alpha-3, the officially assigned codes (249).
COUNTRIES = frozenset(
    """
    ABW AFG AGO AIA ALA ALB AND ARE ARG ARM ASM ATA ATF ATG AUS AUT AZE BDI BEL BEN BES BFA BGD
    BGR BHR BHS BIH BLM BLR BLZ BMU BOL BRA BRB BRN BTN BVT BWA CAF CAN CCK CHE CHL CHN CIV CMR
    COD COG COK COL COM CPV CRI CUB CUW CXR CYM CYP CZE DEU DJI DMA DNK DOM DZA ECU EGY ERI ESH
    ESP EST ETH FIN FJI FLK FRA FRO FSM GAB GBR GEO GGY GHA GIB GIN GLP GMB GNB GNQ GRC GRD GRL
    GTM GUF GUM GUY HKG HMD HND HRV HTI HUN IDN IMN IND IOT IRL IRN IRQ ISL ISR ITA JAM JEY JOR
    JPN KAZ KEN KGZ KHM KIR KNA KOR KWT LAO LBN LBR LBY LCA LIE LKA LSO LTU LUX LVA MAC MAF MAR
    MCO MDA MDG MDV MEX MHL MKD MLI MLT MMR MNE MNG MNP MOZ MRT MSR MTQ MUS MWI MYS MYT NAM NCL
    NER NFK NGA NIC NIU NLD NOR NPL NRU NZL OMN PAK PAN PCN PER PHL PLW PNG POL PRI PRK PRT PRY
    PSE PYF QAT REU ROU RUS RWA SAU SDN SEN SGP SGS SHN SJM SLB SLE SLV SMR SOM SPM SRB SSD STP
    SUR SVK SVN SWE SWZ SXM SYC SYR TCA TCD TGO THA TJK TKL TKM TLS TON TTO TUN TUR TUV TWN TZA
    UGA UKR UMI URY USA UZB VAT VCT VEN VGB VIR VNM VUT WLF WSM YEM ZAF ZMB ZWE
    """.split()
)

_HK_MACAU_PERMIT = re.compile(r"[HM][0-9]{8}")
_TAIWAN_PERMIT = re.compile(r"[0-9]{8}")
_PERMANENT_2017 = re.compile(r"[A-Z]{3}[0-9]{12}")
_PERMANENT_2023 = re.compile(r"9[0-9]{16}[0-9X]")
_PASSPORT = re.compile(r"[A-Z0-9]{5,20}")
_REGISTRATION = re.compile(r"[A-Z0-9](?:[A-Z0-9 ./-]{0,38}[A-Z0-9])?")
# GB/T 2260 province-level codes of Hong Kong, Macao and Taiwan: the first two digits of a
# residence permit number (港澳台居民居住证).
_HMT_PREFIXES = ("81", "82", "83")


def _normalise(value: str) -> str:
    # NFKC folds full-width letters and digits typed with a Chinese input method into ASCII.
    return unicodedata.normalize("NFKC", value).strip().upper()


def _match(value: str, shape: re.Pattern[str], code: str, message: str) -> str:
    number = _normalise(value) if isinstance(value, str) else ""
    if not shape.fullmatch(number):
        raise InvalidIdentifier(code, message)
    return number


def parse_hk_macau_permit(value: str) -> str:
    """港澳居民来往内地通行证 (2019 format): H (Hong Kong) or M (Macao) and 8 digits."""
    return _match(
        value,
        _HK_MACAU_PERMIT,
        "hk_macau_permit_format",
        "Mainland travel permit number must be H or M followed by 8 digits / "
        "港澳居民来往内地通行证号码应为H或M加8位数字",
    )


def parse_taiwan_permit(value: str) -> str:
    """台湾居民来往大陆通行证: 8 digits."""
    return _match(
        value,
        _TAIWAN_PERMIT,
        "taiwan_permit_format",
        "Mainland travel permit number for Taiwan residents must be 8 digits / "
        "台湾居民来往大陆通行证号码应为8位数字",
    )


def parse_foreign_permanent_resident_id(value: str) -> str:
    """外国人永久居留身份证: the 2017 card's 3 letters (nationality) + 12 digits, or the 2023
    card's 18 digits starting with 9 with the GB 11643 MOD 11-2 check character (the National
    Immigration Administration's machine-readable rules for the 2023 card)."""
    number = _normalise(value) if isinstance(value, str) else ""
    if _PERMANENT_2017.fullmatch(number):
        return number
    if _PERMANENT_2023.fullmatch(number):
        if resident_id_check_char(number[:17]) != number[17]:
            raise InvalidIdentifier(
                "permanent_resident_id_checksum",
                "Permanent resident ID check digit does not match; please check for a typing "
                "error / 外国人永久居留身份证号码校验位不正确，请检查是否输入有误",
            )
        return number
    raise InvalidIdentifier(
        "permanent_resident_id_format",
        "Permanent resident ID number must be 3 letters and 12 digits (2017 card) or 18 "
        "characters starting with 9 (2023 card) / 外国人永久居留身份证号码应为3位字母加12位数字"
        "（2017版）或以9开头的18位（2023版）",
    )


def parse_hmt_residence_permit(value: str) -> str:
    """港澳台居民居住证: a GB 11643 number (checksum and birth date as a resident ID) whose
    area code is Hong Kong (81), Macao (82) or Taiwan (83)."""
    number = parse_resident_id(value).number
    if not number.startswith(_HMT_PREFIXES):
        raise InvalidIdentifier(
            "residence_permit_prefix",
            "Residence permit numbers for Hong Kong, Macao and Taiwan residents start with 81, "
            "82 or 83 / 港澳台居民居住证号码以81、82或83开头",
        )
    return number


def parse_passport_number(value: str) -> str:
    """A passport number: 5-20 letters and digits (formats differ by issuing state)."""
    return _match(
        value,
        _PASSPORT,
        "passport_format",
        "Passport number must be 5 to 20 letters and digits / 护照号码应为5至20位字母或数字",
    )


def parse_foreign_registration_number(value: str) -> str:
    """A company's registration number abroad: formats differ by registry, so 1-40 letters and
    digits, with spaces, dots, slashes and hyphens allowed between them."""
    number = " ".join(_normalise(value).split()) if isinstance(value, str) else ""
    return _match(
        number,
        _REGISTRATION,
        "registration_number_format",
        "Registration number must be 1 to 40 letters and digits (spaces, '.', '/', '-' allowed "
        "inside) / 境外注册号码应为1至40位字母或数字（中间可含空格、点、斜杠、连字符）",
    )


def parse_country(value: str) -> str:
    """An ISO 3166-1 alpha-3 country or region code (CHN, HKG, MAC, TWN, USA …)."""
    code = _normalise(value) if isinstance(value, str) else ""
    if code not in COUNTRIES:
        raise InvalidIdentifier(
            "country_unknown",
            "Country must be an ISO 3166-1 alpha-3 code such as USA or GBR / "
            "国家或地区应为ISO 3166-1三位字母代码，如USA、GBR",
        )
    return code


def mask_identifier(number: str) -> str:
    """Keep a quarter of the characters at each end, at most 4: ``3302**********123X`` for a
    resident ID (as ``mask_resident_id``), ``H1*****78`` for a 9-character permit, so a short
    number is never nearly all shown."""
    keep = min(4, len(number) // 4)
    return number[:keep] + "*" * (len(number) - 2 * keep) + number[len(number) - keep :]
