"""Court documents generated from templates as PDFs (reportlab, Chinese text in a CID font).

The kinds, titles and template fields live here; the layout (reportlab, slow to import) is in
``document_pdf`` and loaded on first render, so the delivery worker, which never renders,
starts without it.

Rendering is CPU-bound: call :func:`render_document` in an executor. The output depends only on
its input (reportlab's invariant mode, creation date taken from the issue date), so a document's
SHA-256 is stable and can be re-derived when a proof of service is checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from backend.errors import ValidationFailed

# Adobe's Simplified Chinese CID font: built into reportlab and every PDF reader's Asian font
# pack, so no font file ships with the product.
CJK_FONT = "STSong-Light"


class DocumentKind(StrEnum):
    SUMMONS = "summons"
    NOTICE_OF_RESPONSE = "notice_of_response"
    EVIDENCE_NOTICE = "evidence_notice"
    HEARING_NOTICE = "hearing_notice"
    RULING = "ruling"
    JUDGMENT = "judgment"
    MEDIATION_STATEMENT = "mediation_statement"


@dataclass(frozen=True)
class DocumentContext:
    court_name_zh: str
    case_number: str
    cause_zh: str
    recipient_name: str
    recipient_role_zh: str
    issued_on: date
    # kind-specific fields, e.g. hearing_at, response_days, text
    body: Mapping[str, str]


@dataclass(frozen=True)
class BodyFields:
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()


_TITLES: dict[DocumentKind, tuple[str, str]] = {
    DocumentKind.SUMMONS: ("传票", "Summons"),
    DocumentKind.NOTICE_OF_RESPONSE: ("应诉通知书", "Notice of response"),
    DocumentKind.EVIDENCE_NOTICE: ("举证通知书", "Notice to produce evidence"),
    DocumentKind.HEARING_NOTICE: ("开庭通知书", "Hearing notice"),
    DocumentKind.RULING: ("民事裁定书", "Civil ruling"),
    DocumentKind.JUDGMENT: ("民事判决书", "Civil judgment"),
    DocumentKind.MEDIATION_STATEMENT: ("民事调解书", "Civil mediation statement"),
}

# What each template fills in from DocumentContext.body; anything else is refused so a typo
# cannot silently drop a hearing time from a summons.
BODY_FIELDS: dict[DocumentKind, BodyFields] = {
    DocumentKind.SUMMONS: BodyFields(("hearing_at", "place"), ("reason", "note")),
    DocumentKind.NOTICE_OF_RESPONSE: BodyFields(("response_days",), ("plaintiff", "due", "note")),
    DocumentKind.EVIDENCE_NOTICE: BodyFields(("evidence_days",), ("due", "note")),
    DocumentKind.HEARING_NOTICE: BodyFields(("hearing_at", "place"), ("note",)),
    DocumentKind.RULING: BodyFields(("text",), ("appeal_days", "appeal_court")),
    DocumentKind.JUDGMENT: BodyFields(("text",), ("appeal_days", "appeal_court")),
    DocumentKind.MEDIATION_STATEMENT: BodyFields(("text",)),
}
_DAY_FIELDS = ("response_days", "evidence_days", "appeal_days")
MAX_FIELD_CHARS = 200
MAX_TEXT_CHARS = 100_000

_CN_DIGITS = "〇一二三四五六七八九"


def document_title(kind: DocumentKind) -> tuple[str, str]:
    """(zh, en) display title of a document kind."""
    return _TITLES[kind]


def chinese_date(day: date) -> str:
    """The date as court documents print it: 二〇二六年十月八日."""

    def number(n: int) -> str:
        tens, ones = divmod(n, 10)
        if tens == 0:
            return _CN_DIGITS[ones]
        return ("十" if tens == 1 else _CN_DIGITS[tens] + "十") + (_CN_DIGITS[ones] if ones else "")

    year = "".join(_CN_DIGITS[int(c)] for c in str(day.year))
    return f"{year}年{number(day.month)}月{number(day.day)}日"


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        f"{field}: {message}",
        code="invalid_document_fields",
        errors=[
            {"location": "document", "field": field, "message": message, "type": "value_error"}
        ],
    )


def check_body(kind: DocumentKind, body: Mapping[str, str]) -> dict[str, str]:
    """The template fields, stripped; 422 for a missing, unknown or malformed one."""
    fields = BODY_FIELDS[kind]
    allowed = set(fields.required) | set(fields.optional)
    for key in body:
        if key not in allowed:
            raise _invalid(
                key, f"not a field of a {kind.value}; allowed: {', '.join(sorted(allowed))}"
            )
    clean = {key: str(value).strip() for key, value in body.items()}
    for key in fields.required:
        if not clean.get(key):
            raise _invalid(key, f"required for a {kind.value}")
    for key, value in clean.items():
        limit = MAX_TEXT_CHARS if key == "text" else MAX_FIELD_CHARS
        if len(value) > limit:
            raise _invalid(key, f"at most {limit} characters")
        if (
            key in _DAY_FIELDS
            and value
            and not (value.isascii() and value.isdigit() and 1 <= int(value) <= 366)
        ):
            raise _invalid(key, "a whole number of days from 1 to 366")
    return clean


def register_cjk_font() -> None:
    from service_of_process.document_pdf import register_cjk_font as register

    register()


def render_document(kind: DocumentKind, context: DocumentContext) -> bytes:
    """The document as a PDF; the same input gives the same bytes."""
    from service_of_process.document_pdf import render_document as render

    return render(kind, context)
