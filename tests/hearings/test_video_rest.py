"""Video hearings over REST: scheduling rules, lifecycle, permissions, notes, notice, audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from backend.audit.models import AuditEvent
from backend.jobs.models import Job
from filing.models import CaseEvent
from hearings.models import VideoHearing, VideoRecordingEvent
from hearings.video_service import LOBBY_JOB
from service_of_process.models import ServiceTask
from tests.async_hearings.helpers import run_jobs
from tests.hearings.conftest import BASE, Case, make_due, schedule, stored_files

Client = TestClient[Any, Any]


async def test_schedule_invites_case_members_and_serves_the_notice(
    client: Client, case: Case
) -> None:
    hearing = await schedule(client, case)
    assert hearing["status"] == "scheduled" and hearing["status_zh"] == "已排期"
    # Electronic service took the notice (tests/integration follow it to the inbox).
    assert hearing["notice_status"] == "sent"
    roles = sorted(p["role"] for p in hearing["participants"])
    assert roles == ["clerk", "judge", "lawyer", "lawyer", "party", "party"]
    events = await CaseEvent.filter(filing_id=case.filing.id).values_list("kind", flat=True)
    assert "video_hearing_scheduled" in events
    assert await ServiceTask.filter(origin_key=f"hearing:{hearing['id']}:notice").count() == 1
    assert await AuditEvent.filter(action="video_hearing.scheduled").count() == 1


async def test_schedule_needs_three_days_for_the_notice(client: Client, case: Case) -> None:
    from datetime import UTC, datetime, timedelta

    resp = await client.post(
        BASE,
        json={
            "filing_id": str(case.filing.id),
            "title": "太急了",
            "starts_at": (datetime.now(UTC) + timedelta(days=2, hours=23)).isoformat(),
        },
        headers=case.judge.headers,
    )
    assert resp.status == 422
    problem = await resp.json()
    assert problem["code"] == "too_soon" and problem["errors"][0]["field"] == "starts_at"
    assert await VideoHearing.all().count() == 0


async def test_a_refused_schedule_renders_and_stores_nothing(client: Client, case: Case) -> None:
    """The cheap refusals run before the notice is rendered ahead of the transaction."""
    soon = datetime.now(UTC) + timedelta(days=2)
    later = datetime.now(UTC) + timedelta(days=5)
    refused = (
        ({"starts_at": soon.isoformat()}, "too_soon"),
        (
            {
                "starts_at": later.isoformat(),
                "participant_account_ids": [str(case.outsider.account_id)],
            },
            "not_a_case_member",
        ),
    )
    before = stored_files(case.app)
    for body, code in refused:
        resp = await client.post(
            BASE,
            json={"filing_id": str(case.filing.id), "title": "开庭", **body},
            headers=case.judge.headers,
        )
        assert resp.status == 422 and (await resp.json())["code"] == code
    assert stored_files(case.app) == before
    assert not await VideoHearing.exists()
    assert not await ServiceTask.exists()
    assert not await AuditEvent.filter(action="video_hearing.scheduled").exists()
    # The probe sees what an accepted request renders.
    await schedule(client, case)
    assert stored_files(case.app) > before


async def test_only_the_cases_judge_or_clerk_schedules(client: Client, case: Case) -> None:
    from datetime import UTC, datetime, timedelta

    body = {
        "filing_id": str(case.filing.id),
        "title": "开庭",
        "starts_at": (datetime.now(UTC) + timedelta(days=5)).isoformat(),
    }
    resp = await client.post(BASE, json=body, headers=case.plaintiff.headers)
    assert resp.status == 403 and (await resp.json())["code"] == "hearing_control_forbidden"
    for stranger in (case.outsider, case.other_judge):
        resp = await client.post(BASE, json=body, headers=stranger.headers)
        assert resp.status == 404  # no existence oracle for outsiders
    resp = await client.post(BASE, json=body, headers=case.clerk.headers)
    assert resp.status == 201


async def test_invited_subset_and_non_members_refused(client: Client, case: Case) -> None:
    hearing = await schedule(client, case, participant_account_ids=[str(case.plaintiff.account_id)])
    assert sorted(p["role"] for p in hearing["participants"]) == ["clerk", "judge", "party"]
    from datetime import UTC, datetime, timedelta

    resp = await client.post(
        BASE,
        json={
            "filing_id": str(case.filing.id),
            "title": "开庭",
            "starts_at": (datetime.now(UTC) + timedelta(days=5)).isoformat(),
            "participant_account_ids": [str(case.outsider.account_id)],
        },
        headers=case.judge.headers,
    )
    assert resp.status == 422 and (await resp.json())["code"] == "not_a_case_member"


async def test_lifecycle_with_recording_log_timeline_and_audit(client: Client, case: Case) -> None:
    hearing = await schedule(client, case)
    hid = hearing["id"]
    # Not yet 30 minutes before: the session cannot open.
    resp = await client.post(f"{BASE}/{hid}/open", headers=case.judge.headers)
    assert resp.status == 409 and (await resp.json())["code"] == "invalid_hearing_transition"
    await make_due(hid, minutes=20)
    resp = await client.get(f"{BASE}/{hid}", headers=case.plaintiff.headers)
    assert (await resp.json())["status"] == "lobby_open"
    resp = await client.post(f"{BASE}/{hid}/open", headers=case.judge.headers)
    assert resp.status == 200 and (await resp.json())["status"] == "in_session"
    resp = await client.post(
        f"{BASE}/{hid}/recess", json={"reason": "双方协商"}, headers=case.clerk.headers
    )
    assert (await resp.json())["status"] == "recess"
    resp = await client.post(
        f"{BASE}/{hid}/recess", json={"reason": "再次"}, headers=case.judge.headers
    )
    assert resp.status == 409
    resp = await client.post(f"{BASE}/{hid}/open", headers=case.judge.headers)
    assert (await resp.json())["status"] == "in_session"
    resp = await client.post(
        f"{BASE}/{hid}/notes", json={"text": "原告陈述诉讼请求"}, headers=case.clerk.headers
    )
    assert resp.status == 201
    note = await resp.json()
    assert note["offset_ms"] is not None and note["offset_ms"] >= 0
    resp = await client.post(f"{BASE}/{hid}/close", headers=case.judge.headers)
    body = await resp.json()
    assert body["status"] == "closed" and body["closed_at"]

    kinds = (
        await VideoRecordingEvent.filter(hearing_id=hid)
        .order_by("id")
        .values_list("kind", "reason")
    )
    assert [k for k, _ in kinds] == ["started", "paused", "resumed", "stopped"]
    assert "双方协商" in kinds[1][1]
    timeline = await CaseEvent.filter(filing_id=case.filing.id).values_list("kind", flat=True)
    for kind in ("video_hearing_lobby_open", "video_hearing_in_session", "video_hearing_closed"):
        assert kind in timeline
    actions = set(await AuditEvent.all().values_list("action", flat=True))
    assert {
        "video_hearing.recess",
        "video_hearing.closed",
        "video_hearing.note_added",
        "video_hearing.manifest_written",
    } <= actions
    resp = await client.get(f"{BASE}/{hid}/record", headers=case.clerk.headers)
    record = await resp.json()
    assert record["manifest_sha256"] and record["notes"][0]["text"] == "原告陈述诉讼请求"
    resp = await client.post(f"{BASE}/{hid}/open", headers=case.judge.headers)
    assert resp.status == 409


async def test_parties_and_lawyers_cannot_use_controls(client: Client, case: Case) -> None:
    hearing = await schedule(client, case)
    hid = hearing["id"]
    await make_due(hid)
    someone = hearing["participants"][0]["id"]
    attempts = [
        ("post", f"{BASE}/{hid}/open", None),
        ("post", f"{BASE}/{hid}/recess", {"reason": "想休息"}),
        ("post", f"{BASE}/{hid}/close", None),
        ("post", f"{BASE}/{hid}/recording/pause", {"reason": "不想录"}),
        ("post", f"{BASE}/{hid}/recording/resume", None),
        ("post", f"{BASE}/{hid}/recording/start", {}),
        ("post", f"{BASE}/{hid}/notes", {"text": "x"}),
        ("get", f"{BASE}/{hid}/record", None),
        ("post", f"{BASE}/{hid}/participants/{someone}/admit", None),
        ("post", f"{BASE}/{hid}/participants/{someone}/deny", None),
        ("post", f"{BASE}/{hid}/participants/{someone}/mute", None),
        ("post", f"{BASE}/{hid}/participants/{someone}/unmute", None),
        ("post", f"{BASE}/{hid}/participants/{someone}/remove", {"reason": "捣乱"}),
    ]
    for person in (case.plaintiff, case.defendant_lawyer):
        for method, url, body in attempts:
            resp = await client.request(method, url, json=body, headers=person.headers)
            assert resp.status == 403, (url, await resp.text())
    for method, url, body in attempts[:3]:
        resp = await client.request(method, url, json=body, headers=case.outsider.headers)
        assert resp.status == 404
    resp = await client.get(f"{BASE}/{hid}", headers=case.outsider.headers)
    assert resp.status == 404
    resp = await client.get(f"{BASE}/{hid}", headers=case.defendant.headers)
    assert resp.status == 200


async def test_custom_notice_sender_is_used_and_can_abort(
    settings_factory: Any, aiohttp_client: Any
) -> None:
    """The lead plugs electronic service in through HEARING_NOTICE_SENDER."""
    from backend.app import create_app
    from backend.appkeys import DATABASE
    from hearings.video_notice import HEARING_NOTICE_SENDER
    from tests.conftest import Accounts
    from tests.hearings.conftest import case as case_fixture

    sent: list[int] = []

    class Sender:
        async def prepare(self, filing: Any, title: str, starts_at: Any) -> object:
            return ("rendered", title)

        async def send_notice(
            self, conn: Any, hearing: Any, participants: Any, actor: Any, prepared: object = None
        ) -> str:
            assert prepared == ("rendered", hearing.title)  # what was rendered ahead
            sent.append(len(participants))
            if hearing.title == "boom":
                raise RuntimeError("e-service down")
            return "sent"

    app = create_app(settings_factory())
    app[HEARING_NOTICE_SENDER] = Sender()
    client = await aiohttp_client(app)
    with app[DATABASE].activate():
        the_case = await case_fixture.__wrapped__(app, Accounts(app), client)  # type: ignore[attr-defined]
        hearing = await schedule(client, the_case)
        assert hearing["notice_status"] == "sent" and sent == [6]
        from datetime import UTC, datetime, timedelta

        resp = await client.post(
            BASE,
            json={
                "filing_id": str(the_case.filing.id),
                "title": "boom",
                "starts_at": (datetime.now(UTC) + timedelta(days=5)).isoformat(),
            },
            headers=the_case.judge.headers,
        )
        assert resp.status == 500
        assert await VideoHearing.all().count() == 1  # nothing half-written


async def test_lobby_opens_by_the_clock_through_a_durable_job(
    client: Client, case: Case, app: Any
) -> None:
    hearing = await schedule(client, case)
    hid = hearing["id"]
    job = await Job.get(kind=LOBBY_JOB)
    assert job.payload == {"hearing_id": hid}
    assert job.run_at == datetime.fromisoformat(hearing["lobby_opens_at"])
    await run_jobs(app)  # (the notice's service jobs run too)
    assert (await Job.get(id=job.id)).status == "queued"  # days ahead: not due

    # The job runs early (the start was moved later): nothing opens, it waits for the new time.
    await Job.filter(id=job.id).update(run_at=datetime.now(UTC))
    assert await run_jobs(app) == 1
    assert (await Job.get(id=job.id)).status == "done"
    assert (await VideoHearing.get(id=hid)).status == "scheduled"
    again = await Job.filter(kind=LOBBY_JOB, status="queued").get()
    assert again.run_at == job.run_at

    # Due: the worker opens the lobby with nobody looking, as the system, audited.
    await make_due(hid)
    await Job.filter(id=again.id).update(run_at=datetime.now(UTC))
    assert await run_jobs(app) == 1
    stored = await VideoHearing.get(id=hid)
    assert stored.status == "lobby_open" and stored.lobby_opened_at is not None
    event = await AuditEvent.get(action="video_hearing.lobby_open", resource_id=hid)
    assert event.actor_subject is None and event.actor_roles == "hearings"
    kinds = await CaseEvent.filter(filing_id=case.filing.id).values_list("kind", flat=True)
    assert "video_hearing_lobby_open" in kinds
    # A late duplicate run changes nothing.
    await Job.create(kind=LOBBY_JOB, payload={"hearing_id": hid}, run_at=datetime.now(UTC))
    assert await run_jobs(app) == 1
    assert await AuditEvent.filter(action="video_hearing.lobby_open").count() == 1
