"""A phone that reconnects while the server is still closing its old media (slow under load)
keeps its admission: the old connection's leave must not overwrite the new connection's state."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, cast

from backend.settings import Settings
from hearings.video_room import Member, Peer, Room, RoomManager


class SlowEngine:
    """Only what join/leave use; ``disconnect`` waits until the test lets it finish."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.disconnecting = asyncio.Event()

    async def disconnect(self, room_id: uuid.UUID, participant_id: uuid.UUID) -> None:
        self.disconnecting.set()
        await self.release.wait()


def _peer(sent: list[str]) -> Peer:
    async def send(text: str) -> None:
        sent.append(text)

    async def close(code: int, reason: str) -> None:
        return None

    return Peer(send, close)


async def test_leave_of_the_old_connection_does_not_undo_a_rejoin(settings: Settings) -> None:
    engine = SlowEngine()
    manager = RoomManager(settings, cast(Any, engine), cast(Any, None), cast(Any, None))
    party = Member(uuid.uuid4(), uuid.uuid4(), "party", "张三", state="admitted")
    room = Room(uuid.uuid4(), {party.participant_id: party}, "in_session")
    old, new = _peer([]), _peer([])
    manager.join(room, party, old)
    assert party.state == "admitted"

    leaving = asyncio.create_task(manager.leave(room, party, old))
    await engine.disconnecting.wait()
    # Back before the old media is closed: resumed without re-admission.
    assert manager.join(room, party, new) is True
    engine.release.set()
    await leaving

    assert party.state == "admitted" and party.peer is new
    assert party.grace is None  # no grace timer that would expire a participant who is back
    for peer in (old, new):
        await peer.stop()
