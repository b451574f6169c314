"""Step-up presence: proof that the signed-in person passed a face check moments ago.

Online Litigation Rules Art. 7: identity is re-verified before mediation, evidence exchange and
hearings. Signing a document, e-signing, entering a hearing stage or a video lobby therefore needs
a face check (liveness + match against the ID portrait) no older than :data:`PRESENCE_MAX_AGE_S`.
A passed check returns a fresh access token for the same session whose ``pvt`` claim is the time
of the check; :class:`backend.auth.principal.Principal` carries it as ``presence_verified_at``.

Other domains call, in their handler::

    from identity.presence import require_recent_presence

    require_recent_presence(require_principal(request))  # 403 presence_required otherwise

The claim lives only in access tokens: refreshing the session issues a token without it, so a
stolen refresh token never carries presence. Face recognition is never the only way
(face-recognition security measures, 2025): the problem detail tells people who cannot or will not
use it that court staff can check them in person instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from backend.auth.principal import Principal
from backend.errors import Forbidden

PRESENCE_MAX_AGE_S = 300
#: A check time this far in the future (clock skew between servers) is still believed.
CLOCK_SKEW_S = 5
FACE_CHECK_PATH = "/api/v1/identity/face/liveness/challenges"

IN_PERSON_ALTERNATIVE_ZH = (
    "人脸识别不是唯一方式：无法或不愿使用人脸识别的，可由法院工作人员当面核验身份"
)
IN_PERSON_ALTERNATIVE_EN = (
    "face recognition is not the only way: court staff can check your identity in person instead"
)


@dataclass(frozen=True, slots=True)
class Presence:
    verified_at: datetime
    valid_until: datetime
    max_age_s: int


def presence_of(
    principal: Principal, max_age_s: int = PRESENCE_MAX_AGE_S, *, now: datetime | None = None
) -> Presence | None:
    """The principal's presence if it is at most ``max_age_s`` old, else None."""
    verified_at = principal.presence_verified_at
    if verified_at is None:
        return None
    current = now or datetime.now(UTC)
    age = (current - verified_at).total_seconds()
    if age > max_age_s or age < -CLOCK_SKEW_S:
        return None
    return Presence(verified_at, verified_at + timedelta(seconds=max_age_s), max_age_s)


def require_recent_presence(
    principal: Principal, max_age_s: int = PRESENCE_MAX_AGE_S, *, now: datetime | None = None
) -> Presence:
    """403 ``presence_required`` unless the principal passed a face check in the last
    ``max_age_s`` seconds (default 5 minutes)."""
    presence = presence_of(principal, max_age_s, now=now)
    if presence is not None:
        return presence
    stale = principal.presence_verified_at is not None
    why_zh = "人脸核验已超过有效期" if stale else "尚未进行人脸核验"
    why_en = "your last face check is too old" if stale else "no recent face check"
    minutes = max(1, max_age_s // 60)
    raise Forbidden(
        f"此操作需要{minutes}分钟内的人脸核验（{why_zh}），请先完成活体检测；"
        f"{IN_PERSON_ALTERNATIVE_ZH} / This step needs a face check from the last {max_age_s} s "
        f"({why_en}): complete a liveness check first; {IN_PERSON_ALTERNATIVE_EN}.",
        code="presence_required",
        extra={
            "max_age_s": max_age_s,
            "face_check": FACE_CHECK_PATH,
            "alternative": "in_person",
        },
    )


STAFF_STEP_UP_PATH = "/api/v1/identity/staff/step-up"


@dataclass(frozen=True, slots=True)
class StepUp:
    """A fresh re-authentication before signing: ``method`` is "face" (a liveness face check,
    parties and lawyers) or "totp" (an authenticator code, court staff)."""

    verified_at: datetime
    method: str


def _fresh(at: datetime | None, max_age_s: int, now: datetime) -> bool:
    if at is None:
        return False
    age = (now - at).total_seconds()
    return -CLOCK_SKEW_S <= age <= max_age_s


def require_signing_step_up(
    principal: Principal, max_age_s: int = PRESENCE_MAX_AGE_S, *, now: datetime | None = None
) -> StepUp:
    """The step-up a signature needs. Parties and lawyers: a face check from the last
    ``max_age_s`` seconds (``presence_required`` otherwise). Court staff have no real-name
    record to match a face against, so a fresh authenticator code (POST
    :data:`STAFF_STEP_UP_PATH`) stands in; a face check, should they have one, also counts."""
    current = now or datetime.now(UTC)
    if not principal.is_court_staff:
        checked = require_recent_presence(principal, max_age_s, now=current)
        return StepUp(checked.verified_at, "face")
    step_up_at = principal.step_up_verified_at
    if step_up_at is not None and _fresh(step_up_at, max_age_s, current):
        return StepUp(step_up_at, "totp")
    presence = presence_of(principal, max_age_s, now=current)
    if presence is not None:
        return StepUp(presence.verified_at, "face")
    stale = step_up_at is not None
    why_zh = "上次确认已超过有效期" if stale else "尚未确认"
    why_en = "your last confirmation is too old" if stale else "no recent confirmation"
    minutes = max(1, max_age_s // 60)
    raise Forbidden(
        f"签名前须在{minutes}分钟内输入身份验证器动态验证码确认身份（{why_zh}） / "
        f"Signing needs a fresh authenticator code from the last {max_age_s} s ({why_en}): "
        f"confirm one at {STAFF_STEP_UP_PATH} first.",
        code="step_up_required",
        extra={"max_age_s": max_age_s, "step_up": STAFF_STEP_UP_PATH, "method": "totp"},
    )
