"""Lawyer applications: multipart upload, review queue, approval and rejection."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from backend.audit.models import AuditEvent
from backend.auth.models import Account
from backend.auth.principal import Role
from identity.models import LawyerApplication
from tests.identity.conftest import ADULT_ID, MINOR_ID, OTHER_ADULT_ID, Client, register

APPLY = "/api/v1/identity/lawyers/applications"
LICENCE = "33020201910123456"  # 17 digits


def png() -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + tag
            + data
            + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
        )

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def form(
    licence: str = LICENCE, content: bytes | None = None, firm: str = "浙江某某律师事务所"
) -> aiohttp.FormData:
    data = aiohttp.FormData()
    data.add_field("licence_number", licence)
    data.add_field("law_firm", firm)
    data.add_field(
        "licence_photo",
        content if content is not None else png(),
        filename="执业证.png",
        content_type="image/png",
    )
    return data


async def _problem(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    body: dict[str, Any] = await resp.json()
    assert body["code"] == code, body
    return body


@pytest.fixture
async def applicant(login: Callable[..., Any], client: Client, accounts: Any) -> dict[str, Any]:
    me: dict[str, Any] = await login()
    return me


async def test_apply_review_reject_then_approve(
    client: Client, applicant: dict[str, Any], accounts: Any
) -> None:
    headers = applicant["headers"]
    await _problem(await client.post(APPLY, data=form(), headers=headers), 422, "realname_required")
    await register(client, headers, ADULT_ID)
    body = await _problem(
        await client.post(APPLY, data=form("1234"), headers=headers), 422, "licence_number_format"
    )
    assert body["errors"][0]["field"] == "licence_number"
    # type decided by the bytes (the storage layer's allowlist), not by the claimed image/png
    pdf = await client.post(APPLY, data=form(content=b"%PDF-1.7\n%%EOF\n"), headers=headers)
    assert pdf.status == 415, await pdf.text()
    await _problem(
        await client.post(APPLY, json={"licence_number": LICENCE}, headers=headers),
        415,
        "unsupported_media_type",
    )

    resp = await client.post(APPLY, data=form(), headers=headers)
    assert resp.status == 201, await resp.text()
    application = await resp.json()
    assert application["status"] == "pending" and application["licence_number"] == LICENCE
    assert resp.headers["Location"].endswith(application["id"])
    await _problem(
        await client.post(APPLY, data=form(), headers=headers), 409, "application_pending"
    )

    _, litigant = await accounts.headers(Role.LITIGANT)
    await _problem(await client.get(APPLY, headers=litigant), 403, "forbidden")
    await _problem(
        await client.get(f"{APPLY}/{application['id']}", headers=litigant), 404, "not_found"
    )
    await _problem(
        await client.post(f"{APPLY}/{application['id']}/approve", headers=litigant),
        403,
        "forbidden",
    )

    _, admin = await accounts.headers(Role.COURT_ADMIN, court_code="浙0281")
    queue = await (await client.get(APPLY, headers=admin)).json()
    assert [a["id"] for a in queue["items"]] == [application["id"]]
    item = queue["items"][0]
    assert item["applicant_name"] == "王小明"
    assert item["applicant_id_number_masked"] == "3302**********108X"
    photo = await client.get(f"{APPLY}/{application['id']}/licence", headers=admin)
    assert photo.status == 200 and photo.headers["Content-Type"] == "image/png"
    assert photo.headers["Content-Disposition"].startswith("attachment")
    assert await photo.read() == png()

    rejected = await client.post(
        f"{APPLY}/{application['id']}/reject",
        json={"reason": "执业证照片不清晰，请重新上传 / photo unreadable"},
        headers=admin,
    )
    assert rejected.status == 200, await rejected.text()
    mine = await (await client.get(f"{APPLY}/mine", headers=headers)).json()
    assert mine["items"][0]["status"] == "rejected"
    assert mine["items"][0]["reason"].startswith("执业证照片不清晰")
    me = await (await client.get("/api/v1/identity/me", headers=headers)).json()
    assert me["lawyer_application"]["status"] == "rejected"
    await _problem(
        await client.post(f"{APPLY}/{application['id']}/approve", headers=admin),
        409,
        "application_decided",
    )

    # a second application, with a legacy 12-digit licence, is approved
    second = await (await client.post(APPLY, data=form("330202012345"), headers=headers)).json()
    assert second["status"] == "pending"
    approved = await client.post(f"{APPLY}/{second['id']}/approve", headers=admin)
    assert approved.status == 200 and (await approved.json())["status"] == "approved"
    account = await Account.get(id=applicant["account_id"])
    assert sorted(account.roles) == ["lawyer", "litigant"]
    # the role applies on the next request with the token already issued
    roles = (await (await client.get("/api/v1/auth/me", headers=headers)).json())["roles"]
    assert {r["role"] for r in roles} == {"lawyer", "litigant"}
    await _problem(await client.post(APPLY, data=form(), headers=headers), 409, "already_lawyer")
    actions = [e.action for e in await AuditEvent.filter(action__startswith="identity.lawyer")]
    assert actions == [
        "identity.lawyer_applied",
        "identity.lawyer_rejected",
        "identity.lawyer_applied",
        "identity.lawyer_approved",
    ]


async def test_review_queue_is_paginated(
    client: Client, login: Callable[..., Any], accounts: Any
) -> None:
    ids = []
    for id_number in (ADULT_ID, OTHER_ADULT_ID, MINOR_ID):
        me = await login()
        await register(client, me["headers"], id_number)
        resp = await client.post(APPLY, data=form(), headers=me["headers"])
        assert resp.status == 201
        ids.append((await resp.json())["id"])
    _, admin = await accounts.headers(Role.SYSTEM_ADMIN)
    first = await (await client.get(APPLY, params={"limit": "2"}, headers=admin)).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = await (
        await client.get(
            APPLY, params={"limit": "2", "cursor": first["next_cursor"]}, headers=admin
        )
    ).json()
    assert rest["next_cursor"] is None
    assert [a["id"] for a in first["items"] + rest["items"]] == ids
    assert await LawyerApplication.filter(status="pending").count() == 3
    garbage = await (await client.get(APPLY, params={"cursor": "!!"}, headers=admin)).json()
    assert garbage["items"] == []
    approved = await (await client.get(APPLY, params={"status": "approved"}, headers=admin)).json()
    assert approved["items"] == []
