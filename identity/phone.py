"""Binding a mobile number: through WeChat's phone button, or by an SMS one-time code.

Numbers are stored encrypted with a keyed lookup hash and a masked copy (``138****5678``); codes
are stored as keyed hashes. Neither ever reaches a log, an audit record or a response.
"""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from backend.auth.principal import Actor
from backend.errors import BadRequest, TooManyRequests, ValidationFailed
from identity.consents import require_consent
from identity.keys import IdentityDeps
from identity.models import ConsentPurpose, PhoneBinding, PhoneSource, SmsOtp

PHONE_CONTEXT = "phone"
OTP_CONTEXT = "sms_otp"
OTP_TTL = timedelta(minutes=10)
OTP_DIGITS = 6
SEND_COOLDOWN = timedelta(seconds=60)  # one code per minute, per number and per account
SENDS_PER_DAY = 5  # per number and per account, over any 24 hours
WRONG_CODES_BEFORE_LOCK = 5
LOCK_WINDOW_S = 30 * 60
SENDS_PER_IP_PER_HOUR = 30

_MAINLAND_MOBILE = re.compile(r"(?:\+?86)?(1[3-9][0-9]{9})")


def normalise_mainland_mobile(raw: str) -> str:
    """``13812345678`` from ``138 1234 5678``, ``+8613812345678`` …; 422 otherwise."""
    compact = re.sub(r"[\s-]", "", raw)
    match = _MAINLAND_MOBILE.fullmatch(compact)
    if match is None:
        raise ValidationFailed(
            "not a mainland China mobile number / 请输入有效的中国大陆手机号码",
            code="invalid_phone",
            errors=[
                {
                    "location": "body",
                    "field": "phone",
                    "message": "expected 11 digits starting 13-19, optionally +86",
                    "type": "invalid_phone",
                }
            ],
        )
    return match.group(1)


def mask_phone(phone: str) -> str:
    """``138****5678`` for a mainland mobile; first 3 and last 2 kept for anything else."""
    if len(phone) == 11 and phone.isdigit():
        return phone[:3] + "****" + phone[7:]
    if len(phone) <= 5:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 5) + phone[-2:]


def _phone_hash(deps: IdentityDeps, phone: str) -> str:
    return deps.cipher.lookup_hash(phone, context=PHONE_CONTEXT)


def _code_hash(deps: IdentityDeps, otp_id: UUID, code: str) -> str:
    # Keyed and bound to the row: a database reader cannot try the 10^6 codes offline.
    return deps.cipher.lookup_hash(f"{otp_id}:{code}", context=OTP_CONTEXT)


async def bind_phone(
    deps: IdentityDeps,
    account_id: UUID,
    phone: str,
    source: PhoneSource,
    actor: Actor,
    *,
    country_code: str = "86",
) -> PhoneBinding:
    async with in_transaction() as conn:
        return await _bind_phone(conn, deps, account_id, phone, source, actor, country_code)


async def _bind_phone(
    conn: BaseDBAsyncClient,
    deps: IdentityDeps,
    account_id: UUID,
    phone: str,
    source: PhoneSource,
    actor: Actor,
    country_code: str = "86",
) -> PhoneBinding:
    now = datetime.now(UTC)
    values = {
        "phone_enc": deps.cipher.encrypt(phone, context=PHONE_CONTEXT),
        "phone_hash": _phone_hash(deps, phone),
        "phone_masked": mask_phone(phone),
        "country_code": country_code,
        "source": source.value,
        "verified_at": now,
    }
    binding = (
        await PhoneBinding.select_for_update().using_db(conn).filter(account_id=account_id).first()
    )
    replaced = binding is not None
    if binding is None:
        binding = await PhoneBinding.create(
            id=uuid4(), account_id=account_id, using_db=conn, **values
        )
    else:
        binding.update_from_dict(values)
        await binding.save(using_db=conn)
    await deps.audit.record(
        conn,
        actor,
        "identity.phone_bound",
        "account",
        str(account_id),
        {"method": source.value, "replaced": replaced},
    )
    return binding


async def bind_phone_from_wechat(
    deps: IdentityDeps, account_id: UUID, code: str, actor: Actor
) -> PhoneBinding:
    await require_consent(account_id, ConsentPurpose.PERSONAL_INFO)
    info = await deps.wechat.phone_number(code)
    if info.watermark_appid != deps.wechat.appid:
        # The number was released to another mini-program: a replayed or forged answer.
        raise BadRequest(
            "the phone number was not issued for this mini-program / 手机号授权来源不正确",
            code="wechat_watermark_mismatch",
        )
    phone = info.pure_phone_number
    if info.country_code != "86":
        phone = f"+{info.country_code}{info.pure_phone_number}"
    return await bind_phone(
        deps, account_id, phone, PhoneSource.WECHAT, actor, country_code=info.country_code
    )


def _as_datetime(value: object) -> datetime:
    assert isinstance(value, datetime)
    return value


def _lock_keys(account_id: UUID, phone_hash: str) -> tuple[str, str]:
    return f"identity:otp-fail:acct:{account_id}", f"identity:otp-fail:phone:{phone_hash}"


async def send_sms_code(deps: IdentityDeps, account_id: UUID, raw_phone: str, actor: Actor) -> int:
    """Send a one-time code to ``raw_phone``; the code's lifetime in seconds."""
    await require_consent(account_id, ConsentPurpose.PERSONAL_INFO)
    phone = normalise_mainland_mobile(raw_phone)
    phone_hash = _phone_hash(deps, phone)
    for key in _lock_keys(account_id, phone_hash):
        await deps.limiter.ensure_not_locked(
            key, limit=WRONG_CODES_BEFORE_LOCK, window_s=LOCK_WINDOW_S, what="wrong codes"
        )
    now = datetime.now(UTC)
    # Exact sliding limits from the codes already sent (fixed windows would allow two sends
    # one second apart across a window boundary).
    recent = (
        await SmsOtp.filter(created_at__gt=now - timedelta(days=1))
        .filter(account_id=account_id)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
    )
    recent_phone = (
        await SmsOtp.filter(created_at__gt=now - timedelta(days=1), phone_hash=phone_hash)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
    )
    for sent in (list(map(_as_datetime, recent)), list(map(_as_datetime, recent_phone))):
        if sent and now - sent[0] < SEND_COOLDOWN:
            wait = SEND_COOLDOWN - (now - sent[0])
            raise TooManyRequests(
                "a code was sent less than a minute ago / 验证码发送过于频繁，请稍后再试",
                retry_after_s=int(wait.total_seconds()) + 1,
                code="otp_cooldown",
            )
        if len(sent) >= SENDS_PER_DAY:
            oldest = min(sent)
            wait = oldest + timedelta(days=1) - now
            raise TooManyRequests(
                "too many codes today / 今日验证码发送次数已达上限",
                retry_after_s=int(wait.total_seconds()) + 1,
                code="otp_daily_limit",
            )
    if actor.ip:
        await deps.limiter.hit(
            f"identity:otp-send:ip:{deps.cipher.lookup_hash(actor.ip, context='ip')}",
            limit=SENDS_PER_IP_PER_HOUR,
            window_s=3600,
            what="codes from this address",
        )
    code = f"{secrets.randbelow(10**OTP_DIGITS):0{OTP_DIGITS}d}"
    await deps.sms.send(phone, "otp", {"code": code, "minutes": int(OTP_TTL.total_seconds() // 60)})
    otp_id = uuid4()
    sent_at = datetime.now(UTC)
    async with in_transaction() as conn:
        # A new code replaces any earlier one for this number.
        await (
            SmsOtp.filter(account_id=account_id, phone_hash=phone_hash, used_at__isnull=True)
            .using_db(conn)
            .update(used_at=sent_at)
        )
        await SmsOtp.create(
            id=otp_id,
            account_id=account_id,
            phone_hash=phone_hash,
            code_hash=_code_hash(deps, otp_id, code),
            created_at=sent_at,
            expires_at=sent_at + OTP_TTL,
            using_db=conn,
        )
        await deps.audit.record(
            conn, actor, "identity.otp_sent", "account", str(account_id), {"channel": "sms"}
        )
    return int(OTP_TTL.total_seconds())


async def verify_sms_code(
    deps: IdentityDeps, account_id: UUID, raw_phone: str, code: str, actor: Actor
) -> PhoneBinding:
    phone = normalise_mainland_mobile(raw_phone)
    phone_hash = _phone_hash(deps, phone)
    lock_keys = _lock_keys(account_id, phone_hash)
    for key in lock_keys:
        await deps.limiter.ensure_not_locked(
            key, limit=WRONG_CODES_BEFORE_LOCK, window_s=LOCK_WINDOW_S, what="wrong codes"
        )
    now = datetime.now(UTC)
    otp = (
        await SmsOtp.filter(account_id=account_id, phone_hash=phone_hash, used_at__isnull=True)
        .order_by("-created_at")
        .first()
    )
    valid = (
        otp is not None
        and otp.expires_at > now
        and hmac.compare_digest(otp.code_hash, _code_hash(deps, otp.id, code))
    )
    claimed = False
    binding: PhoneBinding | None = None
    if otp is not None and valid:
        async with in_transaction() as conn:
            # Single use even under concurrent verifies: only one request flips used_at; the
            # code is spent and the number bound in one transaction.
            claimed = bool(
                await SmsOtp.filter(id=otp.id, used_at__isnull=True)
                .using_db(conn)
                .update(used_at=now)
            )
            if claimed:
                binding = await _bind_phone(conn, deps, account_id, phone, PhoneSource.SMS, actor)
    if binding is None:
        if otp is not None:
            await SmsOtp.filter(id=otp.id).update(attempts=otp.attempts + 1)
        for key in lock_keys:
            await deps.limiter.hit(
                key, limit=WRONG_CODES_BEFORE_LOCK, window_s=LOCK_WINDOW_S, what="wrong codes"
            )
        if otp is not None and otp.expires_at <= now:
            raise BadRequest(
                "the code has expired; ask for a new one / 验证码已过期，请重新获取",
                code="otp_expired",
            )
        raise BadRequest(
            "the code is wrong or already used / 验证码错误或已使用", code="otp_invalid"
        )
    for key in lock_keys:
        await deps.limiter.reset(key)
    return binding
