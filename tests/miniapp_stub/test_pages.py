"""The H5 pages as the backend serves them: public, strict CSP without inline code, no way out of
the static folder, every module import resolvable; and CORS on the fakes' control API only."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from backend.settings import Settings
from miniapp_stub.pages import STATIC_ROOT, asset_index, content_security_policy
from miniapp_stub.wechat import create_fake_wechat_app

Client = TestClient[Any, Any]


def _csp_directives(header: str) -> dict[str, list[str]]:
    out = {}
    for part in header.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/miniapp/", "text/html"),
        ("/miniapp/api.js", "text/javascript"),
        ("/miniapp/pages/cases.js", "text/javascript"),
        ("/miniapp/style.css", "text/css"),
        ("/console/", "text/html"),
        ("/console/console.js", "text/javascript"),
    ],
)
async def test_pages_are_public_with_strict_headers(
    client: Client, path: str, media_type: str
) -> None:
    resp = await client.get(path)
    assert resp.status == 200
    assert resp.content_type == media_type
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    csp = _csp_directives(resp.headers["Content-Security-Policy"])
    assert csp["default-src"] == ["'none'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    # The fake WeChat platform (the default base URL) is the only other origin reachable.
    assert csp["connect-src"] == ["'self'", "http://127.0.0.1:8930"]


async def test_unchanged_files_are_not_sent_again(client: Client) -> None:
    first = await client.get("/miniapp/api.js")
    assert first.headers["Cache-Control"] == "no-cache"
    again = await client.get("/miniapp/api.js", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status == 304 and await again.read() == b""


async def test_nothing_outside_the_static_folder_is_served(client: Client) -> None:
    for path in (
        "/miniapp/pages.py",
        "/miniapp/..%2Fpages.py",
        "/miniapp/%2e%2e/%2e%2e/backend/app.py",
        "/miniapp/pages/../../pages.py",
        "/console/../miniapp/pages.py",
        "/miniapp/a/b/c.js",
        "/miniapp/missing.js",
    ):
        resp = await client.get(path)
        assert resp.status == 404, path
        assert resp.content_type == "application/problem+json"


async def test_config_names_the_platform_the_simulated_client_talks_to(client: Client) -> None:
    resp = await client.get("/miniapp/config.json")
    assert resp.status == 200
    assert await resp.json() == {
        "wechat_base_url": "http://127.0.0.1:8930",
        "wechat_pay_base_url": "http://127.0.0.1:8930",
        "wechat_appid": "wxf00dcafe0000c0de",
        "simulated_wechat": True,
    }


def test_no_inline_code_and_every_import_resolves() -> None:
    """The CSP would block inline scripts and handlers; tokens must never be put in a URL."""
    files = [p for p in STATIC_ROOT.rglob("*") if p.suffix in {".html", ".js"}]
    assert len(files) >= 10
    for path in files:
        text = path.read_text()
        if path.suffix == ".html":
            for tag in re.findall(r"<script[^>]*>", text):
                assert "src=" in tag, f"inline script in {path.name}"
            assert not re.search(r"\son[a-z]+=", text), f"inline handler in {path.name}"
            assert " style=" not in text
        for target in re.findall(r"""from\s+'(/[^']+)'|src="(/[^"]+)"|href="(/[^"]+)\"""", text):
            url = next(t for t in target if t)
            prefix, _, rest = url.lstrip("/").partition("/")
            assert (STATIC_ROOT / prefix / rest).is_file(), f"{path.name} refers to {url}"
        assert not re.search(r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML", text), (
            f"{path.name} builds markup from strings"
        )
        assert not re.search(r"access_token=|[?&]token=", text), f"token in a URL in {path.name}"


@pytest.fixture
async def fake_wechat() -> AsyncIterator[TestServer]:
    server = TestServer(create_fake_wechat_app(), host="127.0.0.1")
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


async def test_only_the_control_api_answers_cross_origin(
    fake_wechat: TestServer, aiohttp_client: Any
) -> None:
    client = await aiohttp_client(fake_wechat)
    origin = {"Origin": "http://127.0.0.1:8080"}
    preflight = await client.options(
        "/__control/login-code",
        headers={**origin, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8080"
    assert "Content-Type" in preflight.headers["Access-Control-Allow-Headers"]
    code = await client.post("/__control/login-code", json={}, headers=origin)
    assert code.status == 200 and code.headers["Access-Control-Allow-Origin"] == origin["Origin"]
    bad = await client.post("/__control/login-code", json={"behaviour": "x"}, headers=origin)
    assert bad.status == 400 and bad.headers["Access-Control-Allow-Origin"] == origin["Origin"]
    server_api = await client.get("/sns/jscode2session", params={"js_code": "x"}, headers=origin)
    assert "Access-Control-Allow-Origin" not in server_api.headers


async def test_each_security_header_is_sent_once(client: Client) -> None:
    resp = await client.get("/console/console.js")
    names = [name.decode().lower() for name, _ in resp.raw_headers]
    for header in ("x-content-type-options", "content-security-policy", "x-frame-options"):
        assert names.count(header) == 1, header


def test_the_file_index_is_taken_once_and_covers_every_page_file(settings: Settings) -> None:
    index = asset_index(settings)
    on_disk = {
        f"{folder}/{p.relative_to(STATIC_ROOT / folder).as_posix()}"
        for folder in ("miniapp", "console")
        for p in (STATIC_ROOT / folder).rglob("*")
        if p.suffix in {".html", ".js", ".css"}
    }
    assert on_disk <= set(index)
    # One headers mapping per file, all carrying the same policy string built for this app.
    policies = {a.headers["Content-Security-Policy"] for a in index.values()}
    assert policies == {content_security_policy(settings)}
    assert index["miniapp/pages/cases.js"].headers["Content-Type"] == (
        "text/javascript; charset=utf-8"
    )
