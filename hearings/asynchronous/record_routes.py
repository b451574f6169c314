"""/api/v1/async-hearings/cases/{filing_id}/…: entering stages, posts, the record and its
verification, the transcript (PDF, signatures, verification)."""

from __future__ import annotations

from aiohttp import web
from tortoise.transactions import in_transaction

from backend.appkeys import AUDIT, BLOBS, KEYRING
from backend.errors import NotFound
from backend.http import endpoint, request_actor, require_principal
from backend.storage.http import file_response, read_upload
from backend.storage.purposes import UploadRule
from backend.storage.service import get_file
from backend.storage.sniff import FileKind
from hearings.asynchronous import record, transcript
from hearings.asynchronous.access import CONDUCT, PARTICIPATE, READ
from hearings.asynchronous.models import AsyncPost, Transcript
from hearings.asynchronous.rules import StageKind
from hearings.asynchronous.schemas import (
    ChainOut,
    CopyVerifyOut,
    EntryOut,
    EvidenceItemOut,
    EvidenceList,
    PostIn,
    PostList,
    PostOut,
    SignQuery,
    TranscriptOut,
    TranscriptVerifyOut,
)
from hearings.asynchronous.signing import signature_valid, signatures_of
from hearings.asynchronous.views import (
    authorize,
    existing_hearing,
    path_uuid,
    post_out,
    signature_out,
)

routes = web.RouteTableDef()
TAGS = ("async hearings",)
CASE = "/cases/{filing_id}"
FILE_CONTENT = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}


@routes.post(CASE + "/stages/{stage}/enter")
@endpoint(
    "Enter the open stage (needs a face check from the last 5 minutes)",
    response=EntryOut,
    tags=TAGS,
    errors=(403, 404, 409),
)
async def enter(request: web.Request) -> EntryOut:
    principal = require_principal(request)
    try:
        kind = StageKind(request.match_info["stage"])
    except ValueError:
        raise NotFound("no such stage") from None
    async with in_transaction() as conn:
        case = await authorize(request, PARTICIPATE, conn=conn)
        hearing = await existing_hearing(case, conn)
        entry = await record.enter_stage(
            conn, request.config_dict[AUDIT], request_actor(request), case, hearing, principal, kind
        )
    return EntryOut(
        stage=kind.value, entered_at=entry.at, presence_verified_at=entry.presence_verified_at
    )


@routes.post(CASE + "/posts")
@endpoint(
    "Post to the open stage as yourself (or keep a private draft)",
    body=PostIn,
    response=PostOut,
    status=201,
    tags=TAGS,
    errors=(403, 404, 409, 422),
    description="Kinds: text, voice (a file uploaded for purpose `voice`), video (MP4/WebM "
    "uploaded as `evidence`), file (`evidence` or `document`), opinion (cross-examination of one "
    "evidence item by an opposing party), question (the judge, to a named party). Published posts "
    "are chained into the record and never change; `corrects` names a post being corrected.",
)
async def create_post(request: web.Request, *, body: PostIn) -> PostOut:
    principal = require_principal(request)
    new = record.NewPost(
        stage=body.stage,
        kind=body.kind,
        text=body.text,
        file_id=body.file_id,
        reply_to=body.reply_to,
        corrects=body.corrects,
        addressed_party_id=body.addressed_party_id,
        evidence_post_id=body.evidence_post_id,
        opinion=body.opinion.model_dump() if body.opinion else None,
        draft=body.draft,
        party_id=body.party_id,
    )
    async with in_transaction() as conn:
        case = await authorize(request, PARTICIPATE, CONDUCT, conn=conn)
        hearing = await existing_hearing(case, conn)
        post = await record.create_post(
            conn, request.config_dict[AUDIT], request_actor(request), case, hearing, principal, new
        )
    return post_out(post, body.stage.value)


@routes.post(CASE + "/posts/{post_id}/publish")
@endpoint("Publish your draft", response=PostOut, tags=TAGS, errors=(403, 404, 409))
async def publish(request: web.Request) -> PostOut:
    principal = require_principal(request)
    post_id = path_uuid(request, "post_id", "post")
    async with in_transaction() as conn:
        case = await authorize(request, PARTICIPATE, CONDUCT, conn=conn)
        hearing = await existing_hearing(case, conn)
        post = await record.publish_draft(
            conn,
            request.config_dict[AUDIT],
            request_actor(request),
            case,
            hearing,
            principal,
            post_id,
        )
    return post_out(post, post.stage.kind)


@routes.get(CASE + "/posts")
@endpoint(
    "The record: published posts, and your own drafts", response=PostList, tags=TAGS, errors=(404,)
)
async def list_posts(request: web.Request) -> PostList:
    principal = require_principal(request)
    case = await authorize(request, READ)
    hearing = await existing_hearing(case)
    posts = await record.visible_posts(hearing, principal)
    return PostList(items=[post_out(p, p.stage.kind) for p in posts])


@routes.get(CASE + "/posts/{post_id}/file")
@endpoint(
    "Download a published post's file",
    tags=TAGS,
    errors=(404,),
    response_content=FILE_CONTENT,
)
async def post_file(request: web.Request) -> web.StreamResponse:
    case = await authorize(request, READ)
    hearing = await existing_hearing(case)
    post_id = path_uuid(request, "post_id", "post")
    post = await AsyncPost.get_or_none(id=post_id, hearing_id=hearing.id, seq__isnull=False)
    if post is None or post.file_id is None:
        raise NotFound("no such file")
    stored = await get_file(post.file_id)
    return await file_response(request, stored.blob.as_stored(), stored.original_name)


@routes.get(CASE + "/evidence")
@endpoint(
    "Evidence items with each opposing party's cross-examination opinions",
    response=EvidenceList,
    tags=TAGS,
    errors=(404,),
)
async def evidence(request: web.Request) -> EvidenceList:
    case = await authorize(request, READ)
    hearing = await existing_hearing(case)
    items = await record.evidence_items(hearing)
    return EvidenceList(
        items=[
            EvidenceItemOut(
                item=post_out(item, StageKind.EVIDENCE.value),
                opinions=[post_out(o, StageKind.CROSS_EXAMINATION.value) for o in opinions],
            )
            for item, opinions in items
        ]
    )


@routes.get(CASE + "/record/verify")
@endpoint("Recompute the record's hash chain", response=ChainOut, tags=TAGS, errors=(404,))
async def verify_record(request: web.Request) -> ChainOut:
    case = await authorize(request, READ)
    hearing = await existing_hearing(case)
    check = await record.verify_chain(hearing)
    return ChainOut(
        valid=check.valid,
        entries=check.entries,
        head=check.head,
        broken_at=check.broken_at,
        problem=check.problem,
    )


# ----------------------------------------------------------------------------- transcript


async def _transcript_out(row: Transcript) -> TranscriptOut:
    signatures = await signatures_of(transcript.DOCUMENT_KIND, row.id)
    return TranscriptOut(
        id=row.id,
        sha256=row.sha256,
        size=row.size,
        record_seq=row.record_seq,
        record_head=row.record_head,
        created_at=row.created_at,
        signatures=[signature_out(s) for s in signatures],
    )


@routes.post(CASE + "/transcript")
@endpoint(
    "Judge: render the closed hearing's transcript (PDF)",
    response=TranscriptOut,
    status=201,
    tags=TAGS,
    errors=(404, 409),
)
async def generate_transcript(request: web.Request) -> TranscriptOut:
    principal = require_principal(request)
    async with in_transaction() as conn:
        case = await authorize(request, CONDUCT, conn=conn)
        hearing = await existing_hearing(case, conn)
        row = await transcript.generate(
            conn,
            request.config_dict[AUDIT],
            request_actor(request),
            request.config_dict[BLOBS],
            case,
            hearing,
            principal,
        )
    return await _transcript_out(row)


@routes.get(CASE + "/transcript")
@endpoint(
    "The latest transcript and its signatures", response=TranscriptOut, tags=TAGS, errors=(404,)
)
async def get_transcript(request: web.Request) -> TranscriptOut:
    case = await authorize(request, READ)
    return await _transcript_out(await transcript.latest(await existing_hearing(case)))


@routes.get(CASE + "/transcript/pdf")
@endpoint("Download the transcript PDF", tags=TAGS, errors=(404,), response_content=FILE_CONTENT)
async def transcript_pdf(request: web.Request) -> web.StreamResponse:
    case = await authorize(request, READ)
    row = await transcript.latest(await existing_hearing(case))
    stored = await get_file(row.file_id)
    return await file_response(request, stored.blob.as_stored(), "transcript.pdf")


@routes.post(CASE + "/transcript/sign")
@endpoint(
    "E-sign the transcript after a step-up from the last 5 minutes: parties or their lawyers a "
    "face check, the judge a fresh authenticator code (POST /api/v1/identity/staff/step-up)",
    description="403 presence_required (parties) or step_up_required (the judge) without one.",
    query=SignQuery,
    response=TranscriptOut,
    tags=TAGS,
    errors=(403, 404, 409, 422),
)
async def sign_transcript(request: web.Request, *, query: SignQuery) -> TranscriptOut:
    principal = require_principal(request)
    async with in_transaction() as conn:
        case = await authorize(request, PARTICIPATE, CONDUCT, conn=conn)
        hearing = await existing_hearing(case, conn)
        await transcript.sign_transcript(
            conn,
            request.config_dict[AUDIT],
            request_actor(request),
            request.config_dict[KEYRING].server_key,
            case,
            hearing,
            principal,
            query.party_id,
        )
        row = await transcript.latest(hearing, conn)
    return await _transcript_out(row)


@routes.get(CASE + "/transcript/verify")
@endpoint(
    "Verify the transcript: stored PDF unchanged, every signature valid, who has not signed",
    response=TranscriptVerifyOut,
    tags=TAGS,
    errors=(404,),
)
async def verify_transcript(request: web.Request) -> TranscriptVerifyOut:
    case = await authorize(request, READ)
    hearing = await existing_hearing(case)
    key = request.config_dict[KEYRING].server_key
    check = await transcript.verify(request.config_dict[BLOBS], key, case, hearing)
    return TranscriptVerifyOut(
        transcript_id=check.transcript.id,
        sha256=check.transcript.sha256,
        file_intact=check.file_intact,
        valid=check.valid,
        complete=check.complete,
        missing_roles=check.missing_roles,
        missing_parties=check.missing_parties,
        signatures=[signature_out(row, ok) for row, ok in check.signatures],
        public_key=key.public_jwk(),
    )


@routes.post(CASE + "/transcript/verify")
@endpoint(
    "Check a transcript copy you hold (multipart `file`): is it a transcript of this hearing, "
    "and whose valid signatures does it carry",
    response=CopyVerifyOut,
    tags=TAGS,
    request_content={"multipart/form-data": {"schema": {"type": "object"}}},
    errors=(404, 413, 415, 422),
)
async def verify_copy(request: web.Request) -> CopyVerifyOut:
    case = await authorize(request, READ)
    hearing = await existing_hearing(case)
    # Hashed while streamed, never stored.
    upload = await read_upload(
        request,
        rule=UploadRule(frozenset({FileKind.PDF}), transcript.MAX_TRANSCRIPT_BYTES),
        keep=False,
    )
    digest = upload.blob.sha256
    row = await Transcript.filter(hearing_id=hearing.id, sha256=digest).first()
    if row is None:
        return CopyVerifyOut(copy_sha256=digest, matches=False, transcript_id=None, signatures=[])
    key = request.config_dict[KEYRING].server_key
    signatures = await signatures_of(transcript.DOCUMENT_KIND, row.id)
    return CopyVerifyOut(
        copy_sha256=digest,
        matches=True,
        transcript_id=row.id,
        signatures=[signature_out(s, signature_valid(s, key, digest)) for s in signatures],
    )
