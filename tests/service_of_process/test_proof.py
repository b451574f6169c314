"""The signed proof of service (电子送达凭证): render, verify, and every way a copy can be bad."""

from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pypdf import PdfReader, PdfWriter

from service_of_process.documents import (
    DocumentContext,
    DocumentKind,
    render_document,
)
from service_of_process.proof import (
    ATTACHMENT_NAME,
    INFO_KEY_ID,
    INFO_SIGNATURE,
    ProofAttempt,
    ProofDocument,
    ProofInvalid,
    ProofOfService,
    canonical_proof,
    find_document,
    render_proof,
    verify_proof,
)

KEY = Ed25519PrivateKey.generate()
OTHER_KEY = Ed25519PrivateKey.generate()
KID = "court-2026-1"
KEYS = {KID: KEY.public_key()}

JUDGMENT = render_document(
    DocumentKind.JUDGMENT,
    DocumentContext(
        court_name_zh="浙江省杭州市西湖区人民法院",
        case_number="(2026)浙0106民初1234号",
        cause_zh="民间借贷",
        recipient_name="张三",
        recipient_role_zh="被告",
        issued_on=datetime(2026, 10, 8).date(),
        body={"text": "判决如下：被告张三偿还原告借款50,000元。", "appeal_days": "15"},
    ),
)

PROOF = ProofOfService(
    proof_id="PS-2026-000123",
    court_name_zh="浙江省杭州市西湖区人民法院",
    case_number="(2026)浙0106民初1234号",
    recipient_name="张三",
    recipient_role="被告",
    documents=(ProofDocument("民事判决书", hashlib.sha256(JUDGMENT).hexdigest(), len(JUDGMENT)),),
    attempts=(
        ProofAttempt(
            "in_app", "账户 ***3", "delivered", datetime(2026, 10, 8, 1, 0, tzinfo=UTC), ""
        ),
        ProofAttempt(
            "email",
            "z***@example.com",
            "delivered",
            datetime(2026, 10, 8, 1, 0, 7, tzinfo=UTC),
            "250 2.0.0 Ok: queued",
        ),
        ProofAttempt(
            "sms", "138****5678", "failed", datetime(2026, 10, 8, 1, 1, tzinfo=UTC), "gateway 503"
        ),
    ),
    service_date=datetime(2026, 10, 8, 1, 0, 7, tzinfo=UTC),
    legal_ground_zh="《人民法院在线诉讼规则》第三十一条、《民事诉讼法》第九十条："
    "送达到受送达人确认的电子地址，以到达该系统的时间为送达日期",
    legal_ground_en="Online Litigation Rules Art. 31, CPL Art. 90: served at an address the "
    "recipient confirmed, on the moment it reached that system",
    issued_at=datetime(2026, 10, 9, 2, 0, tzinfo=UTC),
)


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def page_text(pdf: bytes) -> str:
    return flat("".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))


def assemble(
    pages_from: bytes, payload: bytes, key_id: str, signature: str, extra_pages: bytes = b""
) -> bytes:
    """A PDF with the pages of one file and the given signed data, as a forger would make it."""
    writer = PdfWriter()
    for source in (pages_from, extra_pages):
        if source:
            for page in PdfReader(io.BytesIO(source)).pages:
                writer.add_page(page)
    writer.add_attachment(ATTACHMENT_NAME, payload)
    writer.add_metadata({INFO_KEY_ID: key_id, INFO_SIGNATURE: signature})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def signed_parts(pdf: bytes) -> tuple[bytes, str, str]:
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.metadata is not None
    return (
        reader.attachments[ATTACHMENT_NAME][0],
        str(reader.metadata[INFO_KEY_ID]),
        str(reader.metadata[INFO_SIGNATURE]),
    )


def reason(pdf: bytes, keys: dict[str, object] | None = None) -> str:
    with pytest.raises(ProofInvalid) as info:
        verify_proof(pdf, keys if keys is not None else KEYS)  # type: ignore[arg-type]
    assert info.value.status == 422
    return info.value.code


def test_round_trip() -> None:
    pdf = render_proof(PROOF, KEY, KID)
    assert pdf.startswith(b"%PDF-")
    assert verify_proof(pdf, KEYS) == PROOF
    # Same proof, same bytes (the PDF date is the issue time).
    assert render_proof(PROOF, KEY, KID) == pdf


def test_the_printed_proof_shows_every_field() -> None:
    text = page_text(render_proof(PROOF, KEY, KID))
    for expected in [
        "浙江省杭州市西湖区人民法院",
        "电子送达凭证",
        "PS-2026-000123",
        "(2026)浙0106民初1234号",
        "受送达人Recipient：张三（被告）",
        "民事判决书",
        f"SHA-256：{hashlib.sha256(JUDGMENT).hexdigest()}",
        f"{len(JUDGMENT)}字节",
        # Attempts in Beijing time (UTC+8), each with channel, masked address and outcome.
        "1.2026-10-0809:00:00北京时间(UTC+8)in_app账户***3delivered",
        "2.2026-10-0809:00:07北京时间(UTC+8)emailz***@example.comdelivered",
        "250 2.0.0 Ok: queued",
        "3.2026-10-0809:01:00北京时间(UTC+8)sms138****5678failed",
        "三、送达日期Servicedate2026-10-0809:00:07北京时间(UTC+8)",
        "《人民法院在线诉讼规则》第三十一条",
        "OnlineLitigationRulesArt.31",
        "签发时间Issuedat：2026-10-0910:00:00",
        f"keyid{KID}",
    ]:
        assert flat(expected) in text, expected


def test_signature_covers_canonical_json_with_key_id() -> None:
    pdf = render_proof(PROOF, KEY, KID)
    payload, key_id, signature = signed_parts(pdf)
    assert payload == canonical_proof(PROOF, KID)
    data = json.loads(payload)
    assert data["key_id"] == key_id == KID
    assert data["documents"][0]["sha256"] == hashlib.sha256(JUDGMENT).hexdigest()
    assert data["service_date"] == "2026-10-08T01:00:07+00:00"
    assert signature in page_text(pdf)


def test_the_served_document_is_found_by_its_hash() -> None:
    proof = verify_proof(render_proof(PROOF, KEY, KID), KEYS)
    assert find_document(proof, JUDGMENT) == PROOF.documents[0]
    assert find_document(proof, JUDGMENT + b" ") is None


def test_tampered_payload_fails() -> None:
    pdf = render_proof(PROOF, KEY, KID)
    payload, key_id, signature = signed_parts(pdf)
    data = json.loads(payload)
    data["service_date"] = "2026-10-20T01:00:07+00:00"  # a later service date: later deadlines
    forged = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    assert reason(assemble(pdf, forged, key_id, signature)) == "proof_signature_invalid"


def test_tampered_visible_text_with_intact_payload_fails() -> None:
    genuine = render_proof(PROOF, KEY, KID)
    payload, key_id, signature = signed_parts(genuine)
    # Pages of a proof naming someone else, carrying the genuine signed data.
    other = render_proof(replace(PROOF, recipient_name="李四"), OTHER_KEY, KID)
    forged = assemble(other, payload, key_id, signature)
    assert reason(forged) == "proof_text_mismatch"
    # The genuine pages plus one more page of text.
    padded = assemble(genuine, payload, key_id, signature, extra_pages=JUDGMENT)
    assert reason(padded) == "proof_text_mismatch"
    # The untouched reassembly still verifies, so the failures above are the edits.
    assert verify_proof(assemble(genuine, payload, key_id, signature), KEYS) == PROOF


def test_unknown_key_id_fails() -> None:
    pdf = render_proof(PROOF, KEY, "retired-key")
    assert reason(pdf) == "proof_unknown_key"


def test_wrong_key_fails() -> None:
    pdf = render_proof(PROOF, OTHER_KEY, KID)
    assert reason(pdf) == "proof_signature_invalid"
    assert verify_proof(pdf, {KID: OTHER_KEY.public_key()}) == PROOF


def test_garbled_signature_fails() -> None:
    pdf = render_proof(PROOF, KEY, KID)
    payload, key_id, _ = signed_parts(pdf)
    assert reason(assemble(pdf, payload, key_id, "not*base64")) == "proof_signature_invalid"


@pytest.mark.parametrize(
    "data", [b"", b"hello", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, b"<html>%PDF-</html>"]
)
def test_not_a_pdf_fails(data: bytes) -> None:
    assert reason(data) == "proof_not_pdf"


@pytest.mark.parametrize("keep", [0.5, 0.9, -12])
def test_truncated_file_fails(keep: float) -> None:
    pdf = render_proof(PROOF, KEY, KID)
    cut = int(len(pdf) * keep) if keep > 0 else len(pdf) + int(keep)
    assert reason(pdf[:cut]) == "proof_unreadable"


def test_a_pdf_without_signed_data_fails() -> None:
    assert reason(JUDGMENT) == "proof_unsigned"


def test_not_yet_served_and_many_attempts_span_pages() -> None:
    attempts = tuple(
        ProofAttempt(
            "sms",
            "138****5678",
            "failed",
            datetime(2026, 10, 8, tzinfo=UTC) + timedelta(minutes=i),
            f"retry {i}: gateway busy",
        )
        for i in range(40)
    )
    proof = replace(PROOF, attempts=attempts, service_date=None)
    pdf = render_proof(proof, KEY, KID)
    assert len(PdfReader(io.BytesIO(pdf)).pages) >= 2
    assert verify_proof(pdf, KEYS) == proof
    text = page_text(pdf)
    assert "尚未送达Notyetserved" in text
    assert "40.2026-10-0808:39:00" in text
    assert "第2/" in text


def test_control_characters_cannot_forge_printed_lines() -> None:
    proof = replace(
        PROOF,
        attempts=(
            replace(PROOF.attempts[0], detail="ok\n三、送达日期 Service date\r\n2026-01-01"),
        ),
    )
    pdf = render_proof(proof, KEY, KID)
    assert verify_proof(pdf, KEYS) == proof


def test_timestamps_in_other_zones_are_the_same_instants() -> None:
    beijing = timezone(timedelta(hours=8))
    proof = replace(PROOF, issued_at=datetime(2026, 10, 9, 10, 0, tzinfo=beijing))
    assert verify_proof(render_proof(proof, KEY, KID), KEYS).issued_at == PROOF.issued_at


def test_naive_timestamps_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        render_proof(replace(PROOF, issued_at=datetime(2026, 10, 9, 10, 0)), KEY, KID)
