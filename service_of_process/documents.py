"""Court documents generated from templates as PDFs (reportlab, Chinese text in a CID font)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


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


_TITLES: dict[DocumentKind, tuple[str, str]] = {
    DocumentKind.SUMMONS: ("传票", "Summons"),
    DocumentKind.NOTICE_OF_RESPONSE: ("应诉通知书", "Notice of response"),
    DocumentKind.EVIDENCE_NOTICE: ("举证通知书", "Notice to produce evidence"),
    DocumentKind.HEARING_NOTICE: ("开庭通知书", "Hearing notice"),
    DocumentKind.RULING: ("民事裁定书", "Ruling"),
    DocumentKind.JUDGMENT: ("民事判决书", "Judgment"),
    DocumentKind.MEDIATION_STATEMENT: ("民事调解书", "Mediation statement"),
}


def document_title(kind: DocumentKind) -> tuple[str, str]:
    """(zh, en) display title of a document kind."""
    return _TITLES[kind]


def render_document(kind: DocumentKind, context: DocumentContext) -> bytes:
    """The document as a PDF; the same input gives the same bytes."""
    raise NotImplementedError("documents are being implemented")
