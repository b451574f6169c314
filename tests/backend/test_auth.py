"""Access tokens, the JWT attack table, refresh rotation with reuse detection, revocation."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from tortoise.transactions import in_transaction

from backend.app import create_app
from backend.appkeys import AUTH, KEYRING
from backend.auth.models import Account, AuthSession, RefreshToken
from backend.auth.principal import Role
from backend.auth.routes import account_out
from backend.auth.session_cache import SessionCache, SessionState
from backend.keys import rotate_jwt_keys
from backend.settings import Settings
from tests.conftest import BACKEND


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return ".".join(
        [b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), b64(signature)]
    )


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})


@pytest.fixture
async def signed_in(accounts: Any) -> dict[str, Any]:
    account = await accounts.create(Role.LITIGANT)
    tokens = await accounts.tokens(account)
    header, claims = decode_unverified(tokens["access"])
    return {"account": account, "header": header, "claims": claims, **tokens}


async def me(client: TestClient[Any, Any], token: str) -> Any:
    return await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})


async def test_access_token_shape(signed_in: dict[str, Any], settings: Settings) -> None:
    header, claims = signed_in["header"], signed_in["claims"]
    assert header["alg"] == "EdDSA" and header["typ"] == "at+jwt" and header["kid"]
    assert {"iss", "aud", "exp", "iat", "jti", "sub", "sid"} <= claims.keys()
    assert claims["exp"] - claims["iat"] <= 15 * 60
    assert claims["iss"] == settings.jwt_issuer and claims["aud"] == settings.jwt_audience
    # sub is opaque: the account's random id, no name, phone or ID number
    assert claims["sub"] == str(signed_in["account"].id)
    assert "测试" not in json.dumps(claims)


async def test_valid_token_is_accepted(client: Any, signed_in: dict[str, Any]) -> None:
    resp = await me(client, signed_in["access"])
    assert resp.status == 200
    body = await resp.json()
    assert body["roles"] == [{"role": "litigant", "display_name": "当事人 / Litigant"}]


async def test_me_body_is_exactly_account_out(client: Any, accounts: Any) -> None:
    """/me writes its JSON by hand for speed; it must be what AccountOut (the documented
    schema) would have produced, byte for byte, roles sorted and the time in UTC as Z."""
    account = await accounts.create(Role.JUDGE, Role.CLERK, court_code="浙0281", name="王 法官")
    tokens = await accounts.tokens(account)
    resp = await me(client, tokens["access"])
    assert resp.status == 200 and resp.content_type == "application/json"
    stored = await Account.get(id=account.id)
    expected = account_out(stored).model_dump_json(by_alias=True).encode()
    assert await resp.read() == expected
    assert b'"created_at":"' in expected and b'Z"' in expected
    assert [r["role"] for r in (await resp.json())["roles"]] == ["clerk", "judge"]


def _claims(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = {**base, **changes}
    return {k: v for k, v in out.items() if v is not None}


def _public_pem(app: web.Application) -> bytes:
    return app[KEYRING].active_jwt_key.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _attacks() -> list[tuple[str, Callable[[dict[str, Any], web.Application], str]]]:
    attacker_ed = ed25519.Ed25519PrivateKey.generate()
    attacker_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    attacker_ec = ec.generate_private_key(ec.SECP256R1())

    def hdr(s: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {"kid": s["header"]["kid"], "typ": "at+jwt", **extra}

    def forge(
        s: dict[str, Any],
        claims: dict[str, Any],
        key: Any = attacker_ed,
        alg: str = "EdDSA",
        **headers: Any,
    ) -> str:
        return jwt.encode(claims, key, algorithm=alg, headers=hdr(s, **headers))

    now = int(time.time())
    return (
        [
            ("alg-none", lambda s, a: unsigned({**hdr(s), "alg": "none"}, s["claims"])),
            ("alg-None-mixed-case", lambda s, a: unsigned({**hdr(s), "alg": "None"}, s["claims"])),
            (
                "hs256-with-public-key",
                lambda s, a: unsigned(
                    {**hdr(s), "alg": "HS256"},
                    s["claims"],
                    __import__("hmac").new(_public_pem(a), b"x", "sha256").digest(),
                ),
            ),
            ("rs256-attacker-key", lambda s, a: forge(s, s["claims"], attacker_rsa, "RS256")),
            ("es256-attacker-key", lambda s, a: forge(s, s["claims"], attacker_ec, "ES256")),
            ("eddsa-attacker-key-our-kid", lambda s, a: forge(s, s["claims"])),
            (
                "foreign-kid",
                lambda s, a: jwt.encode(
                    s["claims"],
                    attacker_ed,
                    algorithm="EdDSA",
                    headers={"kid": "attacker-key-1", "typ": "at+jwt"},
                ),
            ),
            (
                "missing-kid",
                lambda s, a: jwt.encode(
                    s["claims"], attacker_ed, algorithm="EdDSA", headers={"typ": "at+jwt"}
                ),
            ),
            (
                "embedded-jwk",
                lambda s, a: forge(
                    s,
                    s["claims"],
                    jwk={
                        "kty": "OKP",
                        "crv": "Ed25519",
                        "x": b64(
                            attacker_ed.public_key().public_bytes(
                                serialization.Encoding.Raw, serialization.PublicFormat.Raw
                            )
                        ),
                    },
                ),
            ),
            ("jku-header", lambda s, a: forge(s, s["claims"], jku="https://evil.example/jwks")),
            ("x5u-header", lambda s, a: forge(s, s["claims"], x5u="https://evil.example/cert")),
            (
                "tampered-payload",
                lambda s, a: ".".join(
                    [
                        s["access"].split(".")[0],
                        b64(json.dumps(_claims(s["claims"], sub=str(uuid.uuid4()))).encode()),
                        s["access"].split(".")[2],
                    ]
                ),
            ),
            (
                "tampered-signature",
                lambda s, a: (
                    s["access"][:-4] + ("AAAA" if not s["access"].endswith("AAAA") else "BBBB")
                ),
            ),
        ]
        + [
            (
                f"{name}-signed-by-us",
                lambda s, a, c=claims_change: jwt.encode(
                    _claims(s["claims"], **c(now)),
                    a[KEYRING].active_jwt_key.private_key,
                    algorithm="EdDSA",
                    headers=hdr(s),
                ),
            )
            for name, claims_change in [
                ("expired", lambda n: {"iat": n - 3600, "nbf": n - 3600, "exp": n - 1800}),
                ("not-yet-valid", lambda n: {"iat": n + 3600, "nbf": n + 3600, "exp": n + 4000}),
                ("wrong-audience", lambda n: {"aud": "another-service"}),
                ("wrong-issuer", lambda n: {"iss": "https://evil.example"}),
                ("missing-exp", lambda n: {"exp": None}),
                ("missing-jti", lambda n: {"jti": None}),
                ("missing-sub", lambda n: {"sub": None}),
                ("missing-sid", lambda n: {"sid": None}),
                ("unknown-session", lambda n: {"sid": str(uuid.uuid4())}),
                ("sub-not-session-owner", lambda n: {"sub": str(uuid.uuid4())}),
            ]
        ]
        + [
            (
                "id-token-typ",
                lambda s, a: jwt.encode(
                    s["claims"],
                    a[KEYRING].active_jwt_key.private_key,
                    algorithm="EdDSA",
                    headers={"kid": s["header"]["kid"], "typ": "JWT"},
                ),
            ),
        ]
    )


@pytest.mark.parametrize(("name", "make"), _attacks(), ids=[name for name, _ in _attacks()])
async def test_jwt_attack_is_rejected(
    client: Any,
    app: web.Application,
    signed_in: dict[str, Any],
    name: str,
    make: Callable[[dict[str, Any], web.Application], str],
) -> None:
    resp = await me(client, make(signed_in, app))
    assert resp.status == 401, (name, await resp.text())
    assert resp.content_type == "application/problem+json"


async def test_refresh_rotates_and_old_token_is_single_use(
    client: Any, signed_in: dict[str, Any]
) -> None:
    resp = await client.post("/api/v1/auth/refresh", json={"refresh_token": signed_in["refresh"]})
    assert resp.status == 200
    pair = await resp.json()
    assert pair["refresh_token"] != signed_in["refresh"]
    assert (await me(client, pair["access_token"])).status == 200
    # refresh tokens are stored hashed, never in clear
    stored = await RefreshToken.all().values_list("token_hash", flat=True)
    assert signed_in["refresh"] not in stored and pair["refresh_token"] not in stored
    # the new refresh token works once more
    resp = await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert resp.status == 200


async def test_refresh_reuse_revokes_whole_family(client: Any, signed_in: dict[str, Any]) -> None:
    first = await (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": signed_in["refresh"]})
    ).json()
    # An attacker replays the spent token:
    resp = await client.post("/api/v1/auth/refresh", json={"refresh_token": signed_in["refresh"]})
    assert resp.status == 401
    assert (await resp.json())["code"] == "refresh_token_reused"
    # ...and every token of the family is now dead, including the legitimate newest pair.
    assert (await me(client, first["access_token"])).status == 401
    assert (await me(client, signed_in["access"])).status == 401
    resp = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert resp.status == 401
    session = await AuthSession.get(id=signed_in["claims"]["sid"])
    assert session.revoke_reason == "refresh_reuse"


async def test_unknown_refresh_token(client: Any) -> None:
    resp = await client.post("/api/v1/auth/refresh", json={"refresh_token": "x" * 43})
    assert resp.status == 401
    assert (await resp.json())["code"] == "invalid_refresh_token"


async def test_logout_takes_effect_on_next_request(
    client: Any, signed_in: dict[str, Any], accounts: Any
) -> None:
    headers = {"Authorization": f"Bearer {signed_in['access']}"}
    other_session = await accounts.tokens(signed_in["account"])
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status == 204
    resp = await me(client, signed_in["access"])
    assert resp.status == 401 and (await resp.json())["code"] == "session_revoked"
    resp = await client.post("/api/v1/auth/refresh", json={"refresh_token": signed_in["refresh"]})
    assert resp.status == 401
    # signing out of one device leaves the other signed in
    assert (await me(client, other_session["access"])).status == 200


async def test_disable_account_takes_effect_on_next_request(
    client: Any, signed_in: dict[str, Any], accounts: Any
) -> None:
    _, admin = await accounts.headers(Role.SYSTEM_ADMIN)
    account_id = signed_in["account"].id
    resp = await client.post(
        f"/api/v1/auth/accounts/{account_id}/disable", json={"reason": "冒用身份"}, headers=admin
    )
    assert resp.status == 200 and (await resp.json())["status"] == "disabled"
    resp = await me(client, signed_in["access"])
    assert resp.status == 401
    resp = await client.post("/api/v1/auth/refresh", json={"refresh_token": signed_in["refresh"]})
    assert resp.status == 401
    resp = await client.post(
        f"/api/v1/auth/accounts/{account_id}/enable", json={"reason": "核实无误"}, headers=admin
    )
    assert resp.status == 200 and (await resp.json())["status"] == "active"


async def test_only_admins_disable_accounts(
    client: Any, signed_in: dict[str, Any], accounts: Any
) -> None:
    _, litigant = await accounts.headers(Role.LITIGANT)
    judge = await accounts.create(Role.JUDGE, court_code="浙0281")
    _, own_court_admin = await accounts.headers(Role.COURT_ADMIN, court_code="浙0281")
    _, other_court_admin = await accounts.headers(Role.COURT_ADMIN, court_code="京0491")
    url = f"/api/v1/auth/accounts/{signed_in['account'].id}/disable"
    assert (await client.post(url, json={"reason": "no"}, headers=litigant)).status == 403
    # a court admin manages the staff of their own court, not litigants and not other courts
    assert (await client.post(url, json={"reason": "no"}, headers=own_court_admin)).status == 403
    judge_url = f"/api/v1/auth/accounts/{judge.id}/disable"
    resp = await client.post(judge_url, json={"reason": "调离"}, headers=other_court_admin)
    assert resp.status == 403
    resp = await client.post(judge_url, json={"reason": "调离"}, headers=own_court_admin)
    assert resp.status == 200


async def test_key_rotation_keeps_sessions_alive(
    settings: Settings, signed_in: dict[str, Any], aiohttp_client: Any
) -> None:
    old_kid = signed_in["header"]["kid"]
    new_key = rotate_jwt_keys(settings)
    assert new_key.kid != old_kid
    rotated_app = create_app(settings)  # a restarted server reads the new key set
    client = await aiohttp_client(rotated_app)
    # a token signed before the rotation is still accepted...
    assert (await me(client, signed_in["access"])).status == 200
    # ...and new tokens are signed with the new key
    resp = await client.post("/api/v1/auth/refresh", json={"refresh_token": signed_in["refresh"]})
    new_header = jwt.get_unverified_header((await resp.json())["access_token"])
    assert new_header["kid"] == new_key.kid
    jwks = await (await client.get("/api/v1/auth/jwks")).json()
    assert {k["kid"] for k in jwks["keys"]} == {old_kid, new_key.kid}
    assert all("d" not in k for k in jwks["keys"])  # public halves only


async def test_principal_loaded_fresh_from_database(
    client: Any, app: web.Application, signed_in: dict[str, Any]
) -> None:
    account = signed_in["account"]
    account.roles = ["litigant", "lawyer"]
    await account.save()
    principal = await app[AUTH].authenticate(signed_in["access"])
    assert principal.roles == {Role.LITIGANT, Role.LAWYER}


async def test_cached_session_still_sees_logout_and_role_changes(
    client: Any, app: web.Application, signed_in: dict[str, Any]
) -> None:
    auth = app[AUTH]
    await auth.authenticate(signed_in["access"])  # now cached
    assert auth.sessions.get(uuid.UUID(signed_in["claims"]["sid"])) is not None
    account = signed_in["account"]
    account.roles = ["litigant", "lawyer"]
    await account.save()
    async with in_transaction() as conn:  # what a role-granting service does
        await auth.revoked(conn, account_id=account.id)
    assert (await auth.authenticate(signed_in["access"])).roles == {Role.LITIGANT, Role.LAWYER}
    headers = {"Authorization": f"Bearer {signed_in['access']}"}
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status == 204
    assert (await me(client, signed_in["access"])).status == 401


@pytest.mark.skipif(BACKEND != "postgres", reason="cross-process revocation rides on NOTIFY")
async def test_logout_in_one_process_reaches_the_others(
    settings: Settings, signed_in: dict[str, Any], aiohttp_client: Any, client: Any
) -> None:
    other = await aiohttp_client(create_app(settings))  # a second server process, in effect
    other_auth = other.server.app[AUTH]
    for _ in range(50):  # its revocation listener connects in the background
        if other_auth.sessions.enabled:
            break
        await asyncio.sleep(0.05)
    assert other_auth.sessions.enabled
    assert (await me(other, signed_in["access"])).status == 200  # cached there now
    headers = {"Authorization": f"Bearer {signed_in['access']}"}
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status == 204
    for _ in range(50):
        if other_auth.sessions.get(uuid.UUID(signed_in["claims"]["sid"])) is None:
            break
        await asyncio.sleep(0.02)
    assert (await me(other, signed_in["access"])).status == 401


def test_session_cache_ttl_and_bypass() -> None:
    now = [1000.0]
    cache = SessionCache(ttl_s=5, clock=lambda: now[0])
    sid, account = uuid.uuid4(), uuid.uuid4()
    state = SessionState(
        account, frozenset({Role.LITIGANT}), None, datetime.now(UTC) + timedelta(hours=1)
    )
    cache.put(sid, state)
    assert cache.get(sid) == state
    now[0] += 6
    assert cache.get(sid) is None  # the TTL backstop
    cache.put(sid, state)
    cache.apply(f"a:{account}")
    assert cache.get(sid) is None
    cache.put(sid, state)
    cache.enabled = False  # listener down: nothing is served from memory
    assert cache.get(sid) is None
