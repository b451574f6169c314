"""Notices as durable jobs over the fake WeChat platform: delivered once, no grant is not an
error, an outage is retried."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from tortoise.transactions import in_transaction

from backend.appkeys import DATABASE, SETTINGS
from backend.jobs.models import Job
from backend.jobs.queue import JobContext
from filing.clock import SWEEP_JOB
from hearings.asynchronous.models import NotificationSent
from hearings.asynchronous.notify import NOTIFY_KIND, Notifier, notify
from tests.async_hearings.helpers import Client, litigant, run_jobs
from tests.identity.conftest import Platform, wechat_sign_in


async def _messages(platform: Platform) -> list[dict[str, Any]]:
    async with platform.session.get(f"{platform.base}/__control/messages") as resp:
        messages: list[dict[str, Any]] = (await resp.json())["messages"]
        return messages


async def _notify(app: web.Application, account_id: uuid.UUID, key: str) -> None:
    with app[DATABASE].activate():
        async with in_transaction() as conn:
            await notify(
                conn,
                {account_id},
                "question",
                case_label="(2026)浙0281民初1号",
                when=datetime.now(UTC),
                key=key,
            )


async def test_delivered_once_even_when_the_job_runs_twice(
    client: Client, app: web.Application, platform: Platform
) -> None:
    person = await litigant(client, app, platform)
    with app[DATABASE].activate():
        # the review-clock sweep every server queues at start is not what this test counts
        await Job.filter(kind=SWEEP_JOB).delete()
    await _notify(app, person.account_id, "q1")
    await _notify(app, person.account_id, "q1")  # the same notice again: one job
    assert await run_jobs(app) == 1
    (message,) = await _messages(platform)
    assert message["touser"] == person.openid
    assert message["data"]["thing1"]["value"] == "(2026)浙0281民初1号"
    assert message["data"]["thing2"]["value"] == "法官向您提问"
    # a worker that lost its lease runs the job again: nothing more is sent
    with app[DATABASE].activate():
        job = await Job.get(kind=NOTIFY_KIND)
        ctx = JobContext(job.id, NOTIFY_KIND, 2, 8, "test")
        await Notifier(app[SETTINGS])(dict(job.payload), ctx)
    assert len(await _messages(platform)) == 1


async def test_no_grant_is_recorded_not_retried(
    client: Client, app: web.Application, platform: Platform
) -> None:
    signed = await wechat_sign_in(client, platform)  # never allowed the template
    account_id = uuid.UUID(signed["account_id"])
    await _notify(app, account_id, "q2")
    await run_jobs(app)
    with app[DATABASE].activate():
        sent = await NotificationSent.get(account_id=account_id)
        job = await Job.get(kind=NOTIFY_KIND)
    assert sent.outcome == "no_grant" and job.status == "done"
    assert await _messages(platform) == []


async def test_an_outage_is_retried(
    client: Client, app: web.Application, platform: Platform
) -> None:
    person = await litigant(client, app, platform)
    await platform.fault("subscribe_send", count=5, http_status=503)
    await _notify(app, person.account_id, "q3")
    await run_jobs(app)
    with app[DATABASE].activate():
        job = await Job.get(kind=NOTIFY_KIND)
        assert job.status == "queued" and job.attempts == 1 and job.last_error
        assert not await NotificationSent.exists(account_id=person.account_id)
    await platform.control("reset")
    # the platform is back (reset forgot users and grants: sign the person in again)
    again = await wechat_sign_in(client, platform, openid=person.openid)
    await platform.control(
        "subscribe-grant", {"openid": again["openid"], "template_id": "mc_hearing_notice"}
    )
    with app[DATABASE].activate():
        await Job.filter(id=job.id).update(run_at=datetime.now(UTC))
    await run_jobs(app)
    assert [m["touser"] for m in await _messages(platform)] == [person.openid]
