"""Court staff sign-in: TOTP enrolment, replay refusal, lockouts; court admins create staff."""

from __future__ import annotations

import time
from typing import Any

import pyotp
import pytest
from aiohttp import web

from backend.appkeys import AUDIT
from backend.auth.principal import Actor, Role
from backend.auth.staff import create_staff_account
from identity.models import StaffTotp
from tests.identity.conftest import Client, bearer

LOGIN = "/api/v1/identity/staff/login"
ENROL = "/api/v1/identity/staff/totp/enrol"
CONFIRM = "/api/v1/identity/staff/totp/confirm"
STAFF = "/api/v1/identity/staff"
PASSWORD = "Court-Staff-2026!"
COURT = "浙0281"


async def _problem(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    body: dict[str, Any] = await resp.json()
    assert body["code"] == code, body
    return body


async def _staff(app: web.Application, username: str, role: str = "judge") -> Any:
    return await create_staff_account(
        audit=app[AUDIT],
        username=username,
        display_name="王法官",
        role=role,
        court_code=COURT,
        password=PASSWORD,
        actor=Actor.system("test"),
    )


def _code(secret: str, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


async def _enrolled(client: Client, username: str) -> str:
    creds = {"username": username, "password": PASSWORD}
    enrol = await client.post(ENROL, json=creds)
    assert enrol.status == 200, await enrol.text()
    secret: str = (await enrol.json())["secret"]
    confirm = await client.post(CONFIRM, json={**creds, "totp": _code(secret)})
    assert confirm.status == 200, await confirm.text()
    return secret


async def test_enrolment_then_sign_in(client: Client, app: web.Application, accounts: Any) -> None:
    judge = await _staff(app, "judge_wang")
    creds = {"username": "judge_wang", "password": PASSWORD}
    body = await _problem(await client.post(LOGIN, json=creds), 403, "totp_enrolment_required")
    assert body["enrol"].endswith("/staff/totp/enrol")

    await _problem(
        await client.post(ENROL, json={**creds, "password": "wrong"}), 401, "invalid_credentials"
    )
    first = await (await client.post(ENROL, json=creds)).json()
    enrolment = await (await client.post(ENROL, json=creds)).json()  # restart: a new secret
    assert enrolment["secret"] != first["secret"]
    secret = enrolment["secret"]
    uri = enrolment["provisioning_uri"]
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri
    stored = await StaffTotp.get(account_id=judge.id)
    assert secret.encode() not in stored.secret_enc and stored.confirmed_at is None
    # not usable before confirmation
    await _problem(
        await client.post(LOGIN, json={**creds, "totp": _code(secret)}),
        403,
        "totp_enrolment_required",
    )
    await _problem(
        await client.post(CONFIRM, json={**creds, "totp": _code(first["secret"], 5)}),
        401,
        "invalid_credentials",
    )
    assert (await client.post(CONFIRM, json={**creds, "totp": _code(secret)})).status == 200
    await _problem(await client.post(ENROL, json=creds), 409, "totp_already_enrolled")

    await _problem(await client.post(LOGIN, json=creds), 401, "invalid_credentials")
    code = _code(secret, 1)  # the current step was spent confirming
    resp = await client.post(LOGIN, json={**creds, "totp": code})
    assert resp.status == 200, await resp.text()
    tokens = await resp.json()
    me = await client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
    assert (await me.json())["id"] == str(judge.id)
    # the same code again (replay within its window) is refused
    await _problem(
        await client.post(LOGIN, json={**creds, "totp": code}), 401, "invalid_credentials"
    )
    # a code from far outside the ±1 step window is refused
    await _problem(
        await client.post(LOGIN, json={**creds, "totp": _code(secret, 4)}),
        401,
        "invalid_credentials",
    )


async def test_unknown_user_and_litigants_cannot_sign_in(
    client: Client, app: web.Application, accounts: Any
) -> None:
    await _problem(
        await client.post(LOGIN, json={"username": "nobody", "password": PASSWORD}),
        401,
        "invalid_credentials",
    )
    await _problem(
        await client.post(LOGIN, json={"username": "x", "password": PASSWORD, "totp": "12345"}),
        422,
        "validation_failed",
    )


async def test_lockout_per_username(client: Client, app: web.Application, accounts: Any) -> None:
    await _staff(app, "clerk_li", role="clerk")
    secret = await _enrolled(client, "clerk_li")
    creds = {"username": "clerk_li", "password": PASSWORD}
    for _ in range(5):
        await _problem(
            await client.post(LOGIN, json={**creds, "password": "Wrong-Password-1"}),
            401,
            "invalid_credentials",
        )
    resp = await client.post(LOGIN, json={**creds, "totp": _code(secret, 1)})
    await _problem(resp, 429, "locked_out")
    assert 1 <= int(resp.headers["Retry-After"]) <= 15 * 60


async def test_lockout_per_address(client: Client, app: web.Application, accounts: Any) -> None:
    await _staff(app, "judge_zhao")
    for i in range(20):
        await _problem(
            await client.post(
                LOGIN, json={"username": f"guess{i}", "password": "Wrong-Password-1"}
            ),
            401,
            "invalid_credentials",
        )
    await _problem(
        await client.post(LOGIN, json={"username": "judge_zhao", "password": PASSWORD}),
        429,
        "locked_out",
    )


async def test_court_admin_creates_staff_for_own_court_only(client: Client, accounts: Any) -> None:
    _, admin = await accounts.headers(Role.COURT_ADMIN, court_code=COURT)
    body = {
        "username": "judge_new",
        "display_name": "张法官",
        "role": "judge",
        "password": PASSWORD,
    }
    resp = await client.post(STAFF, json=body, headers=admin)
    assert resp.status == 201, await resp.text()
    out = await resp.json()
    assert out["court_code"] == COURT and [r["role"] for r in out["roles"]] == ["judge"]
    assert "password" not in await resp.text()
    await _problem(await client.post(STAFF, json=body, headers=admin), 409, "username_taken")
    await _problem(
        await client.post(
            STAFF, json={**body, "username": "judge_other", "court_code": "浙0282"}, headers=admin
        ),
        403,
        "forbidden",
    )
    await _problem(
        await client.post(
            STAFF, json={**body, "username": "admin2", "role": "court_admin"}, headers=admin
        ),
        422,
        "validation_failed",
    )
    await _problem(
        await client.post(
            STAFF, json={**body, "username": "weak", "password": "short"}, headers=admin
        ),
        422,
        "validation_failed",
    )
    for role in (Role.JUDGE, Role.CLERK, Role.LITIGANT):
        _, headers = await accounts.headers(role, court_code=COURT)
        await _problem(
            await client.post(STAFF, json={**body, "username": "x_" + role}, headers=headers),
            403,
            "forbidden",
        )
    _, system = await accounts.headers(Role.SYSTEM_ADMIN)
    await _problem(
        await client.post(STAFF, json={**body, "username": "clerk_sys"}, headers=system),
        422,
        "court_code_required",
    )
    resp = await client.post(
        STAFF,
        json={**body, "username": "clerk_sys", "role": "clerk", "court_code": "浙0282"},
        headers=system,
    )
    assert resp.status == 201
    # the new judge signs in through enrolment like everyone else
    await _problem(
        await client.post(LOGIN, json={"username": "judge_new", "password": PASSWORD}),
        403,
        "totp_enrolment_required",
    )


@pytest.mark.parametrize("missing", ["username", "password"])
async def test_credentials_are_required(client: Client, missing: str) -> None:
    body = {"username": "judge", "password": PASSWORD}
    del body[missing]
    await _problem(await client.post(LOGIN, json=body), 422, "validation_failed")
