"""Posting rules: a lawyer speaks for their client's side, files by purpose and type, what each
role may post, where, and who sees drafts and files; a question names one party, and only that
party or its lawyer answers it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from backend.appkeys import DATABASE
from backend.auth.principal import Role
from backend.jobs.models import Job
from filing.models import Party, Representation
from hearings.asynchronous.notify import NOTIFY_KIND
from tests.async_hearings.helpers import (
    BASE,
    MP3,
    PDF,
    Client,
    Person,
    litigant,
    party_ids,
    registered_case,
    represent,
    revoke,
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
    defendant_id = str(client_party.id)
    resp = await _post(
        client,
        case,
        plaintiff,
        stage="claim",
        kind="question",
        text="?",
        addressed_party_id=defendant_id,
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


async def test_a_question_names_one_party_and_only_it_or_its_lawyer_answers(
    client: Client, app: web.Application, accounts: Any, platform: Platform
) -> None:
    plaintiff = await litigant(client, app, platform)
    defendant = await litigant(client, app, platform)  # 李四
    co_defendant = await litigant(client, app, platform)  # 王五
    judge = await staff(app, accounts, Role.JUDGE)
    for_li, for_wang, for_both = [await staff(app, accounts, Role.LAWYER) for _ in range(3)]
    filing = await registered_case(
        app, plaintiff, defendant, judge, more=(("defendant", co_defendant, "王五"),)
    )
    parties = await party_ids(app, filing)
    li_power = await represent(app, filing, "李四", for_li)
    await represent(app, filing, "王五", for_wang)
    for name in ("李四", "王五"):
        await represent(app, filing, name, for_both)
    case = f"{BASE}/{filing.id}"
    resp = await client.post(
        f"{case}/consents",
        json={"scope": "hearing", "consented": True},
        headers=co_defendant.headers,
    )
    await _ok(resp)
    await started_hearing(client, filing, plaintiff, defendant, judge)
    for _ in range(4):  # claim, defence, evidence, cross-examination
        await _ok(await client.post(f"{case}/stages/advance", headers=judge.headers))

    # a question names a party of this case, by its id
    resp = await _post(
        client,
        case,
        judge,
        stage="inquiry",
        kind="question",
        text="?",
        addressed_party_id=str(uuid.uuid4()),
    )
    assert (await _ok(resp, 422))["code"] == "invalid_post"
    to_li = await _ok(
        await _post(
            client,
            case,
            judge,
            stage="inquiry",
            kind="question",
            text="李四何时收到借款？",
            addressed_party_id=parties["李四"],
        ),
        201,
    )
    to_wang = await _ok(
        await _post(
            client,
            case,
            judge,
            stage="inquiry",
            kind="question",
            text="王五是否担保？",
            addressed_party_id=parties["王五"],
        ),
        201,
    )
    # the notice goes to the named party and the lawyers acting for it, nobody else
    with app[DATABASE].activate():
        notified = {
            job.payload["account_id"]
            for job in await Job.filter(kind=NOTIFY_KIND)
            if job.payload["key"].startswith(f"question:{to_li['id']}:")
        }
    assert notified == {str(a.account_id) for a in (defendant, for_li, for_both)}

    for person in (for_li, for_wang, for_both, co_defendant):
        await _ok(await client.post(f"{case}/stages/inquiry/enter", headers=person.present()))
    # the other defendant, and the other defendant's lawyer, cannot answer for 李四
    for other in (co_defendant, for_wang):
        resp = await _post(
            client, case, other, stage="inquiry", kind="text", text="代答", reply_to=to_li["id"]
        )
        assert (await _ok(resp, 403))["code"] == "not_addressed"
    # 李四's lawyer answers for 李四
    answer = await _ok(
        await _post(
            client,
            case,
            for_li,
            stage="inquiry",
            kind="text",
            text="三月一日",
            reply_to=to_li["id"],
        ),
        201,
    )
    assert answer["author_party_id"] == parties["李四"]
    assert answer["author_id"] == str(for_li.account_id)
    # a lawyer for both defendants: answering names the client; otherwise they say whom
    answer = await _ok(
        await _post(
            client, case, for_both, stage="inquiry", kind="text", text="否", reply_to=to_wang["id"]
        ),
        201,
    )
    assert answer["author_party_id"] == parties["王五"]
    resp = await _post(client, case, for_both, stage="inquiry", kind="text", text="补充")
    assert (await _ok(resp, 422))["code"] == "party_required"
    resp = await _post(
        client, case, for_both, stage="inquiry", kind="text", text="补充", party_id=parties["张三"]
    )
    assert (await _ok(resp, 403))["code"] == "not_your_party"
    said = await _ok(
        await _post(
            client,
            case,
            for_both,
            stage="inquiry",
            kind="text",
            text="补充",
            party_id=parties["李四"],
        ),
        201,
    )
    assert said["author_party_id"] == parties["李四"]

    # a revoked power of attorney applies on the next request
    await revoke(app, li_power)
    resp = await _post(
        client, case, for_li, stage="inquiry", kind="text", text="再答", reply_to=to_li["id"]
    )
    assert resp.status == 404

    # both named parties answered (through lawyers): nobody missed the inquiry window
    await _ok(await client.post(f"{case}/stages/advance", headers=judge.headers))
    missed = (await _ok(await client.get(f"{case}/missed", headers=judge.headers)))["items"]
    assert "inquiry" not in {m["stage"] for m in missed}


async def test_an_unanswered_question_is_missed_by_the_named_party_only(
    client: Client, app: web.Application, accounts: Any, platform: Platform
) -> None:
    plaintiff = await litigant(client, app, platform)
    defendant = await litigant(client, app, platform)
    co_defendant = await litigant(client, app, platform)
    judge = await staff(app, accounts, Role.JUDGE)
    filing = await registered_case(
        app, plaintiff, defendant, judge, more=(("defendant", co_defendant, "王五"),)
    )
    parties = await party_ids(app, filing)
    case = f"{BASE}/{filing.id}"
    resp = await client.post(
        f"{case}/consents",
        json={"scope": "hearing", "consented": True},
        headers=co_defendant.headers,
    )
    await _ok(resp)
    await started_hearing(client, filing, plaintiff, defendant, judge)
    for _ in range(4):
        await _ok(await client.post(f"{case}/stages/advance", headers=judge.headers))
    question = await _ok(
        await _post(
            client,
            case,
            judge,
            stage="inquiry",
            kind="question",
            text="王五是否担保？",
            addressed_party_id=parties["王五"],
        ),
        201,
    )
    # 李四 speaks in the stage, but only 王五 was asked
    await _ok(await client.post(f"{case}/stages/inquiry/enter", headers=defendant.present()))
    resp = await _post(
        client,
        case,
        defendant,
        stage="inquiry",
        kind="text",
        text="替他答",
        reply_to=question["id"],
    )
    assert (await _ok(resp, 403))["code"] == "not_addressed"
    await _ok(
        await _post(client, case, defendant, stage="inquiry", kind="text", text="我补充"), 201
    )
    await _ok(await client.post(f"{case}/stages/advance", headers=judge.headers))
    missed = (await _ok(await client.get(f"{case}/missed", headers=judge.headers)))["items"]
    inquiry = [(m["party_id"], m["party_name"]) for m in missed if m["stage"] == "inquiry"]
    assert inquiry == [(parties["王五"], "王五")]
    # 王五 explains; 李四 cannot explain for him
    missed_id = next(m["id"] for m in missed if m["stage"] == "inquiry")
    resp = await client.post(
        f"{case}/missed/{missed_id}/reason", json={"reason": "出差"}, headers=defendant.headers
    )
    assert resp.status == 404
    given = await _ok(
        await client.post(
            f"{case}/missed/{missed_id}/reason",
            json={"reason": "出差在外，未能及时查看"},
            headers=co_defendant.headers,
        )
    )
    assert given["reason"] == "出差在外，未能及时查看" and given["party_name"] == "王五"


async def test_cross_examination_is_missed_per_item(
    client: Client, app: web.Application, accounts: Any, platform: Platform
) -> None:
    plaintiff = await litigant(client, app, platform)
    defendant = await litigant(client, app, platform)
    judge = await staff(app, accounts, Role.JUDGE)
    filing = await registered_case(app, plaintiff, defendant, judge)
    parties = await party_ids(app, filing)
    case = f"{BASE}/{filing.id}"
    await started_hearing(client, filing, plaintiff, defendant, judge)
    for _ in range(2):  # claim, defence
        await _ok(await client.post(f"{case}/stages/advance", headers=judge.headers))
    await _ok(await client.post(f"{case}/stages/evidence/enter", headers=plaintiff.present()))
    items = []
    for name, content in (("借条.pdf", PDF), ("转账记录.pdf", PDF + b"%2")):
        file_id = await upload(client, plaintiff, content, "evidence", name)
        resp = await _post(client, case, plaintiff, stage="evidence", kind="file", file_id=file_id)
        items.append((await _ok(resp, 201))["id"])
    await _ok(await client.post(f"{case}/stages/advance", headers=judge.headers))

    # the defendant gives an opinion on the first item only, and says something else
    await _ok(
        await client.post(f"{case}/stages/cross_examination/enter", headers=defendant.present())
    )
    opinion = {"authenticity": "accept", "legality": "accept", "relevance": "accept"}
    resp = await _post(
        client,
        case,
        defendant,
        stage="cross_examination",
        kind="opinion",
        evidence_post_id=items[0],
        opinion=opinion,
    )
    await _ok(resp, 201)
    resp = await _post(client, case, defendant, stage="cross_examination", kind="text", text="略")
    await _ok(resp, 201)
    await _ok(await client.post(f"{case}/stages/advance", headers=judge.headers))
    missed = (await _ok(await client.get(f"{case}/missed", headers=judge.headers)))["items"]
    # the plaintiff had no opposing item to examine; the defendant left one unexamined
    examined = [m["party_id"] for m in missed if m["stage"] == "cross_examination"]
    assert examined == [parties["李四"]]
