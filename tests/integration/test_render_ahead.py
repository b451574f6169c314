"""Registration and hearing scheduling render their notices before the transaction that serves
them: while a PDF renders no transaction is open, and a rendering failure writes nothing.

The rendering is held or broken through the event loop's default executor, which is where
every PDF renders (never on the loop, DESIGN §2); nothing of ours is replaced."""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from pypdf import PdfReader
from tortoise.transactions import in_transaction

from backend.appkeys import DATABASE
from backend.audit.models import AuditEvent
from backend.auth.principal import Role
from filing.case_numbers import allocate_case_number
from filing.models import CaseNumberCounter, Filing
from filing.workflow import china_date, utcnow
from hearings.models import VideoHearing
from service_of_process.models import ServiceDelivery, ServiceDocument, ServiceTask
from tests.async_hearings.helpers import Client, litigant, registered_case, staff
from tests.filing.workflow_helpers import (
    DEFENDANT_ID,
    PLAINTIFF_ID,
    person,
    seed,
    verify_real_name,
)
from tests.identity.conftest import Platform

FILING = "/api/v1/filing/filings"


class RenderingExecutor(ThreadPoolExecutor):
    """Runs PDF rendering jobs held until ``release`` is set, or failing with ``fail``."""

    def __init__(self, *, fail: bool = False) -> None:
        super().__init__(max_workers=4)
        self.fail = fail
        self.rendering = threading.Event()
        self.release = threading.Event()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if getattr(fn, "__name__", "") != "render_document":
            return super().submit(fn, *args, **kwargs)

        def held() -> Any:
            self.rendering.set()
            if self.fail:
                raise RuntimeError("the PDF renderer crashed")
            self.release.wait(30)
            return fn(*args, **kwargs)

        return super().submit(held)


@pytest.fixture
async def renderer() -> AsyncIterator[RenderingExecutor]:
    executor = RenderingExecutor()
    asyncio.get_running_loop().set_default_executor(executor)
    yield executor
    executor.release.set()


async def _transaction_open(app: web.Application) -> bool:
    """Whether some other connection has a transaction open: PostgreSQL reports it; SQLite has
    one connection whose transactions hold its lock, so a new one cannot start meanwhile."""
    with app[DATABASE].activate():
        async with in_transaction() as conn:
            if conn.capabilities.dialect == "postgres":
                rows = await conn.execute_query_dict(
                    "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = "
                    "current_database() AND xact_start IS NOT NULL AND pid <> pg_backend_pid()"
                )
                return int(rows[0]["n"]) > 0
    return False


async def transaction_open(app: web.Application) -> bool:
    try:
        async with asyncio.timeout(1):
            return await _transaction_open(app)
    except TimeoutError:
        return True


async def _the_probe_sees_an_open_transaction(app: web.Application) -> None:
    """The probe is not vacuous: it notices a transaction held open."""
    opened, done = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        with app[DATABASE].activate():
            async with in_transaction() as conn:
                await conn.execute_query("SELECT 1")
                opened.set()
                await done.wait()

    holder = asyncio.create_task(hold())
    await opened.wait()
    assert await transaction_open(app)
    done.set()
    await holder
    assert not await transaction_open(app)


async def _submitted_case(client: Client, app: web.Application, accounts: Any) -> str:
    await seed(app)
    plaintiff, headers = await accounts.headers(Role.LITIGANT)
    await verify_real_name(app, plaintiff.id, PLAINTIFF_ID)
    created = await client.post(
        FILING,
        json={"court": "浙0281", "cause": "4.cont.loan.private", "claim_amount": "5000"},
        headers=headers,
    )
    assert created.status == 201, await created.text()
    url = f"{FILING}/{(await created.json())['id']}"
    for body in (
        person("plaintiff", PLAINTIFF_ID, "330106", is_me=True),
        person("defendant", DEFENDANT_ID, "330281"),
    ):
        assert (await client.post(f"{url}/parties", json=body, headers=headers)).status == 201
    assert (await client.post(f"{url}/submit", headers=headers)).status == 200
    return url


async def _rendering_started(renderer: RenderingExecutor) -> None:
    assert await asyncio.to_thread(renderer.rendering.wait, 10), "nothing was rendered"


async def test_registration_renders_the_notice_with_no_transaction_open(
    client: Client, app: web.Application, accounts: Any, renderer: RenderingExecutor
) -> None:
    url = await _submitted_case(client, app, accounts)
    _, clerk = await accounts.headers(Role.CLERK, court_code="浙0281")
    await _the_probe_sees_an_open_transaction(app)

    registering = asyncio.create_task(client.post(f"{url}/register", headers=clerk))
    await _rendering_started(renderer)
    assert not await transaction_open(app)
    renderer.release.set()
    resp = await registering
    assert resp.status == 200, await resp.text()
    registered = await resp.json()

    with app[DATABASE].activate():
        task = await ServiceTask.get(origin_key=f"filing:{registered['id']}:registered")
        [delivery] = await ServiceDelivery.filter(task_id=task.id)
        events = await AuditEvent.filter(resource_id=registered["id"]).values_list(
            "action", flat=True
        )
    assert delivery.recipient_role == "defendant" and delivery.status == "postal"
    assert {"filing.register", "service.create_task"} <= set(events)


async def test_a_rendering_failure_registers_nothing(
    client: Client, app: web.Application, accounts: Any, renderer: RenderingExecutor
) -> None:
    url = await _submitted_case(client, app, accounts)
    _, clerk = await accounts.headers(Role.CLERK, court_code="浙0281")
    renderer.fail = True

    resp = await client.post(f"{url}/register", headers=clerk)
    assert resp.status == 500

    filing_id = url.rsplit("/", 1)[1]
    with app[DATABASE].activate():
        filing = await Filing.get(id=filing_id)
        assert filing.status == "submitted" and filing.case_number is None
        assert not await CaseNumberCounter.exists()
        assert not await ServiceTask.exists()
        assert not await AuditEvent.filter(
            resource_id=filing_id, action__in=["filing.register", "service.create_task"]
        ).exists()


async def _hearing_case(
    client: Client, app: web.Application, accounts: Any, platform: Platform
) -> tuple[Filing, dict[str, str]]:
    plaintiff = await litigant(client, app, platform)
    defendant = await litigant(client, app, platform)
    judge = await staff(app, accounts, Role.JUDGE)
    filing = await registered_case(app, plaintiff, defendant, judge, procedure="simple")
    return filing, judge.headers


def _schedule(filing: Filing) -> dict[str, str]:
    starts = datetime.now(UTC) + timedelta(days=5)
    return {"filing_id": str(filing.id), "title": "第一次开庭", "starts_at": starts.isoformat()}


async def test_scheduling_renders_the_hearing_notice_with_no_transaction_open(
    client: Client,
    app: web.Application,
    accounts: Any,
    platform: Platform,
    renderer: RenderingExecutor,
) -> None:
    filing, judge = await _hearing_case(client, app, accounts, platform)

    scheduling = asyncio.create_task(
        client.post("/api/v1/hearings/video", json=_schedule(filing), headers=judge)
    )
    await _rendering_started(renderer)
    assert not await transaction_open(app)
    renderer.release.set()
    resp = await scheduling
    assert resp.status == 201, await resp.text()
    hearing = await resp.json()
    assert hearing["notice_status"] == "sent"
    with app[DATABASE].activate():
        task = await ServiceTask.get(origin_key=f"hearing:{hearing['id']}:notice")
        assert await ServiceDelivery.filter(task_id=task.id).count() == 2


async def test_a_rendering_failure_schedules_nothing(
    client: Client,
    app: web.Application,
    accounts: Any,
    platform: Platform,
    renderer: RenderingExecutor,
) -> None:
    filing, judge = await _hearing_case(client, app, accounts, platform)
    renderer.fail = True

    resp = await client.post("/api/v1/hearings/video", json=_schedule(filing), headers=judge)
    assert resp.status == 500
    with app[DATABASE].activate():
        assert not await VideoHearing.exists()
        assert not await ServiceTask.exists()
        assert not await AuditEvent.filter(
            action__in=["video_hearing.scheduled", "service.create_task"]
        ).exists()


async def test_a_case_number_taken_while_rendering_is_the_one_printed(
    client: Client, app: web.Application, accounts: Any, renderer: RenderingExecutor
) -> None:
    """The notice rendered ahead printed the expected number; another registration at the
    court took it meanwhile, so the notice is rendered again with the number the case got."""
    url = await _submitted_case(client, app, accounts)
    _, clerk = await accounts.headers(Role.CLERK, court_code="浙0281")

    registering = asyncio.create_task(client.post(f"{url}/register", headers=clerk))
    await _rendering_started(renderer)
    with app[DATABASE].activate():
        async with in_transaction() as conn:
            taken = await allocate_case_number(conn, "浙0281", "民初", china_date(utcnow()).year)
    renderer.release.set()
    resp = await registering
    assert resp.status == 200, await resp.text()
    registered = await resp.json()
    assert registered["case_number"] != str(taken)

    with app[DATABASE].activate():
        task = await ServiceTask.get(origin_key=f"filing:{registered['id']}:registered")
        [document] = await ServiceDocument.filter(task_id=task.id)
        [delivery] = await ServiceDelivery.filter(task_id=task.id)
    resp = await client.get(
        f"/api/v1/service/deliveries/{delivery.id}/documents/{document.id}", headers=clerk
    )
    assert resp.status == 200
    text = "".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(await resp.read())).pages)
    assert registered["case_number"] in text and str(taken) not in text
