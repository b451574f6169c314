"""GET /api/v1/calendar/deadline and /api/v1/calendar/days (public)."""

from __future__ import annotations

from typing import Any

import pytest

Client = Any


async def get(client: Client, path: str) -> tuple[int, dict[str, Any], str]:
    resp = await client.get(path)
    return resp.status, await resp.json(), resp.content_type


async def test_deadline_over_national_day_without_a_token(client: Client) -> None:
    status, body, _ = await get(client, "/api/v1/calendar/deadline?start=2026-09-16&days=15")
    assert status == 200
    # Thu 1 Oct 2026 is day 15; the National Day break runs 1–7 Oct; Thu 8 Oct is a working day.
    assert body["start"] == "2026-09-16"
    assert body["nominal_due"] == "2026-10-01"
    assert body["due"] == "2026-10-08"
    assert body["rolled_over"] is True
    assert body["skipped"] == [f"2026-10-0{d}" for d in range(1, 8)]
    assert "National Day" in body["explanation_en"]
    assert "国庆节" in body["explanation_zh"]
    assert "Art. 85" in body["legal_basis"]


async def test_deadline_on_a_make_up_working_day(client: Client) -> None:
    status, body, _ = await get(client, "/api/v1/calendar/deadline?start=2026-02-13&days=15")
    assert status == 200
    # Sat 28 Feb 2026 is a make-up working day (调休上班): the period ends on it.
    assert (body["due"], body["rolled_over"], body["skipped"]) == ("2026-02-28", False, [])
    assert body["provisional"] is False


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start=2026-02-30&days=15", "start"),
        ("start=tomorrow&days=15", "start"),
        ("start=2026-03-02&days=0", "days"),
        ("start=2026-03-02&days=1001", "days"),
        ("start=2026-03-02&days=ten", "days"),
        ("start=1999-12-31&days=15", "start"),
        ("days=15", "start"),
        ("start=2026-03-02", "days"),
        ("start=2026-03-02&days=15&extra=1", "extra"),
    ],
)
async def test_deadline_bad_input_is_a_problem(client: Client, query: str, field: str) -> None:
    status, body, content_type = await get(client, f"/api/v1/calendar/deadline?{query}")
    assert status == 422
    assert content_type == "application/problem+json"
    assert body["code"] == "validation_failed"
    assert body["errors"][0]["field"] == field


async def test_deadline_in_an_unpublished_year_is_refused(client: Client) -> None:
    status, body, content_type = await get(
        client, "/api/v1/calendar/deadline?start=2030-03-02&days=15"
    )
    assert status == 422
    assert content_type == "application/problem+json"
    assert body["code"] == "calendar_not_covered"
    assert body["year"] == 2030
    assert body["first_year"] == 2001


async def test_deadline_after_the_newest_notice_on_request_is_provisional(client: Client) -> None:
    status, body, _ = await get(
        client, "/api/v1/calendar/deadline?start=2026-12-17&days=15&provisional=true"
    )
    assert status == 200
    # 1 Jan 2027 is New Year's Day in the statutory calendar; the 2027 notice is not out.
    assert body["nominal_due"] == "2027-01-01"
    assert body["provisional"] is True and body["rolled_over"] is True
    status, body, _ = await get(client, "/api/v1/calendar/deadline?start=2026-12-17&days=15")
    assert status == 422 and body["code"] == "calendar_not_covered"


async def test_days_lists_rest_days_and_make_up_days(client: Client) -> None:
    status, body, _ = await get(client, "/api/v1/calendar/days?from=2026-09-19&to=2026-10-11")
    assert status == 200
    assert (body["from"], body["to"], body["covered_from_year"]) == (
        "2026-09-19",
        "2026-10-11",
        2001,
    )
    kinds = {item["date"]: item["kind"] for item in body["items"]}
    assert kinds == {
        "2026-09-19": "weekend",
        "2026-09-20": "make_up_working_day",  # Sunday, works for the National Day break
        "2026-09-25": "holiday",  # Mid-Autumn Festival
        "2026-09-26": "weekend",
        "2026-09-27": "weekend",
        "2026-10-01": "holiday",
        "2026-10-02": "holiday",
        "2026-10-03": "holiday",
        "2026-10-04": "weekend",
        "2026-10-05": "holiday",  # observed: National Day fell on a Saturday
        "2026-10-06": "rest_day",  # swapped for Sun 20 Sep
        "2026-10-07": "rest_day",  # swapped for Sat 10 Oct
        "2026-10-10": "make_up_working_day",
        "2026-10-11": "weekend",
    }
    working = {item["date"] for item in body["items"] if item["working"]}
    assert working == {"2026-09-20", "2026-10-10"}


@pytest.mark.parametrize(
    "query",
    [
        "from=2026-10-11&to=2026-10-01",  # reversed
        "from=2025-01-01&to=2026-01-02",  # more than 366 days
        "from=2026-10-01",  # missing end
    ],
)
async def test_days_bad_range_is_a_problem(client: Client, query: str) -> None:
    status, body, content_type = await get(client, f"/api/v1/calendar/days?{query}")
    assert status == 422
    assert content_type == "application/problem+json"
    assert body["code"] == "validation_failed"


async def test_calendar_routes_are_public_and_documented(client: Client) -> None:
    _, spec, _ = await get(client, "/api/v1/openapi.json")
    deadline = spec["paths"]["/api/v1/calendar/deadline"]["get"]
    assert {p["name"] for p in deadline["parameters"]} == {"start", "days", "provisional"}
    assert not deadline.get("security")
    days = spec["paths"]["/api/v1/calendar/days"]["get"]
    assert {p["name"] for p in days["parameters"]} == {"from", "to"}
