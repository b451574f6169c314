"""A live mediation session runs in a video hearing room scheduled with it: the parties and their
lawyers invited, the mediator as host (even when not the case's judge or clerk), no 3-day hearing
notice (mediation is not a court session) but never in the past; a new mediator takes over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from backend.appkeys import DATABASE
from backend.auth.principal import Role
from hearings.mediation.models import MediationSession
from hearings.models import VideoHearing
from tests.async_hearings.helpers import (
    Client,
    Person,
    litigant,
    registered_case,
    represent,
    staff,
)
from tests.hearings.video_client import Participant
from tests.identity.conftest import Platform

CASES = "/api/v1/mediation/cases"
MEDIATIONS = "/api/v1/mediation/mediations"
VIDEO = "/api/v1/hearings/video"


async def _ok(resp: Any, status: int = 200) -> Any:
    assert resp.status == status, await resp.text()
    return await resp.json()


def _token(person: Person) -> str:
    return person.headers["Authorization"].removeprefix("Bearer ")


def _soon(minutes: int = 10) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


async def _counts(app: web.Application) -> tuple[int, int]:
    with app[DATABASE].activate():
        return await MediationSession.all().count(), await VideoHearing.all().count()


async def test_a_live_session_gets_a_video_room_hosted_by_the_mediator(
    client: Client, app: web.Application, accounts: Any, platform: Platform
) -> None:
    plaintiff = await litigant(client, app, platform)
    defendant = await litigant(client, app, platform)
    judge = await staff(app, accounts, Role.JUDGE)
    # Court staff, but neither the case's judge nor its clerk.
    mediator = await staff(app, accounts, Role.CLERK)
    successor = await staff(app, accounts, Role.CLERK)
    outsider = await staff(app, accounts, Role.CLERK)
    lawyer = await staff(app, accounts, Role.LAWYER)
    filing = await registered_case(app, plaintiff, defendant, judge, procedure="simple")
    await represent(app, filing, "李四", lawyer)
    for person in (plaintiff, defendant):
        resp = await client.post(
            f"/api/v1/async-hearings/cases/{filing.id}/consents",
            json={"scope": "mediation", "consented": True},
            headers=person.headers,
        )
        await _ok(resp)
    started = await _ok(
        await client.post(f"{CASES}/{filing.id}/mediations", headers=judge.headers), 201
    )
    one = f"{MEDIATIONS}/{started['id']}"
    designation = {"mediator_id": str(mediator.account_id)}
    await _ok(await client.post(f"{one}/mediator", json=designation, headers=judge.headers))
    sessions = f"{one}/sessions"
    # The mediator, not on the case's bench, finds the mediation among the case's (the console
    # opens it from there); other staff of the court do not learn the case exists.
    listed = await _ok(
        await client.get(f"{CASES}/{filing.id}/mediations", headers=mediator.headers)
    )
    assert [m["id"] for m in listed["items"]] == [started["id"]]
    resp = await client.get(f"{CASES}/{filing.id}/mediations", headers=outsider.headers)
    assert resp.status == 404

    # Only the mediator (or the case's judge) schedules; others get 404 as before.
    live = {"mode": "live", "starts_at": _soon(), "note": "视频调解"}
    for other in (outsider, plaintiff, lawyer):
        assert (await client.post(sessions, json=live, headers=other.headers)).status == 404
    # A bad start time is refused and nothing is written.
    before = await _counts(app)
    past = {**live, "starts_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat()}
    problem = await _ok(await client.post(sessions, json=past, headers=mediator.headers), 422)
    assert problem["code"] == "starts_in_past"
    naive = {**live, "starts_at": "2030-01-01T10:00:00"}
    assert (await client.post(sessions, json=naive, headers=mediator.headers)).status == 422
    assert await _counts(app) == before

    # An asynchronous session has no room.
    quiet = {"mode": "async", "starts_at": _soon(60 * 24)}
    session = await _ok(await client.post(sessions, json=quiet, headers=mediator.headers), 201)
    assert session["video_hearing_id"] is None
    assert (await _counts(app))[1] == before[1]

    # A live session minutes from now: no 3-day notice for mediation.
    session = await _ok(await client.post(sessions, json=live, headers=mediator.headers), 201)
    room = session["video_hearing_id"]
    assert room is not None
    read = await _ok(await client.get(one, headers=plaintiff.headers))
    # sessions by start: the live one (minutes away) before the asynchronous one (a day away)
    assert [s["video_hearing_id"] for s in read["sessions"]] == [room, None]

    hearing = await _ok(await client.get(f"{VIDEO}/{room}", headers=mediator.headers))
    assert hearing["filing_id"] == str(filing.id) and hearing["notice_status"] == "not_required"
    assert hearing["status"] == "lobby_open"  # starts within 30 minutes
    assert {(p["account_id"], p["role"]) for p in hearing["participants"]} == {
        (str(judge.account_id), "judge"),
        (str(mediator.account_id), "mediator"),
        (str(plaintiff.account_id), "party"),
        (str(defendant.account_id), "party"),
        (str(lawyer.account_id), "lawyer"),
    }
    # The mediator runs the room; parties see it but may not; outsiders do not see it.
    note = {"text": "双方到场"}
    await _ok(await client.post(f"{VIDEO}/{room}/notes", json=note, headers=mediator.headers), 201)
    resp = await client.post(f"{VIDEO}/{room}/notes", json=note, headers=lawyer.headers)
    assert (await _ok(resp, 403))["code"] == "hearing_control_forbidden"
    await _ok(await client.get(f"{VIDEO}/{room}", headers=defendant.headers))
    assert (await client.get(f"{VIDEO}/{room}", headers=outsider.headers)).status == 404
    # The mediator enters the room as court staff: admitted at once, no face check.
    signaling = f"{VIDEO}/{room}/signaling"
    host = Participant(client, signaling, _token(mediator))
    assert (await host.connect())["state"] == "admitted"
    bench = Participant(client, signaling, _token(judge))
    assert (await bench.connect())["state"] == "admitted"
    # Hosting one room gives nothing else of the case.
    case_rooms = {"filing_id": str(filing.id)}
    assert (await client.get(VIDEO, params=case_rooms, headers=mediator.headers)).status == 404

    # A newly designated mediator takes the room over; the previous one loses it, and leaves
    # the live room at once as if removed by the judge: told, disconnected, the others told.
    designation = {"mediator_id": str(successor.account_id)}
    await _ok(await client.post(f"{one}/mediator", json=designation, headers=judge.headers))
    await host.wait_for(lambda m: m["type"] == "removed")
    assert (await host.wait_for(lambda m: m["type"] == "_closed"))["code"] == 4003
    gone = await bench.wait_for(lambda m: m["type"] == "participant_removed")
    assert gone["participant"]["participant_id"] == host.participant_id
    await host.close()
    taker = Participant(client, signaling, _token(successor))
    welcome = await taker.connect()
    assert welcome["state"] == "admitted"
    joined = await bench.wait_for(
        lambda m: (
            m["type"] == "participant_joined"
            and m["participant"]["participant_id"] == taker.participant_id
        )
    )
    assert joined["participant"]["role"] == "mediator"
    await taker.close()
    await bench.close()
    assert (await client.get(f"{VIDEO}/{room}", headers=mediator.headers)).status == 404
    former = Participant(client, f"{VIDEO}/{room}/signaling", _token(mediator))
    assert (await former.connect())["code"] == "not_found"
    await former.close()
    hearing = await _ok(await client.get(f"{VIDEO}/{room}", headers=successor.headers))
    hosts = [
        (p["account_id"], p["removed"]) for p in hearing["participants"] if p["role"] == "mediator"
    ]
    assert sorted(hosts) == sorted(
        [(str(mediator.account_id), True), (str(successor.account_id), False)]
    )
    # Designated again, the first mediator hosts again.
    designation = {"mediator_id": str(mediator.account_id)}
    await _ok(await client.post(f"{one}/mediator", json=designation, headers=judge.headers))
    await _ok(await client.get(f"{VIDEO}/{room}", headers=mediator.headers))
    assert (await client.get(f"{VIDEO}/{room}", headers=successor.headers)).status == 404


async def test_before_filing_a_live_session_is_refused_whole(
    client: Client, app: web.Application, accounts: Any, platform: Platform
) -> None:
    plaintiff = await litigant(client, app, platform)
    defendant = await litigant(client, app, platform)
    judge = await staff(app, accounts, Role.JUDGE)
    filing = await registered_case(app, plaintiff, defendant, judge, status="submitted")
    for person in (plaintiff, defendant):
        resp = await client.post(
            f"/api/v1/async-hearings/cases/{filing.id}/consents",
            json={"scope": "mediation", "consented": True},
            headers=person.headers,
        )
        await _ok(resp)
    started = await _ok(
        await client.post(f"{CASES}/{filing.id}/mediations", headers=judge.headers), 201
    )
    assert started["phase"] == "pre_filing"
    one = f"{MEDIATIONS}/{started['id']}"
    designation = {"mediator_id": str(judge.account_id)}
    await _ok(await client.post(f"{one}/mediator", json=designation, headers=judge.headers))
    before = await _counts(app)
    live = {"mode": "live", "starts_at": _soon()}
    resp = await client.post(f"{one}/sessions", json=live, headers=judge.headers)
    assert (await _ok(resp, 409))["code"] == "video_needs_registered_case"
    assert await _counts(app) == before
