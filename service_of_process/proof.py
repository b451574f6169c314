"""The signed proof of service (电子送达凭证): a PDF whose content is signed with the court's
Ed25519 key, and its verification.

Online Litigation Rules Art. 31: the whole service process is logged and the electronic receipt
is the proof of service. The PDF carries, as an embedded file, the canonical JSON of the proof
(documents with SHA-256, recipient, every attempt, service date and its legal ground) and, in its
document information, the key id and an Ed25519 signature over that JSON. The visible pages are
laid out from the signed data alone, so a verifier can lay them out again and compare: a PDF
whose signed data is intact but whose printed text was edited is refused too.

Rendering and verifying are CPU-bound: call them in an executor.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from backend.errors import AppError
from service_of_process.documents import CJK_FONT, register_cjk_font

FORMAT = "mobile-court/proof-of-service/v1"
# Domain separation: a signature over a proof can never be replayed as any other signed object
# of the product (audit checkpoints use the same server key).
SIGNING_CONTEXT = FORMAT.encode() + b"\n"
ATTACHMENT_NAME = "proof-of-service.json"
INFO_KEY_ID = "/MCProofKeyId"
INFO_SIGNATURE = "/MCProofSignature"
MAX_PROOF_BYTES = 20 * 1024 * 1024

# Courts print Beijing time; the signed data keeps UTC instants.
BEIJING = timezone(timedelta(hours=8))

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 20 * mm
TEXT_WIDTH = PAGE_WIDTH - 2 * MARGIN
BODY_SIZE = 10.5
LEADING = 16
LINES_TOP = PAGE_HEIGHT - MARGIN - 40  # below the two heading lines of each page
LINES_BOTTOM = MARGIN + 14  # above the page number


class ProofInvalid(AppError):
    status = 422
    code = "proof_invalid"
    title = "Proof of service invalid / 送达凭证无效"


@dataclass(frozen=True)
class ProofDocument:
    title: str
    sha256: str
    size: int


@dataclass(frozen=True)
class ProofAttempt:
    channel: str
    address_masked: str
    status: str
    at: datetime
    detail: str


@dataclass(frozen=True)
class ProofOfService:
    proof_id: str
    court_name_zh: str
    case_number: str
    recipient_name: str
    recipient_role: str
    documents: tuple[ProofDocument, ...]
    attempts: tuple[ProofAttempt, ...]
    service_date: datetime | None
    legal_ground_zh: str
    legal_ground_en: str
    issued_at: datetime


# --------------------------------------------------------------------------- signed data


def _instant(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("proof timestamps must be timezone-aware")
    return value.astimezone(UTC).isoformat()


def _payload(proof: ProofOfService, key_id: str) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "key_id": key_id,
        "proof_id": proof.proof_id,
        "court_name_zh": proof.court_name_zh,
        "case_number": proof.case_number,
        "recipient_name": proof.recipient_name,
        "recipient_role": proof.recipient_role,
        "documents": [
            {"title": d.title, "sha256": d.sha256.lower(), "size": d.size} for d in proof.documents
        ],
        "attempts": [
            {
                "channel": a.channel,
                "address_masked": a.address_masked,
                "status": a.status,
                "at": _instant(a.at),
                "detail": a.detail,
            }
            for a in proof.attempts
        ],
        "service_date": _instant(proof.service_date) if proof.service_date else None,
        "legal_ground_zh": proof.legal_ground_zh,
        "legal_ground_en": proof.legal_ground_en,
        "issued_at": _instant(proof.issued_at),
    }


def _canonical(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def canonical_proof(proof: ProofOfService, key_id: str) -> bytes:
    """The exact bytes the signature covers (without the signing context prefix)."""
    return _canonical(_payload(proof, key_id))


def _parse(data: Mapping[str, Any]) -> ProofOfService:
    def text(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("expected a string")
        return value

    def instant(value: Any) -> datetime:
        parsed = datetime.fromisoformat(text(value))
        if parsed.tzinfo is None:
            raise ValueError("timestamp without offset")
        return parsed.astimezone(UTC)

    documents = tuple(
        ProofDocument(title=text(d["title"]), sha256=text(d["sha256"]), size=int(d["size"]))
        for d in data["documents"]
    )
    attempts = tuple(
        ProofAttempt(
            channel=text(a["channel"]),
            address_masked=text(a["address_masked"]),
            status=text(a["status"]),
            at=instant(a["at"]),
            detail=text(a["detail"]),
        )
        for a in data["attempts"]
    )
    service_date = data["service_date"]
    return ProofOfService(
        proof_id=text(data["proof_id"]),
        court_name_zh=text(data["court_name_zh"]),
        case_number=text(data["case_number"]),
        recipient_name=text(data["recipient_name"]),
        recipient_role=text(data["recipient_role"]),
        documents=documents,
        attempts=attempts,
        service_date=None if service_date is None else instant(service_date),
        legal_ground_zh=text(data["legal_ground_zh"]),
        legal_ground_en=text(data["legal_ground_en"]),
        issued_at=instant(data["issued_at"]),
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# ------------------------------------------------------------------------------ layout


@dataclass(frozen=True)
class _Line:
    text: str
    size: float = BODY_SIZE
    indent: float = 0


_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def _clean(text: str) -> str:
    # Values come from parties and gateways; a newline or control character must not be able
    # to forge a line of the printed proof.
    return _CONTROL.sub(" ", text)


def _when(value: datetime) -> str:
    return value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S") + " 北京时间 (UTC+8)"


def _wrap(text: str, size: float, width: float) -> list[str]:
    lines: list[str] = []
    current = ""
    for char in text:
        if current and pdfmetrics.stringWidth(current + char, CJK_FONT, size) > width:
            lines.append(current)
            current = char.lstrip()
        else:
            current += char
    lines.append(current)
    return lines


def _logical_lines(proof: ProofOfService, key_id: str, signature: str) -> list[_Line]:
    out: list[_Line] = []

    def add(text: str, *, size: float = BODY_SIZE, indent: float = 0) -> None:
        for part in _wrap(_clean(text), size, TEXT_WIDTH - indent):
            out.append(_Line(part, size, indent))

    add(f"凭证编号 Proof ID：{proof.proof_id}")
    add(f"案号 Case number：{proof.case_number}")
    add(f"受送达人 Recipient：{proof.recipient_name}（{proof.recipient_role}）")
    add("一、送达文书 Documents served", size=12)
    for number, document in enumerate(proof.documents, 1):
        add(f"{number}. {document.title}（{document.size} 字节 bytes）")
        add(f"SHA-256：{document.sha256.lower()}", size=9, indent=12)
    add("二、送达过程 Delivery attempts", size=12)
    if not proof.attempts:
        add("（无 none）")
    for number, attempt in enumerate(proof.attempts, 1):
        add(
            f"{number}. {_when(attempt.at)}  {attempt.channel}  {attempt.address_masked}  "
            f"{attempt.status}"
        )
        if attempt.detail:
            add(attempt.detail, size=9, indent=12)
    add("三、送达日期 Service date", size=12)
    add(_when(proof.service_date) if proof.service_date else "尚未送达 Not yet served")
    add("四、法律依据 Legal ground", size=12)
    add(proof.legal_ground_zh)
    add(proof.legal_ground_en)
    add(f"签发时间 Issued at：{_when(proof.issued_at)}")
    add(f"签名 Signature：Ed25519，密钥 key id {key_id}")
    add(signature, size=8, indent=12)
    add(
        f"本凭证的内容由法院以 Ed25519 私钥签名，签名数据（{ATTACHMENT_NAME}）附于本文件；"
        "文件的任何改动都会使验证失败。",
        size=9,
    )
    add(
        f"The court signed this proof with its Ed25519 key over the attached {ATTACHMENT_NAME}; "
        "any change to the file makes verification fail.",
        size=9,
    )
    return out


def _pages(lines: list[_Line]) -> list[list[_Line]]:
    pages: list[list[_Line]] = [[]]
    y = LINES_TOP
    for line in lines:
        if y - LEADING < LINES_BOTTOM:
            pages.append([])
            y = LINES_TOP
        pages[-1].append(line)
        y -= LEADING
    return pages


def _headings(proof: ProofOfService) -> tuple[str, str]:
    return _clean(proof.court_name_zh), "电子送达凭证 Proof of Electronic Service"


def _footer(number: int, total: int) -> str:
    return f"第 {number} / {total} 页 Page {number} of {total}"


def _expected_page_texts(proof: ProofOfService, key_id: str, signature: str) -> list[str]:
    pages = _pages(_logical_lines(proof, key_id, signature))
    court, title = _headings(proof)
    return [
        "".join([court, title, *(line.text for line in page), _footer(i, len(pages))])
        for i, page in enumerate(pages, 1)
    ]


# ------------------------------------------------------------------------------ render


def render_proof(proof: ProofOfService, signing_key: Ed25519PrivateKey, key_id: str) -> bytes:
    """The proof as a PDF carrying its canonical JSON and an Ed25519 signature over it."""
    payload = canonical_proof(proof, key_id)
    signature = _b64(signing_key.sign(SIGNING_CONTEXT + payload))
    register_cjk_font()

    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1)
    canvas.setTitle(f"电子送达凭证 {proof.case_number}")
    canvas.setAuthor(proof.court_name_zh)
    canvas.setSubject("Proof of electronic service")
    canvas.setCreator("mobile-court")
    stamp = proof.issued_at.astimezone(BEIJING).strftime("D:%Y%m%d%H%M%S+08'00'")
    # Same proof, same bytes: the date is the issue time, not the rendering moment.
    canvas.setDateFormatter(lambda *_: stamp)
    court, title = _headings(proof)
    pages = _pages(_logical_lines(proof, key_id, signature))
    for number, page in enumerate(pages, 1):
        canvas.setFont(CJK_FONT, 13)
        canvas.drawCentredString(PAGE_WIDTH / 2, PAGE_HEIGHT - MARGIN, court)
        canvas.setFont(CJK_FONT, 16)
        canvas.drawCentredString(PAGE_WIDTH / 2, PAGE_HEIGHT - MARGIN - 22, title)
        y = LINES_TOP
        for line in page:
            canvas.setFont(CJK_FONT, line.size)
            canvas.drawString(MARGIN + line.indent, y, line.text)
            y -= LEADING
        canvas.setFont(CJK_FONT, 8)
        canvas.drawCentredString(PAGE_WIDTH / 2, MARGIN / 2, _footer(number, len(pages)))
        canvas.showPage()
    canvas.save()

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(buffer.getvalue())))
    writer.add_attachment(ATTACHMENT_NAME, payload)
    writer.add_metadata({INFO_KEY_ID: key_id, INFO_SIGNATURE: signature})
    out = io.BytesIO()
    writer.write(out)
    pdf = out.getvalue()
    # A character the PDF cannot carry faithfully (outside the font's encoding) would make the
    # proof unverifiable forever; refuse it now rather than hand out a proof that fails later.
    if _page_texts(_open(pdf)) != _normalised(_expected_page_texts(proof, key_id, signature)):
        raise ValueError("the proof contains text the PDF cannot carry faithfully")
    return pdf


# ------------------------------------------------------------------------------ verify

_WHITESPACE = re.compile(r"\s+")


def _normalised(texts: list[str]) -> list[str]:
    # Text extraction reflows spacing; only the characters themselves are compared.
    return [_WHITESPACE.sub("", text) for text in texts]


def _open(pdf: bytes) -> PdfReader:
    if not pdf.startswith(b"%PDF-"):
        raise ProofInvalid("the file is not a PDF", code="proof_not_pdf")
    if len(pdf) > MAX_PROOF_BYTES:
        raise ProofInvalid("the file is too large to be a proof of service", code="proof_too_large")
    try:
        # strict: a truncated or damaged file is refused instead of being repaired by guesswork.
        reader = PdfReader(io.BytesIO(pdf), strict=True)
        _ = len(reader.pages)
    except Exception as exc:  # pypdf raises many types for damaged input; all mean "unreadable"
        raise ProofInvalid(
            "the PDF is damaged or truncated and cannot be read", code="proof_unreadable"
        ) from exc
    return reader


def _page_texts(reader: PdfReader) -> list[str]:
    try:
        return _normalised([page.extract_text() for page in reader.pages])
    except Exception as exc:  # damaged content streams
        raise ProofInvalid("the PDF's pages cannot be read", code="proof_unreadable") from exc


def _signed_parts(reader: PdfReader) -> tuple[bytes, str, str]:
    try:
        attachments = reader.attachments.get(ATTACHMENT_NAME) or []
        metadata = reader.metadata
        key_id = metadata.get(INFO_KEY_ID) if metadata is not None else None
        signature = metadata.get(INFO_SIGNATURE) if metadata is not None else None
    except Exception as exc:
        raise ProofInvalid("the PDF cannot be read", code="proof_unreadable") from exc
    if len(attachments) != 1 or not isinstance(key_id, str) or not isinstance(signature, str):
        raise ProofInvalid("the PDF carries no signed proof-of-service data", code="proof_unsigned")
    return attachments[0], key_id, signature


def verify_proof(pdf: bytes, public_keys: Mapping[str, Ed25519PublicKey]) -> ProofOfService:
    """Check a proof PDF's signature and that its visible text matches the signed data."""
    reader = _open(pdf)
    payload, key_id, signature = _signed_parts(reader)
    public_key = public_keys.get(key_id)
    if public_key is None:
        raise ProofInvalid(
            "the proof was signed with a key this court does not know",
            code="proof_unknown_key",
            extra={"key_id": key_id},
        )
    try:
        public_key.verify(_unb64(signature), SIGNING_CONTEXT + payload)
    except (InvalidSignature, binascii.Error, ValueError) as exc:
        raise ProofInvalid(
            "the signature does not match the proof data", code="proof_signature_invalid"
        ) from exc
    try:
        data = json.loads(payload)
        if data.get("format") != FORMAT or data.get("key_id") != key_id:
            raise ValueError("format or key id does not match")
        proof = _parse(data)
        if canonical_proof(proof, key_id) != payload:
            raise ValueError("payload is not in canonical form")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        # Signed by our key yet malformed: only a bug or a leaked key gets here.
        raise ProofInvalid("the signed proof data is malformed", code="proof_malformed") from exc
    if _page_texts(reader) != _normalised(_expected_page_texts(proof, key_id, signature)):
        raise ProofInvalid(
            "the printed text of the proof differs from the signed data",
            code="proof_text_mismatch",
        )
    return proof


def find_document(proof: ProofOfService, content: bytes) -> ProofDocument | None:
    """The served document of the proof that ``content`` is, by SHA-256 and size."""
    digest = hashlib.sha256(content).hexdigest()
    return next(
        (d for d in proof.documents if d.sha256.lower() == digest and d.size == len(content)),
        None,
    )
