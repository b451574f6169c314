"""`mobile-court demo`'s scenario, in-process on free ports against a fresh database: every step
green and the summary's figures true (case number, proof of service, recording, records)."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pyotp
import pytest
from aiohttp.test_utils import TestServer
from pydantic import ValidationError

from backend.demo.client import TOTP_MARGIN_S, StepFailed, TotpStore
from backend.demo.runner import FACES, run_demo
from backend.demo.scenario import Step, run_steps
from backend.settings import Mode, Settings
from identity.staff_login import TOTP_STEP_S
from miniapp_stub.pay_keys import ensure_demo_keys
from miniapp_stub.pay_model import FakePayConfig
from miniapp_stub.platform import (
    backend_pay_settings,
    configure_platform_parser,
    create_platform_app,
)
from miniapp_stub.wechat import FakeWeChatConfig

CASE_NUMBER = re.compile(r"^\(\d{4}\)浙0281民初[1-9]\d*号$")
STEP = re.compile(r"^\[\s*(\d+)/12\] .+ \.\.\. (ok|FAILED) \(\d+\.\d s\)$")


async def test_the_scripted_court_runs_end_to_end(
    settings_factory: Callable[..., Settings],
) -> None:
    # Face checks in threads: no worker processes to start for one short run.
    settings = settings_factory(face_processes=False)
    lines: list[str] = []

    def say(text: str) -> None:
        lines.extend(text.splitlines())

    ok, out = await run_demo(settings, faces=FACES, video_seconds=1.0, say=say)
    transcript = "\n".join(lines)
    assert ok, transcript
    steps = [m.groups() for m in map(STEP.match, lines) if m]
    assert steps == [(str(n), "ok") for n in range(1, 13)], transcript

    assert CASE_NUMBER.match(out.case_number), out.case_number
    assert out.fee_paid is True and out.fee_total == "25.00"  # small claims: half of 50
    assert out.defence_due  # 15 days from service (CPL Art. 128)
    assert out.async_record_valid is True and out.async_record_entries == 12
    # both parties after face checks, the judge after an authenticator-code step-up
    assert out.transcript_signatures == 3
    assert all(count >= 10 for count in out.frames_exchanged.values()), out.frames_exchanged
    assert out.recording_verified is True and out.segments >= 2
    assert len(out.manifest_sha256) == 64
    assert out.proof_valid is True and out.proof_matches_record is True
    assert out.proof_pdf.startswith(b"%PDF")
    for kind in ("registered", "fee_paid", "party_linked"):
        assert kind in out.timeline, out.timeline

    # The summary names what a person opens next.
    assert f"/miniapp/#/case/{out.filing_id}" in transcript
    assert f"/console/#/filing/{out.filing_id}" in transcript
    assert f"/api/v1/service/deliveries/{out.judgment_delivery_id}/proof" in transcript
    assert f"/api/v1/hearings/video/{out.hearing_id}/record" in transcript
    assert (settings.var_dir / "demo" / f"proof-{out.judgment_delivery_id}.pdf").exists()
    manifest = settings.var_dir / "recordings" / out.hearing_id / "manifest.json"
    assert manifest.exists()


class FakeTime:
    """The demo authenticator's clock: sleeping moves it on instead of waiting."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_the_demo_authenticator_spends_the_drift_window_before_waiting(
    tmp_path: Path,
) -> None:
    secret = pyotp.random_base32()
    totp = pyotp.TOTP(secret, interval=TOTP_STEP_S)
    step = 1_000_000
    clock = FakeTime(step * TOTP_STEP_S + 1.0)
    store = TotpStore(tmp_path / "totp.json", clock=clock, sleep=clock.sleep)
    # Confirmation, sign-in and step-up in one step: the previous, current and next step's
    # codes (the server accepts one step of drift either way, each step once), no waiting.
    codes = [await store.code("judge", secret) for _ in range(3)]
    assert codes == [totp.generate_otp(s) for s in (step - 1, step, step + 1)]
    assert clock.slept == []
    # A fourth waits for the next step, whose drift window holds one more.
    assert await store.code("judge", secret) == totp.generate_otp(step + 2)
    assert len(clock.slept) == 1 and step + 1 <= clock.now / TOTP_STEP_S < step + 1.1
    # Near the end of a step the previous step's code could expire on the way: not used.
    late = FakeTime((step + 10) * TOTP_STEP_S + TOTP_STEP_S - TOTP_MARGIN_S / 2)
    fresh = TotpStore(tmp_path / "totp.json", clock=late, sleep=late.sleep)
    assert await fresh.code("clerk", secret) == totp.generate_otp(step + 10)


def test_demo_shortcuts_are_refused_in_production(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="MC_DEMO_SHORTCUTS"):
        Settings(var_dir=tmp_path, mode=Mode.PRODUCTION, demo_shortcuts=True)
    assert Settings(var_dir=tmp_path, demo_shortcuts=True).demo_shortcuts is True


async def test_fake_wechat_serves_wechat_pay_too(tmp_path: Path) -> None:
    args = configure_platform_parser(argparse.ArgumentParser()).parse_args(
        ["--pay-keys-dir", str(tmp_path / "pay"), "--port", "0"]
    )
    keys = ensure_demo_keys(args.pay_keys_dir)
    server = TestServer(
        create_platform_app(
            FakeWeChatConfig(), FakePayConfig.for_merchants(keys.merchant, platform=keys.platform)
        ),
        host="127.0.0.1",
    )
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            # WeChat login and WeChat Pay answer on the same port.
            async with http.post(server.make_url("/__control/login-code"), json={}) as resp:
                assert resp.status == 200
            async with http.get(server.make_url("/__control/pay/orders")) as resp:
                assert resp.status == 200 and (await resp.json())["orders"] == []
            # An unsigned merchant call is refused the way WeChat Pay refuses it.
            async with http.post(server.make_url("/v3/pay/transactions/jsapi"), json={}) as resp:
                assert resp.status == 401
    finally:
        await server.close()
    pay = backend_pay_settings(keys)
    settings = Settings(var_dir=tmp_path, **pay)
    assert settings.wechat_pay_merchant_key_file is not None
    assert settings.wechat_pay_merchant_key_file.read_text().startswith("-----BEGIN")
    assert settings.wechat_pay_mchid == keys.merchant.mchid


REFUSED = "POST /api/v1/filing/filings/x/register → 409 conflict: already decided"


async def test_a_failed_step_stops_the_run_with_the_api_detail() -> None:
    ran: list[str] = []

    async def fine() -> str:
        ran.append("fine")
        return "done"

    async def refused() -> str:
        raise StepFailed(REFUSED)

    async def never() -> str:
        ran.append("never")
        return ""

    class Script:
        def steps(self) -> list[Step]:
            return [Step("一", "one", fine), Step("二", "two", refused), Step("三", "three", never)]

    lines: list[str] = []
    ok = await run_steps(Script(), lines.append)  # type: ignore[arg-type]
    assert ok is False and ran == ["fine"]
    text = "\n".join(lines).splitlines()
    assert text[0].startswith("[ 1/3] 一 one ... ok (") and text[1].strip() == "done"
    assert text[2].startswith("[ 2/3] 二 two ... FAILED (")
    assert (
        text[3].strip() == "POST /api/v1/filing/filings/x/register → 409 conflict: already decided"
    )
