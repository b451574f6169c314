"""The judge signs the transcript after a real step-up: a fresh authenticator code confirmed at
POST /api/v1/identity/staff/step-up (staff have no real-name record to match a face against).
Parties keep the face check. Wrong, replayed and stale codes are refused."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
from aiohttp import web
from pypdf import PdfReader

from backend.appkeys import AUTH, DATABASE
from backend.audit.models import AuditEvent
from backend.auth.principal import Role
from tests.async_hearings.helpers import (
    BASE,
    STEP_UP,
    Client,
    litigant,
    registered_case,
    staff,
    started_hearing,
)
from tests.identity.conftest import Platform, bearer


async def _problem(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/problem+json"
    body: dict[str, Any] = await resp.json()
    assert body["code"] == code, body
    return body


async def test_the_judge_steps_up_with_an_authenticator_code_to_sign(
    client: Client, app: web.Application, accounts: Any, platform: Platform
) -> None:
    plaintiff = await litigant(client, app, platform)
    defendant = await litigant(client, app, platform)
    judge = await staff(app, accounts, Role.JUDGE)
    filing = await registered_case(app, plaintiff, defendant, judge)
    await started_hearing(client, filing, plaintiff, defendant, judge)
    case = f"{BASE}/{filing.id}"
    starts_at = (datetime.now(UTC) + timedelta(days=5)).isoformat()
    resp = await client.post(
        f"{case}/convert",
        json={"reason": "改为视频庭审", "starts_at": starts_at},
        headers=judge.headers,
    )
    assert resp.status == 200, await resp.text()
    video_id = (await resp.json())["video_hearing_id"]
    resp = await client.post(f"{case}/transcript", headers=judge.headers)
    assert resp.status == 201, await resp.text()
    # the transcript records the conversion and the video hearing it scheduled
    pdf = await client.get(f"{case}/transcript/pdf", headers=judge.headers)
    assert pdf.status == 200, await pdf.text()
    reader = PdfReader(io.BytesIO(await pdf.read()))
    text = "".join(page.extract_text() for page in reader.pages).replace("\n", "")
    assert "转为视频庭审" in text and video_id in text and "改为视频庭审" in text
    sign = f"{case}/transcript/sign"

    # no step-up yet: the answer says how to step up
    body = await _problem(await client.post(sign, headers=judge.headers), 403, "step_up_required")
    assert body["step_up"] == STEP_UP and body["method"] == "totp" and body["max_age_s"] == 300
    assert "动态验证码" in body["detail"] and "authenticator code" in body["detail"]

    # a wrong code
    assert judge.totp_secret is not None
    wrong = pyotp.TOTP(judge.totp_secret).at(time.time() + 30 * 5)
    resp = await client.post(STEP_UP, json={"totp": wrong}, headers=judge.headers)
    body = await _problem(resp, 403, "step_up_code_invalid")
    assert "验证码" in body["detail"] and "authenticator code" in body["detail"]
    # not a code at all
    resp = await client.post(STEP_UP, json={"totp": "12a456"}, headers=judge.headers)
    assert resp.status == 422

    # a step-up older than 5 minutes no longer signs
    stale, _ = app[AUTH].codec.issue(
        judge.account_id,
        judge.session_id,
        step_up_verified_at=datetime.now(UTC) - timedelta(seconds=301),
    )
    body = await _problem(await client.post(sign, headers=bearer(stale)), 403, "step_up_required")
    assert "too old" in body["detail"]

    # a fresh code: a token for the same session, good for 5 minutes
    code = judge.code()
    resp = await client.post(STEP_UP, json={"totp": code}, headers=judge.headers)
    assert resp.status == 200, await resp.text()
    grant = await resp.json()
    verified_at = datetime.fromisoformat(grant["step_up_verified_at"])
    valid_until = datetime.fromisoformat(grant["step_up_valid_until"])
    assert valid_until - verified_at == timedelta(seconds=300) and grant["method"] == "totp"
    claims = app[AUTH].codec.verify(grant["access_token"])
    assert claims.session_id == judge.session_id and claims.presence_verified_at is None
    # the same code cannot be used twice (someone who saw it cannot replay it)
    resp = await client.post(STEP_UP, json={"totp": code}, headers=judge.headers)
    await _problem(resp, 403, "step_up_code_invalid")

    resp = await client.post(sign, headers=bearer(grant["access_token"]))
    assert resp.status == 200, await resp.text()

    # parties keep the face check: a step-up claim does not stand in for it ...
    forged, _ = app[AUTH].codec.issue(
        plaintiff.account_id, plaintiff.session_id, step_up_verified_at=datetime.now(UTC)
    )
    await _problem(await client.post(sign, headers=bearer(forged)), 403, "presence_required")
    # ... and they cannot step up with a code
    resp = await client.post(STEP_UP, json={"totp": code}, headers=plaintiff.headers)
    await _problem(resp, 403, "not_court_staff")
    resp = await client.post(sign, headers=plaintiff.present())
    assert resp.status == 200, await resp.text()

    verified = await client.get(f"{case}/transcript/verify", headers=judge.headers)
    result = await verified.json()
    assert result["valid"] is True and result["missing_roles"] == ["defendant"]
    assert [(s["signer_role"], s["step_up_method"]) for s in result["signatures"]] == [
        ("judge", "totp"),
        ("plaintiff", "face"),
    ]
    judge_signature = result["signatures"][0]
    assert datetime.fromisoformat(judge_signature["presence_verified_at"]) == verified_at
    with app[DATABASE].activate():
        steps = await AuditEvent.filter(action="identity.staff_step_up").all()
        failures = await AuditEvent.filter(action="identity.staff_step_up_failed").count()
        signed = await AuditEvent.filter(action="async_hearing.transcript_signed").all()
    assert [e.actor_subject for e in steps] == [str(judge.account_id)]
    assert failures == 2  # the wrong code and the replay
    assert [e.details["step_up"] for e in signed] == ["totp", "face"]
