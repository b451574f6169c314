"""A participant who leaves and comes straight back, again and again (a phone on a bad network),
receives the judge every time. Each new connection reuses the session ids of the last one
("subscribe-1", "publish-2"), as any client that counts its sessions from one does."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from aiohttp.test_utils import TestClient
from aiortc import RTCConfiguration, RTCPeerConnection

from backend.demo.video_peer import NumberedVideoTrack
from hearings.video_media import AiortcMediaEngine
from tests.hearings.conftest import BASE, Case, make_due, schedule
from tests.hearings.video_client import Participant

Client = TestClient[Any, Any]


async def test_quick_rejoins_receive_the_judge_every_time(client: Client, case: Case) -> None:
    hearing = await schedule(client, case)
    hid = hearing["id"]
    await make_due(hid)
    path = f"{BASE}/{hid}/signaling"
    judge = Participant(client, path, case.judge.token, decode=False)
    assert (await judge.connect())["state"] == "admitted"
    await judge.follow_publishers()
    await judge.publish()
    judge_id = judge.participant_id
    assert judge_id is not None

    lawyer = Participant(client, path, case.present(case.plaintiff_lawyer).token, decode=False)
    welcome = await lawyer.connect()
    resp = await client.post(
        f"{BASE}/{hid}/participants/{welcome['participant_id']}/admit",
        headers=case.judge.headers,
    )
    assert resp.status == 204
    await lawyer.wait_for(lambda m: m["type"] == "welcome" and m["state"] == "admitted", after=1)
    missed = []
    for cycle in range(6):
        if cycle:
            lawyer = Participant(client, path, case.plaintiff_lawyer.token, decode=False)
            welcome = await lawyer.connect()
            assert welcome["state"] == "admitted" and welcome["resumed"] is True
        await lawyer.follow_publishers()
        await lawyer.publish()
        try:
            await lawyer.frames_from(judge_id, 3, wait_s=8)
        except AssertionError:
            missed.append(cycle)
        await lawyer.close()
        await asyncio.sleep(0.3)
    assert missed == []
    # Offers for someone who left, or for oneself, are refused before any connection is made.
    for publisher in (lawyer.participant_id, judge_id):
        reply = await judge.subscribe(str(publisher))
        assert reply["type"] == "error" and reply["code"] == "not_publishing"
    await judge.close()


async def test_a_late_closed_event_of_an_old_connection_spares_the_new_session() -> None:
    """The old connection's "closed" state change is handled after its close; by then the phone
    may be back with a new connection under the same session id, which must stay open."""
    engine = AiortcMediaEngine([])
    room_id, participant = uuid.uuid4(), uuid.uuid4()
    await engine.open_room(room_id, lambda *frame: None)
    phones: list[RTCPeerConnection] = []

    async def offer() -> str:
        phone = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        phones.append(phone)
        phone.addTrack(NumberedVideoTrack())
        await phone.setLocalDescription(await phone.createOffer())
        return str(phone.localDescription.sdp)

    try:
        await engine.answer(room_id, participant, "publish-1", "publish", await offer())
        again = await offer()
        closing = asyncio.create_task(engine.close_session(room_id, participant, "publish-1"))
        await asyncio.sleep(0)  # the old session is out of the table, its connection closing
        await engine.answer(room_id, participant, "publish-1", "publish", again)
        await closing
        await asyncio.sleep(0.2)  # the old connection's state-change handlers have run
        assert engine.publishers(room_id) == [participant]
    finally:
        await engine.close_room(room_id)
        for phone in phones:
            await phone.close()
