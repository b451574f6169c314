"""The 7-day decision clock for the court administrator: the alert list, the periodic sweep that
flags overdue filings once (as a durable job), and a correction answered too late."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from backend.app import create_app
from backend.appkeys import AUDIT, DATABASE, WORKER
from backend.auth.principal import Role
from backend.jobs.models import Job
from backend.settings import Settings
from filing.clock import SWEEP_JOB, flag_overdue, schedule_sweep
from filing.models import CaseEvent, CorrectionNotice, Filing, Party
from filing.workflow import china_date
from tests.filing.workflow_helpers import DEFENDANT_ID, PLAINTIFF_ID, person, seed

Client = Any
API = "/api/v1/filing"


async def _ok(response: Any, status: int = 200) -> Any:
    body = await response.json()
    assert response.status == status, body
    return body


async def _pending(
    court: str, due_on: date, status: str = "submitted", account: uuid.UUID | None = None
) -> Filing:
    filing = await Filing.create(
        id=uuid.uuid4(),
        receiving_court_code=court,
        competent_court_code=court,
        cause_code="4.cont.loan.private",
        claim_amount=Decimal("100000"),
        status=status,
        received_at=datetime.now(UTC),
        decision_due_on=due_on,
        created_by_id=account or uuid.uuid4(),
    )
    await Party.create(
        id=uuid.uuid4(),
        filing=filing,
        role="plaintiff",
        kind="natural",
        name="张三",
        region_code="330106",
        address="杭州市西湖区某路1号",
        account_id=account,
    )
    return filing


async def test_clock_alerts_list_my_courts_urgent_filings(
    client: Client, app: web.Application, accounts: Any
) -> None:
    await seed(app)
    _, admin = await accounts.headers(Role.COURT_ADMIN, court_code="浙0281")
    _, other_admin = await accounts.headers(Role.COURT_ADMIN, court_code="浙0106")
    _, clerk = await accounts.headers(Role.CLERK, court_code="浙0281")
    today = china_date(datetime.now(UTC))
    later = await _pending("浙0281", today + timedelta(days=5))
    tomorrow = await _pending("浙0281", today + timedelta(days=1), status="resubmitted")
    due_today = await _pending("浙0281", today, status="forwarded")
    overdue = await _pending("浙0281", today - timedelta(days=2))
    await _pending("浙0281", today - timedelta(days=3), status="registered")
    elsewhere = await _pending("浙0106", today - timedelta(days=1))

    page = await _ok(await client.get(f"{API}/clock-alerts", headers=admin))
    assert page["alert_days"] == 1
    assert [i["id"] for i in page["items"]] == [
        str(overdue.id),
        str(due_today.id),
        str(tomorrow.id),
    ]
    assert str(later.id) not in {i["id"] for i in page["items"]}
    over, today_item, near = page["items"]
    assert over["over_limit"] and over["days_left"] == -2 and over["seconds_left"] < -86400
    assert not over["flagged"]
    assert today_item["days_left"] == 0 and 0 < today_item["seconds_left"] <= 86400
    assert near["days_left"] == 1 and 86400 < near["seconds_left"] <= 2 * 86400
    assert not near["over_limit"]

    paged = await _ok(await client.get(f"{API}/clock-alerts", params={"limit": "2"}, headers=admin))
    assert len(paged["items"]) == 2 and paged["next_cursor"] == "2"
    rest = await _ok(
        await client.get(f"{API}/clock-alerts", params={"limit": "2", "cursor": "2"}, headers=admin)
    )
    assert [i["id"] for i in rest["items"]] == [str(tomorrow.id)] and rest["next_cursor"] is None

    theirs = await _ok(await client.get(f"{API}/clock-alerts", headers=other_admin))
    assert [i["id"] for i in theirs["items"]] == [str(elsewhere.id)]
    assert (await client.get(f"{API}/clock-alerts", headers=clerk)).status == 403

    # The sweep flags the overdue ones once; the list shows it.
    with app[DATABASE].activate():
        assert await flag_overdue(app[AUDIT]) == 2
        assert await flag_overdue(app[AUDIT]) == 0
    page = await _ok(await client.get(f"{API}/clock-alerts", headers=admin))
    assert [i["flagged"] for i in page["items"]] == [True, False, False]


async def test_sweep_flags_each_clock_once_and_parties_do_not_see_it(
    client: Client, app: web.Application, accounts: Any
) -> None:
    await seed(app)
    party, party_headers = await accounts.headers(Role.LITIGANT)
    _, admin = await accounts.headers(Role.COURT_ADMIN, court_code="浙0281")
    today = china_date(datetime.now(UTC))
    filing = await _pending("浙0281", today - timedelta(days=3), account=party.id)

    with app[DATABASE].activate():
        results = await asyncio.gather(*(flag_overdue(app[AUDIT]) for _ in range(3)))
    assert sum(results) == 1
    events = await CaseEvent.filter(filing_id=filing.id, kind="review_clock_overdue")
    assert len(events) == 1 and events[0].visibility == "court"
    assert events[0].details["days_over"] == 3

    url = f"{API}/filings/{filing.id}/timeline"
    court_view = await _ok(await client.get(url, headers=admin))
    assert "review_clock_overdue" in [e["kind"] for e in court_view["items"]]
    party_view = await _ok(await client.get(url, headers=party_headers))
    assert "review_clock_overdue" not in [e["kind"] for e in party_view["items"]]

    # A correction restarted the clock, and it ran out again: flagged again, once.
    await Filing.filter(id=filing.id).update(
        status="resubmitted", decision_due_on=today - timedelta(days=1)
    )
    with app[DATABASE].activate():
        assert await flag_overdue(app[AUDIT]) == 1
        assert await flag_overdue(app[AUDIT]) == 0
    assert await CaseEvent.filter(filing_id=filing.id, kind="review_clock_overdue").count() == 2


async def test_sweep_batch_skips_already_flagged_filings_in_sql(
    client: Client, app: web.Application, monkeypatch: Any
) -> None:
    """The batch limit applies after leaving out flagged filings: with a batch of 2 and the two
    most overdue filings already flagged, the newly overdue one is flagged on the first run."""
    await seed(app)
    today = china_date(datetime.now(UTC))
    flagged = [await _pending("浙0281", today - timedelta(days=9 - i)) for i in range(2)]
    for f in flagged:
        await Filing.filter(id=f.id).update(clock_alerted_due_on=f.decision_due_on)
    fresh = await _pending("浙0281", today - timedelta(days=1))
    monkeypatch.setattr("filing.clock.SWEEP_BATCH", 2)
    with app[DATABASE].activate():
        assert await flag_overdue(app[AUDIT]) == 1
    assert (await Filing.get(id=fresh.id)).clock_alerted_due_on == today - timedelta(days=1)
    assert await CaseEvent.filter(kind="review_clock_overdue").count() == 1


async def test_sweep_runs_as_a_periodic_durable_job(
    settings_factory: Callable[..., Settings],
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> None:
    settings = settings_factory(filing_clock_sweep_interval_s=3600)
    app = create_app(settings)
    today = china_date(datetime.now(UTC))
    await aiohttp_client(app)

    async def overdue_events(filing: Filing) -> int:
        return await CaseEvent.filter(filing_id=filing.id, kind="review_clock_overdue").count()

    with app[DATABASE].activate():
        await seed(app)
        filing = await _pending("浙0281", today - timedelta(days=3))
        # The server queued the sweep at start; a second server in the same slot adds nothing.
        await schedule_sweep(settings)
        assert await Job.filter(kind=SWEEP_JOB).count() == 1
        assert await app[WORKER].run_once() == 1
        assert await overdue_events(filing) == 1
        # It put the next slot's run in the queue, and nothing runs before then.
        upcoming = await Job.filter(kind=SWEEP_JOB, status="queued")
        assert len(upcoming) == 1
        slot = upcoming[0].payload["slot"]
        assert upcoming[0].run_at == datetime.fromtimestamp(slot * 3600, UTC)
        assert upcoming[0].run_at > datetime.now(UTC)
        assert await app[WORKER].run_once() == 0
        # When it comes due it runs again, flags nothing new, and schedules the one after.
        await Job.filter(id=upcoming[0].id).update(run_at=datetime.now(UTC))
        assert await app[WORKER].run_once() == 1
        assert await overdue_events(filing) == 1
        assert await Job.filter(kind=SWEEP_JOB, status="done").count() == 2
        following = await Job.get(kind=SWEEP_JOB, status="queued")
        assert following.payload["slot"] == slot + 1


async def test_a_server_running_the_worker_starts_the_sweep(
    settings_factory: Callable[..., Settings],
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> None:
    app = create_app(settings_factory(run_worker=True, job_poll_s=0.02))
    await aiohttp_client(app)
    with app[DATABASE].activate():
        for _ in range(250):
            if await Job.filter(kind=SWEEP_JOB, status="done").exists():
                break
            await asyncio.sleep(0.02)
        assert await Job.filter(kind=SWEEP_JOB, status="done").count() == 1
        assert await Job.filter(kind=SWEEP_JOB, status="queued").count() == 1


async def test_a_late_correction_is_refused_and_the_court_may_then_refuse(
    client: Client, app: web.Application, accounts: Any
) -> None:
    from tests.filing.workflow_helpers import verify_real_name

    await seed(app)
    plaintiff, headers = await accounts.headers(Role.LITIGANT)
    await verify_real_name(app, plaintiff.id, PLAINTIFF_ID)
    _, clerk = await accounts.headers(Role.CLERK, court_code="浙0281")
    draft = await _ok(
        await client.post(
            f"{API}/filings",
            json={
                "court": "浙0281",
                "cause": "4.cont.loan.private",
                "claim_amount": "100000",
                "claims": "判令被告归还借款100000元",
                "facts_and_reasons": "被告于2025年借款未还。",
            },
            headers=headers,
        ),
        201,
    )
    url = f"{API}/filings/{draft['id']}"
    for body in (
        person("plaintiff", PLAINTIFF_ID, "330106", is_me=True),
        person("defendant", DEFENDANT_ID, "330281"),
    ):
        await _ok(await client.post(f"{url}/parties", json=body, headers=headers), 201)
    await _ok(await client.post(f"{url}/submit", headers=headers))
    await _ok(
        await client.post(f"{url}/corrections", json={"items": ["补充借条"]}, headers=clerk), 201
    )
    # Before the deadline the court cannot refuse: the party still has time.
    early = await client.post(f"{url}/refuse", json={"reason": "逾期未补正"}, headers=clerk)
    assert early.status == 409

    yesterday = china_date(datetime.now(UTC)) - timedelta(days=1)
    await CorrectionNotice.filter(filing_id=draft["id"]).update(deadline=yesterday)
    late = await client.post(f"{url}/resubmit", headers=headers)
    assert late.status == 409
    problem = await late.json()
    assert problem["code"] == "correction_deadline_passed"
    assert problem["deadline"] == str(yesterday)
    still = await _ok(await client.get(url, headers=headers))
    assert still["status"] == "correction_requested"
    assert still["corrections"][0]["answered_at"] is None

    refused = await _ok(
        await client.post(f"{url}/refuse", json={"reason": "逾期未补正"}, headers=clerk)
    )
    assert refused["status"] == "refused" and refused["refusal_reason"] == "逾期未补正"
