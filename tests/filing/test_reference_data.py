"""Courts and causes of action: seed data consistency, idempotent seeding, the public endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web
from tortoise.transactions import in_transaction

from backend.appkeys import DATABASE
from filing.catalogue import CAUSES, CAUSES_BY_CODE, INTERNET_CATEGORIES_BY_KEY
from filing.courts import COURTS, COURTS_BY_CODE, CourtSeed, SeedReport, court_problems
from filing.courts import seed_reference_data as seed
from filing.fees import DEFAULT_FEE_SCHEDULE
from filing.models import CauseOfAction, Court, CourtLevel

Client = Any


@pytest.fixture
async def seeded(client: Client, app: web.Application) -> AsyncIterator[SeedReport]:
    with app[DATABASE].activate():
        async with in_transaction() as conn:
            report = await seed(conn)
        yield report


# ------------------------------------------------------------------------------ seed data


def test_seed_courts_are_consistent() -> None:
    assert len(COURTS_BY_CODE) == len(COURTS)
    for court in COURTS:
        assert court_problems(court, COURTS_BY_CODE) == [], court.code
    required = {"浙", "浙01", "浙02", "浙0106", "浙0192", "浙0281", "京0491", "粤0192"}
    assert required <= set(COURTS_BY_CODE)
    internet = {c.code for c in COURTS if c.level is CourtLevel.INTERNET}
    assert internet == {"浙0192", "京0491", "粤0192"}
    hangzhou = COURTS_BY_CODE["浙0192"]
    assert hangzhou.name_zh == "杭州互联网法院" and hangzhou.parent_code == "浙01"
    assert {"online_shopping_contract", "domain_name", "online_loan_contract"} <= set(
        hangzhou.designated_categories
    )


def test_court_problems_are_reported() -> None:
    bad = CourtSeed("浙028", "x", "x", CourtLevel.BASIC, "33028", "浙99", ("民五",), ("nope",))
    problems = " | ".join(court_problems(bad, COURTS_BY_CODE))
    for expected in ("4 digits", "not 6 digits", "unknown", "民五", "nope"):
        assert expected in problems
    wrong_region = CourtSeed("浙0281", "x", "x", CourtLevel.BASIC, "330282", "浙02", ("民初",))
    assert "do not match region" in " ".join(court_problems(wrong_region, COURTS_BY_CODE))
    wrong_province = CourtSeed("浙0281", "x", "x", CourtLevel.BASIC, "440281", "浙02", ())
    assert "outside Zhejiang" in " ".join(court_problems(wrong_province, COURTS_BY_CODE))


def test_cause_catalogue_is_well_formed() -> None:
    assert 40 <= len(CAUSES) <= 80
    assert len(CAUSES_BY_CODE) == len(CAUSES)
    for cause in CAUSES:
        assert cause.name_zh.endswith(("纠纷", "诉讼", "申请支付令")), cause.code
        assert cause.name_en and cause.part_zh and cause.category_zh
        assert cause.level in (3, 4)
        if cause.parent_code is not None:
            assert cause.parent_code in CAUSES_BY_CODE, cause.code
        if cause.internet_category is not None:
            assert cause.internet_category in INTERNET_CATEGORIES_BY_KEY
    online = {c.name_zh for c in CAUSES if c.internet_category}
    assert {"信息网络买卖合同纠纷", "网络服务合同纠纷", "金融借款合同纠纷"} <= online
    assert "离婚纠纷" not in online


# ------------------------------------------------------------------------------ seeding


async def test_seeding_is_idempotent(seeded: SeedReport) -> None:
    assert seeded == SeedReport(
        courts_created=len(COURTS), courts_updated=0, causes_created=len(CAUSES), causes_updated=0
    )
    async with in_transaction() as conn:
        again = await seed(conn)
    assert again == SeedReport()
    assert await Court.all().count() == len(COURTS)
    assert await CauseOfAction.all().count() == len(CAUSES)
    yuyao = await Court.get(code="浙0281")
    assert yuyao.fee_schedule == DEFAULT_FEE_SCHEDULE.as_json()


async def test_seeding_refreshes_names_but_keeps_a_configured_fee_schedule(
    seeded: SeedReport,
) -> None:
    configured = {**DEFAULT_FEE_SCHEDULE.as_json(), "divorce": "200.00", "source": "浙价费"}
    await Court.filter(code="浙0281").update(name_en="stale", fee_schedule=configured)
    await CauseOfAction.filter(code="2.fam.divorce").update(name_en="stale", position=999)
    await CauseOfAction.create(
        code="9.tort.retired",
        level=3,
        position=998,
        name_zh="旧案由纠纷",
        name_en="retired",
        part_zh="p",
        part_en="p",
        category_zh="c",
        category_en="c",
    )
    async with in_transaction() as conn:
        report = await seed(conn)
    assert (report.courts_updated, report.causes_updated) == (1, 1)
    yuyao = await Court.get(code="浙0281")
    assert yuyao.name_en == "Yuyao People's Court"
    assert yuyao.fee_schedule == configured
    divorce = await CauseOfAction.get(code="2.fam.divorce")
    assert divorce.name_en == "Divorce"
    assert divorce.position == list(CAUSES_BY_CODE).index("2.fam.divorce") + 1
    retired = await CauseOfAction.get(code="9.tort.retired")
    assert retired.position > len(CAUSES)  # kept, after the catalogue


# ----------------------------------------------------------------------------- endpoints


async def test_courts_endpoint(client: Client, seeded: SeedReport) -> None:
    resp = await client.get("/api/v1/filing/courts")
    assert resp.status == 200
    body = await resp.json()
    assert [c["code"] for c in body["items"]] == [c.code for c in COURTS]
    assert body["next_cursor"] is None
    hangzhou = next(c for c in body["items"] if c["code"] == "浙0192")
    assert hangzhou["level"] == "internet"
    assert hangzhou["name_en"] == "Hangzhou Internet Court"
    assert "online_shopping_contract" in {c["key"] for c in hangzhou["designated_categories"]}
    assert hangzhou["fee_schedule"]["divorce"] == "50.00"
    assert hangzhou["fee_schedule"]["stack_halvings"] is False


async def test_courts_pagination_and_level_filter(client: Client, seeded: SeedReport) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        url = "/api/v1/filing/courts?limit=5" + (f"&cursor={cursor}" if cursor else "")
        body = await (await client.get(url)).json()
        seen += [c["code"] for c in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [c.code for c in COURTS]
    body = await (await client.get("/api/v1/filing/courts?level=high")).json()
    assert {c["code"] for c in body["items"]} == {"浙", "京", "粤"}
    resp = await client.get("/api/v1/filing/courts?level=county")
    assert resp.status == 422
    resp = await client.get("/api/v1/filing/courts?cursor=abc")
    assert resp.status == 422
    assert (await resp.json())["code"] == "invalid_cursor"


async def test_one_court(client: Client, seeded: SeedReport) -> None:
    resp = await client.get("/api/v1/filing/courts/" + quote("浙0281"))
    assert resp.status == 200
    assert (await resp.json())["name_zh"] == "余姚市人民法院"
    for missing in ("浙0282", "nonsense"):
        resp = await client.get("/api/v1/filing/courts/" + quote(missing))
        assert resp.status == 404
        assert resp.content_type == "application/problem+json"


async def test_causes_search(client: Client, seeded: SeedReport) -> None:
    body = await (await client.get("/api/v1/filing/causes?q=" + quote("借款"))).json()
    names = [c["name_zh"] for c in body["items"]]
    assert names == ["借款合同纠纷", "金融借款合同纠纷", "小额借款合同纠纷"]
    financial = body["items"][1]
    assert financial["level"] == 4 and financial["parent_code"] == "4.cont.loan"
    assert financial["internet_category"]["key"] == "online_loan_contract"
    assert financial["path_zh"].startswith("第四部分 合同、准合同纠纷 › 合同纠纷 › 借款合同纠纷")
    body = await (await client.get("/api/v1/filing/causes?q=divorce")).json()
    assert {c["name_zh"] for c in body["items"]} == {"离婚纠纷", "离婚后财产纠纷"}
    body = await (await client.get("/api/v1/filing/causes?q=" + quote("%"))).json()
    assert body["items"] == []  # LIKE wildcards are matched literally
    body = await (await client.get("/api/v1/filing/causes?internet=true&limit=200")).json()
    assert all(c["internet_category"] is not None for c in body["items"])
    assert len(body["items"]) == sum(1 for c in CAUSES if c.internet_category)


async def test_causes_pagination(client: Client, seeded: SeedReport) -> None:
    codes: list[str] = []
    cursor = None
    for _ in range(20):
        url = "/api/v1/filing/causes?limit=7" + (f"&cursor={cursor}" if cursor else "")
        body = await (await client.get(url)).json()
        codes += [c["code"] for c in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert codes == [c.code for c in CAUSES]
    for bad in ("q=", "limit=0", "limit=201", "q=" + "x" * 51, "colour=red"):
        resp = await client.get(f"/api/v1/filing/causes?{bad}")
        assert resp.status == 422, bad


async def test_case_type_codes_and_parse(client: Client, seeded: SeedReport) -> None:
    body = await (await client.get("/api/v1/filing/case-types")).json()
    assert {"code": "民初", "name_zh": "民事一审案件", "name_en": "Civil case, first instance",
            "category": "civil"} in body["items"]  # fmt: skip
    url = "/api/v1/filing/case-numbers/parse?number=" + quote("（2026）浙0281民初1234号")
    body = await (await client.get(url)).json()
    assert body["number"] == "(2026)浙0281民初1234号"
    assert (body["year"], body["court_code"], body["type_code"], body["serial"]) == (
        2026,
        "浙0281",
        "民初",
        1234,
    )
    assert body["court"]["name_zh"] == "余姚市人民法院"
    resp = await client.get(
        "/api/v1/filing/case-numbers/parse?number=" + quote("(2026)浙0281民五1号")
    )
    assert resp.status == 422
    problem = await resp.json()
    assert problem["code"] == "invalid_case_number" and "民五" in problem["detail"]


async def test_reference_endpoints_are_public(client: Client) -> None:
    for path in ("/api/v1/filing/courts", "/api/v1/filing/causes", "/api/v1/filing/case-types"):
        assert (await client.get(path)).status == 200, path
