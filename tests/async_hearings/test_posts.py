"""Posting rules: a lawyer speaks for their client's side, files by purpose and type, what each
role may post, where, and who sees drafts and files."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from backend.appkeys import DATABASE
from backend.auth.principal import Role
from filing.models import Party, Representation
from tests.async_hearings.helpers import (
    BASE,
    MP3,
    PDF,
    Client,
    Person,
    litigant,
    registered_case,
    staff,
    started_hearing,
    upload,
)
from tests.identity.conftest import Platform

# The smallest ISO BMFF header the upload sniffer takes for an MP4 video clip.
MP4 = (24).to_bytes(4, "big") + b"ftypisom" + (0).to_bytes(4, "big") + b"isommp41" + b"\x00" * 256


async def _ok(resp: Any, status: int = 200) -> Any:
    assert resp.status == status, await resp.text()
    return await resp.json()


async def _post(client: Client, case: str, who: Person, **body: Any) -> Any:
    return await client.post(f"{case}/posts", json=body, headers=who.headers)


async def test_posting_rules(
    client: Client, app: web.Application, accounts: Any, platform: Platform
) -> None:
    plaintiff, defendant = (
        await litigant(client, app, platform),
        await litigant(client, app, platform),
    )
    judge = await staff(app, accounts, Role.JUDGE)
    lawyer = await staff(app, accounts, Role.LAWYER)
    filing = await registered_case(app, plaintiff, defendant, judge)
    with app[DATABASE].activate():
        client_party = await Party.get(filing_id=filing.id, role="defendant")
        await Representation.create(
            id=uuid.uuid4(),
            party=client_party,
            lawyer_account_id=lawyer.account_id,
            power_of_attorney_file_id=uuid.uuid4(),
            granted_at=datetime.now(UTC),
        )
    await started_hearing(client, filing, plaintiff, defendant, judge)
    case = f"{BASE}/{filing.id}"

    # nothing can be posted to a stage that is not open
    resp = await _post(client, case, judge, stage="evidence", kind="text", text="提前")
    assert (await _ok(resp, 409))["code"] == "stage_not_open"
    # parties do not ask questions; the judge gives no evidence opinions
    await _ok(await client.post(f"{case}/stages/claim/enter", headers=plaintiff.present()))
    resp = await _post(
        client, case, plaintiff, stage="claim", kind="question", text="?", addressed_to="defendant"
    )
    assert (await _ok(resp, 403))["code"] == "post_kind_not_allowed"
    resp = await _post(client, case, judge, stage="claim", kind="question", text="?")
    assert (await _ok(resp, 422))["code"] == "invalid_post"  # a question names its party
    for _ in range(2):
        await _ok(await client.post(f"{case}/stages/advance", headers=judge.headers))

    # the defendant's lawyer enters the evidence stage and posts a video clip for the defendant
    await _ok(await client.post(f"{case}/stages/evidence/enter", headers=lawyer.present()))
    clip = await upload(client, lawyer, MP4, "evidence", "现场视频.mp4")
    video = await _ok(
        await _post(
            client, case, lawyer, stage="evidence", kind="video", file_id=clip, text="现场"
        ),
        201,
    )
    assert video["author_role"] == "defendant" and video["author_id"] == str(lawyer.account_id)

    # files must match the kind of post: a PDF is no video, a voice message no evidence file
    pdf = await upload(client, lawyer, PDF, "evidence", "a.pdf")
    voice = await upload(client, lawyer, MP3, "voice", "a.mp3")
    for kind, file_id in (("video", pdf), ("file", voice), ("voice", pdf)):
        resp = await _post(client, case, lawyer, stage="evidence", kind=kind, file_id=file_id)
        assert resp.status == 422, kind
    resp = await _post(client, case, lawyer, stage="evidence", kind="text", text="x", file_id=pdf)
    assert resp.status == 422
    resp = await _post(client, case, lawyer, stage="evidence", kind="file")
    assert resp.status == 422

    # a draft stays with its author, the judge included
    draft = await _ok(
        await _post(client, case, lawyer, stage="evidence", kind="file", file_id=pdf, draft=True),
        201,
    )
    for person in (judge, plaintiff, defendant):
        items = (await _ok(await client.get(f"{case}/posts", headers=person.headers)))["items"]
        assert draft["id"] not in {p["id"] for p in items}
    assert (
        await client.get(f"{case}/posts/{draft['id']}/file", headers=lawyer.headers)
    ).status == 404

    # published files are there for everyone in the case, nobody else
    resp = await client.get(f"{case}/posts/{video['id']}/file", headers=plaintiff.headers)
    assert resp.status == 200 and await resp.read() == MP4
    outsider = await litigant(client, app, platform)
    assert (
        await client.get(f"{case}/posts/{video['id']}/file", headers=outsider.headers)
    ).status == 404
    assert (await client.get(f"{case}/posts", headers=outsider.headers)).status == 404
    resp = await _post(client, case, outsider, stage="evidence", kind="text", text="我也说两句")
    assert resp.status == 404

    # an opinion belongs to cross-examination
    await _ok(await client.post(f"{case}/stages/evidence/enter", headers=plaintiff.present()))
    resp = await _post(
        client,
        case,
        plaintiff,
        stage="evidence",
        kind="opinion",
        evidence_post_id=video["id"],
        opinion={"authenticity": "dispute", "legality": "accept", "relevance": "accept"},
    )
    assert resp.status == 422
