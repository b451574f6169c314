"""GET /api/v1/fees/quote and /api/v1/fees/case-types (public)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web

from backend.appkeys import DATABASE
from filing.fees import DEFAULT_FEE_SCHEDULE
from filing.models import Court

Client = Any


async def get_quote(client: Client, **params: str) -> tuple[int, dict[str, Any]]:
    resp = await client.get("/api/v1/fees/quote?" + urlencode(params))
    return resp.status, await resp.json()


async def test_quote_with_breakdown(client: Client) -> None:
    status, body = await get_quote(
        client, case_type="property", amount="350000", procedure="ordinary"
    )
    assert status == 200
    assert body["total"] == "6550.00"  # 50 + 2,250 + 2,000 + 150,000 × 1.5 % (2,250)
    assert body["total_fen"] == 655000
    assert body["currency"] == "CNY"
    assert body["amount"] == "350000"
    assert [line["fee"] for line in body["lines"]] == ["50.00", "2250.00", "2000.00", "2250.00"]
    band = body["lines"][3]
    assert (band["lower"], band["upper"], band["rate"], band["amount_in_band"]) == (
        "200000",
        "500000",
        "0.015",
        "150000",
    )
    assert band["label_zh"] and band["label_en"]
    assert body["halving"]["applied"] is False
    assert body["prepayment_required"] is True
    assert any("Art. 13(1)" in b for b in body["legal_basis"])
    assert body["court"] is None


async def test_quote_is_public_and_not_cached(client: Client) -> None:
    resp = await client.get("/api/v1/fees/quote?case_type=labour")
    assert resp.status == 200
    assert (await resp.json())["total"] == "10.00"
    assert resp.headers["Cache-Control"] == "no-store"


async def test_quote_with_halving(client: Client) -> None:
    status, body = await get_quote(
        client, case_type="property", amount="100000", procedure="simple",
        mediated_or_withdrawn="true",
    )  # fmt: skip
    assert status == 200
    assert body["total"] == "1150.00"  # 2,300 halved once: halvings do not stack by default
    assert body["halving"]["times"] == 1
    assert [g["code"] for g in body["halving"]["grounds"]] == [
        "simple_procedure",
        "mediation_or_withdrawal",
    ]


async def test_quote_uses_the_court_schedule(client: Client, app: web.Application) -> None:
    with app[DATABASE].activate():
        await Court.create(
            code="浙0281",
            name_zh="余姚市人民法院",
            name_en="Yuyao People's Court",
            level="basic",
            region_code="330281",
            parent_code="浙02",
            fee_schedule={**DEFAULT_FEE_SCHEDULE.as_json(), "divorce": "250.00", "source": "test"},
        )
    status, body = await get_quote(client, case_type="divorce", court="浙0281")
    assert status == 200
    assert body["total"] == "250.00"
    assert body["court"] == {"code": "浙0281", "name_zh": "余姚市人民法院",
                             "name_en": "Yuyao People's Court"}  # fmt: skip
    assert body["schedule_source"] == "test"
    status, body = await get_quote(client, case_type="divorce", court="浙０２８１")  # full width
    assert status == 200 and body["total"] == "250.00"
    status, body = await get_quote(client, case_type="divorce")
    assert body["total"] == "50.00"  # default schedule


async def test_unknown_or_malformed_court(client: Client) -> None:
    status, body = await get_quote(client, case_type="divorce", court="浙0282")
    assert status == 422 and body["code"] == "unknown_court"
    status, body = await get_quote(client, case_type="divorce", court="浙028")
    assert status == 422 and body["errors"][0]["field"] == "court"


async def test_unknown_case_type_and_procedure_list_allowed_values(client: Client) -> None:
    status, body = await get_quote(client, case_type="tort", amount="100")
    assert status == 422
    message = body["errors"][0]["message"]
    for allowed in ("property", "divorce", "labour", "preservation", "payment_order"):
        assert allowed in message
    status, body = await get_quote(client, case_type="property", amount="100", procedure="fast")
    assert status == 422
    assert all(p in body["errors"][0]["message"] for p in ("ordinary", "simple", "small_claims"))


async def test_bad_amounts_are_422(client: Client) -> None:
    for amount, field_message in [
        ("-5", "negative"),
        ("0", "greater than zero"),
        ("10000000000000.01", "exceed"),
        ("12.345", "2 decimal places"),
        ("1e5", "plain decimal"),
        ("abc", "plain decimal"),
        ("1" * 100, "absurdly long"),
    ]:
        resp = await client.get("/api/v1/fees/quote?case_type=property&amount=" + quote(amount))
        assert resp.status == 422, amount
        assert resp.content_type == "application/problem+json"
        body = await resp.json()
        assert body["errors"][0]["field"] == "amount"
        assert field_message in body["errors"][0]["message"], amount


async def test_semantic_errors_are_422(client: Client) -> None:
    status, body = await get_quote(client, case_type="property")
    assert status == 422 and body["code"] == "invalid_fee_request"
    assert "required" in body["detail"]
    status, body = await get_quote(client, case_type="labour", amount="1000")
    assert status == 422 and "per case" in body["detail"]
    status, body = await get_quote(
        client, case_type="preservation", amount="1000", procedure="simple"
    )
    assert status == 422 and "acceptance fees" in body["detail"]
    resp = await client.get("/api/v1/fees/quote?case_type=property&amount=1&colour=red")
    assert resp.status == 422  # unknown parameters are refused
    resp = await client.get("/api/v1/fees/quote?case_type=property&amount=1&amount=2")
    assert resp.status == 400


async def test_application_fees(client: Client) -> None:
    for params, expected in [
        ({"case_type": "payment_order", "amount": "100000"}, "766.67"),  # 2,300 / 3
        ({"case_type": "preservation", "amount": "900000"}, "5000.00"),  # 5,020 → cap 5,000
        ({"case_type": "enforcement", "amount": "500000"}, "7400.00"),  # 50 + 490,000 × 1.5 %
    ]:
        status, body = await get_quote(client, **params)
        assert (status, body["total"]) == (200, expected), params
    assert body["prepayment_required"] is False  # enforcement: paid after enforcement


async def test_case_types(client: Client) -> None:
    resp = await client.get("/api/v1/fees/case-types")
    assert resp.status == 200
    body = await resp.json()
    by_type = {item["case_type"]: item for item in body["items"]}
    assert len(by_type) == 12
    assert by_type["property"]["name_zh"] == "财产案件"
    assert by_type["property"]["amount"] == "required"
    assert by_type["labour"]["amount"] == "not_used"
    assert by_type["divorce"]["court_configured"] == {
        "schedule_field": "divorce",
        "minimum": "50.00",
        "maximum": "300.00",
        "default": "50.00",
    }
    assert {p["procedure"] for p in body["procedures"]} == {"ordinary", "simple", "small_claims"}


async def test_routes_are_documented(client: Client) -> None:
    spec = await (await client.get("/api/v1/openapi.json")).json()
    quote_op = spec["paths"]["/api/v1/fees/quote"]["get"]
    assert "security" not in quote_op  # public
    names = {p["name"] for p in quote_op["parameters"]}
    assert {"case_type", "amount", "procedure", "court"} <= names
    for path in ("/api/v1/fees/case-types", "/api/v1/filing/courts", "/api/v1/filing/causes"):
        assert "security" not in spec["paths"][path]["get"]
