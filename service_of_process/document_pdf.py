"""The layout of the template documents (reportlab); see ``documents``."""

from __future__ import annotations

import io
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

from service_of_process.documents import (
    CJK_FONT,
    DocumentContext,
    DocumentKind,
    check_body,
    chinese_date,
    document_title,
)

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
