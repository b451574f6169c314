"""Face checks over HTTP: the real-name photo match, liveness challenges and step-up presence.

Real photos from ../shared/faces; liveness frames are the synthetic sequences of test_liveness.py
(obama_1.jpg blinking and turning, under a shaky camera), sent as JPEG frames.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import aiohttp
import numpy as np
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from PIL import Image, ImageFilter

from backend.audit.models import AuditEvent
from backend.auth.principal import Role
from backend.settings import Settings
from backend.storage.models import Blob, StoredFile
from identity.consents import NOTICES
from identity.face import engine
from identity.face.liveness import Action
from identity.face_routes import FACE as FACE_SERVICE
from identity.face_service import FAILURE_LIMIT
from identity.models import (
    ConsentPurpose,
    FaceVerification,
    LivenessChallenge,
    RealName,
)
from tests.identity.conftest import ADULT_ID, Client, bearer, grant, register
from tests.identity.test_liveness import Actor

FACES = Path(__file__).resolve().parents[2].parent / "shared" / "faces"
FACE = "/api/v1/identity/face"
VERIFY = f"{FACE}/verify"
CHALLENGES = f"{FACE}/liveness/challenges"


def _jpeg(image: Image.Image | np.ndarray, quality: int = 90) -> bytes:
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


@pytest.fixture(scope="module")
def photos() -> dict[str, bytes]:
    """What the tests upload, built once."""
    obama = engine.load_image((FACES / "obama_1.jpg").read_bytes())
    face_px = engine.analyse_face(obama).quality.face_px
    rng = np.random.default_rng(7)
    scenery = rng.integers(90, 110, (480, 640, 3), dtype=np.uint8)
    return {
        "id_portrait": (FACES / "obama_2.jpg").read_bytes(),
        "selfie": (FACES / "obama_1.jpg").read_bytes(),
        "impostor": (FACES / "biden_2.jpg").read_bytes(),
        "two_people": (FACES / "multi_two_people.jpg").read_bytes(),
        "no_face": _jpeg(scenery),
        "blurred": _jpeg(Image.fromarray(obama).filter(ImageFilter.GaussianBlur(0.03 * face_px))),
    }


@pytest.fixture(scope="module")
def frames() -> dict[str, list[bytes]]:
    """A live take (blink, then turn left) and a still photo held up to the camera."""
    actor = Actor(engine.load_image((FACES / "obama_1.jpg").read_bytes(), max_side=640))
    live = [_jpeg(f) for f in actor.perform(Action.BLINK, Action.TURN_LEFT)]
    return {"live": live, "still": [live[0]] * 20}


@pytest.fixture
def face_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    return getattr(request, "param", {})


@pytest.fixture
def settings(
    settings_factory: Callable[..., Settings],
    wechat_server: TestServer,
    face_settings: dict[str, Any],
) -> Settings:
    base = str(wechat_server.make_url("")).rstrip("/")
    return settings_factory(wechat_base_url=base, sms_base_url=f"{base}/sms", **face_settings)


@pytest.fixture
async def user(
    client: Client, login: Callable[..., Any], accounts: Any
) -> AsyncIterator[dict[str, Any]]:
    """A signed-in litigant with a pending real-name record and the biometric consent."""
    signed_in: dict[str, Any] = await login()
    await register(client, signed_in["headers"], ADULT_ID)
    await grant(client, signed_in["headers"], ConsentPurpose.BIOMETRIC_FACE)
    signed_in["account_id"] = UUID(str(signed_in["account_id"]))
    yield signed_in


def _form(*parts: tuple[str, bytes | str]) -> aiohttp.FormData:
    form = aiohttp.FormData()
    for name, value in parts:
        if isinstance(value, str):
            form.add_field(name, value)
        else:
            # a stream: aiohttp warns (an error here) about large raw bytes bodies
            form.add_field(
                name, io.BytesIO(value), filename=f"{name}.jpg", content_type="image/jpeg"
            )
    return form


async def _verify(
    client: Client, headers: dict[str, str], id_portrait: bytes, selfie: bytes
) -> aiohttp.ClientResponse:
    form = _form(("id_portrait", id_portrait), ("selfie", selfie))
    return await client.post(VERIFY, data=form, headers=headers)


async def _problem(resp: aiohttp.ClientResponse, status: int, code: str) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/problem+json"
    body: dict[str, Any] = await resp.json()
    assert body["code"] == code, body
    return body


async def _decisions(account_id: UUID) -> list[FaceVerification]:
    return await FaceVerification.filter(account_id=account_id).order_by("created_at")


async def _challenge(
    client: Client, headers: dict[str, str], actions: str = "blink,turn_left"
) -> dict[str, Any]:
    resp = await client.post(CHALLENGES, headers=headers)
    assert resp.status == 201, await resp.text()
    body: dict[str, Any] = await resp.json()
    # The server draws the actions at random; the synthetic actor can blink and turn only.
    await LivenessChallenge.filter(id=body["challenge_id"]).update(actions=actions)
    return body


async def _answer(
    client: Client,
    headers: dict[str, str],
    challenge: dict[str, Any],
    frames: list[bytes],
    id_portrait: bytes,
    nonce: str | None = None,
) -> aiohttp.ClientResponse:
    parts: list[tuple[str, bytes | str]] = [
        ("nonce", nonce or challenge["nonce"]),
        ("mirrored", "false"),
        ("id_portrait", id_portrait),
    ]
    parts += [("frame", f) for f in frames]
    url = f"{FACE}/liveness/{challenge['challenge_id']}"
    return await client.post(url, data=_form(*parts), headers=headers)


async def _bind_reference(app: web.Application, account_id: UUID, id_portrait: bytes) -> None:
    """What a successful real-name match leaves behind (the HTTP path is tested on its own)."""
    await RealName.filter(account_id=account_id).update(
        status="verified", method="face", verified_at=datetime.now(UTC)
    )
    await FaceVerification.create(
        id=uuid4(),
        account_id=account_id,
        purpose="realname",
        result="match",
        method=engine.METHOD,
        distance=0.3,
        threshold=engine.MATCH_THRESHOLD,
        reference_digest=app[FACE_SERVICE].reference_digest(id_portrait),
        created_at=datetime.now(UTC),
    )


# --------------------------------------------------------------------------- consent first


async def test_consent_is_checked_before_the_upload_is_read(
    client: Client, login: Callable[..., Any], accounts: Any
) -> None:
    signed_in = await login()
    await register(client, signed_in["headers"], ADULT_ID)
    release = asyncio.Event()
    sent: list[int] = []

    async def stalled_body() -> AsyncIterator[bytes]:
        head = b'--b0undary\r\nContent-Disposition: form-data; name="id_portrait"; '
        head += b'filename="id.jpg"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff'
        sent.append(len(head))
        yield head
        await release.wait()  # the rest of the photo never comes while the server decides
        sent.append(-1)
        yield b"\r\n--b0undary--\r\n"

    headers = {**signed_in["headers"], "Content-Type": "multipart/form-data; boundary=b0undary"}
    try:
        resp = await asyncio.wait_for(
            client.post(VERIFY, data=stalled_body(), headers=headers), timeout=10
        )
        body = await _problem(resp, 403, "consent_required")
        assert body["purpose"] == "biometric_face"
        assert -1 not in sent  # answered while the body was still incomplete
    finally:
        release.set()
    assert await FaceVerification.all().count() == 0


# --------------------------------------------------------------------------- photo match


async def test_genuine_pair_verifies_the_real_name_and_keeps_only_the_decision(
    client: Client, user: dict[str, Any], photos: dict[str, bytes], app: web.Application
) -> None:
    resp = await _verify(client, user["headers"], photos["id_portrait"], photos["selfie"])
    assert resp.status == 200, await resp.text()
    out = await resp.json()
    assert out["result"] == "match" and out["purpose"] == "realname"
    assert out["realname_status"] == "verified" and out["realname_method"] == "face"
    assert "distance" not in out  # no oracle for tuning a forged photo

    (row,) = await _decisions(user["account_id"])
    assert str(row.id) == out["verification_id"]
    assert row.result == "match" and row.method == engine.METHOD
    assert row.distance is not None and row.distance <= row.threshold == engine.MATCH_THRESHOLD
    assert row.reference_digest == app[FACE_SERVICE].reference_digest(photos["id_portrait"])
    # No photo anywhere: not in the blob store, not in the database.
    assert await Blob.all().count() == 0 and await StoredFile.all().count() == 0
    record = await RealName.get(account_id=user["account_id"])
    assert record.status == "verified" and record.method == "face"

    events = await AuditEvent.filter(action="identity.face_checked")
    assert len(events) == 1 and events[0].details["result"] == "match"
    assert events[0].details["realname_verified"] is True
    text = json.dumps([e.details for e in await AuditEvent.all()], ensure_ascii=False)
    assert ADULT_ID not in text and row.reference_digest not in text

    # a re-check against the same portrait is a decision, not a second verification
    again = await _verify(client, user["headers"], photos["id_portrait"], photos["selfie"])
    assert again.status == 200, await again.text()
    assert len(await _decisions(user["account_id"])) == 2
    # … and another portrait is refused: a verified identity keeps its reference
    other = await _verify(client, user["headers"], photos["impostor"], photos["impostor"])
    await _problem(other, 422, "face_reference_mismatch")


@pytest.mark.parametrize(
    "face_settings",
    [{}, {"face_processes": False}],
    ids=["worker-processes", "pool-threads"],
    indirect=True,
)
async def test_impostor_is_refused_and_nothing_is_verified(
    client: Client, user: dict[str, Any], photos: dict[str, bytes]
) -> None:
    resp = await _verify(client, user["headers"], photos["id_portrait"], photos["impostor"])
    body = await _problem(resp, 422, "face_mismatch")
    assert "distance" not in body and body["alternative"] == "in_person"
    (row,) = await _decisions(user["account_id"])
    assert row.result == "no_match" and row.distance is not None
    assert row.distance > engine.MATCH_THRESHOLD and row.reference_digest is None
    record = await RealName.get(account_id=user["account_id"])
    assert record.status == "pending_face" and record.verified_at is None


@pytest.mark.parametrize(
    ("selfie", "code"),
    [("two_people", "multiple_faces"), ("no_face", "no_face"), ("blurred", "face_too_blurry")],
)
async def test_unusable_selfie_gets_its_own_error(
    client: Client, user: dict[str, Any], photos: dict[str, bytes], selfie: str, code: str
) -> None:
    resp = await _verify(client, user["headers"], photos["id_portrait"], photos[selfie])
    body = await _problem(resp, 422, code)
    assert body["input"] == "selfie" and body["message_zh"]
    assert body["message_zh"] in body["detail"] and body["message_en"] in body["detail"]
    (row,) = await _decisions(user["account_id"])
    assert row.result == "unusable" and row.reason_code == code and row.failed_input == "selfie"
    assert (await RealName.get(account_id=user["account_id"])).status == "pending_face"


async def test_non_image_oversized_and_malformed_forms(
    client: Client, user: dict[str, Any], photos: dict[str, bytes]
) -> None:
    headers = user["headers"]
    pdf = b"%PDF-1.7\n" + b"0" * 2000
    resp = await _verify(client, headers, photos["id_portrait"], pdf)
    body = await _problem(resp, 415, "unsupported_media_type")
    assert body["field"] == "selfie"
    huge = b"\xff\xd8\xff\xe0" + b"\0" * (8 * 1024 * 1024)
    await _problem(await _verify(client, headers, huge, photos["selfie"]), 413, "payload_too_large")
    only_one = _form(("id_portrait", photos["id_portrait"]))
    await _problem(
        await client.post(VERIFY, data=only_one, headers=headers), 422, "validation_failed"
    )
    extra = _form(("id_portrait", photos["id_portrait"]), ("note", "hi"))
    await _problem(await client.post(VERIFY, data=extra, headers=headers), 422, "validation_failed")
    as_json = await client.post(VERIFY, json={"selfie": "x"}, headers=headers)
    await _problem(as_json, 415, "unsupported_media_type")
    assert await FaceVerification.all().count() == 0  # none of these reached the face engine


async def test_verify_needs_a_real_name_record(
    client: Client, login: Callable[..., Any], accounts: Any, photos: dict[str, bytes]
) -> None:
    signed_in = await login()
    await grant(client, signed_in["headers"], ConsentPurpose.BIOMETRIC_FACE)
    resp = await _verify(client, signed_in["headers"], photos["id_portrait"], photos["selfie"])
    await _problem(resp, 422, "realname_required")


@pytest.mark.parametrize("face_settings", [{"face_workers": 1, "face_queue": 1}], indirect=True)
async def test_full_pool_answers_429_with_retry_after(
    client: Client, user: dict[str, Any], photos: dict[str, bytes], app: web.Application
) -> None:
    pool = app[FACE_SERVICE].pool
    release = threading.Event()
    blockers = [pool.submit(release.wait, 30) for _ in range(pool.capacity)]
    try:
        resp = await _verify(client, user["headers"], photos["id_portrait"], photos["selfie"])
        await _problem(resp, 429, "face_busy")
        assert int(resp.headers["Retry-After"]) >= 1
    finally:
        release.set()
    await asyncio.gather(*(asyncio.wrap_future(b) for b in blockers))
    # with the pool free again, the same request goes through (two jobs, one worker)
    resp = await _verify(client, user["headers"], photos["id_portrait"], photos["selfie"])
    assert resp.status == 200, await resp.text()


async def test_a_dead_face_worker_is_replaced(
    client: Client, user: dict[str, Any], photos: dict[str, bytes], app: web.Application
) -> None:
    service = app[FACE_SERVICE]
    broken = service.processes
    assert broken is not None
    with pytest.raises(BrokenProcessPool):  # a worker killed (say, out of memory)
        await asyncio.wrap_future(broken.submit(os._exit, 1))
    resp = await _verify(client, user["headers"], photos["id_portrait"], photos["selfie"])
    await _problem(resp, 503, "face_worker_restarted")
    assert resp.headers["Retry-After"] == "2"
    assert service.processes is not broken
    resp = await _verify(client, user["headers"], photos["id_portrait"], photos["selfie"])
    assert resp.status == 200, await resp.text()


async def test_five_failures_lock_face_checks_for_the_hour(
    client: Client, user: dict[str, Any], photos: dict[str, bytes], app: web.Application
) -> None:
    for _ in range(FAILURE_LIMIT):
        resp = await _verify(client, user["headers"], photos["id_portrait"], photos["impostor"])
        await _problem(resp, 422, "face_mismatch")
    # locked before anything is read or computed, for photo matches and liveness alike
    resp = await _verify(client, user["headers"], photos["id_portrait"], photos["selfie"])
    await _problem(resp, 429, "locked_out")
    assert 1 <= int(resp.headers["Retry-After"]) <= 3600
    await _bind_reference(app, user["account_id"], photos["id_portrait"])
    await _problem(await client.post(CHALLENGES, headers=user["headers"]), 429, "locked_out")
    assert len(await _decisions(user["account_id"])) == FAILURE_LIMIT + 1  # + the bound one
    audited = await AuditEvent.filter(action="identity.face_checked").count()
    assert audited == FAILURE_LIMIT


# --------------------------------------------------------------------------- liveness, presence


async def test_liveness_end_to_end_grants_presence(
    client: Client,
    user: dict[str, Any],
    photos: dict[str, bytes],
    frames: dict[str, list[bytes]],
) -> None:
    headers = user["headers"]
    resp = await _verify(client, headers, photos["id_portrait"], photos["selfie"])
    assert resp.status == 200, await resp.text()
    await _problem(await client.get(f"{FACE}/presence", headers=headers), 403, "presence_required")

    resp = await client.post(CHALLENGES, headers=headers)
    assert resp.status == 201
    issued = await resp.json()
    assert len(issued["actions"]) == 2 and issued["actions"][0] != issued["actions"][1]
    assert all(" / " in a["prompt_zh_en"] for a in issued["actions"])
    expires = datetime.fromisoformat(issued["expires_at"])
    assert timedelta(0) < expires - datetime.now(UTC) <= timedelta(seconds=60)
    stored = await LivenessChallenge.get(id=issued["challenge_id"])
    assert issued["nonce"] not in stored.nonce_hash and stored.used_at is None

    challenge = await _challenge(client, headers)
    resp = await _answer(client, headers, challenge, frames["live"], photos["id_portrait"])
    assert resp.status == 200, await resp.text()
    out = await resp.json()
    verified_at = datetime.fromisoformat(out["presence_verified_at"])
    assert abs((datetime.now(UTC) - verified_at).total_seconds()) < 30
    assert out["max_age_s"] == 300

    new_headers = bearer(out["access_token"])
    presence = await client.get(f"{FACE}/presence", headers=new_headers)
    assert presence.status == 200, await presence.text()
    assert (await presence.json())["presence_verified_at"] == out["presence_verified_at"]
    # the old token (same session) carries no presence
    await _problem(await client.get(f"{FACE}/presence", headers=headers), 403, "presence_required")
    me = await client.get("/api/v1/auth/me", headers=new_headers)
    assert me.status == 200

    row = await FaceVerification.get(id=out["verification_id"])
    assert row.purpose == "presence" and row.result == "match" and row.liveness_passed
    assert row.liveness_reason == "ok" and str(row.challenge_id) == challenge["challenge_id"]
    assert row.reference_digest is None

    # the nonce works once
    replay = await _answer(client, headers, challenge, frames["live"], photos["id_portrait"])
    await _problem(replay, 409, "challenge_used")


async def test_still_photo_wrong_nonce_expiry_and_wrong_portrait_are_refused(
    client: Client,
    user: dict[str, Any],
    photos: dict[str, bytes],
    frames: dict[str, list[bytes]],
    app: web.Application,
) -> None:
    headers, portrait = user["headers"], photos["id_portrait"]
    await _bind_reference(app, user["account_id"], portrait)

    challenge = await _challenge(client, headers)
    still = await _answer(client, headers, challenge, frames["still"], portrait)
    body = await _problem(still, 422, "liveness_failed")
    assert body["reason"] == "static_sequence" and body["message_zh"]
    row = await FaceVerification.get(id=body["verification_id"])
    assert row.result == "liveness_failed" and row.liveness_reason == "static_sequence"

    challenge = await _challenge(client, headers)
    wrong = await _answer(client, headers, challenge, frames["live"], portrait, nonce="x" * 32)
    await _problem(wrong, 403, "challenge_nonce_invalid")
    # a wrong nonce does not spend the challenge; expiry does
    await LivenessChallenge.filter(id=challenge["challenge_id"]).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    expired = await _answer(client, headers, challenge, frames["live"], portrait)
    await _problem(expired, 410, "challenge_expired")

    challenge = await _challenge(client, headers)
    other = await _answer(
        client, headers, challenge, frames["live"], _jpeg(Image.open(FACES / "obama_2.jpg"))
    )
    await _problem(other, 422, "face_reference_mismatch")

    unknown = {**challenge, "challenge_id": str(uuid4())}
    await _problem(await _answer(client, headers, unknown, [], portrait), 404, "not_found")

    results = [r.result for r in await _decisions(user["account_id"])]
    assert results == ["match", "liveness_failed", "reference_mismatch"]


async def test_withdrawing_face_consent_erases_the_reference(
    client: Client, user: dict[str, Any], photos: dict[str, bytes], app: web.Application
) -> None:
    await _bind_reference(app, user["account_id"], photos["id_portrait"])
    await _challenge(client, user["headers"])
    notice = NOTICES[ConsentPurpose.BIOMETRIC_FACE]
    resp = await client.post(
        "/api/v1/identity/consents",
        json={"purpose": "biometric_face", "notice_version": notice.version, "granted": False},
        headers=user["headers"],
    )
    assert resp.status == 200, await resp.text()
    assert await FaceVerification.filter(reference_digest__isnull=False).count() == 0
    assert await LivenessChallenge.filter(account_id=user["account_id"]).count() == 0
    assert (await FaceVerification.all().count()) == 1  # the decision itself is kept
    await _problem(await client.post(CHALLENGES, headers=user["headers"]), 403, "consent_required")
    await grant(client, user["headers"], ConsentPurpose.BIOMETRIC_FACE)
    body = await _problem(
        await client.post(CHALLENGES, headers=user["headers"]), 422, "face_reference_required"
    )
    assert body["alternative"] == "in_person"


async def test_verified_in_person_has_no_face_reference(
    client: Client, user: dict[str, Any], accounts: Any
) -> None:
    _, clerk_headers = await accounts.headers(Role.CLERK, court_code="浙0281")
    resp = await client.post(
        f"/api/v1/identity/realname/{user['account_id']}/verify-in-person",
        json={"note": "居民身份证原件, 立案窗口"},
        headers=clerk_headers,
    )
    assert resp.status == 200, await resp.text()
    body = await _problem(
        await client.post(CHALLENGES, headers=user["headers"]), 422, "face_reference_required"
    )
    assert "in person" in body["detail"] and "当面核验" in body["detail"]
