"""Stage windows: the 24-hour reminder, the automatic close at the window's end (missed windows
flagged to the judge), extension, reopening, conversion to a video hearing, exchange mode."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from backend.appkeys import DATABASE
from backend.auth.principal import Role
from backend.jobs.models import Job
from filing.models import CaseEvent
from hearings.asynchronous.models import NotificationSent
from hearings.asynchronous.notify import CLOSE_KIND
from hearings.models import VideoHearing
from service_of_process.models import ServiceTask
from tests.async_hearings.helpers import (
    BASE,
    Client,
    litigant,
    registered_case,
    run_jobs,
    staff,
    started_hearing,
)
from tests.hearings.conftest import stored_files
from tests.identity.conftest import Platform


async def _ok(resp: Any, status: int = 200) -> Any:
    assert resp.status == status, await resp.text()
    return await resp.json()


async def _messages(platform: Platform, what: str) -> list[dict[str, Any]]:
    async with platform.session.get(f"{platform.base}/__control/messages") as resp:
        messages: list[dict[str, Any]] = (await resp.json())["messages"]
    return [m for m in messages if m["data"]["thing2"]["value"] == what]


async def _close_jobs_due(app: web.Application, closes_at: str | None = None) -> None:
    """Bring the window-close job(s) forward to now, as if the window's end had come."""
    with app[DATABASE].activate():
        for job in await Job.filter(kind=CLOSE_KIND, status="queued"):
            if closes_at is None or job.payload["closes_at"] == closes_at:
                job.run_at = datetime.now(UTC)
                await job.save(update_fields=["run_at"])


async def test_reminder_and_automatic_close_flag_the_missed_window(
    client: Client, app: web.Application, accounts: Any, platform: Platform
) -> None:
    plaintiff, defendant = (
        await litigant(client, app, platform),
        await litigant(client, app, platform),
    )
    judge = await staff(app, accounts, Role.JUDGE)
    filing = await registered_case(app, plaintiff, defendant, judge)
    await started_hearing(client, filing, plaintiff, defendant, judge, windows={"claim": 2})
    case = f"{BASE}/{filing.id}"

    # a 2-hour window already closes within 24 hours: the reminder is due at once
    await run_jobs(app)
    reminded = await _messages(platform, "阶段将在24小时内截止")
    assert {m["touser"] for m in reminded} == {plaintiff.openid, defendant.openid}
    hearing = await _ok(await client.get(case, headers=judge.headers))
    assert hearing["stages"][0]["status"] == "open"  # the close job waits for the window's end

    await _close_jobs_due(app)
    await run_jobs(app)
    hearing = await _ok(await client.get(case, headers=judge.headers))
    assert [s["status"] for s in hearing["stages"][:2]] == ["closed", "open"]
    missed = (await _ok(await client.get(f"{case}/missed", headers=plaintiff.headers)))["items"]
    assert [(m["stage"], m["party_role"], m["decision"]) for m in missed] == [
        ("claim", "plaintiff", None)
    ]
    with app[DATABASE].activate():
        flagged = await CaseEvent.filter(filing_id=filing.id, kind="async_window_missed").first()
        assert flagged is not None and flagged.visibility == "court"
        # the judge has no WeChat login: the notice is recorded as not deliverable, not retried
        notice = await NotificationSent.filter(account_id=judge.account_id).first()
        assert notice is not None and notice.outcome == "no_wechat"

    # no reason given: the judge rejects, which counts as refusing to appear
    decided = await _ok(
        await client.post(
            f"{case}/missed/{missed[0]['id']}/decision",
            json={"accepted": False},
            headers=judge.headers,
        )
    )
    assert decided["decision"] == "rejected" and "Art. 25" in decided["consequence_en"]
    resp = await client.post(
        f"{case}/missed/{missed[0]['id']}/reason",
        json={"reason": "太迟了"},
        headers=plaintiff.headers,
    )
    assert (await _ok(resp, 409))["code"] == "already_decided"


async def test_an_extended_window_ignores_the_old_end(
    client: Client, app: web.Application, accounts: Any, platform: Platform
) -> None:
    plaintiff, defendant = (
        await litigant(client, app, platform),
        await litigant(client, app, platform),
    )
    judge = await staff(app, accounts, Role.JUDGE)
    filing = await registered_case(app, plaintiff, defendant, judge)
    hearing = await started_hearing(client, filing, plaintiff, defendant, judge)
    case = f"{BASE}/{filing.id}"
    old_end = datetime.fromisoformat(hearing["stages"][0]["closes_at"])

    resp = await client.post(
        f"{case}/stages/claim/extend",
        json={"closes_at": (old_end - timedelta(hours=1)).isoformat()},
        headers=judge.headers,
    )
    assert (await _ok(resp, 422))["code"] == "not_an_extension"
    assert (
        await client.post(
            f"{case}/stages/defence/extend",
            json={"closes_at": (old_end + timedelta(days=1)).isoformat()},
            headers=judge.headers,
        )
    ).status == 409
    new_end = old_end + timedelta(days=2)
    hearing = await _ok(
        await client.post(
            f"{case}/stages/claim/extend",
            json={"closes_at": new_end.isoformat()},
            headers=judge.headers,
        )
    )
    assert datetime.fromisoformat(hearing["stages"][0]["closes_at"]) == new_end

    await _close_jobs_due(app, old_end.astimezone(UTC).isoformat())
    await run_jobs(app)
    hearing = await _ok(await client.get(case, headers=judge.headers))
    assert hearing["stages"][0]["status"] == "open"  # the old end no longer closes anything

    await _close_jobs_due(app, new_end.astimezone(UTC).isoformat())
    await run_jobs(app)
    hearing = await _ok(await client.get(case, headers=judge.headers))
    assert [s["status"] for s in hearing["stages"][:2]] == ["closed", "open"]


async def test_reopen_and_convert_to_video(
    client: Client, app: web.Application, accounts: Any, platform: Platform
) -> None:
    plaintiff, defendant = (
        await litigant(client, app, platform),
        await litigant(client, app, platform),
    )
    judge = await staff(app, accounts, Role.JUDGE)
    filing = await registered_case(app, plaintiff, defendant, judge)
    await started_hearing(client, filing, plaintiff, defendant, judge)
    case = f"{BASE}/{filing.id}"
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()

    await _ok(await client.post(f"{case}/stages/advance", headers=judge.headers))
    # the defence stage holds nothing yet: the claim stage can be reopened
    hearing = await _ok(
        await client.post(
            f"{case}/stages/claim/reopen", json={"closes_at": later}, headers=judge.headers
        )
    )
    assert [s["status"] for s in hearing["stages"][:2]] == ["open", "pending"]
    await _ok(await client.post(f"{case}/stages/claim/enter", headers=plaintiff.present()))
    resp = await client.post(
        f"{case}/posts",
        json={"stage": "claim", "kind": "text", "text": "补充诉讼请求"},
        headers=plaintiff.headers,
    )
    await _ok(resp, 201)
    await _ok(await client.post(f"{case}/stages/advance", headers=judge.headers))
    await _ok(await client.post(f"{case}/stages/defence/enter", headers=defendant.present()))
    resp = await client.post(
        f"{case}/posts",
        json={"stage": "defence", "kind": "text", "text": "不同意"},
        headers=defendant.headers,
    )
    await _ok(resp, 201)
    await _ok(await client.post(f"{case}/stages/advance", headers=judge.headers))
    resp = await client.post(
        f"{case}/stages/claim/reopen", json={"closes_at": later}, headers=judge.headers
    )
    assert (await _ok(resp, 409))["code"] == "later_stage_has_posts"
    starts_at = datetime.now(UTC) + timedelta(days=4)
    reason = "双方对借款金额争议较大，需同步询问"
    # parties cannot steer the hearing
    resp = await client.post(
        f"{case}/convert",
        json={"reason": "x" * 3, "starts_at": starts_at.isoformat()},
        headers=plaintiff.headers,
    )
    assert resp.status == 404
    # the video hearing's notice must be served 3 days ahead: too soon is refused before any
    # notice is rendered, and the asynchronous hearing goes on untouched
    files = stored_files(app)
    resp = await client.post(
        f"{case}/convert",
        json={"reason": reason, "starts_at": (starts_at - timedelta(days=2)).isoformat()},
        headers=judge.headers,
    )
    assert (await _ok(resp, 422))["code"] == "too_soon"
    assert stored_files(app) == files
    hearing = await _ok(await client.get(case, headers=judge.headers))
    assert hearing["status"] == "in_progress" and hearing["video_hearing_id"] is None
    with app[DATABASE].activate():
        assert await VideoHearing.filter(filing_id=filing.id).count() == 0

    hearing = await _ok(
        await client.post(
            f"{case}/convert",
            json={"reason": reason, "starts_at": starts_at.isoformat()},
            headers=judge.headers,
        )
    )
    assert hearing["status"] == "converted" and hearing["converted_at"]
    assert all(s["status"] != "open" for s in hearing["stages"])
    # the conversion scheduled a real video hearing, linked from the asynchronous hearing ...
    video_id = hearing["video_hearing_id"]
    assert video_id is not None
    assert (await _ok(await client.get(case, headers=defendant.headers)))["video_hearing_id"] == (
        video_id
    )
    video = await _ok(await client.get(f"/api/v1/hearings/video/{video_id}", headers=judge.headers))
    assert video["status"] == "scheduled" and video["filing_id"] == str(filing.id)
    assert datetime.fromisoformat(video["starts_at"]) == starts_at
    assert sorted(p["role"] for p in video["participants"]) == ["judge", "party", "party"]
    # ... whose notice went to electronic service, as for any scheduled hearing
    assert video["notice_status"] == "sent"
    with app[DATABASE].activate():
        tasks = await ServiceTask.filter(origin_key=f"hearing:{video_id}:notice").count()
        assert tasks == 1
        assert await VideoHearing.filter(filing_id=filing.id).count() == 1
    # the parties see it among the case's video hearings
    listed = await _ok(
        await client.get(
            "/api/v1/hearings/video",
            params={"filing_id": str(filing.id)},
            headers=plaintiff.headers,
        )
    )
    assert [h["id"] for h in listed["items"]] == [video_id]
    files = stored_files(app)
    resp = await client.post(
        f"{case}/convert",
        # another time than the first notice's: storage is content-addressed
        json={"reason": reason, "starts_at": (starts_at + timedelta(days=1)).isoformat()},
        headers=judge.headers,
    )
    assert (await _ok(resp, 409))["code"] == "hearing_not_in_progress"
    assert stored_files(app) == files  # refused before a notice was rendered
    resp = await client.post(
        f"{case}/posts",
        json={"stage": "evidence", "kind": "text", "text": "晚了"},
        headers=plaintiff.headers,
    )
    assert (await _ok(resp, 409))["code"] == "hearing_not_in_progress"
    with app[DATABASE].activate():
        event = await CaseEvent.filter(
            filing_id=filing.id, kind="async_hearing_converted_to_video"
        ).first()
    assert event is not None and event.details["reason"].startswith("双方")
    assert event.details["video_hearing_id"] == video_id
    # the record so far stays verifiable
    check = await _ok(await client.get(f"{case}/record/verify", headers=defendant.headers))
    assert check["valid"] is True and check["entries"] == 2


async def test_exchange_mode_needs_only_consent(
    client: Client, app: web.Application, accounts: Any, platform: Platform
) -> None:
    plaintiff, defendant = (
        await litigant(client, app, platform),
        await litigant(client, app, platform),
    )
    judge = await staff(app, accounts, Role.JUDGE)
    filing = await registered_case(app, plaintiff, defendant, judge, procedure="ordinary")
    case = f"{BASE}/{filing.id}"
    outsider = await litigant(client, app, platform)
    assert (await client.get(f"{case}/eligibility", headers=outsider.headers)).status == 404

    hearing_refused = await _ok(
        await client.post(f"{case}/start", json={"mode": "hearing"}, headers=judge.headers), 409
    )
    assert "procedure_not_eligible" in {u["code"] for u in hearing_refused["unmet"]}
    for person in (plaintiff, defendant):
        await _ok(
            await client.post(
                f"{case}/consents",
                json={"scope": "exchange", "consented": True},
                headers=person.headers,
            )
        )
    hearing = await _ok(
        await client.post(f"{case}/start", json={"mode": "exchange"}, headers=judge.headers)
    )
    assert hearing["mode"] == "exchange"
    assert [s["kind"] for s in hearing["stages"]] == ["evidence", "cross_examination", "inquiry"]
    assert (await client.get(case, headers=outsider.headers)).status == 404
