"""Court staff sign-in: password (argon2id) plus a TOTP code (RFC 6238), with lockouts.

- A username that does not exist still costs one argon2 verification, against a dummy hash, so
  response time does not tell which usernames exist.
- TOTP: 30 s steps, one step of clock drift either way; a code is accepted only for a step later
  than the last accepted one, so a code seen over someone's shoulder cannot be replayed.
- 5 failures per username per 15 minutes lock that username; 20 per client address lock the
  address. Locked means refused even with the right password (429 ``locked_out``).
- First sign-in without TOTP: 403 ``totp_enrolment_required``; enrolment returns the secret once
  and takes effect when a first code confirms it. The secret is stored encrypted.
- Step-up: a signed-in staff member confirms a fresh code (same replay rule, same lockout
  counters) and gets an access token for the same session whose ``svt`` claim proves it for
  5 minutes; this is how a judge e-signs (staff have no real-name record for a face check).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pyotp
from tortoise.transactions import in_transaction

from backend.auth.models import Account
from backend.auth.passwords import hash_password, verify_password
from backend.auth.principal import COURT_STAFF, Actor, Principal, Role
from backend.auth.service import TokenPair
from backend.errors import Conflict, Forbidden, Unauthenticated
from identity.keys import IdentityDeps
from identity.models import StaffTotp
from identity.presence import PRESENCE_MAX_AGE_S

TOTP_CONTEXT = "staff_totp"
TOTP_STEP_S = 30
TOTP_DRIFT_STEPS = 1
TOTP_ISSUER = "移动微法院 Mobile Court"
FAILURES_PER_USERNAME = 5
FAILURES_PER_IP = 20
LOCK_WINDOW_S = 15 * 60
STAFF_ROLES = frozenset({*COURT_STAFF, Role.SYSTEM_ADMIN})


@functools.cache
def _dummy_hash() -> str:
    # Computed once per process; verifying against it costs what a real verification costs.
    return hash_password("not-a-real-password-" + "x" * 16)


@dataclass(frozen=True)
class StepUpGrant:
    access_token: str
    expires_in: int
    verified_at: datetime
    valid_until: datetime


@dataclass(frozen=True)
class Enrolment:
    secret: str
    provisioning_uri: str


def _invalid() -> Unauthenticated:
    return Unauthenticated(
        "wrong username, password or code / 用户名、密码或动态验证码错误",
        code="invalid_credentials",
    )


def _keys(username: str, ip: str | None) -> tuple[str, str]:
    user = hashlib.sha256(username.casefold().encode()).hexdigest()
    addr = hashlib.sha256((ip or "unknown").encode()).hexdigest()
    return f"identity:staff-fail:user:{user}", f"identity:staff-fail:ip:{addr}"


class StaffLogin:
    def __init__(self, deps: IdentityDeps, *, clock: Callable[[], float] = time.time) -> None:
        self.deps = deps
        self._clock = clock

    async def _ensure_not_locked(self, username: str, ip: str | None) -> None:
        user_key, ip_key = _keys(username, ip)
        await self.deps.limiter.ensure_not_locked(
            user_key, limit=FAILURES_PER_USERNAME, window_s=LOCK_WINDOW_S, what="failed sign-ins"
        )
        await self.deps.limiter.ensure_not_locked(
            ip_key, limit=FAILURES_PER_IP, window_s=LOCK_WINDOW_S, what="failed sign-ins"
        )

    async def _count_failure(self, username: str, ip: str | None) -> None:
        user_key, ip_key = _keys(username, ip)
        await self.deps.limiter.hit(
            user_key, limit=FAILURES_PER_USERNAME, window_s=LOCK_WINDOW_S, what="failed sign-ins"
        )
        await self.deps.limiter.hit(
            ip_key, limit=FAILURES_PER_IP, window_s=LOCK_WINDOW_S, what="failed sign-ins"
        )

    async def _fail(self, username: str, actor: Actor, reason: str) -> Unauthenticated:
        await self._count_failure(username, actor.ip)
        account = await Account.filter(username=username).first()
        async with in_transaction() as conn:
            await self.deps.audit.record(
                conn,
                actor,
                "identity.staff_login_failed",
                "account",
                str(account.id) if account else None,
                {"reason": reason},
            )
        return _invalid()

    async def _check_password(self, username: str, password: str, actor: Actor) -> Account:
        await self._ensure_not_locked(username, actor.ip)
        account = await Account.filter(username=username).first()
        stored = account.password_hash if account is not None else None
        # argon2 is deliberately slow: off the event loop.
        ok = await asyncio.to_thread(verify_password, stored or _dummy_hash(), password)
        if account is None or stored is None or not ok:
            raise await self._fail(username, actor, "password")
        if not any(r in STAFF_ROLES for r in account.roles):
            raise await self._fail(username, actor, "not_staff")
        return account

    def _matching_step(self, secret: str, code: str) -> int | None:
        totp = pyotp.TOTP(secret, interval=TOTP_STEP_S)
        current = int(self._clock() // TOTP_STEP_S)
        for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
            if hmac.compare_digest(totp.generate_otp(step), code):
                return step
        return None

    async def _accept_code(self, totp: StaffTotp, code: str) -> bool:
        secret = self.deps.cipher.decrypt(totp.secret_enc, context=TOTP_CONTEXT)
        step = self._matching_step(secret, code)
        if step is None:
            return False
        # Atomic: of two requests with the same code only one moves the step forward.
        return bool(
            await StaffTotp.filter(id=totp.id, last_used_step__lt=step).update(last_used_step=step)
        )

    async def login(
        self, username: str, password: str, code: str | None, actor: Actor
    ) -> TokenPair:
        account = await self._check_password(username, password, actor)
        totp = await StaffTotp.filter(account_id=account.id, confirmed_at__isnull=False).first()
        if totp is None:
            raise Forbidden(
                "set up your authenticator app first / 请先绑定动态验证码（身份验证器）",
                code="totp_enrolment_required",
                extra={"enrol": "/api/v1/identity/staff/totp/enrol"},
            )
        if not code:
            raise await self._fail(username, actor, "totp_missing")
        if not await self._accept_code(totp, code):
            raise await self._fail(username, actor, "totp")
        user_key, _ = _keys(username, actor.ip)
        await self.deps.limiter.reset(user_key)
        return await self.deps.auth.start_session(
            account, actor, client="staff-console", method="password+totp"
        )

    async def enrol(self, username: str, password: str, actor: Actor) -> Enrolment:
        account = await self._check_password(username, password, actor)
        secret = pyotp.random_base32()
        async with in_transaction() as conn:
            existing = (
                await StaffTotp.select_for_update()
                .using_db(conn)
                .filter(account_id=account.id)
                .first()
            )
            if existing is not None and existing.confirmed_at is not None:
                raise Conflict(
                    "an authenticator is already set up; ask an administrator to reset it / "
                    "已绑定身份验证器，如需更换请联系管理员",
                    code="totp_already_enrolled",
                )
            encrypted = self.deps.cipher.encrypt(secret, context=TOTP_CONTEXT)
            if existing is None:
                await StaffTotp.create(
                    id=uuid4(), account=account, secret_enc=encrypted, using_db=conn
                )
            else:
                existing.secret_enc = encrypted
                await existing.save(using_db=conn, update_fields=["secret_enc"])
            await self.deps.audit.record(
                conn, actor, "identity.totp_enrolment_started", "account", str(account.id), {}
            )
        uri = pyotp.TOTP(secret, interval=TOTP_STEP_S).provisioning_uri(
            name=username, issuer_name=TOTP_ISSUER
        )
        return Enrolment(secret=secret, provisioning_uri=uri)

    async def confirm(self, username: str, password: str, code: str, actor: Actor) -> None:
        account = await self._check_password(username, password, actor)
        totp = await StaffTotp.filter(account_id=account.id).first()
        if totp is None or totp.confirmed_at is not None:
            raise Conflict(
                "no authenticator set-up is waiting for confirmation / 没有待确认的身份验证器",
                code="totp_not_pending",
            )
        if not await self._accept_code(totp, code):
            raise await self._fail(username, actor, "totp")
        async with in_transaction() as conn:
            await StaffTotp.filter(id=totp.id).using_db(conn).update(confirmed_at=datetime.now(UTC))
            await self.deps.audit.record(
                conn, actor, "identity.totp_enrolled", "account", str(account.id), {}
            )

    async def step_up(self, principal: Principal, code: str, actor: Actor) -> StepUpGrant:
        """A fresh authenticator code from a signed-in staff member: a new access token for the
        same session carrying the step-up time (``svt``), valid for signing for 5 minutes."""
        account = await Account.get_or_none(id=principal.account_id)
        if account is None or not principal.is_court_staff or account.username is None:
            raise Forbidden(
                "仅法院工作人员可用动态验证码确认身份 / only court staff confirm with an "
                "authenticator code; parties and lawyers use a face check",
                code="not_court_staff",
            )
        username = account.username
        await self._ensure_not_locked(username, actor.ip)
        totp = await StaffTotp.filter(account_id=account.id, confirmed_at__isnull=False).first()
        if totp is None:
            raise Forbidden(
                "set up your authenticator app first / 请先绑定动态验证码（身份验证器）",
                code="totp_enrolment_required",
                extra={"enrol": "/api/v1/identity/staff/totp/enrol"},
            )
        if not await self._accept_code(totp, code):
            await self._count_failure(username, actor.ip)
            async with in_transaction() as conn:
                await self.deps.audit.record(
                    conn, actor, "identity.staff_step_up_failed", "account", str(account.id), {}
                )
            raise Forbidden(
                "动态验证码错误、已过期或已使用，请输入身份验证器上的最新验证码 / the "
                "authenticator code is wrong, expired or already used: enter the current one",
                code="step_up_code_invalid",
            )
        # The claim has whole seconds: report exactly what the token says.
        verified_at = datetime.fromtimestamp(int(self._clock()), UTC)
        async with in_transaction() as conn:
            await self.deps.audit.record(
                conn,
                actor,
                "identity.staff_step_up",
                "account",
                str(account.id),
                {"method": "totp", "session_id": str(principal.session_id)},
            )
        token, ttl = self.deps.auth.codec.issue(
            account.id, principal.session_id, step_up_verified_at=verified_at
        )
        return StepUpGrant(
            access_token=token,
            expires_in=ttl,
            verified_at=verified_at,
            valid_until=verified_at + timedelta(seconds=PRESENCE_MAX_AGE_S),
        )
