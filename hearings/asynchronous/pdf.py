"""PDF rendering of court documents (reportlab; Chinese through the built-in CID font
STSong-Light, so no font file ships with the server). Blocking: call :func:`render_pdf` in an
executor."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

FONT = "STSong-Light"


@dataclass(frozen=True)
class Section:
    heading: str
    lines: list[str] = field(default_factory=list)


def _styles() -> tuple[ParagraphStyle, ParagraphStyle, ParagraphStyle]:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    title = ParagraphStyle("title", fontName=FONT, fontSize=16, leading=22, alignment=1)
    heading = ParagraphStyle("heading", fontName=FONT, fontSize=12, leading=18, spaceBefore=8)
    body = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=14, wordWrap="CJK")
    return title, heading, body


def render_pdf(title: str, subtitle: str, sections: list[Section]) -> bytes:
    title_style, heading_style, body_style = _styles()
    story: list[object] = [
        Paragraph(escape(title), title_style),
        Paragraph(escape(subtitle), body_style),
        Spacer(1, 4 * mm),
    ]
    for section in sections:
        story.append(Paragraph(escape(section.heading), heading_style))
        for line in section.lines:
            story.append(Paragraph(escape(line).replace("\n", "<br/>"), body_style))
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=title,
        author="Mobile court",
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
    )
    doc.build(story)
    return buffer.getvalue()
