"""Bad input of every kind is answered with a 4xx problem+json, never a 5xx or a stack trace."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from aiohttp import web
from pydantic import Field

from backend.auth.principal import Role
from backend.http import endpoint
from backend.schemas import Input, Output

PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


class EchoIn(Input):
    name: str
    count: int
    tags: list[str] = Field(default_factory=list)
    extra: dict[str, Any] = Field(default_factory=dict)


class EchoOut(Output):
    name: str
    count: int


@pytest.fixture
def app(app: web.Application) -> web.Application:
    """The real app plus two probe routes: an echo and one that crashes."""

    @endpoint("echo (test only)", body=EchoIn, response=EchoOut)
    async def echo(request: web.Request, *, body: EchoIn) -> EchoOut:
        return EchoOut(name=body.name, count=body.count)

    @endpoint("crash (test only)")
    async def crash(request: web.Request) -> None:
        raise RuntimeError("secret internal detail /etc/passwd")

    app.router.add_post("/test/echo", echo)
    app.router.add_get("/test/crash", crash)
    return app


async def assert_problem(resp: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/problem+json"
    body = await resp.json(content_type=None)
    assert PROBLEM_KEYS <= body.keys()
    assert body["status"] == status
    assert body["type"].startswith("https://")
    if code is not None:
        assert body["code"] == code, body
    assert "Traceback" not in json.dumps(body)
    return body


@pytest.fixture
async def auth(accounts: Any) -> dict[str, str]:
    _, headers = await accounts.headers(Role.LITIGANT)
    return headers


def raw(headers: dict[str, str], content_type: str = "application/json") -> dict[str, str]:
    return {**headers, "Content-Type": content_type}


async def test_valid_request_passes(client: Any, auth: dict[str, str]) -> None:
    resp = await client.post("/test/echo", json={"name": "张三", "count": 2}, headers=auth)
    assert resp.status == 200
    assert await resp.json() == {"name": "张三", "count": 2}


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        pytest.param(b'{"name": "a", "count": ', None, 400, "malformed_json", id="truncated-json"),
        pytest.param(b"\xff\xfe{}", None, 400, "malformed_json", id="invalid-utf8"),
        pytest.param(b"", None, 400, "malformed_json", id="empty-body"),
        pytest.param(b"NaN", None, 422, "validation_failed", id="json-nan-not-object"),
        pytest.param(b"[1, 2]", None, 422, "validation_failed", id="array-not-object"),
        pytest.param(b'{"name": "a"}', None, 422, "validation_failed", id="missing-field"),
        pytest.param(
            b'{"name": "a", "count": "many"}', None, 422, "validation_failed", id="wrong-type"
        ),
        pytest.param(
            b'{"name": "a", "count": 1, "is_admin": true}',
            None,
            422,
            "validation_failed",
            id="unknown-field-mass-assignment",
        ),
        pytest.param(
            b'{"name": "a", "count": 1}', "text/plain", 415, "unsupported_media_type", id="text"
        ),
        pytest.param(
            b"name=a&count=1",
            "application/x-www-form-urlencoded",
            415,
            "unsupported_media_type",
            id="form-encoded",
        ),
        pytest.param(
            b'{"name": "a", "count": 1, "extra": ' + b'{"a":' * 100 + b"1" + b"}" * 100 + b"}",
            None,
            400,
            "too_deep",
            id="deeply-nested",
        ),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, None, 400, None, id="recursion-bomb"),
        pytest.param(
            b'{"name": "a", "count": 99999999999999999999999999999999999}',
            None,
            422,
            "number_out_of_range",
            id="huge-integer",
        ),
    ],
)
async def test_bad_bodies(
    client: Any,
    auth: dict[str, str],
    body: bytes,
    content_type: str | None,
    status: int,
    code: str | None,
) -> None:
    resp = await client.post(
        "/test/echo", data=body, headers=raw(auth, content_type or "application/json")
    )
    problem = await assert_problem(resp, status, code)
    if code == "validation_failed":
        assert problem["errors"] and {"location", "field", "message"} <= problem["errors"][0].keys()


async def test_oversized_body_is_413(client: Any, auth: dict[str, str]) -> None:
    big = json.dumps({"name": "x" * 300_000, "count": 1}).encode()
    resp = await client.post("/test/echo", data=big, headers=raw(auth))
    await assert_problem(resp, 413, "payload_too_large")


async def test_oversized_chunked_body_is_413(client: Any, auth: dict[str, str]) -> None:
    async def chunks() -> Any:
        for _ in range(40):
            yield b" " * 10_000

    resp = await client.post("/test/echo", data=chunks(), headers=raw(auth))
    await assert_problem(resp, 413, "payload_too_large")


async def test_unknown_route_is_404(client: Any, auth: dict[str, str]) -> None:
    await assert_problem(await client.get("/api/v1/nope", headers=auth), 404, "not_found")


async def test_wrong_method_is_405_with_allow(client: Any, auth: dict[str, str]) -> None:
    resp = await client.delete("/api/v1/auth/me", headers=auth)
    await assert_problem(resp, 405, "method_not_allowed")
    assert "GET" in resp.headers["Allow"]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("limit=abc", 422),
        ("limit=100000", 422),
        ("limit=0", 422),
        ("limit=5&limit=6", 400),
        ("surprise=1", 422),
    ],
)
async def test_bad_query_parameters(client: Any, accounts: Any, query: str, status: int) -> None:
    _, admin = await accounts.headers(Role.SYSTEM_ADMIN)
    resp = await client.get(f"/api/v1/audit/events?{query}", headers=admin)
    await assert_problem(resp, status)


async def test_bad_path_parameter_is_404(client: Any, accounts: Any) -> None:
    _, admin = await accounts.headers(Role.SYSTEM_ADMIN)
    resp = await client.post(
        "/api/v1/auth/accounts/not-a-uuid/disable", json={"reason": "test"}, headers=admin
    )
    await assert_problem(resp, 404, "not_found")


async def test_missing_and_malformed_authorization(client: Any) -> None:
    resp = await client.get("/api/v1/auth/me")
    await assert_problem(resp, 401, "unauthenticated")
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    resp = await client.get("/api/v1/auth/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    await assert_problem(resp, 401, "unauthenticated")
    resp = await client.get("/api/v1/auth/me", headers={"Authorization": "Bearer not.a.jwt"})
    await assert_problem(resp, 401, "invalid_token")


async def test_unexpected_error_is_generic_500_logged_with_request_id(
    client: Any, auth: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="mobile_court.http"):
        resp = await client.get("/test/crash", headers={**auth, "X-Request-Id": "req-crash-0001"})
    body = await assert_problem(resp, 500, "internal_error")
    assert "secret internal detail" not in json.dumps(body)
    assert body["request_id"] == "req-crash-0001"
    assert resp.headers["X-Request-Id"] == "req-crash-0001"
    logged = [r for r in caplog.records if r.name == "mobile_court.http"]
    assert logged and logged[0].exc_info is not None


async def test_problem_responses_carry_security_headers(client: Any) -> None:
    resp = await client.get("/api/v1/auth/me")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Cache-Control"] == "no-store"
