"""Face checks of the identity domain: the real-name photo match, liveness challenges and the
step-up presence check. Domain logic only: the HTTP layer (``identity.face_routes``) reads the
uploads and calls in here; all dlib work runs in the bounded :class:`FacePool`.

What is kept (PIPL Art. 19, face-recognition measures: the shortest time necessary): a
:class:`FaceVerification` row per decision (result, distance, threshold, method, liveness outcome,
time) and nothing else. Photos and frames live in memory for the request only and are never
written to the blob store; face encodings are never stored.

Why no template is kept, and what binds a later presence check to the verified person: the
reference face for liveness is the ID portrait, sent again with the liveness upload. A portrait
sent at that time alone would prove nothing (whoever holds the phone could send their own), so the
real-name match records a keyed hash of the accepted portrait *file* (``reference_digest``), and a
presence check accepts only that same file. The hash is not face data: it cannot be turned back
into an image or used to recognise a face; it is erased when the biometric consent is withdrawn.
(With an identity-authentication platform, the authority photo fetched by ID number would replace
both the upload and the hash.) A short-lived encrypted template would have spared the second
upload only within its expiry, while presence is needed days later, before each hearing.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4

from tortoise.transactions import in_transaction

from backend.auth.principal import Actor, Principal
from backend.errors import (
    AppError,
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
    ValidationFailed,
)
from identity.consents import require_consent
from identity.face import engine, liveness, video
from identity.face.engine import FaceError, RGBImage, Verdict
from identity.face.liveness import Action, LivenessResult
from identity.face.pool import FacePool, PoolBusy
from identity.keys import IdentityDeps
from identity.models import (
    ConsentPurpose,
    FacePurpose,
    FaceResult,
    FaceVerification,
    LivenessChallenge,
    RealName,
    RealNameStatus,
    VerificationMethod,
)
from identity.presence import (
    IN_PERSON_ALTERNATIVE_EN,
    IN_PERSON_ALTERNATIVE_ZH,
    PRESENCE_MAX_AGE_S,
)
from identity.realname import mark_verified

A = TypeVar("A")
B = TypeVar("B")

PHOTO_METHOD = engine.METHOD
LIVENESS_METHOD = f"{engine.METHOD}+active_liveness"
#: "e.g. 5 failed face checks per hour with lockout" (issue): a mismatch, a failed liveness check
#: or a wrong reference portrait counts; an unusable photo (no face, blurred) does not, since it
#: tells an attacker nothing about the match.
FAILURE_LIMIT = 5
FAILURE_WINDOW_S = 3600
CHALLENGE_LIMIT = 30
CHALLENGE_TTL_S = liveness.CHALLENGE_TTL_S
REFERENCE_CONTEXT = "face_reference"
_COUNTED = frozenset(
    {FaceResult.NO_MATCH, FaceResult.LIVENESS_FAILED, FaceResult.REFERENCE_MISMATCH}
)

INPUT_NAMES: dict[str, str] = {
    "id_portrait": "身份证人像面 / ID portrait",
    "selfie": "自拍照 / selfie",
    "frame": "视频帧 / frame",
    "clip": "视频 / clip",
}


class FaceCheckFailed(AppError):
    status = 422
    code = "face_check_failed"
    title = "Face check failed / 人脸核验未通过"


class ChallengeExpired(AppError):
    status = 410
    code = "challenge_expired"
    title = "Challenge expired / 动作挑战已过期"


ALTERNATIVE: dict[str, str] = {"alternative": "in_person"}


def face_error_problem(exc: FaceError, verification_id: UUID | None = None) -> AppError:
    """A photo or frame the engine could not use, as a problem: its status (415, 413, 422), its
    code, the Chinese and English message and which input failed."""
    where = INPUT_NAMES.get(exc.subject or "", exc.subject or "")
    prefix = f"{where}: " if where else ""
    extra: dict[str, Any] = {
        "input": exc.subject,
        "message_zh": exc.message_zh,
        "message_en": exc.message_en,
    }
    if exc.detail != exc.message_en:
        extra["explanation"] = exc.detail
    if verification_id is not None:
        extra["verification_id"] = str(verification_id)
    return FaceCheckFailed(
        f"{prefix}{exc.message_zh} / {exc.message_en}",
        code=exc.code,
        status=exc.status,
        extra=extra,
    )


def busy_problem(exc: PoolBusy) -> TooManyRequests:
    return TooManyRequests(
        f"人脸核验繁忙，请{exc.retry_after_s}秒后重试 / face verification is busy; "
        f"retry in {exc.retry_after_s} s",
        retry_after_s=exc.retry_after_s,
        code=PoolBusy.code,
    )


@dataclass(frozen=True, slots=True)
class IssuedChallenge:
    challenge: LivenessChallenge
    nonce: str
    actions: tuple[Action, Action]


@dataclass(frozen=True, slots=True)
class LivenessMedia:
    """What the client filmed: a clip, or a sequence of still frames (encoded images)."""

    clip: bytes | None = None
    frames: Sequence[bytes] = ()


@dataclass(frozen=True, slots=True)
class PresenceGrant:
    verification: FaceVerification
    access_token: str
    expires_in: int
    verified_at: datetime
    valid_until: datetime


def _now() -> datetime:
    return datetime.now(UTC)


def _nonce_hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def _decode_frames(frames: Sequence[bytes]) -> list[RGBImage]:
    images = []
    for data in frames:
        try:
            images.append(engine.load_image(data, max_side=liveness.PROCESS_MAX_SIDE))
        except FaceError as exc:
            exc.subject = "frame"
            raise
    return images


def _liveness_job(
    media: LivenessMedia, actions: tuple[Action, Action], mirrored: bool
) -> LivenessResult:
    """Decode and check in one pool job (blocking)."""
    if media.clip is not None:
        try:
            frames = video.decode_clip(media.clip)
        except FaceError as exc:
            exc.subject = "clip"
            raise
    else:
        frames = _decode_frames(media.frames)
    return liveness.check_liveness(frames, actions, mirrored=mirrored)


class FaceService:
    """Face checks for one application: the pool, the identity dependencies and the rules.

    With ``processes`` (a factory of process executors), each pool job only hands its work to a
    worker process and waits: dlib's face encoder holds the GIL for its whole run (~100 ms per
    face; measured: two threads encode no faster than one, and a thread that needs the GIL waits
    the whole time), which in threads would stall the event loop, and every cheap request with
    it, for each encoding. The pool still decides admission (429 with Retry-After) and bounds
    the work in flight.
    """

    def __init__(
        self,
        deps: IdentityDeps,
        pool: FacePool,
        processes: Callable[[], Executor] | None = None,
    ) -> None:
        self.deps = deps
        self.pool = pool
        self._new_processes = processes
        self.processes = processes() if processes is not None else None
        self._restart_lock = threading.Lock()

    async def aclose(self) -> None:
        """Refuse new jobs, wait for the running ones, stop the worker processes."""
        await self.pool.aclose()
        if self.processes is not None:
            await asyncio.to_thread(self.processes.shutdown, wait=True, cancel_futures=True)

    def _job(self, job: Callable[[], A]) -> Callable[[], A]:
        if self.processes is None:
            return job
        return functools.partial(self._in_process, job)

    def _in_process(self, job: Callable[[], A]) -> A:
        """Run ``job`` in a worker process and wait for it (in a pool thread; the wait releases
        the GIL). A worker that died (killed, out of memory) breaks its executor for good: a new
        one replaces it, and this request is answered 503."""
        processes = self.processes
        assert processes is not None and self._new_processes is not None
        try:
            return processes.submit(job).result()
        except BrokenProcessPool:
            with self._restart_lock:
                if self.processes is processes:
                    self.processes = self._new_processes()
                    processes.shutdown(wait=False, cancel_futures=True)
            raise ServiceUnavailable(
                "人脸核验服务重启中，请稍后重试 / the face worker stopped; retry in a moment",
                code="face_worker_restarted",
                headers={"Retry-After": "2"},
            ) from None

    # ------------------------------------------------------------------ before any upload

    @staticmethod
    def _lock_key(account_id: UUID) -> str:
        return f"face_failures:{account_id}"

    async def ensure_may_attempt(self, account_id: UUID) -> None:
        """Separate biometric consent (PIPL Art. 29) and no lockout: checked before a single byte
        of face data is read."""
        await require_consent(account_id, ConsentPurpose.BIOMETRIC_FACE)
        await self.deps.limiter.ensure_not_locked(
            self._lock_key(account_id),
            limit=FAILURE_LIMIT,
            window_s=FAILURE_WINDOW_S,
            what="failed face checks",
        )

    def ensure_capacity(self) -> None:
        """Refuse at once while the pool is full, before the client sends megabytes for nothing.
        (A hint only: the jobs themselves are admitted by the pool.)"""
        if self.pool.in_flight >= self.pool.capacity:
            raise busy_problem(PoolBusy(self.pool.retry_after()))

    async def before_photo_match(self, account_id: UUID) -> RealName:
        """Checks for the real-name photo match: consent, lockout, a real-name record (pending,
        or verified with a bound portrait for a re-check) and a free pool slot."""
        await self.ensure_may_attempt(account_id)
        record = await RealName.filter(account_id=account_id).first()
        if record is None:
            raise ValidationFailed(
                "submit your name and ID number first / 请先提交实名信息",
                code="realname_required",
            )
        if record.status == RealNameStatus.VERIFIED.value:
            await self.reference_of(account_id, record)
        self.ensure_capacity()
        return record

    async def before_presence(self, account_id: UUID) -> str:
        """Checks for a liveness challenge and its upload; returns the bound reference digest."""
        await self.ensure_may_attempt(account_id)
        record = await RealName.filter(account_id=account_id).first()
        if record is None or record.status != RealNameStatus.VERIFIED.value:
            raise ValidationFailed(
                "verify your real name first, by face match or in person / "
                "请先完成实名认证（人脸比对或线下核验）",
                code="realname_not_verified",
                extra=ALTERNATIVE,
            )
        return await self.reference_of(account_id, record)

    async def reference_of(self, account_id: UUID, record: RealName) -> str:
        row = (
            await FaceVerification.filter(
                account_id=account_id,
                purpose=FacePurpose.REALNAME.value,
                result=FaceResult.MATCH.value,
                reference_digest__isnull=False,
            )
            .order_by("-created_at")
            .first()
        )
        if row is None or row.reference_digest is None:
            how = "in person" if record.method == VerificationMethod.IN_PERSON.value else "earlier"
            raise ValidationFailed(
                f"your identity was verified {how} without a face match to keep (or the face "
                "consent was withdrawn since), so there is no ID portrait to check your face "
                f"against; {IN_PERSON_ALTERNATIVE_EN} / 您的实名认证未留存人脸比对依据，"
                f"无法进行人脸核验；{IN_PERSON_ALTERNATIVE_ZH}",
                code="face_reference_required",
                extra=ALTERNATIVE,
            )
        return row.reference_digest

    def reference_digest(self, id_portrait: bytes) -> str:
        return self.deps.cipher.lookup_hash(
            hashlib.sha256(id_portrait).hexdigest(), context=REFERENCE_CONTEXT
        )

    # ------------------------------------------------------------------ pool

    def _start(
        self, first: Callable[[], A], second: Callable[[], B]
    ) -> tuple[Future[A], Future[B]]:
        """Start two pool jobs, or neither: 429 when the pool cannot take both."""
        try:
            a = self.pool.submit(self._job(first))
        except PoolBusy as exc:
            raise busy_problem(exc) from None
        try:
            b = self.pool.submit(self._job(second))
        except PoolBusy as exc:
            a.cancel()  # only succeeds while it waits for a worker; else it just runs out
            raise busy_problem(exc) from None
        return a, b

    @staticmethod
    async def _both(jobs: tuple[Future[A], Future[B]]) -> tuple[A, B]:
        """Await two pool jobs; the first failure (in argument order) is raised once both ended,
        so a request never leaves with one of its jobs still running unnoticed."""
        first: asyncio.Future[A] = asyncio.wrap_future(jobs[0])
        second: asyncio.Future[B] = asyncio.wrap_future(jobs[1])
        a, b = await asyncio.gather(first, second, return_exceptions=True)
        if isinstance(a, BaseException):
            raise a
        if isinstance(b, BaseException):
            raise b
        return a, b

    # ------------------------------------------------------------------ decisions

    async def _decide(
        self,
        account_id: UUID,
        actor: Actor,
        *,
        purpose: FacePurpose,
        result: FaceResult,
        method: str,
        reason_code: str | None = None,
        failed_input: str | None = None,
        verdict: Verdict | None = None,
        liveness_result: LivenessResult | None = None,
        challenge_id: UUID | None = None,
        reference_digest: str | None = None,
        mark_realname: bool = False,
    ) -> FaceVerification:
        """Record one decision with its audit event (one transaction); count a failure."""
        async with in_transaction() as conn:
            row = await FaceVerification.create(
                id=uuid4(),
                account_id=account_id,
                purpose=purpose.value,
                result=result.value,
                reason_code=reason_code,
                failed_input=failed_input,
                distance=round(verdict.distance, 4) if verdict else None,
                threshold=verdict.threshold if verdict else None,
                method=method,
                liveness_passed=liveness_result.passed if liveness_result else None,
                liveness_reason=liveness_result.reason_code if liveness_result else None,
                challenge_id=challenge_id,
                reference_digest=reference_digest,
                created_at=_now(),
                using_db=conn,
            )
            if mark_realname:
                await mark_verified(conn, self.deps, account_id, VerificationMethod.FACE, actor)
            # The decision and its measures only: no images, encodings, ID numbers or digests.
            await self.deps.audit.record(
                conn,
                actor,
                "identity.face_checked",
                "account",
                str(account_id),
                {
                    "verification_id": str(row.id),
                    "purpose": purpose.value,
                    "result": result.value,
                    "reason_code": reason_code,
                    "input": failed_input,
                    "distance": f"{verdict.distance:.4f}" if verdict else None,
                    "threshold": f"{verdict.threshold:.2f}" if verdict else None,
                    "method": method,
                    "liveness_reason": liveness_result.reason_code if liveness_result else None,
                    "challenge_id": str(challenge_id) if challenge_id else None,
                    "realname_verified": mark_realname,
                },
            )
        if result in _COUNTED:
            # This failure may be the one that locks the account: the lockout then applies to
            # the next attempt, and this answer still says why this one failed.
            try:
                await self.deps.limiter.hit(
                    self._lock_key(account_id),
                    limit=FAILURE_LIMIT,
                    window_s=FAILURE_WINDOW_S,
                    what="failed face checks",
                )
            except TooManyRequests:
                pass
        return row

    async def _unusable(
        self,
        exc: FaceError,
        account_id: UUID,
        actor: Actor,
        purpose: FacePurpose,
        method: str,
        challenge_id: UUID | None = None,
    ) -> AppError:
        row = await self._decide(
            account_id,
            actor,
            purpose=purpose,
            result=FaceResult.UNUSABLE,
            method=method,
            reason_code=exc.code,
            failed_input=exc.subject,
            challenge_id=challenge_id,
        )
        return face_error_problem(exc, row.id)

    @staticmethod
    def _mismatch(row: FaceVerification) -> FaceCheckFailed:
        # The distance is not returned: it would help an attacker tune a forged photo.
        return FaceCheckFailed(
            "人脸与身份证人像不一致 / the face does not match the ID portrait; "
            f"{IN_PERSON_ALTERNATIVE_EN}",
            code="face_mismatch",
            extra={"verification_id": str(row.id), **ALTERNATIVE},
        )

    async def _reference_mismatch(
        self, account_id: UUID, actor: Actor, purpose: FacePurpose, challenge_id: UUID | None
    ) -> FaceCheckFailed:
        row = await self._decide(
            account_id,
            actor,
            purpose=purpose,
            result=FaceResult.REFERENCE_MISMATCH,
            method=PHOTO_METHOD if purpose is FacePurpose.REALNAME else LIVENESS_METHOD,
            failed_input="id_portrait",
            challenge_id=challenge_id,
        )
        return FaceCheckFailed(
            "请上传实名认证时使用的同一张身份证人像照片 / send the same ID-portrait file that "
            f"was accepted when your real name was verified; {IN_PERSON_ALTERNATIVE_EN}",
            code="face_reference_mismatch",
            extra={"verification_id": str(row.id), "input": "id_portrait", **ALTERNATIVE},
        )

    # ------------------------------------------------------------------ real-name photo match

    async def verify_photos(
        self,
        account_id: UUID,
        record: RealName,
        id_portrait: bytes,
        selfie: bytes,
        actor: Actor,
    ) -> FaceVerification:
        """Exactly one usable face in each photo, then the calibrated comparison. A match on a
        pending record verifies it (``VerificationMethod.FACE``) and binds the portrait; on a
        verified record it is a re-check against the bound portrait."""
        purpose = FacePurpose.REALNAME
        digest = self.reference_digest(id_portrait)
        pending = record.status != RealNameStatus.VERIFIED.value
        if not pending:
            bound = await self.reference_of(account_id, record)
            if not hmac.compare_digest(bound, digest):
                raise await self._reference_mismatch(account_id, actor, purpose, None)
        jobs = self._start(
            functools.partial(engine.analyse_photo, id_portrait, subject="id_portrait"),
            functools.partial(engine.analyse_photo, selfie, subject="selfie"),
        )
        try:
            reference, probe = await self._both(jobs)
        except FaceError as exc:
            raise await self._unusable(exc, account_id, actor, purpose, PHOTO_METHOD) from None
        verdict = engine.compare(reference, probe)
        if not verdict.match:
            row = await self._decide(
                account_id,
                actor,
                purpose=purpose,
                result=FaceResult.NO_MATCH,
                method=PHOTO_METHOD,
                verdict=verdict,
            )
            raise self._mismatch(row)
        return await self._decide(
            account_id,
            actor,
            purpose=purpose,
            result=FaceResult.MATCH,
            method=PHOTO_METHOD,
            verdict=verdict,
            reference_digest=digest if pending else None,
            mark_realname=pending,
        )

    # ------------------------------------------------------------------ liveness and presence

    async def create_challenge(self, account_id: UUID) -> IssuedChallenge:
        await self.deps.limiter.hit(
            f"face_challenges:{account_id}",
            limit=CHALLENGE_LIMIT,
            window_s=FAILURE_WINDOW_S,
            what="liveness challenges",
        )
        actions = liveness.new_challenge()
        nonce = secrets.token_urlsafe(24)
        now = _now()
        async with in_transaction() as conn:
            # Spent and expired challenges are worthless after a while; keep the table small.
            await (
                LivenessChallenge.filter(
                    account_id=account_id, expires_at__lt=now - timedelta(hours=1)
                )
                .using_db(conn)
                .delete()
            )
            challenge = await LivenessChallenge.create(
                id=uuid4(),
                account_id=account_id,
                nonce_hash=_nonce_hash(nonce),
                actions=",".join(a.value for a in actions),
                created_at=now,
                expires_at=now + timedelta(seconds=CHALLENGE_TTL_S),
                using_db=conn,
            )
        return IssuedChallenge(challenge, nonce, actions)

    async def consume_challenge(
        self, account_id: UUID, challenge_id: UUID, nonce: str
    ) -> tuple[Action, Action]:
        """Spend the challenge with one conditional UPDATE, so of two concurrent uses (in any
        processes) exactly one wins. A wrong nonce does not spend it."""
        now = _now()
        spent = await LivenessChallenge.filter(
            id=challenge_id,
            account_id=account_id,
            nonce_hash=_nonce_hash(nonce),
            used_at__isnull=True,
            expires_at__gt=now,
        ).update(used_at=now)
        challenge = await LivenessChallenge.get_or_none(id=challenge_id, account_id=account_id)
        if challenge is None:
            raise NotFound("no such liveness challenge / 活体检测挑战不存在")
        if spent == 1:
            first, second = (Action(a) for a in challenge.actions.split(","))
            return first, second
        if not hmac.compare_digest(challenge.nonce_hash, _nonce_hash(nonce)):
            raise Forbidden(
                "the nonce does not belong to this challenge / 挑战随机码不匹配",
                code="challenge_nonce_invalid",
            )
        if challenge.used_at is not None:
            raise Conflict(
                "this challenge was already used; request a new one / 该挑战已使用，请重新获取",
                code="challenge_used",
            )
        raise ChallengeExpired(
            f"the challenge expired after {CHALLENGE_TTL_S} s; request a new one / "
            "挑战已过期，请重新获取",
        )

    async def check_presence(
        self,
        principal: Principal,
        challenge_id: UUID,
        actions: tuple[Action, Action],
        reference_digest: str,
        id_portrait: bytes,
        media: LivenessMedia,
        mirrored: bool,
        actor: Actor,
    ) -> PresenceGrant:
        """Liveness on the frames, the best frame against the ID portrait, and on success a
        fresh access token for the same session carrying the presence time (``pvt``)."""
        account_id = principal.account_id
        purpose = FacePurpose.PRESENCE
        if not hmac.compare_digest(reference_digest, self.reference_digest(id_portrait)):
            raise await self._reference_mismatch(account_id, actor, purpose, challenge_id)
        jobs = self._start(
            functools.partial(engine.analyse_photo, id_portrait, subject="id_portrait"),
            functools.partial(_liveness_job, media, actions, mirrored),
        )
        try:
            reference, result = await self._both(jobs)
        except FaceError as exc:
            raise await self._unusable(
                exc, account_id, actor, purpose, LIVENESS_METHOD, challenge_id
            ) from None
        if not result.passed or result.best_face is None:
            row = await self._decide(
                account_id,
                actor,
                purpose=purpose,
                result=FaceResult.LIVENESS_FAILED,
                method=LIVENESS_METHOD,
                reason_code=result.reason_code,
                liveness_result=result,
                challenge_id=challenge_id,
            )
            raise FaceCheckFailed(
                f"{result.message_zh} / liveness check failed ({result.reason_code}); "
                f"{IN_PERSON_ALTERNATIVE_EN}",
                code="liveness_failed",
                extra={
                    "reason": result.reason_code,
                    "message_zh": result.message_zh,
                    "evidence": [e.to_dict() for e in result.evidence],
                    "verification_id": str(row.id),
                    **ALTERNATIVE,
                },
            )
        verdict = engine.compare(reference, result.best_face)
        row = await self._decide(
            account_id,
            actor,
            purpose=purpose,
            result=FaceResult.MATCH if verdict.match else FaceResult.NO_MATCH,
            method=LIVENESS_METHOD,
            verdict=verdict,
            liveness_result=result,
            challenge_id=challenge_id,
        )
        if not verdict.match:
            raise self._mismatch(row)
        # The claim has whole seconds: report exactly what the token says.
        verified_at = datetime.fromtimestamp(int(row.created_at.timestamp()), UTC)
        token, ttl = self.deps.auth.codec.issue(
            account_id, principal.session_id, presence_verified_at=verified_at
        )
        return PresenceGrant(
            verification=row,
            access_token=token,
            expires_in=ttl,
            verified_at=verified_at,
            valid_until=verified_at + timedelta(seconds=PRESENCE_MAX_AGE_S),
        )
