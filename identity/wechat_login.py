"""Sign-in with WeChat: a ``wx.login`` code becomes our own token pair.

The account is found by (appid, openid); failing that by unionid, which links a new openid (e.g.
from another of the court's mini-programs) to the person's existing account. ``session_key`` is
stored encrypted and never returned.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID, uuid4

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend.auth.models import Account
from backend.auth.principal import Actor, Role
from backend.auth.service import TokenPair
from identity.keys import IdentityDeps
from identity.models import WeChatIdentity
from identity.wechat_client import WeChatSession

SESSION_KEY_CONTEXT = "wechat_session_key"
NEW_ACCOUNT_NAME = "微信用户"
# Per client address, per minute: generous for a court's front desk behind one NAT.
LOGINS_PER_IP_PER_MINUTE = 30


@dataclass(frozen=True)
class WeChatLogin:
    tokens: TokenPair
    account_id: UUID
    is_new_account: bool


def pseudonym(deps: IdentityDeps, openid: str) -> str:
    """A short keyed hash of an openid for audit details: links events, reveals nothing."""
    return deps.cipher.lookup_hash(openid, context="wechat_openid")[:16]


async def _link(
    deps: IdentityDeps, session: WeChatSession, appid: str, actor: Actor
) -> tuple[Account, bool]:
    now = datetime.now(UTC)
    session_key = deps.cipher.encrypt(session.session_key, context=SESSION_KEY_CONTEXT)
    async with in_transaction() as conn:
        identity = (
            await WeChatIdentity.select_for_update()
            .using_db(conn)
            .filter(appid=appid, openid=session.openid)
            .first()
        )
        created = linked = False
        if identity is not None:
            identity.session_key_enc = session_key
            identity.last_login_at = now
            if session.unionid and identity.unionid != session.unionid:
                identity.unionid = session.unionid
            await identity.save(
                using_db=conn, update_fields=["session_key_enc", "last_login_at", "unionid"]
            )
            account = await Account.get(id=identity.account_id, using_db=conn)  # type: ignore[attr-defined]
        else:
            sibling = None
            if session.unionid:
                sibling = (
                    await WeChatIdentity.filter(unionid=session.unionid)
                    .using_db(conn)
                    .order_by("created_at")
                    .first()
                )
            if sibling is not None:
                account = await Account.get(id=sibling.account_id, using_db=conn)  # type: ignore[attr-defined]
                linked = True
            else:
                account = await Account.create(
                    id=uuid4(),
                    display_name=NEW_ACCOUNT_NAME,
                    roles=[Role.LITIGANT.value],
                    using_db=conn,
                )
                created = True
            await WeChatIdentity.create(
                id=uuid4(),
                account=account,
                appid=appid,
                openid=session.openid,
                unionid=session.unionid,
                session_key_enc=session_key,
                last_login_at=now,
                using_db=conn,
            )
        await deps.audit.record(
            conn,
            actor,
            "identity.wechat_login",
            "account",
            str(account.id),
            {
                "openid_ref": pseudonym(deps, session.openid),
                "new_account": created,
                "linked_by_unionid": linked,
                "has_unionid": session.unionid is not None,
            },
        )
    return account, created


async def wechat_login(
    deps: IdentityDeps, code: str, actor: Actor, client: str = ""
) -> WeChatLogin:
    ip_key = hashlib.sha256((actor.ip or "unknown").encode()).hexdigest()
    await deps.limiter.hit(
        f"identity:wechat-login:ip:{ip_key}",
        limit=LOGINS_PER_IP_PER_MINUTE,
        window_s=60,
        what="sign-in attempts",
    )
    session = await deps.wechat.code_to_session(code)
    try:
        account, created = await _link(deps, session, deps.wechat.appid, actor)
    except IntegrityError:
        # A concurrent first sign-in of the same user created the link; this one joins it.
        account, created = await _link(deps, session, deps.wechat.appid, actor)
    tokens = await deps.auth.start_session(account, actor, client=client, method="wechat")
    return WeChatLogin(tokens=tokens, account_id=account.id, is_new_account=created)
