"""The transcript: the whole hearing record as a PDF, e-signed by the parties and the judge."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from uuid import UUID, uuid4

from tortoise.backends.base.client import BaseDBAsyncClient

from backend.audit.service import AuditLog
from backend.auth.principal import Actor, Principal
from backend.errors import Conflict, NotFound
from backend.keys import SigningKey
from backend.storage.blobs import BlobStore
from backend.storage.purposes import Purpose
from backend.storage.service import register_file
from backend.storage.sniff import FileKind
from filing.filings import add_event
from hearings.asynchronous.access import Case
from hearings.asynchronous.missed import consequence
from hearings.asynchronous.models import (
    AsyncHearing,
    AsyncPost,
    DocumentSignature,
    MissedWindow,
    Transcript,
)
from hearings.asynchronous.notify import notify
from hearings.asynchronous.pdf import Section, render_pdf
from hearings.asynchronous.preparation import utcnow
from hearings.asynchronous.record import evidence_items
from hearings.asynchronous.rules import JUDGE, STAGE_NAMES, StageKind
from hearings.asynchronous.signing import sign, signature_valid, signatures_of
from hearings.asynchronous.stages import stages_of
from hearings.models import VideoHearing
from identity.presence import require_signing_step_up

DOCUMENT_KIND = "transcript"
MAX_TRANSCRIPT_BYTES = 50 * 1024 * 1024
ROLE_NAMES = {
    "plaintiff": "原告 plaintiff",
    "defendant": "被告 defendant",
    "third_party": "第三人 third party",
    JUDGE: "审判员 judge",
}
OPINION_WORDS = {"accept": "认可 accepted", "dispute": "不认可 disputed"}


def _when(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if hasattr(value, "strftime") else "—"


def _who(role: str, party_id: UUID | None, names: dict[UUID, str]) -> str:
    label = ROLE_NAMES.get(role, role)
    return f"{label} {names[party_id]}" if party_id in names else label


def _post_line(post: AsyncPost, names: dict[UUID, str]) -> str:
    who = _who(post.author_role, post.author_party_id, names)
    head = f"#{post.seq} {_when(post.posted_at)} {who} [{post.kind}]"
    parts = [head]
    if post.addressed_to:
        parts.append(f"问 {_who(post.addressed_to, post.addressed_party_id, names)}:")
    if post.reply_to_id:
        parts.append(f"(答复/reply to {str(post.reply_to_id)[:8]})")
    if post.corrects_id:
        parts.append(f"(更正/corrects {str(post.corrects_id)[:8]})")
    if post.text:
        parts.append(post.text)
    if post.file_sha256:
        parts.append(f"附件/file SHA-256 {post.file_sha256}")
    parts.append(f"hash {post.hash}")
    return " ".join(parts)


def _opinion_line(opinion: AsyncPost, names: dict[UUID, str]) -> str:
    data = opinion.data
    fields = [
        f"真实性/authenticity: {OPINION_WORDS.get(str(data.get('authenticity')), '—')}",
        f"合法性/legality: {OPINION_WORDS.get(str(data.get('legality')), '—')}",
        f"关联性/relevance: {OPINION_WORDS.get(str(data.get('relevance')), '—')}",
        f"异议/objection: {'有 yes' if data.get('objection') else '无 no'}",
    ]
    reasons = str(data.get("reasons") or "")
    who = _who(opinion.author_role, opinion.author_party_id, names)
    return f"{who} (#{opinion.seq}): " + "；".join(fields) + (f"。{reasons}" if reasons else "")


async def _sections(case: Case, hearing: AsyncHearing) -> list[Section]:
    stages = await stages_of(hearing)
    posts = await AsyncPost.filter(hearing_id=hearing.id, seq__isnull=False).order_by("seq")
    names = {p.id: p.name for p in case.parties}
    sections = [
        Section(
            "当事人 / Parties",
            [f"{ROLE_NAMES.get(p.role, p.role)}: {p.name}" for p in case.parties],
        )
    ]
    for stage in stages:
        zh, en = STAGE_NAMES[StageKind(stage.kind)]
        lines = [
            f"窗口/window: {_when(stage.opens_at)} — {_when(stage.closes_at)} ({stage.status})"
        ]
        lines += [_post_line(p, names) for p in posts if p.stage_id == stage.id]  # type: ignore[attr-defined]
        sections.append(Section(f"{zh} / {en}", lines))
    evidence_lines = []
    for item, opinions in await evidence_items(hearing):
        who = _who(item.author_role, item.author_party_id, names)
        evidence_lines.append(f"证据/evidence #{item.seq} ({who}): {item.text or item.kind}")
        evidence_lines += ["    " + _opinion_line(o, names) for o in opinions] or [
            "    (无质证意见 / no opinion)"
        ]
    sections.append(Section("逐项质证 / Cross-examination per evidence item", evidence_lines))
    qa = []
    for question in (p for p in posts if p.kind == "question"):
        qa.append("问/Q " + _post_line(question, names))
        qa += ["答/A " + _post_line(a, names) for a in posts if a.reply_to_id == question.id]
    sections.append(Section("法庭询问 / Questions and answers", qa))
    missed_lines = []
    for row in await MissedWindow.filter(hearing_id=hearing.id).order_by("recorded_at"):
        stage = next(s for s in stages if s.id == row.stage_id)  # type: ignore[attr-defined]
        meaning = consequence(row)
        missed_lines.append(
            f"{STAGE_NAMES[StageKind(stage.kind)][0]} {_who(row.party_role, row.party_id, names)}"
            f" 逾期/missed; 理由/reason: {row.reason or '—'}; "
            + (f"{meaning[0]} / {meaning[1]}" if meaning else "待决定 / pending decision")
        )
    sections.append(Section("逾期情况 / Missed windows", missed_lines))
    if hearing.video_hearing_id is not None:
        video = await VideoHearing.get_or_none(id=hearing.video_hearing_id)
        sections.append(
            Section(
                "转为视频庭审 / Converted to a video hearing",
                [
                    f"转换/converted: {_when(hearing.converted_at)}; "
                    f"理由/reason: {hearing.conversion_reason or '—'}",
                    f"视频庭审/video hearing: {hearing.video_hearing_id}; "
                    f"开庭/starts: {_when(video.starts_at if video else None)}",
                ],
            )
        )
    sections.append(
        Section(
            "记录完整性 / Record integrity",
            [f"发言数/posts: {hearing.record_seq}; 哈希链头/chain head: {hearing.record_head}"],
        )
    )
    return sections


async def generate(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    blobs: BlobStore,
    case: Case,
    hearing: AsyncHearing,
    principal: Principal,
) -> Transcript:
    if hearing.status not in ("closed", "converted"):
        raise Conflict(
            "审理结束后才能生成笔录 / the hearing is not closed yet", code="hearing_open"
        )
    sections = await _sections(case, hearing)
    title = "异步审理笔录 / Asynchronous hearing transcript"
    subtitle = f"案号/case: {case.label}  生成/generated: {_when(utcnow())}"
    data = await asyncio.get_running_loop().run_in_executor(
        None, render_pdf, title, subtitle, sections
    )
    blob = await blobs.put_bytes(
        data, allowed=frozenset({FileKind.PDF}), max_bytes=MAX_TRANSCRIPT_BYTES
    )
    stored = await register_file(
        conn,
        blob=blob,
        original_name="transcript.pdf",
        purpose=Purpose.DOCUMENT.value,
        owner_account_id=principal.account_id,
    )
    transcript = await Transcript.create(
        id=uuid4(),
        hearing=hearing,
        file_id=stored.id,
        sha256=blob.sha256,
        size=blob.size,
        record_seq=hearing.record_seq,
        record_head=hearing.record_head,
        created_by_id=principal.account_id,
        created_at=utcnow(),
        using_db=conn,
    )
    details = {"transcript_id": str(transcript.id), "sha256": blob.sha256}
    await audit.record(
        conn, actor, "async_hearing.transcript", "async_hearing", str(case.filing.id), details
    )
    await add_event(conn, case.filing, "async_transcript_generated", principal.account_id, details)
    await notify(
        conn,
        case.participant_accounts,
        "signature_awaited",
        case_label=case.label,
        when=transcript.created_at,
        key=f"sign:{transcript.id}",
    )
    return transcript


async def latest(hearing: AsyncHearing, conn: BaseDBAsyncClient | None = None) -> Transcript:
    transcript = (
        await Transcript.filter(hearing_id=hearing.id)
        .using_db(conn)
        .order_by("-created_at")
        .first()
    )
    if transcript is None:
        raise NotFound("尚无笔录 / no transcript yet")
    return transcript


async def sign_transcript(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    key: SigningKey,
    case: Case,
    hearing: AsyncHearing,
    principal: Principal,
    party_id: UUID | None = None,
) -> DocumentSignature:
    """Parties sign after a fresh face check (step-up), each party for itself or through its
    lawyer (``party_id`` names the client when the lawyer has several); the judge signs as the
    judge after confirming a fresh authenticator code (staff have no face record)."""
    step_up = require_signing_step_up(principal)
    role = case.role_of(principal)
    party = case.speaking_for(principal, party_id) if role != JUDGE else None
    transcript = await latest(hearing, conn)
    row = await sign(
        conn,
        key,
        document_kind=DOCUMENT_KIND,
        document_id=transcript.id,
        sha256=transcript.sha256,
        signer_id=principal.account_id,
        signer_role=role,
        presence_verified_at=step_up.verified_at,
        party_id=party.id if party else None,
        step_up_method=step_up.method,
    )
    details = {
        "transcript_id": str(transcript.id),
        "signer_role": role,
        "party_id": str(party.id) if party else None,
        "step_up": step_up.method,
    }
    await audit.record(
        conn,
        actor,
        "async_hearing.transcript_signed",
        "async_hearing",
        str(case.filing.id),
        details,
    )
    await add_event(conn, case.filing, "async_transcript_signed", principal.account_id, details)
    return row


@dataclass(frozen=True, slots=True)
class TranscriptCheck:
    transcript: Transcript
    file_intact: bool
    signatures: list[tuple[DocumentSignature, bool]]
    missing_roles: list[str]
    missing_parties: list[UUID]

    @property
    def valid(self) -> bool:
        return self.file_intact and all(ok for _, ok in self.signatures)

    @property
    def complete(self) -> bool:
        return self.valid and not self.missing_roles


async def verify(
    blobs: BlobStore,
    key: SigningKey,
    case: Case,
    hearing: AsyncHearing,
    transcript_id: UUID | None = None,
) -> TranscriptCheck:
    transcript = (
        await latest(hearing)
        if transcript_id is None
        else await Transcript.get_or_none(id=transcript_id, hearing_id=hearing.id)
    )
    if transcript is None:
        raise NotFound("no such transcript")
    data = await blobs.read_bytes(transcript.sha256, max_bytes=MAX_TRANSCRIPT_BYTES)
    intact = hashlib.sha256(data).hexdigest() == transcript.sha256
    rows = await signatures_of(DOCUMENT_KIND, transcript.id)
    signed_parties = {r.party_id for r in rows if r.party_id is not None}
    # Signatures from before parties were named covered a whole side.
    signed_sides = {r.signer_role for r in rows if r.party_id is None and r.signer_role != JUDGE}
    missing_parties = [
        p for p in case.parties if p.id not in signed_parties and p.role not in signed_sides
    ]
    missing_roles = {p.role for p in missing_parties}
    if not any(r.signer_role == JUDGE for r in rows):
        missing_roles.add(JUDGE)
    return TranscriptCheck(
        transcript,
        intact,
        [(r, signature_valid(r, key, transcript.sha256)) for r in rows],
        sorted(missing_roles),
        [p.id for p in missing_parties],
    )
