"""/api/v1/identity/face/: the real-name photo match, liveness challenges and step-up presence.

Face data is read part by part from the request stream into memory, with a byte cap per part and
for the whole form, typed by its magic bytes, handed to :class:`FaceService` and dropped when the
request ends: it never reaches the blob store or a temp file. Every check that needs no face data
(authentication, the separate biometric consent, lockout, real-name state, pool capacity, the
challenge) runs before the first image byte is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import multiprocessing
import os
import warnings
from collections.abc import AsyncIterator, Collection
from concurrent.futures import ProcessPoolExecutor
from uuid import UUID

from aiohttp import BodyPartReader, MultipartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.multipart import BadContentDispositionHeader, BadContentDispositionParam

from backend.appkeys import SETTINGS
from backend.errors import (
    BadRequest,
    ConfigurationError,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from backend.http import endpoint, request_actor, require_principal
from backend.storage.sniff import IMAGES, SNIFF_BYTES, VIDEO, FileKind, sniff
from identity.face import engine, liveness, video
from identity.face.pool import FacePool
from identity.face_service import FaceService, LivenessMedia
from identity.keys import IDENTITY
from identity.models import RealName
from identity.presence import require_recent_presence
from identity.schemas import (
    FACE_VERIFY_FORM,
    LIVENESS_FORM,
    FaceVerificationOut,
    LivenessActionOut,
    LivenessChallengeOut,
    PresenceOut,
    PresenceTokenOut,
)

routes = web.RouteTableDef()
TAGS = ("identity", "face")
FACE = web.AppKey("identity_face", FaceService)

MiB = 1024 * 1024
PHOTO_MAX_BYTES = 8 * MiB
FRAME_MAX_BYTES = 2 * MiB
CLIP_MAX_BYTES = video.MAX_CLIP_BYTES
VERIFY_MAX_BYTES = 2 * PHOTO_MAX_BYTES
LIVENESS_MAX_BYTES = PHOTO_MAX_BYTES + 32 * MiB
# Multipart framing (boundaries, part headers, the small text fields) on top of the files.
FORM_OVERHEAD = 64 * 1024
CHUNK = 64 * 1024
MAX_TEXT_BYTES = 256
_IDENTITY_ENCODINGS = frozenset({"", "binary", "8bit", "7bit", "identity"})
_MALFORMED = (
    ValueError,
    AssertionError,
    HttpProcessingError,
    BadContentDispositionHeader,
    BadContentDispositionParam,
)
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no", ""})


@contextlib.asynccontextmanager
async def face_pool(app: web.Application) -> AsyncIterator[FaceService]:
    """The face pool (and its worker processes) for the application's lifetime, entered in
    ``clients_ctx`` after the identity dependencies exist. Closing waits for running jobs."""
    settings = app[SETTINGS]
    if settings.face_workers + settings.face_queue < 2:
        raise ConfigurationError(
            "MC_FACE_WORKERS + MC_FACE_QUEUE must be at least 2: a photo match is two pool jobs"
        )
    pool = FacePool(settings.face_workers, settings.face_queue)
    processes = None
    if settings.face_processes:
        # forkserver: children fork from a clean server process that has the face code imported
        # (never from this one, with its event loop and database threads); each loads its own
        # dlib models once, in the initializer.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["identity.face_service"])
        processes = functools.partial(
            ProcessPoolExecutor,
            settings.face_workers,
            mp_context=context,
            initializer=engine.warm_up,
        )
    service = FaceService(app[IDENTITY], pool, processes)
    app[FACE] = service
    try:
        if settings.should_warm_up_faces:
            if service.processes is not None:
                # one job per process at once starts them all; each warms up in its initializer
                started = [service.processes.submit(os.getpid) for _ in range(pool.max_workers)]
                await asyncio.gather(*(asyncio.wrap_future(f) for f in started))
            else:
                await pool.prime(engine.warm_up)
        yield service
    finally:
        await service.aclose()


def _error(field: str, message: str, kind: str) -> ValidationFailed:
    return ValidationFailed(
        f"{field}: {message}",
        errors=[{"location": "body", "field": field, "message": message, "type": kind}],
    )


class _Form:
    """A multipart form read from the stream: names checked, each part capped, and the whole."""

    def __init__(self, request: web.Request, max_total: int) -> None:
        self.request = request
        self.max_total = min(max_total, request.config_dict[SETTINGS].max_upload_bytes)
        self.read = 0

    def _too_large(self, what: str, limit: int) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"{what} is larger than {limit} bytes / 文件过大",
            extra={"field": what, "max_bytes": limit},
        )

    async def _open(self) -> MultipartReader:
        if self.request.content_type != "multipart/form-data":
            raise UnsupportedMediaType("send the photos as multipart/form-data")
        declared = self.request.content_length
        if declared is not None and declared > self.max_total + FORM_OVERHEAD:
            raise self._too_large("the form", self.max_total)
        try:
            return await self.request.multipart()
        except (ValueError, AssertionError, KeyError) as exc:
            raise BadRequest("malformed multipart body", code="malformed_multipart") from exc

    async def parts(self, max_parts: int) -> AsyncIterator[tuple[str, BodyPartReader]]:
        reader = await self._open()
        for index in range(max_parts + 1):
            try:
                part = await reader.next()
            except _MALFORMED as exc:
                raise BadRequest("malformed multipart body", code="malformed_multipart") from exc
            if part is None:
                return
            if index == max_parts:
                raise BadRequest(f"more than {max_parts} form parts", code="too_many_parts")
            if not isinstance(part, BodyPartReader):
                raise UnsupportedMediaType("nested multipart bodies are not accepted")
            with warnings.catch_warnings():  # a malformed Content-Disposition: no usable name
                warnings.simplefilter("ignore")
                name = part.name
            if not name:
                raise BadRequest(
                    "a form part has no valid Content-Disposition name",
                    code="malformed_multipart",
                )
            yield name, part

    async def _chunks(self, part: BodyPartReader) -> AsyncIterator[bytes]:
        while True:
            try:
                chunk = await part.read_chunk(CHUNK)
            except _MALFORMED as exc:
                raise BadRequest("malformed multipart body", code="malformed_multipart") from exc
            if not chunk:
                return
            self.read += len(chunk)
            if self.read > self.max_total:
                raise self._too_large("the form", self.max_total)
            yield chunk

    async def text(self, part: BodyPartReader, name: str) -> str:
        data = bytearray()
        async for chunk in self._chunks(part):
            data += chunk
            if len(data) > MAX_TEXT_BYTES:
                raise _error(name, f"longer than {MAX_TEXT_BYTES} bytes", "too_long")
        try:
            return data.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise _error(name, "not UTF-8 text", "encoding") from None

    async def file(
        self, part: BodyPartReader, name: str, allowed: Collection[FileKind], max_bytes: int
    ) -> bytes:
        """The part's bytes, refused as soon as they pass ``max_bytes`` or their first bytes
        are not one of ``allowed``."""
        encoding = part.headers.get("Content-Transfer-Encoding", "").strip().lower()
        if encoding not in _IDENTITY_ENCODINGS or part.headers.get("Content-Encoding"):
            raise UnsupportedMediaType(f"{name}: send the file as plain binary, not encoded")
        data = bytearray()
        sniffed = False
        async for chunk in self._chunks(part):
            data += chunk
            if len(data) > max_bytes:
                raise self._too_large(name, max_bytes)
            if not sniffed and len(data) >= SNIFF_BYTES:
                self._check_kind(name, bytes(data[:SNIFF_BYTES]), allowed)
                sniffed = True
        if not data:
            raise _error(name, "the file is empty", "missing")
        if not sniffed:
            self._check_kind(name, bytes(data), allowed)
        return bytes(data)

    @staticmethod
    def _check_kind(name: str, head: bytes, allowed: Collection[FileKind]) -> None:
        kind = sniff(head)
        if kind not in allowed:
            kinds = ", ".join(sorted(k.name for k in allowed))
            raise UnsupportedMediaType(
                f"{name}: only {kinds} accepted (by content) / 文件格式不支持",
                extra={"field": name},
            )


def _challenge_id(request: web.Request) -> UUID:
    try:
        return UUID(request.match_info["challenge_id"])
    except ValueError:
        raise NotFound("no such liveness challenge / 活体检测挑战不存在") from None


# ------------------------------------------------------------------------------- photo match


@routes.post("/face/verify")
@endpoint(
    "Real-name face match: the ID portrait and a selfie",
    description="Needs the separate biometric_face consent (403 consent_required, checked before "
    "anything is read) and a real-name record (422 realname_required). Each photo must show "
    "exactly one usable face: 422 no_face, multiple_faces, face_too_small, face_too_blurry, "
    "face_cut_off (with `input` naming the photo and message_zh), 415 for anything but JPEG or "
    "PNG, 413 above 8 MiB. A match verifies a pending record (method face); a mismatch is 422 "
    "face_mismatch. 429 face_busy (Retry-After) when the face pool is full, 429 locked_out after "
    "5 failed checks in an hour. The photos are not stored; the decision is. Keep the ID-portrait "
    "file: presence checks ask for the same one. Face recognition is never the only way: court "
    "staff can verify a person in person.",
    response=FaceVerificationOut,
    tags=TAGS,
    request_content={"multipart/form-data": FACE_VERIFY_FORM},
    errors=(403, 409, 413, 415, 422, 429),
)
async def verify_face(request: web.Request) -> FaceVerificationOut:
    principal = require_principal(request)
    service = request.config_dict[FACE]
    record = await service.before_photo_match(principal.account_id)
    form = _Form(request, VERIFY_MAX_BYTES)
    photos: dict[str, bytes] = {}
    async for name, part in form.parts(max_parts=2):
        if name not in ("id_portrait", "selfie"):
            raise _error(name, "unexpected form field", "extra_forbidden")
        if name in photos:
            raise _error(name, "given more than once", "duplicate")
        photos[name] = await form.file(part, name, IMAGES, PHOTO_MAX_BYTES)
    for name in ("id_portrait", "selfie"):
        if name not in photos:
            raise _error(name, "a JPEG or PNG photo is required", "missing")
    decision = await service.verify_photos(
        principal.account_id,
        record,
        photos.pop("id_portrait"),
        photos.pop("selfie"),
        request_actor(request),
    )
    record = await RealName.get(account_id=principal.account_id)
    return FaceVerificationOut(
        verification_id=decision.id,
        purpose=decision.purpose,
        result=decision.result,
        method=decision.method,
        created_at=decision.created_at,
        realname_status=record.status,
        realname_method=record.method,
        realname_verified_at=record.verified_at,
    )


# ------------------------------------------------------------------------------- liveness


@routes.post("/face/liveness/challenges")
@endpoint(
    "Start a liveness check: two actions to do in order, a single-use nonce, 60 s to answer",
    description="Needs the biometric_face consent and a real name verified by a face match "
    "(422 realname_not_verified, face_reference_required — the alternative is an in-person "
    "check by court staff). 429 locked_out after 5 failed face checks in an hour.",
    response=LivenessChallengeOut,
    status=201,
    tags=TAGS,
    errors=(403, 422, 429),
)
async def create_challenge(request: web.Request) -> LivenessChallengeOut:
    principal = require_principal(request)
    service = request.config_dict[FACE]
    await service.before_presence(principal.account_id)
    issued = await service.create_challenge(principal.account_id)
    return LivenessChallengeOut(
        challenge_id=issued.challenge.id,
        nonce=issued.nonce,
        actions=[
            LivenessActionOut(
                action=a.value, prompt_zh=a.prompt_zh, prompt_en=a.prompt_en, prompt_zh_en=a.prompt
            )
            for a in issued.actions
        ],
        expires_at=issued.challenge.expires_at,
        ttl_s=liveness.CHALLENGE_TTL_S,
        min_frames=liveness.MIN_FRAMES,
        max_frames=liveness.MAX_FRAMES,
    )


@routes.post("/face/liveness/{challenge_id}")
@endpoint(
    "Answer a liveness challenge: the clip or frames, and the ID portrait; on success a fresh "
    "access token that proves presence for 5 minutes",
    description="multipart/form-data: `nonce` and `mirrored` first, then `id_portrait` (the same "
    "file accepted at real-name verification, else 422 face_reference_mismatch) and either one "
    "`clip` (MP4/WebM, at most 6 s) or 8-60 `frame` parts (JPEG/PNG, same size, ~10 a second). "
    "The challenge is spent by the first answer with the right nonce: 409 challenge_used on a "
    "replay, 410 challenge_expired after 60 s, 403 challenge_nonce_invalid. Liveness failures "
    "(still photo, repeated frames, actions missing or out of order …) are 422 liveness_failed "
    "with `reason`; a face that does not match the portrait 422 face_mismatch.",
    response=PresenceTokenOut,
    tags=TAGS,
    request_content={"multipart/form-data": LIVENESS_FORM},
    errors=(403, 404, 409, 410, 413, 415, 422, 429),
)
async def answer_challenge(request: web.Request) -> PresenceTokenOut:
    principal = require_principal(request)
    service = request.config_dict[FACE]
    challenge_id = _challenge_id(request)
    reference = await service.before_presence(principal.account_id)
    service.ensure_capacity()
    form = _Form(request, LIVENESS_MAX_BYTES)
    texts: dict[str, str] = {}
    actions: tuple[liveness.Action, liveness.Action] | None = None
    portrait: bytes | None = None
    clip: bytes | None = None
    frames: list[bytes] = []
    async for name, part in form.parts(max_parts=liveness.MAX_FRAMES + 3):
        if name in ("nonce", "mirrored"):
            if actions is not None:
                raise _error(name, "send the text fields before the files", "order")
            if name in texts:
                raise _error(name, "given more than once", "duplicate")
            texts[name] = await form.text(part, name)
            continue
        if name not in ("id_portrait", "clip", "frame"):
            raise _error(name, "unexpected form field", "extra_forbidden")
        if actions is None:
            # Spent before the first file byte is read: a replay costs the server nothing.
            if not texts.get("nonce"):
                raise _error("nonce", "required, before any file", "missing")
            actions = await service.consume_challenge(
                principal.account_id, challenge_id, texts["nonce"]
            )
        if name == "id_portrait":
            if portrait is not None:
                raise _error(name, "given more than once", "duplicate")
            portrait = await form.file(part, name, IMAGES, PHOTO_MAX_BYTES)
        elif name == "clip":
            if clip is not None or frames:
                raise _error(name, "send one clip or frames, not both", "duplicate")
            clip = await form.file(part, name, VIDEO, CLIP_MAX_BYTES)
        else:
            if clip is not None:
                raise _error(name, "send one clip or frames, not both", "duplicate")
            if len(frames) >= liveness.MAX_FRAMES:
                raise _error(name, f"at most {liveness.MAX_FRAMES} frames", "too_many")
            frames.append(await form.file(part, name, IMAGES, FRAME_MAX_BYTES))
    mirrored_text = texts.get("mirrored", "").lower()
    if mirrored_text not in _TRUE | _FALSE:
        raise _error("mirrored", "true or false", "bool_parsing")
    if actions is None:
        if not texts.get("nonce"):
            raise _error("nonce", "required, before any file", "missing")
        raise _error("id_portrait", "the ID portrait and a clip or frames are required", "missing")
    if portrait is None:
        raise _error("id_portrait", "the ID portrait is required", "missing")
    if clip is None and not frames:
        raise _error("frame", "a clip or a sequence of frames is required", "missing")
    if frames and len(frames) < liveness.MIN_FRAMES:
        raise _error("frame", f"at least {liveness.MIN_FRAMES} frames", "too_short")
    grant = await service.check_presence(
        principal,
        challenge_id,
        actions,
        reference,
        portrait,
        LivenessMedia(clip=clip, frames=frames),
        mirrored_text in _TRUE,
        request_actor(request),
    )
    return PresenceTokenOut(
        verification_id=grant.verification.id,
        access_token=grant.access_token,
        expires_in=grant.expires_in,
        presence_verified_at=grant.verified_at,
        presence_valid_until=grant.valid_until,
        max_age_s=int((grant.valid_until - grant.verified_at).total_seconds()),
    )


@routes.get("/face/presence")
@endpoint(
    "Is my presence fresh? Ask before entering a hearing stage, a video lobby or signing",
    description="200 while the access token carries a face check from the last 5 minutes; "
    "otherwise 403 presence_required (with max_age_s, and the in-person alternative). Other "
    "domains enforce the same rule with identity.presence.require_recent_presence.",
    response=PresenceOut,
    tags=TAGS,
    errors=(403,),
)
async def my_presence(request: web.Request) -> PresenceOut:
    presence = require_recent_presence(require_principal(request))
    return PresenceOut(
        present=True,
        presence_verified_at=presence.verified_at,
        presence_valid_until=presence.valid_until,
        max_age_s=presence.max_age_s,
    )
