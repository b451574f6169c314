"""Unified social credit codes (统一社会信用代码, GB 32100-2015).

18 characters over ``0123456789ABCDEFGHJKLMNPQRTUWXY`` (values 0-30; I, O, Z, S and V are never
used): registration authority (1), organisation type (2), registration area code (3-8),
organisation code (9-17), check character (18). The check is ``31 - (sum mod 31)`` over weights
1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28, with 31 written as 0.

Only the alphabet, the length and the check character are enforced. The authority/type tables
below are for display; an unknown combination is not rejected, because the registry has been
extended before (A and N were added after 2015) and a valid organisation must not be locked out.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from identity.idcard import InvalidIdentifier

__all__ = [
    "ALPHABET",
    "CreditCode",
    "InvalidIdentifier",
    "credit_code_check_char",
    "parse_credit_code",
]

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUES = {ch: i for i, ch in enumerate(ALPHABET)}
_EXCLUDED = frozenset("IOZSV")

REGISTRATION_AUTHORITIES: dict[str, str] = {
    "1": "机构编制",
    "2": "外交",
    "3": "司法行政",
    "4": "文化",
    "5": "民政",
    "6": "旅游",
    "7": "宗教",
    "8": "工会",
    "9": "工商",
    "A": "中央军委改革和编制办公室",
    "N": "农业",
    "Y": "其他",
}

ORGANISATION_TYPES: dict[str, str] = {
    "11": "机关",
    "12": "事业单位",
    "13": "中央编办直接管理机构编制的群众团体",
    "19": "其他",
    "21": "外国常住新闻机构",
    "29": "其他",
    "31": "律师执业机构",
    "32": "公证处",
    "33": "基层法律服务所",
    "34": "司法鉴定机构",
    "35": "仲裁委员会",
    "39": "其他",
    "41": "外国在华文化中心",
    "49": "其他",
    "51": "社会团体",
    "52": "民办非企业单位",
    "53": "基金会",
    "59": "其他",
    "61": "外国旅游部门常驻代表机构",
    "62": "港澳台地区旅游部门常驻内地(大陆)代表机构",
    "69": "其他",
    "71": "宗教活动场所",
    "72": "宗教院校",
    "79": "其他",
    "81": "基层工会",
    "89": "其他",
    "91": "企业",
    "92": "个体工商户",
    "93": "农民专业合作社",
    "A1": "军队事业单位",
    "A9": "其他",
    "N1": "组级集体经济组织",
    "N2": "村级集体经济组织",
    "N3": "乡镇级集体经济组织",
    "N9": "其他",
    "Y1": "其他",
}


def credit_code_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters (already upper case)."""
    if len(first17) != 17 or any(ch not in _VALUES for ch in first17):
        raise ValueError("expected 17 characters from the credit code alphabet")
    total = sum(_VALUES[ch] * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


@dataclass(frozen=True, slots=True)
class CreditCode:
    code: str

    @property
    def registration_authority(self) -> str:
        return self.code[0]

    @property
    def organisation_type(self) -> str:
        return self.code[1]

    @property
    def area_code(self) -> str:
        return self.code[2:8]

    @property
    def organisation_code(self) -> str:
        return self.code[8:17]

    @property
    def check_char(self) -> str:
        return self.code[17]

    @property
    def registration_authority_name(self) -> str | None:
        return REGISTRATION_AUTHORITIES.get(self.registration_authority)

    @property
    def organisation_type_name(self) -> str | None:
        return ORGANISATION_TYPES.get(self.code[:2])

    def __str__(self) -> str:
        return self.code


def parse_credit_code(value: str) -> CreditCode:
    """Validate an 18-character unified social credit code.

    Surrounding whitespace, lower case and full-width characters are accepted and normalised.
    Raises :class:`InvalidIdentifier` naming the first problem found.
    """
    if not isinstance(value, str):
        raise InvalidIdentifier(
            "credit_code_format", "Credit code must be text / 统一社会信用代码必须为文本"
        )
    code = unicodedata.normalize("NFKC", value).strip().upper()
    if not code:
        raise InvalidIdentifier(
            "credit_code_required", "Credit code is required / 请填写统一社会信用代码"
        )
    if len(code) != 18:
        raise InvalidIdentifier(
            "credit_code_length",
            f"Unified social credit code must have 18 characters, got {len(code)} / "
            f"统一社会信用代码应为18位，实际为{len(code)}位",
        )
    bad = [ch for ch in code if ch not in _VALUES]
    if bad:
        if all(ch in _EXCLUDED for ch in bad):
            raise InvalidIdentifier(
                "credit_code_format",
                "Credit code contains a letter that is never used (I, O, Z, S, V); "
                "check for 1/I, 0/O, 2/Z, 5/S and U/V confusion / "
                "统一社会信用代码不使用字母I、O、Z、S、V，请检查是否误输入",
            )
        raise InvalidIdentifier(
            "credit_code_format",
            "Credit code may contain only digits and upper-case letters other than "
            "I, O, Z, S, V / 统一社会信用代码只能由数字和大写字母（不含I、O、Z、S、V）组成",
        )
    if credit_code_check_char(code[:17]) != code[17]:
        raise InvalidIdentifier(
            "credit_code_checksum",
            "Credit code check character does not match; please check for a typing error / "
            "统一社会信用代码校验位不正确，请检查是否输入有误",
        )
    return CreditCode(code)
