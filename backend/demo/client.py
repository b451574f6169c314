"""What the scripted demo drives: the API over real HTTP, as the mini-program and the console do.

Litigants sign in with a code from the fake platform's ``wx.login``, prove who they are with
photos from ../shared/faces and answer liveness challenges with synthetic frames; staff sign in
with password and TOTP, computed from the secret the demo kept when it enrolled them.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import aiohttp
import numpy as np
import pyotp
from PIL import Image

from backend.demo.face_actor import Actor
from identity.staff_login import TOTP_DRIFT_STEPS, TOTP_STEP_S

JSON = dict[str, Any]
# Which synthetic actions the actor can perform (it cannot open its mouth).
PERFORMABLE = frozenset({"blink", "turn_left", "turn_right"})
# A presence proof is good for 5 minutes; renew it a little before.
PRESENCE_RENEW_S = 240.0
# A code for a past step is sent only with this much of the current step left.
TOTP_MARGIN_S = 5.0


class StepFailed(Exception):
    """A step went wrong; ``detail`` is what the API said (its problem+json detail)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _problem_text(method: str, url: str, status: int, body: Any) -> str:
    if isinstance(body, Mapping):
        code = body.get("code", "")
        detail = body.get("detail") or body.get("title") or json.dumps(body, ensure_ascii=False)
        extra = {k: v for k, v in body.items() if k in ("unmet", "errors", "reason")}
        more = f" {json.dumps(extra, ensure_ascii=False)}" if extra else ""
        return f"{method} {url} → {status} {code}: {detail}{more}"
    return f"{method} {url} → {status}: {str(body)[:300]}"


@dataclass
class Api:
    session: aiohttp.ClientSession
    base: str  # the backend, e.g. http://127.0.0.1:8080
    platform: str  # the fake WeChat platform, e.g. http://127.0.0.1:8930

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json_body: Any = None,
        data: aiohttp.FormData | None = None,
        params: Mapping[str, str] | None = None,
        expect: Sequence[int] = (200, 201, 204),
        raw: bool = False,
    ) -> Any:
        url = path if path.startswith("http") else f"{self.base}{path}"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.session.request(
            method, url, json=json_body, data=data, params=params, headers=headers
        ) as resp:
            body: Any
            if raw and resp.status in expect:
                return await resp.read()
            if resp.status == 204:
                body = None
            elif resp.content_type.endswith("json"):
                body = await resp.json()
            else:
                body = await resp.text()
            if resp.status not in expect:
                raise StepFailed(_problem_text(method, path, resp.status, body))
            return body

    async def control(self, path: str, body: JSON | None = None) -> Any:
        """The fake platform's control API (what a tester's phone would do by hand)."""
        return await self.call("POST", f"{self.platform}/__control/{path}", json_body=body or {})


def pdf_bytes(title: str) -> bytes:
    """A small, valid one-page PDF (uploads are typed by their magic bytes)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4)
    page.setFont("STSong-Light", 14)
    page.drawString(72, 760, title)
    page.showPage()
    page.save()
    return out.getvalue()


def form(*parts: tuple[str, bytes | str, str]) -> aiohttp.FormData:
    """Multipart parts as (name, value, filename); text parts have an empty filename."""
    data = aiohttp.FormData()
    for name, value, filename in parts:
        if isinstance(value, str):
            data.add_field(name, value)
        else:
            data.add_field(
                name, io.BytesIO(value), filename=filename, content_type="application/octet-stream"
            )
    return data


def _jpeg(image: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


@dataclass
class Litigant:
    """A person on a phone: a WeChat sign-in, a real name and a face."""

    name: str
    id_number: str
    id_portrait: Path  # the photo on the ID card
    selfie: Path  # the face in front of the camera
    account_id: UUID | None = None
    openid: str | None = None
    token: str = ""
    presence_at: float = 0.0
    _actor: Actor | None = field(default=None, repr=False)

    def actor(self) -> Actor:
        if self._actor is None:
            from identity.face import engine

            self._actor = Actor(engine.load_image(self.selfie.read_bytes(), max_side=640))
        return self._actor


async def wechat_sign_in(api: Api, person: Litigant, templates: Sequence[str]) -> JSON:
    """wx.login() on the phone, then the mini-program's sign-in with the code."""
    # The same simulated WeChat user a browser becomes with localStorage "mc.sim.openid".
    code = await api.control("login-code", {"openid": f"sim-demo-{uuid4()}"})
    signed: JSON = await api.call(
        "POST", "/api/v1/identity/wechat/login", json_body={"code": code["code"]}
    )
    person.account_id = UUID(str(signed["account_id"]))
    person.openid = str(code["openid"])
    person.token = str(signed["access_token"])
    # The user taps "allow" on the subscribe-message prompts (notices are courtesy only).
    for template in templates:
        await api.control(
            "subscribe-grant", {"openid": person.openid, "template_id": template, "count": 20}
        )
    return signed


async def grant_consents(api: Api, person: Litigant, purposes: Sequence[str]) -> None:
    notices = await api.call("GET", "/api/v1/identity/consents/notices")
    versions = {n["purpose"]: n["version"] for n in notices["items"]}
    for purpose in purposes:
        await api.call(
            "POST",
            "/api/v1/identity/consents",
            token=person.token,
            json_body={"purpose": purpose, "notice_version": versions[purpose], "granted": True},
        )


async def verify_real_name(api: Api, person: Litigant) -> JSON:
    """Name and ID number, then the photo match of the ID portrait against a selfie."""
    await grant_consents(api, person, ("personal_info", "biometric_face"))
    await api.call(
        "POST",
        "/api/v1/identity/realname",
        token=person.token,
        json_body={"name": person.name, "id_number": person.id_number},
    )
    result: JSON = await api.call(
        "POST",
        "/api/v1/identity/face/verify",
        token=person.token,
        data=form(
            ("id_portrait", person.id_portrait.read_bytes(), person.id_portrait.name),
            ("selfie", person.selfie.read_bytes(), person.selfie.name),
        ),
    )
    if result["realname_status"] != "verified":
        raise StepFailed(f"real name not verified: {result}")
    return result


async def prove_presence(api: Api, person: Litigant, *, force: bool = False) -> JSON | None:
    """Answer a liveness challenge (the step-up face check that hearings and signing ask for);
    the answer carries an access token proving presence for 5 minutes."""
    if not force and time.monotonic() - person.presence_at < PRESENCE_RENEW_S:
        return None
    loop = asyncio.get_running_loop()
    actor = await loop.run_in_executor(None, person.actor)
    await loop.run_in_executor(None, actor.prepare)
    for _ in range(8):
        challenge: JSON = await api.call(
            "POST", "/api/v1/identity/face/liveness/challenges", token=person.token
        )
        actions = [a["action"] for a in challenge["actions"]]
        if set(actions) <= PERFORMABLE:
            break
        # The actor cannot open its mouth; a person would just do it. Ask for another
        # challenge (an unanswered challenge costs nothing and expires in 60 s).
    else:
        raise StepFailed("no liveness challenge the synthetic actor can perform")
    from identity.face.liveness import Action

    frames = await loop.run_in_executor(
        None, lambda: [_jpeg(f) for f in actor.perform(*(Action(a) for a in actions))]
    )
    parts: list[tuple[str, bytes | str, str]] = [
        ("nonce", str(challenge["nonce"]), ""),
        ("mirrored", "false", ""),
        ("id_portrait", person.id_portrait.read_bytes(), person.id_portrait.name),
    ]
    parts += [("frame", f, f"frame{i:02d}.jpg") for i, f in enumerate(frames)]
    grant: JSON = await api.call(
        "POST",
        f"/api/v1/identity/face/liveness/{challenge['challenge_id']}",
        token=person.token,
        data=form(*parts),
    )
    person.token = str(grant["access_token"])
    person.presence_at = time.monotonic()
    grant["actions"] = actions
    grant["frames"] = len(frames)
    return grant


@dataclass
class Staff:
    username: str
    password: str
    token: str = ""
    account_id: UUID | None = None


class TotpStore:
    """The demo's authenticator app: staff TOTP secrets, kept in the var dir (0600) so that a
    second ``mobile-court demo`` on the same data signs in again."""

    def __init__(
        self,
        path: Path,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.path = path
        self.last_step: dict[str, int] = {}
        self._clock = clock
        self._sleep = sleep

    def _load(self) -> dict[str, str]:
        if not self.path.exists():
            return {}
        data: dict[str, str] = json.loads(self.path.read_text())
        return data

    def get(self, username: str) -> str | None:
        return self._load().get(username)

    def put(self, username: str, secret: str) -> None:
        data = self._load()
        data[username] = secret
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2))
        tmp.chmod(0o600)
        tmp.replace(self.path)

    async def code(self, username: str, secret: str) -> str:
        """A code the server has not accepted yet. Codes are single use and the server accepts
        one step of drift either way, so the oldest acceptable step goes first: a judge's
        confirmation, sign-in and step-up within one 30-s step then need no wait. The previous
        step only while TOTP_MARGIN_S of the current one remain (it must not expire on the way);
        when every acceptable step was used, wait for the next step rather than fail."""
        totp = pyotp.TOTP(secret, interval=TOTP_STEP_S)
        while True:
            now = self._clock()
            current = int(now) // TOTP_STEP_S
            ends_in = (current + 1) * TOTP_STEP_S - now
            oldest = current - TOTP_DRIFT_STEPS if ends_in > TOTP_MARGIN_S else current
            step = max(oldest, self.last_step.get(username, -1) + 1)
            if step <= current + TOTP_DRIFT_STEPS:
                self.last_step[username] = step
                return str(totp.generate_otp(step))
            await self._sleep(ends_in + 0.1)


async def staff_sign_in(api: Api, staff: Staff, totps: TotpStore) -> None:
    """Password + authenticator code; the first time, enrol the authenticator."""
    secret = totps.get(staff.username)
    credentials = {"username": staff.username, "password": staff.password}
    if secret is None:
        enrolment = await api.call(
            "POST", "/api/v1/identity/staff/totp/enrol", json_body=credentials, expect=(200, 201)
        )
        secret = str(enrolment["secret"])
        totps.put(staff.username, secret)
        await api.call(
            "POST",
            "/api/v1/identity/staff/totp/confirm",
            json_body={**credentials, "totp": await totps.code(staff.username, secret)},
        )
    tokens = await api.call(
        "POST",
        "/api/v1/identity/staff/login",
        json_body={**credentials, "totp": await totps.code(staff.username, secret)},
    )
    staff.token = str(tokens["access_token"])
    me = await api.call("GET", "/api/v1/auth/me", token=staff.token)
    staff.account_id = UUID(str(me["id"]))


async def poll(check: Any, *, wait_s: float = 30.0, every_s: float = 0.3) -> Any:
    """Call ``check()`` until it returns something truthy (jobs run in the server's worker)."""
    deadline = time.monotonic() + wait_s
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise StepFailed(f"gave up waiting after {wait_s:.0f} s")
        await asyncio.sleep(every_s)


@dataclass
class Outcome:
    """What the scenario produced: the summary's figures and links."""

    filing_id: str = ""
    plaintiff_openid: str = ""
    case_number: str = ""
    fee_total: str = ""
    fee_paid: bool = False
    notice_delivery_id: str = ""
    defence_due: str = ""
    async_record_entries: int = 0
    async_record_valid: bool = False
    transcript_signatures: int = 0
    hearing_id: str = ""
    frames_exchanged: dict[str, int] = field(default_factory=dict)
    segments: int = 0
    recording_verified: bool = False
    manifest_sha256: str = ""
    judgment_delivery_id: str = ""
    proof_valid: bool = False
    proof_matches_record: bool = False
    proof_pdf: bytes = b""
    service_date: str = ""
    timeline: list[str] = field(default_factory=list)
