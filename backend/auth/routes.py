"""/api/v1/auth/: token refresh, logout, who am I, account disable, the public key set."""

from __future__ import annotations

import functools
import json
from uuid import UUID

from aiohttp import web

from backend.appkeys import AUTH, DATABASE, KEYRING, POLICY
from backend.auth.models import Account, AccountStatus
from backend.auth.principal import ROLE_NAMES, Role
from backend.auth.schemas import AccountOut, JwkOut, JwksOut, RefreshIn, RoleOut, TokenPairOut
from backend.auth.service import TokenPair, roles_of
from backend.db import RowLookup, as_datetime
from backend.errors import NotFound
from backend.http import endpoint, json_datetime, request_actor, require_principal
from backend.schemas import Reason

routes = web.RouteTableDef()
TAGS = ("auth",)


def token_pair_out(pair: TokenPair) -> TokenPairOut:
    return TokenPairOut(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


ACCOUNT_ROW = RowLookup(
    "account", "id", "uuid", ("id", "display_name", "roles", "status", "court_code", "created_at")
)
_ROLE_OUT = {r: {"role": r.value, "display_name": ROLE_NAMES[r]} for r in Role}


@functools.lru_cache(maxsize=64)
def _roles_json(raw: str) -> tuple[dict[str, str], ...]:
    # The roles column as /me shows it; accounts share a handful of role sets, so each distinct
    # column text is parsed once (a pure function of the text, not a cache of any account).
    return tuple(_ROLE_OUT[r] for r in sorted(roles_of(json.loads(raw))))


def roles_out(raw: object) -> list[RoleOut]:
    return [RoleOut(role=r, display_name=ROLE_NAMES[r]) for r in sorted(roles_of(raw))]


def account_out(account: Account) -> AccountOut:
    return AccountOut(
        id=account.id,
        display_name=account.display_name,
        roles=[
            RoleOut(role=r, display_name=ROLE_NAMES[r]) for r in sorted(roles_of(account.roles))
        ],
        status=account.status.value,
        court_code=account.court_code,
        created_at=account.created_at,
    )


def parse_uuid(raw: str, what: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise NotFound(f"no such {what}") from None


@routes.post("/refresh")
@endpoint(
    "Exchange a refresh token for a new token pair (the old one is spent)",
    body=RefreshIn,
    response=TokenPairOut,
    public=True,
    tags=TAGS,
    errors=(401,),
)
async def refresh(request: web.Request, *, body: RefreshIn) -> TokenPairOut:
    pair = await request.config_dict[AUTH].refresh(body.refresh_token, request_actor(request))
    return token_pair_out(pair)


@routes.post("/logout")
@endpoint("Sign out: this session's tokens stop working on the next request", status=204, tags=TAGS)
async def logout(request: web.Request) -> None:
    await request.config_dict[AUTH].logout(require_principal(request), request_actor(request))


@routes.get("/me")
@endpoint("The signed-in account", response=AccountOut, tags=TAGS)
async def me(request: web.Request) -> web.Response:
    principal = require_principal(request)
    database = request.config_dict[DATABASE]
    # Polled by every client: a raw point read, since building the ORM query costs more than
    # running it.
    row = await database.read_row(ACCOUNT_ROW, database.uuid_param(principal.account_id))
    if row is None:
        raise NotFound("no such account")
    # AccountOut's JSON, built directly: validating a model only to serialise it again costs
    # more than the database read (tests/backend/test_auth.py checks the two agree).
    raw_roles = row["roles"]  # JSON text from both drivers
    body = {
        "id": str(row["id"]),
        "display_name": row["display_name"],
        "roles": _roles_json(raw_roles if isinstance(raw_roles, str) else json.dumps(raw_roles)),
        "status": row["status"],
        "court_code": row["court_code"],
        "created_at": json_datetime(as_datetime(row["created_at"])),
    }
    return web.Response(
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
        content_type="application/json",
    )


async def _set_status(request: web.Request, body: Reason, status: AccountStatus) -> AccountOut:
    principal = require_principal(request)
    account_id = parse_uuid(request.match_info["account_id"], "account")
    target = await Account.get_or_none(id=account_id)
    if target is None:
        raise NotFound("no such account")
    policy = request.config_dict[POLICY]
    action = "disable" if status is AccountStatus.DISABLED else "enable"
    is_staff = any(r in {Role.JUDGE, Role.CLERK} for r in target.roles)
    if not (is_staff and policy.permits(principal, action, "court_staff", target.court_code)):
        policy.check(principal, action, "account", account_id)
    updated = await request.config_dict[AUTH].set_account_status(
        account_id, status, request_actor(request), body.reason
    )
    return account_out(updated)


@routes.post("/accounts/{account_id}/disable")
@endpoint(
    "Disable an account; all its sessions end on their next request",
    body=Reason,
    response=AccountOut,
    tags=TAGS,
    errors=(403, 404),
)
async def disable_account(request: web.Request, *, body: Reason) -> AccountOut:
    return await _set_status(request, body, AccountStatus.DISABLED)


@routes.post("/accounts/{account_id}/enable")
@endpoint(
    "Re-enable a disabled account", body=Reason, response=AccountOut, tags=TAGS, errors=(403, 404)
)
async def enable_account(request: web.Request, *, body: Reason) -> AccountOut:
    return await _set_status(request, body, AccountStatus.ACTIVE)


@routes.get("/jwks")
@endpoint(
    "Public keys that verify our access tokens (JWKS)", response=JwksOut, public=True, tags=TAGS
)
async def jwks(request: web.Request) -> JwksOut:
    keyring = request.config_dict[KEYRING]
    return JwksOut(keys=[JwkOut(**key.public_jwk()) for key in keyring.jwt_keys])


def add_routes(app: web.Application, prefix: str) -> None:
    """Mount these routes under ``prefix`` on ``app`` itself (see backend/app.py for why)."""
    for route in routes:
        assert isinstance(route, web.RouteDef)
        app.router.add_route(route.method, prefix + route.path, route.handler, **route.kwargs)
