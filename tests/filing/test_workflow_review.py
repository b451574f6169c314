"""The review queue's clock flags and paging; upload caps (this module runs with a small cap)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from backend.appkeys import DATABASE
from backend.auth.principal import Role
from backend.settings import Settings
from filing.models import Evidence, Filing
from filing.workflow import china_date, time_left
from tests.filing.workflow_helpers import (
    DEFENDANT_ID,
    PDF,
    PLAINTIFF_ID,
    form,
    person,
    seed,
    verify_real_name,
)

Client = Any
API = "/api/v1/filing"
CAP = 100_000


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory(max_upload_bytes=CAP)


@pytest.fixture
async def seeded(client: Client, app: web.Application) -> None:
    await seed(app)


async def _submitted(client: Client, headers: dict[str, str]) -> str:
    response = await client.post(
        f"{API}/filings",
        json={"court": "浙0281", "cause": "4.cont.loan.private", "claim_amount": "5000"},
        headers=headers,
    )
    fid = (await response.json())["id"]
    url = f"{API}/filings/{fid}"
    for body in (
        person("plaintiff", PLAINTIFF_ID, "330106", is_me=True),
        person("defendant", DEFENDANT_ID, "330281"),
    ):
        assert (await client.post(f"{url}/parties", json=body, headers=headers)).status == 201
    assert (await client.post(f"{url}/submit", headers=headers)).status == 200
    return str(fid)


def test_time_left() -> None:
    today = datetime(2026, 3, 10).date()
    assert time_left(None, today) == (None, False, False)
    assert time_left(today + timedelta(days=5), today) == (5, False, False)
    assert time_left(today + timedelta(days=2), today) == (2, True, False)
    assert time_left(today, today) == (0, True, False)
    assert time_left(today - timedelta(days=1), today) == (-1, False, True)


async def test_queue_oldest_first_with_flags_and_pages(
    client: Client, app: web.Application, accounts: Any, seeded: None
) -> None:
    plaintiff, headers = await accounts.headers(Role.LITIGANT)
    await verify_real_name(app, plaintiff.id, PLAINTIFF_ID)
    _, clerk = await accounts.headers(Role.CLERK, court_code="浙0281")
    _, litigant_only = await accounts.headers(Role.LITIGANT)
    ids = [await _submitted(client, headers) for _ in range(3)]
    today = china_date(datetime.now(UTC))
    with app[DATABASE].activate():
        await Filing.filter(id=ids[1]).update(decision_due_on=today - timedelta(days=1))
        await Filing.filter(id=ids[2]).update(decision_due_on=today + timedelta(days=1))
    first = await client.get(f"{API}/review-queue", params={"limit": "2"}, headers=clerk)
    page = await first.json()
    assert first.status == 200, page
    assert [i["id"] for i in page["items"]] == [ids[1], ids[2]]
    assert page["items"][0]["over_limit"] and page["items"][0]["days_left"] == -1
    assert page["items"][1]["near_limit"] and not page["items"][1]["over_limit"]
    rest = await (
        await client.get(
            f"{API}/review-queue",
            params={"limit": "2", "cursor": page["next_cursor"]},
            headers=clerk,
        )
    ).json()
    assert [i["id"] for i in rest["items"]] == [ids[0]] and rest["next_cursor"] is None
    assert (await client.get(f"{API}/review-queue", headers=litigant_only)).status == 403


async def test_oversized_evidence_is_refused_and_not_saved(
    client: Client, app: web.Application, accounts: Any, seeded: None
) -> None:
    _, headers = await accounts.headers(Role.LITIGANT)
    response = await client.post(
        f"{API}/filings", json={"court": "浙0281", "cause": "4.cont.loan.private"}, headers=headers
    )
    url = f"{API}/filings/{(await response.json())['id']}"
    big = PDF + b"%" + b"x" * (CAP + 70_000) + b"\n"
    too_big = await client.post(f"{url}/evidence", data=form(big, title="大文件"), headers=headers)
    assert too_big.status == 413
    # Past the cap but within the form allowance: refused while streaming.
    streamed = PDF + b"%" + b"x" * (CAP + 10) + b"\n"
    late = await client.post(
        f"{url}/evidence", data=form(streamed, title="大文件"), headers=headers
    )
    assert late.status == 413
    ok = await client.post(f"{url}/evidence", data=form(PDF, title="小文件"), headers=headers)
    assert ok.status == 201
    with app[DATABASE].activate():
        assert await Evidence.all().count() == 1
