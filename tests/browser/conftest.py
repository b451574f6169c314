"""Browser tests: the real app on a loopback port, the fake WeChat platform, and Debian's
headless Chromium driven by Playwright (never Playwright's own browser download; see
scripts/ensure-chromium.sh).

The fake camera plays a photo of a person from ../shared/faces, so the page's getUserMedia capture
goes through the real face check.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, BrowserContext, Page, async_playwright
from tortoise.transactions import in_transaction

from backend.app import create_app
from backend.appkeys import AUDIT, DATABASE
from backend.auth.principal import Actor
from backend.auth.staff import create_staff_account
from backend.settings import Settings
from filing.courts import seed_reference_data
from miniapp_stub.pay import (
    FakePayConfig,
    MerchantKeys,
    create_fake_pay_app,
    generate_platform_keys,
    generate_test_merchant,
)
from miniapp_stub.wechat import DEFAULT_APPID, create_fake_wechat_app
from tests.browser.fake_camera import photo_to_y4m
from tests.conftest import SHARED

CHROMIUM = "/usr/bin/chromium"
STAFF_PASSWORD = "Demo-Court-Pass-2026!"
FACES = SHARED / "faces"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    """Screenshots of a run; kept under pytest's tmp dir (and tests/artifacts/, gitignored)."""
    folder = tmp_path / "screenshots"
    folder.mkdir()
    return folder


@pytest.fixture
async def wechat() -> AsyncIterator[TestServer]:
    server = TestServer(create_fake_wechat_app(), host="127.0.0.1")
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


@dataclass
class FakePay:
    server: TestServer
    merchant: MerchantKeys
    platform_public_key_pem: str
    platform_serial: str


@pytest.fixture
async def wechat_pay() -> AsyncIterator[FakePay]:
    merchant = generate_test_merchant("1230000109", (DEFAULT_APPID,))
    platform = generate_platform_keys()
    config = FakePayConfig.for_merchants(merchant, platform=platform)
    server = TestServer(create_fake_pay_app(config), host="127.0.0.1")
    await server.start_server()
    try:
        yield FakePay(server, merchant, platform.public_key_pem, platform.serial)
    finally:
        await server.close()


@dataclass
class Court:
    base: str
    app: web.Application

    async def staff(self, username: str, role: str, court: str = "浙0281") -> str:
        with self.app[DATABASE].activate():
            account = await create_staff_account(
                audit=self.app[AUDIT],
                username=username,
                display_name=f"{username} 测试",
                role=role,
                court_code=court,
                password=STAFF_PASSWORD,
                actor=Actor.system("browser-test"),
            )
        return str(account.id)


@pytest.fixture
async def court(
    settings_factory: Callable[..., Settings],
    wechat: TestServer,
    wechat_pay: FakePay,
    tmp_path: Path,
) -> AsyncIterator[Court]:
    port = _free_port()
    wechat_base = str(wechat.make_url("")).rstrip("/")
    keys = tmp_path / "pay-keys"
    keys.mkdir()
    (keys / "merchant.pem").write_text(wechat_pay.merchant.private_key_pem)
    (keys / "platform.pem").write_text(wechat_pay.platform_public_key_pem)
    settings = settings_factory(
        # The payment notification comes back to this port.
        public_base_url=f"http://127.0.0.1:{port}",
        # The hearing WebSocket checks Origin: the pages are served from this port.
        video_allowed_origins=[f"http://127.0.0.1:{port}"],
        wechat_base_url=wechat_base,
        sms_base_url=f"{wechat_base}/sms",
        face_processes=False,
        wechat_pay_base_url=str(wechat_pay.server.make_url("")).rstrip("/"),
        wechat_pay_mchid=wechat_pay.merchant.mchid,
        wechat_pay_merchant_serial=wechat_pay.merchant.serial_no,
        wechat_pay_merchant_key_file=keys / "merchant.pem",
        wechat_pay_apiv3_key=wechat_pay.merchant.apiv3_key,
        wechat_pay_platform_serial=wechat_pay.platform_serial,
        wechat_pay_platform_public_key_file=keys / "platform.pem",
    )
    app = create_app(settings)
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    try:
        with app[DATABASE].activate():
            async with in_transaction() as conn:
                await seed_reference_data(conn)
        yield Court(f"http://127.0.0.1:{port}", app)
    finally:
        await server.close()


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Browser]:
    executable = shutil.which("chromium") or CHROMIUM
    camera = photo_to_y4m(FACES / "obama_2.jpg", tmp_path / "camera.y4m")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={camera}",
            ],
        )
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Phone:
    """A page with a phone-sized viewport that records what the browser reports."""

    context: BrowserContext
    page: Page
    console_errors: list[str]


async def open_page(browser: Browser, base: str, *, phone: bool = True) -> Phone:
    viewport: Any = {"width": 375, "height": 667} if phone else {"width": 1280, "height": 800}
    context = await browser.new_context(
        base_url=base, viewport=viewport, locale="zh-CN", device_scale_factor=1
    )
    await context.grant_permissions(["camera"], origin=base)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return Phone(context, page, errors)
