"""Template documents: seven kinds of court document rendered as PDFs with Chinese text."""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from pypdf import PdfReader

from backend.errors import ValidationFailed
from service_of_process.documents import (
    DocumentContext,
    DocumentKind,
    chinese_date,
    document_title,
    render_document,
)

BASE = DocumentContext(
    court_name_zh="浙江省杭州市西湖区人民法院",
    case_number="(2026)浙0106民初1234号",
    cause_zh="民间借贷",
    recipient_name="张三",
    recipient_role_zh="被告",
    issued_on=date(2026, 10, 8),
    body={},
)

BODIES: dict[DocumentKind, dict[str, str]] = {
    DocumentKind.SUMMONS: {"hearing_at": "2026年10月20日 09:30", "place": "第三法庭（在线）"},
    DocumentKind.NOTICE_OF_RESPONSE: {
        "response_days": "15",
        "plaintiff": "李四",
        "due": "2026年10月23日",
    },
    DocumentKind.EVIDENCE_NOTICE: {"evidence_days": "30"},
    DocumentKind.HEARING_NOTICE: {"hearing_at": "2026年11月2日 14:00", "place": "第五法庭"},
    DocumentKind.RULING: {"text": "本院经审查认为，管辖权异议不成立。\n裁定如下：驳回异议。"},
    DocumentKind.JUDGMENT: {
        "text": "原告李四诉称……\n本院认为……\n判决如下：被告张三于本判决生效之日起十日内"
        "偿还原告借款50,000元。",
        "appeal_days": "15",
        "appeal_court": "浙江省杭州市中级人民法院",
    },
    DocumentKind.MEDIATION_STATEMENT: {"text": "经本院主持调解，双方当事人自愿达成如下协议……"},
}

# What each kind must show besides the common header (checked without whitespace: pypdf
# breaks lines where the PDF wraps them).
EXPECTED: dict[DocumentKind, list[str]] = {
    DocumentKind.SUMMONS: [
        "被传唤人：张三（被告）",
        "应到时间：2026年10月20日09:30",
        "应到处所：第三法庭（在线）",
        "案由：民间借贷",
    ],
    DocumentKind.NOTICE_OF_RESPONSE: [
        "原告李四诉你方民间借贷纠纷一案",
        "第一百二十八条",
        "收到起诉状副本之日起15日内",
        "答辩期限届满日：2026年10月23日",
    ],
    DocumentKind.EVIDENCE_NOTICE: ["举证期限为30日", "自收到本通知书之次日起计算"],
    DocumentKind.HEARING_NOTICE: ["定于2026年11月2日14:00在第五法庭开庭审理", "第一百三十九条"],
    DocumentKind.RULING: ["本院经审查认为，管辖权异议不成立。", "裁定如下：驳回异议。"],
    DocumentKind.JUDGMENT: [
        "判决如下：被告张三于本判决生效之日起十日内偿还原告借款50,000元。",
        "可以在判决书送达之日起15日内",
        "上诉于浙江省杭州市中级人民法院",
    ],
    DocumentKind.MEDIATION_STATEMENT: [
        "经本院主持调解，双方当事人自愿达成如下协议",
        "本调解书经双方当事人签收后，即具有法律效力。",
    ],
}


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))


def context(kind: DocumentKind, **changes: Any) -> DocumentContext:
    return replace(BASE, body=BODIES[kind], **changes)


@pytest.mark.parametrize("kind", list(DocumentKind))
def test_each_kind_renders_its_chinese_text(kind: DocumentKind) -> None:
    pdf = render_document(kind, context(kind))
    assert pdf.startswith(b"%PDF-")
    text = text_of(pdf)
    title_zh, title_en = document_title(kind)
    assert title_zh in text and title_en
    assert "浙江省杭州市西湖区人民法院" in text
    assert "(2026)浙0106民初1234号" in text
    assert "二〇二六年十月八日" in text
    for phrase in EXPECTED[kind]:
        assert re.sub(r"\s+", "", phrase) in text, phrase
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.metadata is not None
    assert reader.metadata.title == f"{title_zh} (2026)浙0106民初1234号"
    assert reader.metadata.author == "浙江省杭州市西湖区人民法院"


def test_titles_are_distinct_in_both_languages() -> None:
    titles = [document_title(kind) for kind in DocumentKind]
    assert len({zh for zh, _ in titles}) == len({en for _, en in titles}) == len(DocumentKind)
    assert document_title(DocumentKind.JUDGMENT) == ("民事判决书", "Civil judgment")


def test_same_input_same_bytes_and_the_date_is_the_issue_date() -> None:
    first = render_document(DocumentKind.JUDGMENT, context(DocumentKind.JUDGMENT))
    again = render_document(DocumentKind.JUDGMENT, context(DocumentKind.JUDGMENT))
    assert hashlib.sha256(first).digest() == hashlib.sha256(again).digest()
    reader = PdfReader(io.BytesIO(first))
    assert reader.metadata is not None
    assert reader.metadata["/CreationDate"] == "D:20261008000000+08'00'"
    other_day = render_document(
        DocumentKind.JUDGMENT, context(DocumentKind.JUDGMENT, issued_on=date(2026, 10, 9))
    )
    assert other_day != first
    other_name = render_document(
        DocumentKind.JUDGMENT, context(DocumentKind.JUDGMENT, recipient_name="王五")
    )
    assert other_name != first


def test_markup_in_values_is_printed_not_interpreted() -> None:
    pdf = render_document(
        DocumentKind.HEARING_NOTICE,
        context(DocumentKind.HEARING_NOTICE, recipient_name="<b>赵六</b> & Co"),
    )
    assert "<b>赵六</b>&Co：" in text_of(pdf)


def test_long_text_flows_onto_numbered_pages() -> None:
    body = {"text": "\n".join(f"第{i}段：本院查明的事实……" for i in range(1, 301))}
    pdf = render_document(DocumentKind.JUDGMENT, replace(BASE, body=body))
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) > 3
    last = re.sub(r"\s+", "", reader.pages[-1].extract_text())
    assert "第300段" in last and f"第{len(reader.pages)}页" in last


@pytest.mark.parametrize(
    ("kind", "body", "field"),
    [
        (DocumentKind.SUMMONS, {"place": "第三法庭"}, "hearing_at"),
        (DocumentKind.SUMMONS, {"hearing_at": " ", "place": "第三法庭"}, "hearing_at"),
        (DocumentKind.NOTICE_OF_RESPONSE, {"response_days": "fifteen"}, "response_days"),
        (DocumentKind.NOTICE_OF_RESPONSE, {"response_days": "0"}, "response_days"),
        (DocumentKind.EVIDENCE_NOTICE, {"evidence_days": "１５"}, "evidence_days"),
        (DocumentKind.JUDGMENT, {"text": "判决如下", "hearing_at": "x"}, "hearing_at"),
        (DocumentKind.RULING, {}, "text"),
        (DocumentKind.HEARING_NOTICE, {"hearing_at": "明天", "place": "x" * 201}, "place"),
    ],
)
def test_bad_template_fields_are_refused(
    kind: DocumentKind, body: dict[str, str], field: str
) -> None:
    with pytest.raises(ValidationFailed) as info:
        render_document(kind, replace(BASE, body=body))
    assert info.value.status == 422
    assert info.value.errors is not None
    assert info.value.errors[0]["field"] == field


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 10, 8), "二〇二六年十月八日"),
        (date(2026, 1, 1), "二〇二六年一月一日"),
        (date(2025, 12, 31), "二〇二五年十二月三十一日"),
        (date(2024, 2, 20), "二〇二四年二月二十日"),
    ],
)
def test_chinese_dates(day: date, expected: str) -> None:
    assert chinese_date(day) == expected
