"""``mobile-court demo``: migrate, seed, start the backend and the fake WeChat platform (login,
messages, SMS and WeChat Pay) in this process, run the scripted court over HTTP with a progress
display, print a summary with links, and keep serving until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from backend.settings import Mode, Settings

FACES = Path(__file__).resolve().parents[2].parent / "shared" / "faces"
TEMPLATE_KEYWORDS = ("thing1", "thing2", "time3")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    settings: Settings  # as the backend runs with them
    app: web.Application
    base: str
    platform: str

    @property
    def templates(self) -> tuple[str, ...]:
        return (
            self.settings.wechat_template_hearing_notice,
            self.settings.service_wechat_template_id,
        )


def demo_settings(settings: Settings, *, host: str, port: int, platform: str) -> Settings:
    """The backend's settings for the demo: the fakes' addresses, WeChat Pay's demo keys, and
    ``demo_shortcuts`` (refused in production mode by Settings itself)."""
    from miniapp_stub.pay_keys import ensure_demo_keys
    from miniapp_stub.platform import backend_pay_settings

    keys = ensure_demo_keys(settings.var_dir / "fake-wechat-pay", appids=(settings.wechat_appid,))
    base = f"http://{host}:{port}"
    values: dict[str, Any] = settings.model_dump()
    values.update(
        host=host,
        port=port,
        public_base_url=base,
        wechat_base_url=platform,
        sms_base_url=f"{platform}/sms",
        wechat_pay_base_url=platform,
        video_allowed_origins=sorted({*settings.video_allowed_origins, base}),
        run_worker=True,
        demo_shortcuts=True,
        **backend_pay_settings(keys),
    )
    return Settings(**values)


@contextlib.asynccontextmanager
async def demo_stack(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    wechat_port: int = 0,
    say: Callable[[str], None] = print,
) -> AsyncIterator[Stack]:
    """The fake WeChat platform and the backend, each on its own port, in this event loop."""
    from backend.app import create_app
    from backend.appkeys import AUDIT, DATABASE
    from backend.db import migrate
    from backend.demo.seed import seed_demo
    from miniapp_stub.pay_keys import ensure_demo_keys
    from miniapp_stub.pay_model import FakePayConfig
    from miniapp_stub.platform import create_platform_app
    from miniapp_stub.wechat import FakeWeChatConfig, MiniProgram

    port = port or free_port(host)
    wechat_port = wechat_port or free_port(host)
    platform = f"http://{host}:{wechat_port}"
    backend = demo_settings(settings, host=host, port=port, platform=platform)
    keys = ensure_demo_keys(settings.var_dir / "fake-wechat-pay", appids=(backend.wechat_appid,))
    fake = create_platform_app(
        FakeWeChatConfig(
            apps=(MiniProgram(backend.wechat_appid, backend.wechat_secret.get_secret_value()),),
            templates={
                backend.wechat_template_hearing_notice: TEMPLATE_KEYWORDS,
                backend.service_wechat_template_id: TEMPLATE_KEYWORDS,
            },
        ),
        FakePayConfig.for_merchants(
            keys.merchant, platform=keys.platform, notify_retry_delays_s=(1.0, 2.0, 5.0)
        ),
    )
    runners: list[web.AppRunner] = []
    try:
        fake_runner = web.AppRunner(fake, access_log=None)
        await fake_runner.setup()
        runners.append(fake_runner)
        await web.TCPSite(fake_runner, host, wechat_port).start()
        say(f"fake WeChat platform (login, messages, SMS, WeChat Pay) on {platform}/")

        def progress(event: str, app_label: str, name: str) -> None:
            if event == "apply_done":
                say(f"applied migration {app_label}.{name}")

        await migrate(backend, progress=progress)
        app = create_app(backend)
        app_runner = web.AppRunner(app, access_log=None)
        await app_runner.setup()
        runners.append(app_runner)
        with app[DATABASE].activate():
            await seed_demo(app[AUDIT], say)
        await web.TCPSite(app_runner, host, port).start()
        base = f"http://{host}:{port}"
        say(f"backend on {base}/ (database {backend.effective_database_url})")
        yield Stack(backend, app, base, platform)
    finally:
        for runner in reversed(runners):
            await runner.cleanup()


async def wait_ready(session: aiohttp.ClientSession, stack: Stack, wait_s: float = 30) -> None:
    deadline = time.monotonic() + wait_s
    for url in (f"{stack.base}/readyz", f"{stack.platform}/__control/messages"):
        while True:
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(url) as resp:
                    if resp.status == 200:
                        break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer within {wait_s:.0f} s")
            await asyncio.sleep(0.2)


def summary(stack: Stack, out: Any, proof_file: Path | None, totp_file: Path) -> str:
    base = stack.base
    recording = stack.settings.effective_recording_dir / out.hearing_id / "manifest.json"
    lines = [
        "",
        "Summary 总结",
        f"  case 案号              {out.case_number}  (fee ¥{out.fee_total}, paid: {out.fee_paid})",
        f"  defence due 答辩期限   {out.defence_due}",
        f"  async hearing 异步审理 {out.async_record_entries} chained posts, record valid: "
        f"{out.async_record_valid}, transcript signatures: {out.transcript_signatures}",
        f"  video hearing 视频庭审 {out.segments} recording segments, verified: "
        f"{out.recording_verified}, manifest sha256 {out.manifest_sha256[:16]}…",
        f"  judgment 判决送达      proof of service signature valid: {out.proof_valid}, "
        f"matches the record: {out.proof_matches_record}, service date {out.service_date}",
        "",
        "Open 打开",
        f"  mini-program 小程序    {base}/miniapp/#/case/{out.filing_id}",
        "                         (to be the plaintiff: in the browser console run "
        f"localStorage.setItem('mc.sim.openid', '{out.plaintiff_openid}'), then 微信一键登录)",
        f"  console 法官/书记员    {base}/console/#/filing/{out.filing_id}  "
        f"(clerk_0281 / judge_0281; authenticator secrets in {totp_file})",
        f"  proof of service PDF   {base}/api/v1/service/deliveries/"
        f"{out.judgment_delivery_id}/proof" + (f"  (saved: {proof_file})" if proof_file else ""),
        f"  recording manifest     {base}/api/v1/hearings/video/{out.hearing_id}/record  "
        f"(file: {recording})",
        f"  OpenAPI docs           {base}/api/v1/docs",
        f"  fake WeChat platform   {stack.platform}/",
    ]
    return "\n".join(lines)


async def run_demo(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    wechat_port: int = 0,
    faces: Path = FACES,
    serve_forever: bool = False,
    video_seconds: float = 4.0,
    say: Callable[[str], None] = print,
) -> tuple[bool, Any]:
    """Start everything, run the scenario; returns (every step ok, the Outcome)."""
    from backend.demo.client import Api, TotpStore
    from backend.demo.scenario import Scenario, run_steps
    from backend.demo.seed import DEMO_PASSWORD

    async with demo_stack(
        settings, host=host, port=port, wechat_port=wechat_port, say=say
    ) as stack:
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            await wait_ready(session, stack)
            totp_file = settings.var_dir / "demo" / "staff_totp.json"
            scenario = Scenario(
                Api(session, stack.base, stack.platform),
                faces=faces,
                totps=TotpStore(totp_file),
                staff_password=DEMO_PASSWORD,
                origin=stack.base,
                templates=stack.templates,
                video_seconds=video_seconds,
            )
            say("")
            say("Scenario 演示流程")
            ok = await run_steps(scenario, say)
        proof_file = None
        if scenario.out.proof_pdf:
            proof_file = (
                settings.var_dir / "demo" / f"proof-{scenario.out.judgment_delivery_id}.pdf"
            )
            proof_file.parent.mkdir(parents=True, exist_ok=True)
            proof_file.write_bytes(scenario.out.proof_pdf)
        if ok:
            say(summary(stack, scenario.out, proof_file, totp_file))
        if ok and serve_forever:
            say("")
            say(f"Serving on {stack.base}/ — press Ctrl-C to stop. 按 Ctrl-C 停止。")
            await _until_interrupted()
        return ok, scenario.out


async def _until_interrupted() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def run_demo_command(settings: Settings, args: argparse.Namespace) -> int:
    from backend.observability import configure_logging

    if settings.mode is Mode.PRODUCTION:
        print("demo refuses to run in production mode", file=sys.stderr)
        return 2
    # The progress display is the output; the server's JSON logs only when something is wrong.
    configure_logging("WARNING")
    faces = Path(args.faces) if getattr(args, "faces", None) else FACES
    if not faces.is_dir():
        print(f"the demo's photos are missing: {faces}", file=sys.stderr)
        return 2

    def say(line: str) -> None:
        print(line, flush=True)

    ok, _ = await run_demo(
        settings,
        host=args.host,
        port=args.port or settings.port,
        wechat_port=args.wechat_port,
        faces=faces,
        serve_forever=not args.no_wait,
        say=say,
    )
    return 0 if ok else 1
