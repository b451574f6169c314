"""An asynchronous hearing end to end over HTTP — a plaintiff against two defendants: consent,
eligibility refused then accepted, every stage with per-item cross-examination, the judge's
question to one named defendant and that defendant's answer (the other defendant cannot answer
it), a missed window naming the party who missed it, with that party's reason, the signed
transcript PDF (text checked) and chain verification."""

from __future__ import annotations

import io
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from pypdf import PdfReader
from tortoise.exceptions import BaseORMException

from backend.appkeys import BLOBS, DATABASE
from backend.auth.principal import Role
from hearings.asynchronous.models import AsyncPost, DocumentSignature
from tests.async_hearings.helpers import (
    MP3,
    PDF,
    Client,
    Person,
    litigant,
    party_ids,
    registered_case,
    run_jobs,
    staff,
    tamper_post_text,
    upload,
)
from tests.identity.conftest import Platform

BASE = "/api/v1/async-hearings/cases"
# How each driver reports a trigger refusing the statement.
REFUSED = (BaseORMException, asyncpg.PostgresError)


async def _ok(resp: Any, status: int = 200) -> Any:
    assert resp.status == status, await resp.text()
    return await resp.json()


async def _post(
    client: Client, url: str, who: dict[str, str], body: Any = None, status: int = 200
) -> Any:
    return await _ok(await client.post(url, json=body or {}, headers=who), status)


async def _say(
    client: Client, case: str, person: Person, stage: str, text: str, **extra: Any
) -> dict[str, Any]:
    body = {"stage": stage, "kind": "text", "text": text, **extra}
    result: dict[str, Any] = await _post(client, f"{case}/posts", person.headers, body, 201)
    return result


async def _enter(client: Client, case: str, person: Person, stage: str) -> None:
    await _post(client, f"{case}/stages/{stage}/enter", person.present())


async def test_two_party_asynchronous_hearing(
    client: Client, app: web.Application, accounts: Any, platform: Platform
) -> None:
    plaintiff = await litigant(client, app, platform)
    defendant = await litigant(client, app, platform)  # 李四
    co_defendant = await litigant(client, app, platform)  # 王五
    judge = await staff(app, accounts, Role.JUDGE)
    filing = await registered_case(
        app, plaintiff, defendant, judge, more=(("defendant", co_defendant, "王五"),)
    )
    case = f"{BASE}/{filing.id}"
    parties = await party_ids(app, filing)
    defendants = (defendant, co_defendant)

    # --- eligibility: refused, each unmet condition named -----------------------------------
    body = await _ok(await client.get(f"{case}/eligibility", headers=judge.headers))
    codes = {u["code"] for u in body["unmet"]}
    assert body["eligible"] is False
    assert codes == {
        "no_written_application",
        "consent_missing",
        "attendance_not_found_hard",
        "facts_not_undisputed",
    }
    assert all(u["message_zh"] and u["message_en"] for u in body["unmet"])

    await _post(
        client,
        f"{case}/applications",
        plaintiff.headers,
        {"text": "申请异步审理，双方时间难以协调。"},
        201,
    )
    for person in (plaintiff, co_defendant):
        await _post(
            client, f"{case}/consents", person.headers, {"scope": "hearing", "consented": True}
        )
    await _post(
        client,
        f"{case}/consents",
        defendant.headers,
        {"scope": "hearing", "consented": False, "reason": "想当面陈述"},
    )
    # a judge cannot consent for a party, and a party cannot record findings
    await _post(
        client, f"{case}/consents", judge.headers, {"scope": "hearing", "consented": True}, 404
    )
    findings = {"facts_undisputed": True, "attendance_hard": True, "exclusions": []}
    assert (
        await client.put(f"{case}/findings", json=findings, headers=plaintiff.headers)
    ).status == 404
    await _ok(await client.put(f"{case}/findings", json=findings, headers=judge.headers))

    resp = await client.post(f"{case}/start", json={"mode": "hearing"}, headers=judge.headers)
    problem = await _ok(resp, 409)
    assert problem["code"] == "not_eligible"
    assert [u["code"] for u in problem["unmet"]] == ["party_refused"]
    assert "不同意" in problem["detail"] and "refused" in problem["detail"]

    await _post(
        client, f"{case}/consents", defendant.headers, {"scope": "hearing", "consented": True}
    )
    body = await _ok(await client.get(f"{case}/eligibility", headers=defendant.headers))
    assert body == {"mode": "hearing", "eligible": True, "unmet": []}

    windows = {"window_hours": {"claim": 48, "debate": 24}}
    hearing = await _post(client, f"{case}/start", judge.headers, {"mode": "hearing", **windows})
    assert [s["kind"] for s in hearing["stages"]] == [
        "claim",
        "defence",
        "evidence",
        "cross_examination",
        "inquiry",
        "debate",
        "final_statements",
    ]
    assert hearing["stages"][0]["status"] == "open" and hearing["stages"][0]["window_hours"] == 48

    # the stage-opened notice reaches both parties over WeChat
    await run_jobs(app)
    messages = await _get_messages(platform)
    assert {m["touser"] for m in messages} == {
        plaintiff.openid,
        defendant.openid,
        co_defendant.openid,
    }
    assert all(m["data"]["thing2"]["value"] == "异步审理新阶段已开始" for m in messages)

    # --- claim: face check on entering, drafts private ----------------------------------------
    resp = await client.post(
        f"{case}/posts",
        json={"stage": "claim", "kind": "text", "text": "x"},
        headers=plaintiff.headers,
    )
    assert (await _ok(resp, 403))["code"] == "stage_not_entered"
    resp = await client.post(f"{case}/stages/claim/enter", headers=plaintiff.present(age_s=400))
    assert (await _ok(resp, 403))["code"] == "presence_required"
    await _enter(client, case, plaintiff, "claim")
    draft = await _say(client, case, plaintiff, "claim", "请求判令被告归还借款5000元。", draft=True)
    assert draft["draft"] is True and draft["hash"] is None
    seen = await _ok(await client.get(f"{case}/posts", headers=defendant.headers))
    assert seen["items"] == []  # the other side does not see a draft
    mine = await _ok(await client.get(f"{case}/posts", headers=plaintiff.headers))
    assert [p["id"] for p in mine["items"]] == [draft["id"]]
    await _post(client, f"{case}/posts/{draft['id']}/publish", defendant.headers, None, 404)
    claim = await _post(client, f"{case}/posts/{draft['id']}/publish", plaintiff.headers)
    assert claim["seq"] == 1 and claim["author_id"] == str(plaintiff.account_id)
    seen = await _ok(await client.get(f"{case}/posts", headers=defendant.headers))
    assert [p["id"] for p in seen["items"]] == [claim["id"]]
    # a voice message too
    voice_file = await upload(client, plaintiff, MP3, "voice", "claim.mp3")
    voice = await _post(
        client,
        f"{case}/posts",
        plaintiff.headers,
        {"stage": "claim", "kind": "voice", "file_id": voice_file},
        201,
    )
    assert voice["file_sha256"] and voice["seq"] == 2
    # someone else's upload cannot be posted
    await _enter(client, case, defendant, "claim")
    resp = await client.post(
        f"{case}/posts",
        json={"stage": "claim", "kind": "voice", "file_id": voice_file},
        headers=defendant.headers,
    )
    assert resp.status == 422

    # --- defence: 王五 answers, 李四 lets the window pass ----------------------------------------
    await _post(client, f"{case}/stages/advance", judge.headers)
    await _enter(client, case, co_defendant, "defence")
    await _say(client, case, co_defendant, "defence", "王五答辩：我只是介绍人，不是借款人。")
    hearing = await _post(client, f"{case}/stages/advance", judge.headers)
    assert [s["status"] for s in hearing["stages"][:3]] == ["closed", "closed", "open"]
    missed = (await _ok(await client.get(f"{case}/missed", headers=judge.headers)))["items"]
    # the window is missed by the party who did not post, not by the defendants' side
    assert [(m["stage"], m["party_role"], m["party_id"], m["party_name"]) for m in missed] == [
        ("defence", "defendant", parties["李四"], "李四")
    ]
    missed_id = missed[0]["id"]
    for other in (plaintiff, co_defendant):  # not theirs to explain, even on the same side
        await _post(
            client, f"{case}/missed/{missed_id}/reason", other.headers, {"reason": "x" * 5}, 404
        )
    await _post(
        client,
        f"{case}/missed/{missed_id}/reason",
        defendant.headers,
        {"reason": "住院治疗，附诊断证明"},
    )
    decided = await _post(
        client,
        f"{case}/missed/{missed_id}/decision",
        judge.headers,
        {"accepted": True, "note": "理由成立"},
    )
    assert decided["decision"] == "accepted" and "不视为拒不到庭" in decided["consequence_zh"]

    # --- evidence: one item each -------------------------------------------------------------
    for person in (plaintiff, defendant):
        await _enter(client, case, person, "evidence")
    await _enter(client, case, co_defendant, "evidence")
    p_file = await upload(client, plaintiff, PDF, "evidence", "借条.pdf")
    d_file = await upload(client, defendant, PDF + b"%receipt", "evidence", "收据.pdf")
    p_item = await _post(
        client,
        f"{case}/posts",
        plaintiff.headers,
        {"stage": "evidence", "kind": "file", "file_id": p_file, "text": "借条"},
        201,
    )
    d_item = await _post(
        client,
        f"{case}/posts",
        defendant.headers,
        {"stage": "evidence", "kind": "file", "file_id": d_file, "text": "还款收据"},
        201,
    )
    download = await client.get(f"{case}/posts/{p_item['id']}/file", headers=defendant.headers)
    assert download.status == 200 and await download.read() == PDF
    await _post(client, f"{case}/stages/advance", judge.headers)

    # --- cross-examination per item, by the opposing party only --------------------------------
    for person in (plaintiff, *defendants):
        await _enter(client, case, person, "cross_examination")
    opinion = {"authenticity": "accept", "legality": "accept", "relevance": "dispute"}
    resp = await client.post(
        f"{case}/posts",
        json={
            "stage": "cross_examination",
            "kind": "opinion",
            "evidence_post_id": p_item["id"],
            "opinion": opinion,
        },
        headers=plaintiff.headers,
    )
    assert (await _ok(resp, 422))["code"] == "own_evidence"
    await _post(
        client,
        f"{case}/posts",
        defendant.headers,
        {
            "stage": "cross_examination",
            "kind": "opinion",
            "evidence_post_id": p_item["id"],
            "opinion": {**opinion, "objection": True, "reasons": "借条签名非本人所写"},
        },
        201,
    )
    await _post(
        client,
        f"{case}/posts",
        co_defendant.headers,
        {
            "stage": "cross_examination",
            "kind": "opinion",
            "evidence_post_id": p_item["id"],
            "opinion": opinion,
        },
        201,
    )
    await _post(
        client,
        f"{case}/posts",
        plaintiff.headers,
        {
            "stage": "cross_examination",
            "kind": "opinion",
            "evidence_post_id": d_item["id"],
            "opinion": {"authenticity": "dispute", "legality": "accept", "relevance": "accept"},
        },
        201,
    )
    items = (await _ok(await client.get(f"{case}/evidence", headers=plaintiff.headers)))["items"]
    assert [(i["item"]["id"], [o["author_role"] for o in i["opinions"]]) for i in items] == [
        (p_item["id"], ["defendant", "defendant"]),
        (d_item["id"], ["plaintiff"]),
    ]
    assert [o["author_party_id"] for o in items[0]["opinions"]] == [
        parties["李四"],
        parties["王五"],
    ]
    assert items[0]["opinions"][0]["data"]["objection"] is True
    await _post(client, f"{case}/stages/advance", judge.headers)

    # --- the judge's inquiry: a question to one named defendant, 李四 ----------------------------
    question = await _post(
        client,
        f"{case}/posts",
        judge.headers,
        {
            "stage": "inquiry",
            "kind": "question",
            "text": "被告李四是否收到5000元借款？",
            "addressed_party_id": parties["李四"],
        },
        201,
    )
    assert question["addressed_party_id"] == parties["李四"]
    assert question["addressed_to"] == "defendant"
    await run_jobs(app)
    asked = [
        m for m in await _get_messages(platform) if m["data"]["thing2"]["value"] == "法官向您提问"
    ]
    assert [m["touser"] for m in asked] == [defendant.openid]  # not the other defendant
    for person in (plaintiff, *defendants):
        await _enter(client, case, person, "inquiry")
    for other in (plaintiff, co_defendant):  # the other side, and the other defendant
        resp = await client.post(
            f"{case}/posts",
            json={"stage": "inquiry", "kind": "text", "text": "代答", "reply_to": question["id"]},
            headers=other.headers,
        )
        assert (await _ok(resp, 403))["code"] == "not_addressed"
    answer = await _say(
        client, case, defendant, "inquiry", "收到了，但已经还清。", reply_to=question["id"]
    )
    assert answer["author_party_id"] == parties["李四"]
    await _post(client, f"{case}/stages/advance", judge.headers)
    # answered by the party it named, and nobody else was asked: no missed inquiry window
    missed = (await _ok(await client.get(f"{case}/missed", headers=judge.headers)))["items"]
    assert [m["stage"] for m in missed] == ["defence"]

    # --- debate (with a correction) and final statements -------------------------------------
    for person in (plaintiff, *defendants):
        await _enter(client, case, person, "debate")
    first = await _say(client, case, plaintiff, "debate", "被告应还款5000元。")
    await _say(client, case, plaintiff, "debate", "更正：应还款4000元。", corrects=first["id"])
    await _say(client, case, defendant, "debate", "已全部还清。")
    await _say(client, case, co_defendant, "debate", "与王五无关。")
    resp = await client.post(
        f"{case}/posts",
        json={"stage": "debate", "kind": "text", "text": "改", "corrects": first["id"]},
        headers=defendant.headers,
    )
    assert resp.status == 422  # only your own posts can be corrected
    await _post(client, f"{case}/stages/advance", judge.headers)
    for person in (plaintiff, *defendants):
        await _enter(client, case, person, "final_statements")
        await _say(client, case, person, "final_statements", "坚持前述意见。")
    hearing = await _post(client, f"{case}/stages/advance", judge.headers)
    assert hearing["status"] == "closed"
    missed = (await _ok(await client.get(f"{case}/missed", headers=judge.headers)))["items"]
    assert [(m["stage"], m["party_name"]) for m in missed] == [("defence", "李四")]

    # --- the record's chain ------------------------------------------------------------------
    check = await _ok(await client.get(f"{case}/record/verify", headers=plaintiff.headers))
    assert check["valid"] is True and check["entries"] == hearing["record_seq"] == 17
    assert check["head"] == hearing["record_head"]

    # --- transcript: PDF, signatures, verification --------------------------------------------
    await _post(client, f"{case}/transcript", plaintiff.headers, None, 404)
    made = await _post(client, f"{case}/transcript", judge.headers, None, 201)
    pdf = await client.get(f"{case}/transcript/pdf", headers=defendant.headers)
    assert pdf.status == 200
    data = await pdf.read()
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    for expected in (
        "异步审理笔录",
        "质证",
        "借条签名非本人所写",
        "被告李四是否收到5000元借款",
        "问 被告 defendant 李四",
        "收到了，但已经还清",
        "更正：应还款4000元",
        "被告 defendant 李四 逾期/missed",
        "理由成立",
        hearing["record_head"][:16],
    ):
        assert expected in text.replace("\n", ""), expected
    import hashlib

    assert hashlib.sha256(data).hexdigest() == made["sha256"]

    resp = await client.post(f"{case}/transcript/sign", headers=plaintiff.headers)
    assert (await _ok(resp, 403))["code"] == "presence_required"
    await _post(client, f"{case}/transcript/sign", plaintiff.present())
    verified = await _ok(await client.get(f"{case}/transcript/verify", headers=judge.headers))
    assert verified["valid"] is True and verified["complete"] is False
    assert verified["missing_roles"] == ["defendant", "judge"]
    assert sorted(verified["missing_parties"]) == sorted([parties["李四"], parties["王五"]])
    await _post(client, f"{case}/transcript/sign", defendant.present())
    # the judge has no face record: a fresh authenticator code is the judge's step-up
    resp = await client.post(f"{case}/transcript/sign", headers=judge.headers)
    assert (await _ok(resp, 403))["code"] == "step_up_required"
    judge_signing = await judge.step_up(client)
    await _post(client, f"{case}/transcript/sign", judge_signing)
    resp = await client.post(f"{case}/transcript/sign", headers=judge_signing)
    assert (await _ok(resp, 409))["code"] == "already_signed"
    # one defendant's signature does not sign for the other
    verified = await _ok(await client.get(f"{case}/transcript/verify", headers=judge.headers))
    assert verified["complete"] is False and verified["missing_parties"] == [parties["王五"]]
    await _post(client, f"{case}/transcript/sign", co_defendant.present())
    verified = await _ok(await client.get(f"{case}/transcript/verify", headers=defendant.headers))
    assert verified["valid"] is True and verified["complete"] is True
    assert [(s["signer_role"], s["party_id"]) for s in verified["signatures"]] == [
        ("plaintiff", parties["张三"]),
        ("defendant", parties["李四"]),
        ("judge", None),
        ("defendant", parties["王五"]),
    ]
    assert [s["step_up_method"] for s in verified["signatures"]] == ["face", "face", "totp", "face"]
    assert all(s["valid"] for s in verified["signatures"])
    await run_jobs(app)
    awaited = [
        m
        for m in await _get_messages(platform)
        if m["data"]["thing2"]["value"] == "有文书等待您签名"
    ]
    assert {m["touser"] for m in awaited} == {
        plaintiff.openid,
        defendant.openid,
        co_defendant.openid,
    }

    # a copy held by a party checks out; an altered copy does not
    for copy, matches in ((data, True), (data + b"\n%altered", False)):
        form = aiohttp.FormData()
        form.add_field("file", copy, filename="t.pdf", content_type="application/pdf")
        result = await _ok(
            await client.post(f"{case}/transcript/verify", data=form, headers=defendant.headers)
        )
        assert result["matches"] is matches
        assert [s["valid"] for s in result["signatures"]] == ([True] * 4 if matches else [])
    # the stored PDF changed behind the court's back: verification says so
    path = app[BLOBS].path_of(made["sha256"])  # type: ignore[attr-defined]
    path.chmod(0o600)
    path.write_bytes(data.replace(b"%%EOF", b"%%EOF\n%x"))
    verified = await _ok(await client.get(f"{case}/transcript/verify", headers=judge.headers))
    assert verified["file_intact"] is False and verified["valid"] is False

    # --- tampering with a published post breaks the chain at that post ------------------------
    # the database refuses to change a published post or a signature ...
    with app[DATABASE].activate():
        with pytest.raises(REFUSED):
            await AsyncPost.filter(id=claim["id"]).update(text="请求判令被告归还借款50000元。")
        with pytest.raises(REFUSED):
            await AsyncPost.filter(id=claim["id"]).delete()
        with pytest.raises(REFUSED):
            await DocumentSignature.filter(signer_id=plaintiff.account_id).update(signer_role="x")
    # ... and a change made past the triggers breaks the chain at that post
    await tamper_post_text(app, claim["id"], "请求判令被告归还借款50000元。")
    check = await _ok(await client.get(f"{case}/record/verify", headers=judge.headers))
    assert check["valid"] is False and check["broken_at"] == 1


async def _get_messages(platform: Platform) -> list[dict[str, Any]]:
    async with platform.session.get(f"{platform.base}/__control/messages") as resp:
        assert resp.status == 200
        messages: list[dict[str, Any]] = (await resp.json())["messages"]
        return messages
