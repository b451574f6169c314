"""The hearing record: entering a stage, posts (drafts, publication into the hash chain),
cross-examination opinions, questions and answers, and verification of the chain.

Each published post is numbered and chained: ``hash_n = SHA-256(hash_{n-1} ‖ "\\n" ‖ canonical
post)``, the head kept on the hearing row (locked while appending). Nothing is updated once
published; a correction is a new post naming the one it corrects.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC
from typing import Any
from uuid import UUID, uuid4

from tortoise.backends.base.client import BaseDBAsyncClient

from backend.audit.service import AuditLog
from backend.auth.principal import Actor, Principal
from backend.errors import Conflict, Forbidden, NotFound, ValidationFailed
from backend.storage.purposes import Purpose
from backend.storage.service import get_file
from backend.storage.sniff import FileKind
from filing.filings import add_event
from filing.models import Party
from hearings.asynchronous.access import RESOURCE, Case
from hearings.asynchronous.models import (
    GENESIS_HASH,
    AsyncHearing,
    AsyncPost,
    AsyncStage,
    StageEntry,
)
from hearings.asynchronous.notify import notify
from hearings.asynchronous.preparation import utcnow
from hearings.asynchronous.rules import JUDGE, StageKind
from hearings.asynchronous.stages import EVIDENCE_KINDS, require_in_progress, stages_of
from identity.presence import require_recent_presence

PARTY_KINDS = frozenset({"text", "voice", "video", "file", "opinion"})
JUDGE_KINDS = frozenset({"text", "question"})
VIDEO_KINDS = frozenset({FileKind.MP4, FileKind.WEBM})


@dataclass(frozen=True, slots=True)
class NewPost:
    stage: StageKind
    kind: str
    text: str
    file_id: UUID | None
    reply_to: UUID | None
    corrects: UUID | None
    addressed_party_id: UUID | None
    evidence_post_id: UUID | None
    opinion: dict[str, Any] | None
    draft: bool
    party_id: UUID | None = None  # the party the author acts for, when they act for several


def canonical_post(post: AsyncPost, stage_kind: str) -> bytes:
    assert post.posted_at is not None
    body: dict[str, Any] = {
        "hearing_id": str(post.hearing_id),  # type: ignore[attr-defined]
        "seq": post.seq,
        "stage": stage_kind,
        "author_id": str(post.author_id),
        "author_role": post.author_role,
        "kind": post.kind,
        "text": post.text,
        "file_sha256": post.file_sha256,
        "data": post.data,
        "reply_to": str(post.reply_to_id) if post.reply_to_id else None,
        "corrects": str(post.corrects_id) if post.corrects_id else None,
        "addressed_to": post.addressed_to,
        "posted_at": post.posted_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    # Named parties joined the record later: only posts that name one carry the keys, so links
    # hashed before keep verifying.
    if post.author_party_id is not None:
        body["author_party"] = str(post.author_party_id)
    if post.addressed_party_id is not None:
        body["addressed_party"] = str(post.addressed_party_id)
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def chain_hash(prev_hash: str, canonical: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical).hexdigest()


async def open_stage_of(
    hearing: AsyncHearing, kind: StageKind, conn: BaseDBAsyncClient
) -> AsyncStage:
    stage = await AsyncStage.filter(hearing_id=hearing.id, kind=kind.value).using_db(conn).first()
    if stage is None:
        raise NotFound(f"这次审理没有该阶段 / this hearing has no {kind.value} stage")
    if stage.status != "open":
        raise Conflict(
            f"该阶段未开放（{stage.status}） / the {kind.value} stage is not open",
            code="stage_not_open",
        )
    return stage


async def enter_stage(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    case: Case,
    hearing: AsyncHearing,
    principal: Principal,
    kind: StageKind,
) -> StageEntry:
    """Entering a stage needs a face check from the last five minutes (Art. 7)."""
    presence = require_recent_presence(principal)
    require_in_progress(hearing)
    stage = await open_stage_of(hearing, kind, conn)
    entry = await StageEntry.create(
        id=uuid4(),
        stage=stage,
        account_id=principal.account_id,
        presence_verified_at=presence.verified_at,
        at=utcnow(),
        using_db=conn,
    )
    await audit.record(
        conn,
        actor,
        "async_hearing.enter_stage",
        RESOURCE,
        str(case.filing.id),
        {"stage": kind.value, "entry_id": str(entry.id)},
    )
    return entry


async def _require_entered(
    stage: AsyncStage, principal: Principal, conn: BaseDBAsyncClient
) -> None:
    if (
        not await StageEntry.filter(stage_id=stage.id, account_id=principal.account_id)
        .using_db(conn)
        .exists()
    ):
        raise Forbidden(
            "请先完成人脸核验并进入本阶段 / enter this stage (after a face check) before posting",
            code="stage_not_entered",
            extra={"enter": f"stages/{stage.kind}/enter"},
        )


def _invalid(field: str, message: str, code: str = "invalid_post") -> ValidationFailed:
    return ValidationFailed(
        message,
        code=code,
        errors=[{"location": "body", "field": field, "message": message, "type": code}],
    )


async def _published(
    hearing: AsyncHearing, post_id: UUID, field: str, conn: BaseDBAsyncClient
) -> AsyncPost:
    post = (
        await AsyncPost.filter(id=post_id, hearing_id=hearing.id, seq__isnull=False)
        .using_db(conn)
        .select_related("stage")
        .first()
    )
    if post is None:
        raise _invalid(field, f"{field}: no such published post in this hearing")
    return post


async def _attach_file(
    new: NewPost, principal: Principal, conn: BaseDBAsyncClient
) -> tuple[UUID | None, str | None]:
    if new.kind not in ("voice", "video", "file"):
        if new.file_id is not None:
            raise _invalid("file_id", f"a {new.kind} post carries no file")
        return None, None
    if new.file_id is None:
        raise _invalid("file_id", f"a {new.kind} post needs file_id (upload it to /api/v1/files)")
    # Only your own uploads: a file id is no way to post someone else's file.
    try:
        stored = await get_file(new.file_id, owner_account_id=principal.account_id, conn=conn)
    except NotFound:
        raise _invalid("file_id", "no such file of yours") from None
    kind = FileKind(stored.blob.kind)
    purpose = stored.purpose
    if new.kind == "voice" and purpose != Purpose.VOICE.value:
        raise _invalid("file_id", "a voice post needs a file uploaded for purpose 'voice'")
    if new.kind == "video" and (purpose != Purpose.EVIDENCE.value or kind not in VIDEO_KINDS):
        raise _invalid("file_id", "a video clip must be an MP4 or WebM uploaded as 'evidence'")
    if new.kind == "file" and purpose not in (Purpose.EVIDENCE.value, Purpose.DOCUMENT.value):
        raise _invalid("file_id", "a file must be uploaded for purpose 'evidence' or 'document'")
    return stored.id, stored.blob.sha256


async def _check_links(
    new: NewPost,
    role: str,
    author_party: Party | None,
    principal: Principal,
    case: Case,
    hearing: AsyncHearing,
    stage: AsyncStage,
    conn: BaseDBAsyncClient,
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    allowed = JUDGE_KINDS if role == JUDGE else PARTY_KINDS
    if new.kind not in allowed:
        raise Forbidden(f"you may not post a {new.kind}", code="post_kind_not_allowed")
    if new.kind in ("text", "question") and not new.text:
        raise _invalid("text", "text is required")
    if new.kind == "question":
        if new.addressed_party_id is None or case.party(new.addressed_party_id) is None:
            raise _invalid(
                "addressed_party_id", "name the party (a party id of this case) the question is for"
            )
    elif new.addressed_party_id is not None:
        raise _invalid("addressed_party_id", "only a question is addressed to a party")
    if new.kind == "opinion":
        if stage.kind != StageKind.CROSS_EXAMINATION.value:
            raise _invalid("kind", "opinions on evidence belong in cross-examination")
        if new.evidence_post_id is None or new.opinion is None:
            raise _invalid("evidence_post_id", "an opinion names the evidence item and the opinion")
        item = await _published(hearing, new.evidence_post_id, "evidence_post_id", conn)
        if item.kind not in EVIDENCE_KINDS or item.stage.kind != StageKind.EVIDENCE.value:
            raise _invalid("evidence_post_id", "not an evidence item of this hearing")
        if item.author_role == role:
            raise _invalid(
                "evidence_post_id", "only an opposing party cross-examines an item", "own_evidence"
            )
        data = {"evidence_post_id": str(item.id), **new.opinion}
    elif new.evidence_post_id is not None or new.opinion is not None:
        raise _invalid("opinion", "only an opinion post carries an evidence opinion")
    if new.reply_to is not None:
        target = await _published(hearing, new.reply_to, "reply_to", conn)
        if target.kind == "question" and not _answers(target, role, author_party):
            raise Forbidden(
                "该问题是向其他当事人提出的 / this question is addressed to another party",
                code="not_addressed",
            )
    if new.corrects is not None:
        target = await _published(hearing, new.corrects, "corrects", conn)
        if target.author_id != principal.account_id:
            raise _invalid("corrects", "you can only correct your own posts")
    return data


def _answers(question: AsyncPost, role: str, author_party: Party | None) -> bool:
    """Only the named party (or its lawyer acting for it) answers a question; the judge may
    follow up on any."""
    if role == JUDGE:
        return True
    if question.addressed_party_id is None:  # asked before questions named a party
        return question.addressed_to == role
    return author_party is not None and author_party.id == question.addressed_party_id


async def _author_party(
    new: NewPost, principal: Principal, case: Case, hearing: AsyncHearing, conn: BaseDBAsyncClient
) -> Party:
    party_id = new.party_id
    if party_id is None and new.reply_to is not None:
        # Answering a question for one of several clients: the question names whom.
        question = (
            await AsyncPost.filter(id=new.reply_to, hearing_id=hearing.id, kind="question")
            .using_db(conn)
            .first()
        )
        if question is not None and question.addressed_party_id is not None:
            if case.acts_for(principal, question.addressed_party_id):
                party_id = question.addressed_party_id
    return case.speaking_for(principal, party_id)


async def create_post(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    case: Case,
    hearing: AsyncHearing,
    principal: Principal,
    new: NewPost,
) -> AsyncPost:
    require_in_progress(hearing)
    role = case.role_of(principal)
    stage = await open_stage_of(hearing, new.stage, conn)
    author_party: Party | None = None
    if role != JUDGE:
        await _require_entered(stage, principal, conn)
        author_party = await _author_party(new, principal, case, hearing, conn)
    elif new.party_id is not None:
        raise _invalid("party_id", "the judge speaks for no party")
    data = await _check_links(new, role, author_party, principal, case, hearing, stage, conn)
    addressed = case.party(new.addressed_party_id) if new.addressed_party_id else None
    file_id, sha256 = await _attach_file(new, principal, conn)
    post = await AsyncPost.create(
        id=uuid4(),
        hearing=hearing,
        stage=stage,
        author_id=principal.account_id,
        author_role=role,
        kind=new.kind,
        text=new.text,
        file_id=file_id,
        file_sha256=sha256,
        data=data,
        reply_to_id=new.reply_to,
        corrects_id=new.corrects,
        addressed_to=addressed.role if addressed else None,
        addressed_party_id=addressed.id if addressed else None,
        author_party_id=author_party.id if author_party else None,
        created_at=utcnow(),
        using_db=conn,
    )
    if not new.draft:
        await publish(conn, audit, actor, case, hearing, stage, post)
    return post


async def publish(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    case: Case,
    hearing: AsyncHearing,
    stage: AsyncStage,
    post: AsyncPost,
) -> None:
    """Number the post, chain it into the record and make it visible to everyone in the case."""
    if post.seq is not None:
        raise Conflict("已发布 / already published", code="already_published")
    post.posted_at = utcnow()
    post.seq = hearing.record_seq + 1
    post.prev_hash = hearing.record_head
    post.hash = chain_hash(hearing.record_head, canonical_post(post, stage.kind))
    await post.save(using_db=conn)
    hearing.record_seq, hearing.record_head = post.seq, post.hash
    await hearing.save(using_db=conn, update_fields=["record_seq", "record_head"])
    await audit.record(
        conn,
        actor,
        "async_hearing.post",
        RESOURCE,
        str(case.filing.id),
        {"post_id": str(post.id), "seq": post.seq, "kind": post.kind, "hash": post.hash},
    )
    if post.kind == "question" and post.addressed_party_id:
        # The named party and its lawyers, nobody else on that side.
        await notify(
            conn,
            case.accounts_for_party(post.addressed_party_id),
            "question",
            case_label=case.label,
            when=stage.closes_at or post.posted_at,
            key=f"question:{post.id}",
        )
        await add_event(
            conn,
            case.filing,
            "async_question",
            post.author_id,
            {
                "post_id": str(post.id),
                "addressed_to": post.addressed_to,
                "addressed_party_id": str(post.addressed_party_id),
            },
        )


async def publish_draft(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    case: Case,
    hearing: AsyncHearing,
    principal: Principal,
    post_id: UUID,
) -> AsyncPost:
    require_in_progress(hearing)
    post = (
        await AsyncPost.filter(id=post_id, hearing_id=hearing.id, author_id=principal.account_id)
        .using_db(conn)
        .select_related("stage")
        .first()
    )
    if post is None:  # someone else's draft does not exist for you
        raise NotFound("no such post")
    stage = post.stage
    if stage.status != "open":
        raise Conflict("该阶段已结束 / the stage of this draft is closed", code="stage_not_open")
    if post.author_role != JUDGE:
        await _require_entered(stage, principal, conn)
        # A lawyer whose power of attorney ended since drafting no longer speaks for the party.
        if post.author_party_id is not None and not case.acts_for(principal, post.author_party_id):
            raise Forbidden(
                "您已不能代表该当事人 / you no longer act for that party", code="not_your_party"
            )
    await publish(conn, audit, actor, case, hearing, stage, post)
    return post


async def visible_posts(hearing: AsyncHearing, principal: Principal) -> list[AsyncPost]:
    """Published posts, plus the caller's own drafts."""
    published = (
        await AsyncPost.filter(hearing_id=hearing.id, seq__isnull=False)
        .order_by("seq")
        .select_related("stage")
    )
    drafts = (
        await AsyncPost.filter(
            hearing_id=hearing.id, seq__isnull=True, author_id=principal.account_id
        )
        .order_by("created_at")
        .select_related("stage")
    )
    return [*published, *drafts]


@dataclass(frozen=True, slots=True)
class ChainCheck:
    valid: bool
    entries: int
    head: str
    broken_at: int | None
    problem: str | None


async def verify_chain(hearing: AsyncHearing) -> ChainCheck:
    """Recompute every link; the first post that does not follow is reported."""
    posts = (
        await AsyncPost.filter(hearing_id=hearing.id, seq__isnull=False)
        .order_by("seq")
        .select_related("stage")
    )
    head = GENESIS_HASH
    for expected_seq, post in enumerate(posts, start=1):
        if post.seq != expected_seq:
            return ChainCheck(False, len(posts), head, expected_seq, "a post is missing")
        if post.prev_hash != head:
            return ChainCheck(False, len(posts), head, post.seq, "link to the previous post broken")
        recomputed = chain_hash(head, canonical_post(post, post.stage.kind))
        if recomputed != post.hash:
            return ChainCheck(False, len(posts), head, post.seq, "post content changed")
        head = recomputed
    if head != hearing.record_head or len(posts) != hearing.record_seq:
        return ChainCheck(False, len(posts), head, len(posts) + 1, "record head does not match")
    return ChainCheck(True, len(posts), head, None, None)


async def evidence_items(hearing: AsyncHearing) -> list[tuple[AsyncPost, list[AsyncPost]]]:
    """Each evidence item with the (published) cross-examination opinions on it."""
    stages = {s.id: s for s in await stages_of(hearing)}
    evidence_stage = next((s for s in stages.values() if s.kind == StageKind.EVIDENCE.value), None)
    if evidence_stage is None:
        return []
    items = await AsyncPost.filter(
        stage_id=evidence_stage.id, kind__in=EVIDENCE_KINDS, seq__isnull=False
    ).order_by("seq")
    opinions = await AsyncPost.filter(
        hearing_id=hearing.id, kind="opinion", seq__isnull=False
    ).order_by("seq")
    return [
        (item, [o for o in opinions if o.data.get("evidence_post_id") == str(item.id)])
        for item in items
    ]
