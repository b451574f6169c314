"""Jurisdiction routing over the seeded courts: pure, with reasons in both languages."""

from __future__ import annotations

from decimal import Decimal

import pytest

from filing.courts import COURTS
from filing.routing import CourtInfo, RoutingInput, covers, region_prefix, route_filing

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
