"""Court documents generated from templates as PDFs (reportlab, Chinese text in a CID font).

Rendering is CPU-bound: call :func:`render_document` in an executor. The output depends only on
its input (reportlab's invariant mode, creation date taken from the issue date), so a document's
SHA-256 is stable and can be re-derived when a proof of service is checked.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer

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


# ------------------------------------------------------------------------------ layout


def register_cjk_font() -> None:
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))


def _style(name: str, size: float, **kw: Any) -> ParagraphStyle:
    return ParagraphStyle(
        name, fontName=CJK_FONT, fontSize=size, leading=size * 1.6, wordWrap="CJK", **kw
    )


_COURT = _style("court", 16, alignment=TA_CENTER)
_TITLE = _style("title", 22, alignment=TA_CENTER, spaceBefore=4, spaceAfter=6)
_NUMBER = _style("number", 12, alignment=TA_RIGHT, spaceAfter=10)
_TEXT = _style("text", 12, firstLineIndent=24, spaceAfter=4)
_PLAIN = _style("plain", 12, spaceAfter=4)
_SIGN = _style("sign", 12, alignment=TA_RIGHT)


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    # Paragraph parses a small markup language; every value is escaped so a party's name with
    # "<" or "&" prints as written and cannot inject markup.
    return Paragraph(escape(text), style)


def _paragraphs(text: str) -> list[Flowable]:
    return [_p(line.strip(), _TEXT) for line in text.splitlines() if line.strip()]


def _body(kind: DocumentKind, ctx: DocumentContext, body: dict[str, str]) -> list[Flowable]:
    note = body.get("note")
    out: list[Flowable] = []
    if kind is DocumentKind.SUMMONS:
        out += [
            _p(f"案由：{ctx.cause_zh}", _PLAIN),
            _p(f"被传唤人：{ctx.recipient_name}（{ctx.recipient_role_zh}）", _PLAIN),
            _p(f"传唤事由：{body.get('reason') or '开庭审理'}", _PLAIN),
            _p(f"应到时间：{body['hearing_at']}", _PLAIN),
            _p(f"应到处所：{body['place']}", _PLAIN),
            _p("注意事项：", _PLAIN),
            _p(
                "一、被传唤人必须准时到达应到处所；在线开庭的，请按时登录移动微法院参加庭审。",
                _TEXT,
            ),
            _p(
                "二、被传唤人系原告，无正当理由拒不到庭或者未经法庭许可中途退庭的，"
                "可以按撤诉处理；系被告的，可以缺席判决。",
                _TEXT,
            ),
        ]
    elif kind is DocumentKind.NOTICE_OF_RESPONSE:
        plaintiff = body.get("plaintiff")
        opening = f"原告{plaintiff}诉你方" if plaintiff else "本院受理的"
        out += [
            _p(f"{ctx.recipient_name}：", _PLAIN),
            _p(f"{opening}{ctx.cause_zh}纠纷一案，本院已立案受理，现将起诉状副本送达你方。", _TEXT),
            _p(
                "依照《中华人民共和国民事诉讼法》第一百二十八条的规定，你方应当在收到起诉状副本"
                f"之日起{body['response_days']}日内向本院提出答辩状。"
                "你方不提出答辩状的，不影响本院审理。",
                _TEXT,
            ),
        ]
        if body.get("due"):
            out.append(_p(f"答辩期限届满日：{body['due']}（期间届满日遇法定休假日顺延）。", _TEXT))
    elif kind is DocumentKind.EVIDENCE_NOTICE:
        out += [
            _p(f"{ctx.recipient_name}：", _PLAIN),
            _p(
                f"本院受理的{ctx.cause_zh}纠纷一案，当事人对自己提出的主张，有责任提供证据。", _TEXT
            ),
            _p(
                f"本案举证期限为{body['evidence_days']}日，自收到本通知书之次日起计算。"
                "逾期提供证据的，本院将依法处理。",
                _TEXT,
            ),
        ]
        if body.get("due"):
            out.append(_p(f"举证期限届满日：{body['due']}。", _TEXT))
    elif kind is DocumentKind.HEARING_NOTICE:
        out += [
            _p(f"{ctx.recipient_name}：", _PLAIN),
            _p(
                f"本院受理的{ctx.cause_zh}纠纷一案，定于{body['hearing_at']}在{body['place']}"
                "开庭审理，请准时到庭（《中华人民共和国民事诉讼法》第一百三十九条）。",
                _TEXT,
            ),
        ]
    else:
        out += [
            _p(f"{ctx.recipient_role_zh}：{ctx.recipient_name}", _PLAIN),
            _p(f"案由：{ctx.cause_zh}", _PLAIN),
            *_paragraphs(body["text"]),
        ]
        if body.get("appeal_days"):
            court = body.get("appeal_court") or "上一级人民法院"
            what = "判决" if kind is DocumentKind.JUDGMENT else "裁定"
            out.append(
                _p(
                    f"如不服本{what}，可以在{what}书送达之日起{body['appeal_days']}日内，"
                    f"向本院递交上诉状，上诉于{court}。",
                    _TEXT,
                )
            )
        if kind is DocumentKind.MEDIATION_STATEMENT:
            out.append(_p("本调解书经双方当事人签收后，即具有法律效力。", _TEXT))
    if note:
        out.append(_p(f"备注：{note}", _TEXT))
    return out


def render_document(kind: DocumentKind, context: DocumentContext) -> bytes:
    """The document as a PDF; the same input gives the same bytes."""
    body = check_body(kind, context.body)
    register_cjk_font()
    title_zh, title_en = document_title(kind)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=25 * mm,
        rightMargin=25 * mm,
        topMargin=25 * mm,
        bottomMargin=25 * mm,
        title=f"{title_zh} {context.case_number}".strip(),
        author=context.court_name_zh,
        subject=title_en,
        creator="mobile-court",
        invariant=1,
    )
    stamp = context.issued_on.strftime("D:%Y%m%d000000+08'00'")

    def page_number(canvas: Canvas, _doc: Any) -> None:
        canvas.setFont(CJK_FONT, 9)
        canvas.drawCentredString(A4[0] / 2, 12 * mm, f"第 {canvas.getPageNumber()} 页")

    def first_page(canvas: Canvas, _doc: Any) -> None:
        # The creation date is the issue date (Beijing time), not the rendering moment, so the
        # bytes and the hash do not change when the same document is rendered again.
        canvas.setDateFormatter(lambda *_: stamp)
        page_number(canvas, _doc)

    story: list[Flowable] = [
        _p(context.court_name_zh, _COURT),
        _p(title_zh, _TITLE),
        _p(context.case_number, _NUMBER),
        *_body(kind, context, body),
        Spacer(1, 16 * mm),
        _p(context.court_name_zh, _SIGN),
        _p(chinese_date(context.issued_on), _SIGN),
    ]
    doc.build(story, onFirstPage=first_page, onLaterPages=page_number)
    return buffer.getvalue()
