"""Sessions and tokens: issue, authenticate, refresh (rotating, reuse-detecting), revoke."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from backend.audit.service import AuditLog
from backend.auth.models import Account, AccountStatus, AuthSession, RefreshToken
from backend.auth.principal import Actor, Principal, Role
from backend.auth.session_cache import SessionCache, SessionState, broadcast
from backend.auth.tokens import TokenCodec
from backend.db import Database, as_datetime, as_json
from backend.errors import NotFound, Unauthenticated


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    session_id: UUID


def _hash_refresh(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def roles_of(raw: object) -> frozenset[Role]:
    if not isinstance(raw, list):
        return frozenset()
    return frozenset(Role(r) for r in raw if r in Role._value2member_map_)


class AuthService:
    def __init__(
        self,
        codec: TokenCodec,
        audit: AuditLog,
        database: Database,
        sessions: SessionCache,
        *,
        refresh_ttl_s: int,
    ) -> None:
        self.codec = codec
        self.audit = audit
        self.database = database
        self.sessions = sessions
        self.refresh_ttl = timedelta(seconds=refresh_ttl_s)

    async def start_session(
        self, account: Account, actor: Actor, *, client: str = "", method: str = "unknown"
    ) -> TokenPair:
        """Sign an account in: a new refresh-token family plus an access token."""
        if account.status is not AccountStatus.ACTIVE:
            raise Unauthenticated("this account is disabled", code="account_disabled")
        refresh = secrets.token_urlsafe(32)
        async with in_transaction() as conn:
            session = await AuthSession.create(
                id=uuid4(),
                account=account,
                expires_at=datetime.now(UTC) + self.refresh_ttl,
                client=client[:120],
                using_db=conn,
            )
            await RefreshToken.create(
                session=session, token_hash=_hash_refresh(refresh), using_db=conn
            )
            await self.audit.record(
                conn,
                actor,
                "auth.login",
                "account",
                str(account.id),
                {"session_id": str(session.id), "method": method},
            )
        access, ttl = self.codec.issue(account.id, session.id)
        return TokenPair(access, refresh, ttl, session.id)

    async def authenticate(self, access_token: str) -> Principal:
        """Verify the token, then its session and account: revocation applies at once."""
        claims = self.codec.verify(access_token)
        state = self.sessions.get(claims.session_id)
        if state is None:
            state = await self._load_session(claims.session_id)
            self.sessions.put(claims.session_id, state)
        if state.account_id != claims.subject:
            raise Unauthenticated("token does not match its session", code="invalid_token")
        if state.expires_at <= datetime.now(UTC):
            self.sessions.evict_session(claims.session_id)
            raise Unauthenticated("session expired; sign in again", code="session_expired")
        return Principal(
            account_id=claims.subject,
            roles=state.roles,
            session_id=claims.session_id,
            court_code=state.court_code,
            presence_verified_at=claims.presence_verified_at,
            step_up_verified_at=claims.step_up_verified_at,
        )

    async def _load_session(self, session_id: UUID) -> SessionState:
        # Raw SQL: on this hot path the ORM's query building costs more than the query.
        rows = await self.database.read(
            "SELECT s.account_id, s.revoked_at, s.expires_at, a.status, a.roles, a.court_code "
            "FROM auth_session s JOIN account a ON a.id = s.account_id WHERE s.id = ?",
            self.database.uuid_param(session_id),
        )
        if not rows:
            raise Unauthenticated("session not found", code="session_revoked")
        row = rows[0]
        if row["revoked_at"] is not None:
            raise Unauthenticated("you have signed out; sign in again", code="session_revoked")
        if row["status"] != AccountStatus.ACTIVE:
            raise Unauthenticated("this account is disabled", code="account_disabled")
        return SessionState(
            account_id=UUID(str(row["account_id"])),
            roles=roles_of(as_json(row["roles"])),
            court_code=row["court_code"],
            expires_at=as_datetime(row["expires_at"]),
        )

    async def revoked(
        self,
        conn: BaseDBAsyncClient,
        *,
        session_id: UUID | None = None,
        account_id: UUID | None = None,
    ) -> None:
        """Call inside the transaction that revoked a session or changed an account (status,
        roles): this process forgets it now, the others when the transaction commits."""
        if session_id is not None:
            self.sessions.evict_session(session_id)
            await broadcast(conn, f"s:{session_id}")
        if account_id is not None:
            self.sessions.evict_account(account_id)
            await broadcast(conn, f"a:{account_id}")

    async def refresh(self, refresh_token: str, actor: Actor) -> TokenPair:
        """Rotate: the presented token is spent and a new one issued in the same family.

        Presenting a spent token means it was copied: the whole family is revoked, so both the
        thief and the victim must sign in again.
        """
        token_hash = _hash_refresh(refresh_token)
        reuse_detected = False
        async with in_transaction() as conn:
            token = await (
                RefreshToken.select_for_update()
                .using_db(conn)
                .filter(token_hash=token_hash)
                .first()
            )
            if token is None:
                raise Unauthenticated("unknown refresh token", code="invalid_refresh_token")
            # Locking the token row alone serialises concurrent refreshes of the same token.
            session = await (
                AuthSession.filter(id=token.session_id)  # type: ignore[attr-defined]
                .using_db(conn)
                .select_related("account")
                .get()
            )
            now = datetime.now(UTC)
            if token.used_at is not None:
                reuse_detected = True
                if session.revoked_at is None:
                    session.revoked_at, session.revoke_reason = now, "refresh_reuse"
                    await session.save(using_db=conn, update_fields=["revoked_at", "revoke_reason"])
                    await self.revoked(conn, session_id=session.id)
                    await self.audit.record(
                        conn,
                        actor,
                        "auth.refresh_reuse_detected",
                        "account",
                        str(session.account.id),
                        {"session_id": str(session.id)},
                    )
            elif session.revoked_at is not None:
                raise Unauthenticated("session revoked; sign in again", code="session_revoked")
            elif session.expires_at <= now:
                raise Unauthenticated("session expired; sign in again", code="session_expired")
            elif session.account.status is not AccountStatus.ACTIVE:
                raise Unauthenticated("this account is disabled", code="account_disabled")
            else:
                token.used_at = now
                await token.save(using_db=conn, update_fields=["used_at"])
                new_refresh = secrets.token_urlsafe(32)
                await RefreshToken.create(
                    session=session, token_hash=_hash_refresh(new_refresh), using_db=conn
                )
        if reuse_detected:
            raise Unauthenticated(
                "refresh token already used; every session of this sign-in is revoked",
                code="refresh_token_reused",
            )
        access, ttl = self.codec.issue(session.account.id, session.id)
        return TokenPair(access, new_refresh, ttl, session.id)

    async def logout(self, principal: Principal, actor: Actor) -> None:
        async with in_transaction() as conn:
            updated = (
                await AuthSession.filter(id=principal.session_id, revoked_at__isnull=True)
                .using_db(conn)
                .update(revoked_at=datetime.now(UTC), revoke_reason="logout")
            )
            if updated:
                await self.revoked(conn, session_id=principal.session_id)
                await self.audit.record(
                    conn,
                    actor,
                    "auth.logout",
                    "account",
                    principal.subject,
                    {"session_id": str(principal.session_id)},
                )

    async def set_account_status(
        self, account_id: UUID, status: AccountStatus, actor: Actor, reason: str
    ) -> Account:
        """Disable (revoking every session at once) or re-enable an account."""
        async with in_transaction() as conn:
            account = await Account.select_for_update().using_db(conn).get_or_none(id=account_id)
            if account is None:
                raise NotFound("no such account")
            now = datetime.now(UTC)
            account.status = status
            account.disabled_at = now if status is AccountStatus.DISABLED else None
            await account.save(using_db=conn, update_fields=["status", "disabled_at", "updated_at"])
            revoked = 0
            if status is AccountStatus.DISABLED:
                revoked = (
                    await AuthSession.filter(account_id=account_id, revoked_at__isnull=True)
                    .using_db(conn)
                    .update(revoked_at=now, revoke_reason="account_disabled")
                )
            await self.revoked(conn, account_id=account_id)
            await self.audit.record(
                conn,
                actor,
                "account.disabled" if status is AccountStatus.DISABLED else "account.enabled",
                "account",
                str(account_id),
                {"reason": reason[:200], "sessions_revoked": revoked},
            )
        return account
