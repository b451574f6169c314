"""The hearing steps of the scripted court: the defence and the whole asynchronous hearing, then
a recorded video hearing with two synthetic aiortc participants (the parties) while the judge
runs the room over REST, as the console does."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from backend.demo.client import (
    JSON,
    Api,
    Litigant,
    Outcome,
    Staff,
    StepFailed,
    TotpStore,
    form,
    pdf_bytes,
    prove_presence,
)
from backend.demo.video_peer import Participant

HEARINGS = "/api/v1/hearings/video"
ASYNC = "/api/v1/async-hearings/cases"


class HearingSteps:
    api: Api
    out: Outcome
    plaintiff: Litigant
    defendant: Litigant
    judge: Staff
    totps: TotpStore
    origin: str
    video_seconds: float

    async def _present(self, person: Litigant) -> None:
        await prove_presence(self.api, person)

    async def _upload(self, person: Litigant, purpose: str, content: bytes, name: str) -> str:
        stored = await self.api.call(
            "POST",
            "/api/v1/files",
            token=person.token,
            data=form(("purpose", purpose, ""), ("file", content, name)),
        )
        return str(stored["id"])

    async def defence(self) -> str:
        case = f"{ASYNC}/{self.out.filing_id}"
        p, d, judge = self.plaintiff, self.defendant, self.judge.token
        await self.api.call(
            "POST",
            f"{case}/applications",
            token=p.token,
            json_body={"text": "申请异步审理：案情简单，双方时间难以协调。"},
        )
        for person in (p, d):
            await self.api.call(
                "POST",
                f"{case}/consents",
                token=person.token,
                json_body={"scope": "hearing", "consented": True},
            )
        await self.api.call(
            "PUT",
            f"{case}/findings",
            token=judge,
            json_body={"facts_undisputed": True, "attendance_hard": True},
        )
        hearing = await self.api.call(
            "POST", f"{case}/start", token=judge, json_body={"mode": "hearing"}
        )
        await self._enter_and_say(p, "claim", "请求判令被告归还借款5000元。")
        await self.api.call("POST", f"{case}/stages/advance", token=judge)
        await self._enter_and_say(d, "defence", "答辩：借款属实，但已于2026年7月归还2000元。")
        await self.api.call("POST", f"{case}/stages/advance", token=judge)
        return f"{len(hearing['stages'])} stages; claim and defence posted"

    async def _enter_and_say(self, person: Litigant, stage: str, text: str, **extra: Any) -> JSON:
        case = f"{ASYNC}/{self.out.filing_id}"
        await self._present(person)
        await self.api.call("POST", f"{case}/stages/{stage}/enter", token=person.token)
        return dict(
            await self.api.call(
                "POST",
                f"{case}/posts",
                token=person.token,
                json_body={"stage": stage, "kind": "text", "text": text, **extra},
            )
        )

    async def async_hearing(self) -> str:
        case = f"{ASYNC}/{self.out.filing_id}"
        p, d, judge = self.plaintiff, self.defendant, self.judge.token
        # evidence
        items: dict[str, str] = {}
        for person, title in ((p, "借条"), (d, "还款转账记录")):
            file_id = await self._upload(person, "evidence", pdf_bytes(title), f"{title}.pdf")
            await self._present(person)
            await self.api.call("POST", f"{case}/stages/evidence/enter", token=person.token)
            post = await self.api.call(
                "POST",
                f"{case}/posts",
                token=person.token,
                json_body={"stage": "evidence", "kind": "file", "file_id": file_id, "text": title},
            )
            items[title] = str(post["id"])
        await self.api.call("POST", f"{case}/stages/advance", token=judge)
        # cross-examination, item by item, by the other side
        for person, item, opinion in (
            (
                d,
                items["借条"],
                {"authenticity": "accept", "legality": "accept", "relevance": "accept"},
            ),
            (
                p,
                items["还款转账记录"],
                {"authenticity": "accept", "legality": "accept", "relevance": "dispute"},
            ),
        ):
            await self._present(person)
            await self.api.call(
                "POST", f"{case}/stages/cross_examination/enter", token=person.token
            )
            await self.api.call(
                "POST",
                f"{case}/posts",
                token=person.token,
                json_body={
                    "stage": "cross_examination",
                    "kind": "opinion",
                    "evidence_post_id": item,
                    "opinion": opinion,
                },
            )
        await self.api.call("POST", f"{case}/stages/advance", token=judge)
        # inquiry: the judge asks the defendant, by name, and the defendant answers
        filing = await self.api.call(
            "GET", f"/api/v1/filing/filings/{self.out.filing_id}", token=judge
        )
        defendant_party = next(x for x in filing["parties"] if x["role"] == "defendant")
        question = await self.api.call(
            "POST",
            f"{case}/posts",
            token=judge,
            json_body={
                "stage": "inquiry",
                "kind": "question",
                "text": "被告主张已还2000元，有无其他证据？",
                "addressed_party_id": defendant_party["id"],
            },
        )
        await self._enter_and_say(d, "inquiry", "仅有该转账记录。", reply_to=question["id"])
        await self.api.call("POST", f"{case}/stages/advance", token=judge)
        for stage, (p_text, d_text) in (
            ("debate", ("被告应归还剩余借款。", "同意归还剩余3000元。")),
            ("final_statements", ("坚持诉讼请求。", "请求法院依法判决。")),
        ):
            await self._enter_and_say(p, stage, p_text)
            await self._enter_and_say(d, stage, d_text)
            hearing = await self.api.call("POST", f"{case}/stages/advance", token=judge)
        if hearing["status"] != "closed":
            raise StepFailed(f"the hearing did not close: {hearing['status']}")
        check = await self.api.call("GET", f"{case}/record/verify", token=p.token)
        self.out.async_record_valid = bool(check["valid"])
        self.out.async_record_entries = int(check["entries"])
        await self.api.call("POST", f"{case}/transcript", token=judge)
        # The parties e-sign after a face check; the judge after an authenticator-code step-up.
        for person in (p, d):
            await self._present(person)
            await self.api.call("POST", f"{case}/transcript/sign", token=person.token)
        secret = self.totps.get(self.judge.username)
        if secret is None:
            raise StepFailed(f"{self.judge.username} has no authenticator enrolled")
        step_up = await self.api.call(
            "POST",
            "/api/v1/identity/staff/step-up",
            token=judge,
            json_body={"totp": await self.totps.code(self.judge.username, secret)},
        )
        await self.api.call("POST", f"{case}/transcript/sign", token=step_up["access_token"])
        verified = await self.api.call("GET", f"{case}/transcript/verify", token=judge)
        self.out.transcript_signatures = sum(1 for s in verified["signatures"] if s["valid"])
        if not self.out.async_record_valid or not verified["file_intact"]:
            raise StepFailed(f"record or transcript does not verify: {check} {verified}")
        return (
            f"{self.out.async_record_entries} chained posts verify; transcript signed by "
            f"{', '.join(s['signer_role'] for s in verified['signatures'])}"
        )

    async def video_hearing(self) -> str:
        judge = self.judge.token
        starts = datetime.now(UTC) + timedelta(minutes=1)
        hearing = await self.api.call(
            "POST",
            HEARINGS,
            token=judge,
            json_body={
                "filing_id": self.out.filing_id,
                "title": "第一次开庭（在线）",
                "starts_at": starts.isoformat(),
            },
        )
        hid = str(hearing["id"])
        self.out.hearing_id = hid
        url = f"{self.api.base.replace('http', 'ws', 1)}{HEARINGS}/{hid}/signaling"
        pid = {UUID(p["account_id"]): str(p["id"]) for p in hearing["participants"]}
        peers: dict[str, Participant] = {}
        try:
            for name, person in (("plaintiff", self.plaintiff), ("defendant", self.defendant)):
                await self._present(person)
                peer = Participant(self.api.session, url, person.token)
                welcome = await peer.connect(origin=self.origin)
                if welcome["type"] != "welcome":
                    raise StepFailed(f"{name} could not enter the lobby: {welcome}")
                peers[name] = peer
            for person in (self.plaintiff, self.defendant):
                assert person.account_id is not None
                await self.api.call(
                    "POST",
                    f"{HEARINGS}/{hid}/participants/{pid[person.account_id]}/admit",
                    token=judge,
                )
            for peer in peers.values():
                await peer.wait_for(lambda m: m["type"] == "admitted")
            await self.api.call("POST", f"{HEARINGS}/{hid}/open", token=judge)
            # Everyone follows before anyone publishes, so no "published" goes unseen.
            for peer in peers.values():
                await peer.follow_publishers()
            for peer in peers.values():
                answer = await peer.publish()
                if answer["type"] != "answer":
                    raise StepFailed(f"publishing refused: {answer}")
            p_peer, d_peer = peers["plaintiff"], peers["defendant"]
            assert p_peer.participant_id is not None and d_peer.participant_id is not None
            await p_peer.frames_from(d_peer.participant_id, 10, wait_s=30)
            await d_peer.frames_from(p_peer.participant_id, 10, wait_s=30)
            await asyncio.sleep(self.video_seconds)
            self.out.frames_exchanged = {
                "plaintiff←defendant": len(p_peer.received[d_peer.participant_id]),
                "defendant←plaintiff": len(d_peer.received[p_peer.participant_id]),
            }
            for peer in peers.values():
                await peer.stop_media()
            await self.api.call("POST", f"{HEARINGS}/{hid}/close", token=judge)
        finally:
            for peer in peers.values():
                await peer.close()
        report = await self.api.call("GET", f"{HEARINGS}/{hid}/record/verify", token=judge)
        record = await self.api.call("GET", f"{HEARINGS}/{hid}/record", token=judge)
        self.out.segments = int(report["segments"])
        self.out.recording_verified = bool(report["ok"]) and self.out.segments > 0
        self.out.manifest_sha256 = str(record.get("manifest_sha256") or "")
        if not self.out.recording_verified:
            raise StepFailed(f"the recording does not verify: {report}")
        frames = ", ".join(f"{k} {v}" for k, v in self.out.frames_exchanged.items())
        return f"frames {frames}; {self.out.segments} segments verify, manifest written"
