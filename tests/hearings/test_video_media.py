"""Video hearings with real aiortc peers: lobby, admission, relay, late join, reconnection,
mute, removal, recording that verifies and matches what the server received.

Kept to few, short, small (160×120) sessions: the machine has two shared cores.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient

from backend.audit.models import AuditEvent
from hearings.models import VideoSegment
from hearings.video_routes import MEDIA_ENGINE
from tests.hearings.conftest import BASE, Case, make_due, schedule
from tests.hearings.video_client import Participant

Client = TestClient[Any, Any]


def _pid(hearing: dict[str, Any], case: Case, who: Any) -> str:
    return next(p["id"] for p in hearing["participants"] if p["account_id"] == str(who.account_id))


async def test_signaling_refuses_bad_origin_missing_auth_and_strangers(
    client: Client, case: Case
) -> None:
    hearing = await schedule(client, case)
    hid = hearing["id"]
    path = f"{BASE}/{hid}/signaling"
    resp = await client.get(path, headers={"Origin": "https://evil.example"})
    assert resp.status == 403 and (await resp.json())["code"] == "origin_not_allowed"
    # Not yet open (3+ days ahead): refused after authentication.
    early = Participant(client, path, case.judge.token)
    reply = await early.connect()
    assert reply["type"] == "error" and reply["code"] == "room_not_open"
    await early.close()
    await make_due(hid)
    # Garbage instead of an auth message closes the connection.
    ws = await client.ws_connect(path, headers={"Origin": "http://127.0.0.1:8080"})
    await ws.send_json({"type": "offer", "session_id": "x", "purpose": "publish", "sdp": "v=0"})
    msg = await ws.receive()
    assert msg.type.name in ("CLOSE", "CLOSED") and ws.close_code == 4401
    await ws.close()
    for stranger in (case.outsider, case.other_judge):
        peer = Participant(client, path, case.present(stranger).token)
        reply = await peer.connect()
        assert reply["type"] == "error" and reply["code"] == "not_found"
        await peer.close()
    # A party without a recent face check cannot enter the lobby.
    for token in (case.plaintiff.token, case.present(case.plaintiff, age_s=301).token):
        peer = Participant(client, path, token)
        reply = await peer.connect()
        assert reply["type"] == "error" and reply["code"] == "presence_required"
        await peer.close()
    # Invalid messages are answered, oversized floods are cut off.
    judge = Participant(client, path, case.judge.token)
    assert (await judge.connect())["state"] == "admitted"
    await judge.send(
        {"type": "offer", "session_id": "../etc", "purpose": "publish", "sdp": "x" * 20}
    )
    error = await judge.wait_for(lambda m: m["type"] == "error")
    assert error["code"] == "invalid_message"
    # Trickled candidates must name one of the sender's own sessions and parse.
    mark = len(judge.messages)
    await judge.send(
        {"type": "candidate", "session_id": "nope", "candidate": "candidate:1 1 udp 1 h 9 typ host"}
    )
    error = await judge.wait_for(lambda m: m["type"] == "error", after=mark)
    assert error["code"] == "no_session" and error["session_id"] == "nope"
    for _ in range(60):
        await judge.send({"type": "ping"})
    closed = await judge.wait_for(lambda m: m["type"] == "_closed")
    assert closed["code"] == 4429
    await judge.close()


async def test_hearing_with_aiortc_peers(client: Client, case: Case, app: Any) -> None:
    hearing = await schedule(client, case)
    hid = hearing["id"]
    await make_due(hid)
    path = f"{BASE}/{hid}/signaling"
    judge_id, plaintiff_id, defendant_id = (
        _pid(hearing, case, case.judge),
        _pid(hearing, case, case.plaintiff),
        _pid(hearing, case, case.defendant),
    )

    judge = Participant(client, path, case.judge.token)
    welcome = await judge.connect()
    assert welcome["state"] == "admitted" and welcome["ice_servers"] == []
    plaintiff = Participant(client, path, case.present(case.plaintiff).token)
    welcome = await plaintiff.connect()
    assert welcome["state"] == "lobby" and welcome["participant_id"] == plaintiff_id
    lobby = await judge.wait_for(lambda m: m["type"] == "lobby" and m["waiting"])
    assert lobby["waiting"][0]["participant_id"] == plaintiff_id

    # In the lobby: no publishing, but the equipment self-test echoes the phone's own video.
    refused = await plaintiff.publish()
    assert refused["type"] == "error" and refused["code"] == "not_admitted"
    assert (await plaintiff.loopback_test())["type"] == "answer"
    for _ in range(200):
        if len(plaintiff.loopback) >= 10:
            break
        await asyncio.sleep(0.05)
    assert len(plaintiff.loopback) >= 10
    assert plaintiff.loopback[-1] > plaintiff.loopback[0]  # the painted indices came back
    await plaintiff.stop_media()

    resp = await client.post(
        f"{BASE}/{hid}/participants/{plaintiff_id}/admit", headers=case.plaintiff_lawyer.headers
    )
    assert resp.status == 403
    resp = await client.post(
        f"{BASE}/{hid}/participants/{plaintiff_id}/admit", headers=case.clerk.headers
    )
    assert resp.status == 204
    await plaintiff.wait_for(lambda m: m["type"] == "admitted")

    resp = await client.post(f"{BASE}/{hid}/open", headers=case.judge.headers)
    assert resp.status == 200

    for peer in (judge, plaintiff):
        await peer.follow_publishers()
    assert (await judge.publish())["type"] == "answer"
    assert (await plaintiff.publish())["type"] == "answer"
    await judge.frames_from(plaintiff_id, 15)
    await plaintiff.frames_from(judge_id, 15)
    indices = [i for i, _ in plaintiff.received[judge_id]]
    assert indices == sorted(indices) and len(set(indices)) == len(indices)

    # A late joiner: admitted mid-session, sees both, and both see them. (This one reads the
    # encoded frames, as the benchmark's peers do: indices from key frames and RTP timestamps.)
    defendant = Participant(client, path, case.present(case.defendant).token, decode=False)
    assert (await defendant.connect())["state"] == "lobby"
    resp = await client.post(
        f"{BASE}/{hid}/participants/{defendant_id}/admit", headers=case.judge.headers
    )
    assert resp.status == 204
    await defendant.wait_for(lambda m: m["type"] == "welcome" and m["state"] == "admitted", after=1)
    await defendant.follow_publishers()
    await defendant.publish()
    before = len(judge.received[plaintiff_id])
    await defendant.frames_from(judge_id, 10)
    await defendant.frames_from(plaintiff_id, 10)
    indices = [i for i, _ in defendant.received[judge_id]]
    assert indices == list(range(indices[0], indices[0] + len(indices)))  # none lost, in order
    await judge.frames_from(defendant_id, 10)
    await plaintiff.frames_from(defendant_id, 10)
    # Nobody was disturbed: the judge kept receiving the plaintiff throughout.
    assert len(judge.received[plaintiff_id]) > before + 5

    # The plaintiff's phone drops and comes back within the grace period: no lobby.
    await plaintiff.close()
    await judge.wait_for(lambda m: m["type"] == "participant_left")
    plaintiff = Participant(client, path, case.plaintiff.token)  # no fresh face check needed
    welcome = await plaintiff.connect()
    assert welcome["state"] == "admitted" and welcome["resumed"] is True
    await plaintiff.follow_publishers()
    await plaintiff.publish()
    await plaintiff.frames_from(judge_id, 10)
    await plaintiff.frames_from(defendant_id, 10)
    await judge.frames_from(plaintiff_id, 10)  # re-subscribed on "published"

    # Mute and removal.
    resp = await client.post(
        f"{BASE}/{hid}/participants/{defendant_id}/mute", headers=case.judge.headers
    )
    assert resp.status == 204
    muted = await defendant.wait_for(lambda m: m["type"] == "muted")
    assert muted["muted"] is True
    resp = await client.post(
        f"{BASE}/{hid}/participants/{defendant_id}/remove",
        json={"reason": "扰乱法庭秩序"},
        headers=case.judge.headers,
    )
    assert resp.status == 204
    await defendant.wait_for(lambda m: m["type"] == "removed")
    await defendant.close()
    again = Participant(client, path, case.present(case.defendant).token)
    reply = await again.connect()
    assert reply["type"] == "error" and reply["code"] == "not_a_participant"
    await again.close()

    # Stop sending, then compare what the server received with what was recorded.
    for peer in (judge, plaintiff):
        await peer.stop_media()
    await asyncio.sleep(0.5)
    received = app[MEDIA_ENGINE].frames_received(__import__("uuid").UUID(hid))
    resp = await client.post(f"{BASE}/{hid}/close", headers=case.judge.headers)
    assert resp.status == 200
    for peer in (judge, plaintiff):
        await peer.close()

    segments = await VideoSegment.filter(hearing_id=hid).order_by("seq")
    assert segments
    for who in (judge_id, plaintiff_id, defendant_id):
        recorded = sum(
            s.frames for s in segments if str(s.participant_id) == who and s.kind == "video"
        )
        assert recorded == received[(__import__("uuid").UUID(who), "video")] > 0
    resp = await client.get(f"{BASE}/{hid}/record/verify", headers=case.clerk.headers)
    report = await resp.json()
    assert report == {"ok": True, "segments": len(segments), "problems": []}
    actions = set(await AuditEvent.all().values_list("action", flat=True))
    assert {
        "video_hearing.admitted",
        "video_hearing.muted",
        "video_hearing.participant_removed",
    } <= actions
