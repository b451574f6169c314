"""Jurisdiction routing over the seeded courts: pure, with reasons in both languages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from filing.courts import COURTS
from filing.routing import (
    NATIONAL_THRESHOLDS,
    CourtInfo,
    LevelThresholds,
    RoutingInput,
    RoutingResult,
    covers,
    region_prefix,
    route_filing,
)

SEEDED = [
    CourtInfo(
        code=c.code,
        level=c.level.value,
        region_code=c.region_code,
        name_zh=c.name_zh,
        designated_categories=c.designated_categories,
    )
    for c in COURTS
]


def route(**kw: object) -> tuple[str | None, list[str]]:
    values: dict[str, object] = {
        "receiving_court": "浙0106",
        "party_regions": ("330106", "330281"),
        "defendant_regions": ("330281",),
    }
    values.update(kw)
    result = route_filing(SEEDED, RoutingInput(**values))  # type: ignore[arg-type]
    return (result.court.code if result.court else None), [r.en for r in result.reasons]


@pytest.mark.parametrize(
    ("region", "prefix"), [("330100", "3301"), ("110000", "11"), ("330281", "330281")]
)
def test_region_prefix(region: str, prefix: str) -> None:
    assert region_prefix(region) == prefix


def test_covers() -> None:
    assert covers("330100", "330106")
    assert covers("110000", "110105")
    assert not covers("330100", "330281")


def test_defendant_domicile_decides() -> None:
    court, reasons = route()
    assert court == "浙0281"
    assert any("defendant's domicile" in r for r in reasons)
    assert any("basic courts" in r for r in reasons)


def test_defendant_in_a_district_without_its_own_court_data() -> None:
    # 330102 (Shangcheng) has no court in the seed data and no basic court covers it.
    court, reasons = route(defendant_regions=("330102",), party_regions=("330102",))
    assert court is None
    assert any("no court" in r for r in reasons)


def test_place_of_performance_lets_the_plaintiffs_choice_stand() -> None:
    court, reasons = route(performance_region="330106")
    assert court == "浙0106"
    assert any("plaintiff's choice" in r for r in reasons)
    # Filed somewhere else: the defendant's domicile comes first.
    court, _ = route(receiving_court="浙0192", performance_region="330106")
    assert court == "浙0281"


def test_internet_category_in_the_region_goes_to_the_internet_court() -> None:
    court, reasons = route(internet_category="online_shopping_contract")
    assert court == "浙0192"  # the plaintiff lives in Hangzhou (330106)
    assert "Internet-court category" in reasons[0]
    beijing, _ = route(
        internet_category="online_loan_contract",
        party_regions=("110105", "330281"),
        defendant_regions=("330281",),
    )
    assert beijing == "京0491"


def test_internet_category_outside_every_internet_court_region() -> None:
    court, reasons = route(
        internet_category="online_shopping_contract",
        party_regions=("330281", "330282"),
        defendant_regions=("330281",),
    )
    assert court == "浙0281"
    assert "no party lives in an Internet court's region" in reasons[0]


def test_level_by_amount_threshold_is_configurable() -> None:
    low = route_filing(
        SEEDED,
        RoutingInput("浙0106", ("330281",), ("330281",), claim_amount=Decimal("1000001")),
        intermediate_threshold=Decimal("1000000"),
    )
    assert low.court is not None and low.court.code == "浙02"
    assert any("intermediate court" in r.en for r in low.reasons)
    assert any("中级人民法院" in r.zh for r in low.reasons)
    same = route_filing(
        SEEDED,
        RoutingInput("浙0106", ("330281",), ("330281",), claim_amount=Decimal("1000000")),
        intermediate_threshold=Decimal("1000000"),
    )
    assert same.court is not None and same.court.code == "浙0281"


def test_no_defendant() -> None:
    court, reasons = route(defendant_regions=())
    assert court is None and "no defendant domicile" in reasons[0]


TYPED = [
    CourtInfo(
        code=c.code,
        level=c.level.value,
        region_code=c.region_code,
        name_zh=c.name_zh,
        designated_categories=c.designated_categories,
        case_types=c.case_types,
    )
    for c in COURTS
]


def typed(**kw: object) -> RoutingResult:
    values: dict[str, object] = {
        "receiving_court": "浙0106",
        "party_regions": ("330106", "330281"),
        "defendant_regions": ("330281",),
    }
    values.update(kw)
    return route_filing(TYPED, RoutingInput(**values))  # type: ignore[arg-type]


def test_level_thresholds_follow_the_2021_notice() -> None:
    # All parties in Zhejiang: the intermediate court from 5亿 on (以上 includes 5亿 itself).
    below = typed(claim_amount=Decimal("499999999.99"))
    assert below.court is not None and below.court.code == "浙0281"
    assert any("below 500000000 yuan" in r.en for r in below.reasons)
    at = typed(claim_amount=Decimal("500000000"))
    assert at.court is not None and at.court.code == "浙02"
    # A plaintiff in Beijing suing in Zhejiang: 1亿 is enough.
    cross = typed(party_regions=("110105", "330281"), claim_amount=Decimal("150000000"))
    assert cross.court is not None and cross.court.code == "浙02"
    assert any("both sides of the province's border" in r.en for r in cross.reasons)
    assert any("一方住所地不在本省" in r.zh for r in cross.reasons)
    same = typed(claim_amount=Decimal("150000000"))
    assert same.court is not None and same.court.code == "浙0281"
    # Everyone outside the province counts like everyone inside (均不在).
    outside = typed(
        party_regions=("110105", "440106"),
        performance_region="330281",
        defendant_regions=(),
        claim_amount=Decimal("150000000"),
    )
    assert outside.court is not None and outside.court.code == "浙0281"


def test_a_province_may_set_its_own_thresholds() -> None:
    zhejiang = {"33": LevelThresholds(Decimal("2000000"), Decimal("1000000"))}
    result = route_filing(
        TYPED,
        RoutingInput("浙0106", ("330106", "330281"), ("330281",), claim_amount=Decimal("2000000")),
        thresholds=zhejiang,
    )
    assert result.court is not None and result.court.code == "浙02"
    assert any("2000000" in r.en for r in result.reasons)
    elsewhere = route_filing(
        TYPED,
        RoutingInput("京0491", ("110105",), ("110105",), claim_amount=Decimal("2000000")),
        thresholds=zhejiang,
    )
    assert elsewhere.court is None or elsewhere.court.level != "intermediate"


def test_the_competent_court_must_hear_the_case_type() -> None:
    # Payment orders (民督) are for basic courts; the Internet court does not hear them.
    order = typed(internet_category="online_shopping_contract", case_type="民督")
    assert order.court is not None and order.court.code == "浙0281"
    assert "浙0192 does not hear 民督 cases" in order.reasons[0].en
    assert NATIONAL_THRESHOLDS.cross_province == Decimal("100000000")
    # A retrial (民再) is heard by intermediate and high courts, never by the basic court a
    # claim of this size goes to: no competent court.
    retrial = typed(case_type="民再", claim_amount=Decimal("100000"))
    assert retrial.court is None
    assert "hears 民再 cases" in retrial.reasons[-1].en


async def test_submission_without_a_court_hearing_the_case_type_is_refused(
    client: Any, app: Any, accounts: Any
) -> None:
    from backend.auth.principal import Role
    from filing.models import Filing
    from tests.filing.workflow_helpers import (
        DEFENDANT_ID,
        PLAINTIFF_ID,
        person,
        seed,
        verify_real_name,
    )

    await seed(app)
    plaintiff, headers = await accounts.headers(Role.LITIGANT)
    await verify_real_name(app, plaintiff.id, PLAINTIFF_ID)
    draft = await client.post(
        "/api/v1/filing/filings",
        json={
            "court": "浙0281",
            "case_type": "民再",
            "cause": "4.cont.loan.private",
            "claim_amount": "100000",
            "claims": "再审",
            "facts_and_reasons": "原判决认定事实错误。",
        },
        headers=headers,
    )
    assert draft.status == 201, await draft.text()
    url = f"/api/v1/filing/filings/{(await draft.json())['id']}"
    for body in (
        person("plaintiff", PLAINTIFF_ID, "330106", is_me=True),
        person("defendant", DEFENDANT_ID, "330281"),
    ):
        assert (await client.post(f"{url}/parties", json=body, headers=headers)).status == 201
    refused = await client.post(f"{url}/submit", headers=headers)
    assert refused.status == 422
    problem = await refused.json()
    assert problem["code"] == "no_competent_court"
    assert any("民再" in r["zh"] for r in problem["routing_reasons"])
    filing = await Filing.get(id=url.rsplit("/", 1)[1])
    assert filing.status == "draft" and filing.competent_court_code is None
