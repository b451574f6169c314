"""Shared pieces of the HTTP layer: authorising on a fresh view of the case, output shapes."""

from __future__ import annotations

from uuid import UUID

from aiohttp import web
from tortoise.backends.base.client import BaseDBAsyncClient

from backend.appkeys import POLICY
from backend.errors import NotFound
from backend.http import require_principal
from filing.filings import get_filing
from hearings.asynchronous.access import RESOURCE, Case, case_of
from hearings.asynchronous.missed import consequence
from hearings.asynchronous.models import (
    AsyncConsent,
    AsyncHearing,
    AsyncPost,
    DocumentSignature,
    MissedWindow,
)
from hearings.asynchronous.rules import STAGE_NAMES, StageKind
from hearings.asynchronous.schemas import (
    ConsentSummaryOut,
    HearingOut,
    MissedOut,
    PostOut,
    SignatureOut,
    StageOut,
)
from hearings.asynchronous.stages import stages_of


async def authorize(
    request: web.Request, *actions: str, conn: BaseDBAsyncClient | None = None
) -> Case:
    """The case, if the caller may do any of ``actions`` on it (404 otherwise, no oracle)."""
    principal = require_principal(request)
    policy = request.config_dict[POLICY]
    filing = await get_filing(request.match_info["filing_id"], conn)
    case = await case_of(filing)
    if not any(policy.permits(principal, action, RESOURCE, case.access) for action in actions):
        raise NotFound("no such case")
    return case


async def existing_hearing(case: Case, conn: BaseDBAsyncClient | None = None) -> AsyncHearing:
    query = AsyncHearing.filter(filing_id=case.filing.id)
    if conn is not None:
        query = query.using_db(conn).select_for_update()
    hearing = await query.first()
    if hearing is None:
        raise NotFound("本案尚无异步审理 / no asynchronous hearing for this case")
    return hearing


def path_uuid(request: web.Request, name: str, what: str) -> UUID:
    try:
        return UUID(request.match_info[name])
    except ValueError:
        raise NotFound(f"no such {what}") from None


async def hearing_out(hearing: AsyncHearing) -> HearingOut:
    stages = await stages_of(hearing)
    consents = await AsyncConsent.filter(filing_id=hearing.filing_id).order_by("at")
    return HearingOut(
        id=hearing.id,
        filing_id=hearing.filing_id,
        mode=hearing.mode,
        status=hearing.status,
        attendance_hard=hearing.attendance_hard,
        facts_undisputed=hearing.facts_undisputed,
        exclusions=list(hearing.exclusions),
        started_at=hearing.started_at,
        closed_at=hearing.closed_at,
        converted_at=hearing.converted_at,
        video_hearing_id=hearing.video_hearing_id,
        conversion_reason=hearing.conversion_reason,
        record_seq=hearing.record_seq,
        record_head=hearing.record_head,
        stages=[
            StageOut(
                kind=s.kind,
                name_zh=STAGE_NAMES[StageKind(s.kind)][0],
                name_en=STAGE_NAMES[StageKind(s.kind)][1],
                position=s.position,
                status=s.status,
                window_hours=s.window_hours,
                opens_at=s.opens_at,
                closes_at=s.closes_at,
                closed_at=s.closed_at,
            )
            for s in stages
        ],
        consents=[
            ConsentSummaryOut(scope=c.scope, party_role=c.party_role, consented=c.consented)
            for c in consents
        ],
    )


def post_out(post: AsyncPost, stage_kind: str) -> PostOut:
    return PostOut(
        id=post.id,
        stage=stage_kind,
        author_id=post.author_id,
        author_role=post.author_role,
        author_party_id=post.author_party_id,
        kind=post.kind,
        text=post.text,
        file_id=post.file_id,
        file_sha256=post.file_sha256,
        data=dict(post.data),
        reply_to=post.reply_to_id,
        corrects=post.corrects_id,
        addressed_to=post.addressed_to,
        addressed_party_id=post.addressed_party_id,
        draft=post.seq is None,
        created_at=post.created_at,
        posted_at=post.posted_at,
        seq=post.seq,
        prev_hash=post.prev_hash,
        hash=post.hash,
    )


def missed_out(row: MissedWindow, case: Case) -> MissedOut:
    """``row`` comes with its stage (hearings.asynchronous.missed)."""
    meaning = consequence(row)
    party = case.party(row.party_id) if row.party_id is not None else None
    return MissedOut(
        id=row.id,
        stage=row.stage.kind,
        party_id=row.party_id,
        party_name=party.name if party else None,
        party_role=row.party_role,
        recorded_at=row.recorded_at,
        reason=row.reason,
        reason_at=row.reason_at,
        decision=row.decision,
        decision_note=row.decision_note,
        consequence_zh=meaning[0] if meaning else None,
        consequence_en=meaning[1] if meaning else None,
    )


def signature_out(row: DocumentSignature, valid: bool | None = None) -> SignatureOut:
    return SignatureOut(
        signer_id=row.signer_id,
        signer_role=row.signer_role,
        party_id=row.party_id,
        signed_at=row.signed_at,
        presence_verified_at=row.presence_verified_at,
        step_up_method=row.step_up_method,
        key_id=row.key_id,
        signature=row.signature,
        valid=valid,
    )
