"""The scripted court: one small-claims loan case from WeChat sign-in to a served judgment, over
real HTTP against a running server and fake WeChat platform.

Each step is what a phone or the console does, in order; the ``Outcome`` collects the figures
the summary and the test check. Legal clocks are not bent: stages close when the judge advances
them (as the product lets a judge do), and the one statutory lead time a one-minute run cannot
wait for — the 3-day notice of a video hearing — is waived by ``MC_DEMO_SHORTCUTS``, which
production mode refuses.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

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
    poll,
    prove_presence,
    staff_sign_in,
    verify_real_name,
    wechat_sign_in,
)
from backend.demo.hearing_steps import HearingSteps
from identity.idcard import resident_id_check_char

COURT = "浙0281"
CAUSE = "4.cont.loan.private"
SERVICE = "/api/v1/service"
FILING = "/api/v1/filing"


def random_resident_id(region: str, birth: str, male: bool, rng: random.Random) -> str:
    """A valid fictitious resident ID number (a fresh one each run: a real name is unique)."""
    sequence = rng.randrange(100, 999)
    if (sequence % 2 == 1) != male:
        sequence += 1 if sequence < 998 else -1
    first17 = f"{region}{birth}{sequence:03d}"
    return first17 + resident_id_check_char(first17)


@dataclass
class Step:
    title_zh: str
    title_en: str
    run: Callable[[], Awaitable[str]]


class Scenario(HearingSteps):
    def __init__(
        self,
        api: Api,
        *,
        faces: Path,
        totps: TotpStore,
        staff_password: str,
        origin: str,
        templates: tuple[str, ...] = (),
        video_seconds: float = 4.0,
        seed: int | None = None,
    ) -> None:
        self.api = api
        self.totps = totps
        self.origin = origin
        self.templates = templates
        self.video_seconds = video_seconds
        rng = random.Random(seed)
        self.plaintiff = Litigant(
            "张三",
            random_resident_id("330106", "19850312", True, rng),
            faces / "obama_2.jpg",
            faces / "obama_1.jpg",
        )
        self.defendant = Litigant(
            "李四",
            random_resident_id("330281", "19900101", True, rng),
            faces / "alex_2.jpg",
            faces / "alex_1.jpg",
        )
        self.clerk = Staff("clerk_0281", staff_password)
        self.judge = Staff("judge_0281", staff_password)
        self.court_admin = Staff("court_admin_0281", staff_password)
        self.out = Outcome()
        self.parties: dict[str, str] = {}

    def steps(self) -> list[Step]:
        return [
            Step("原告微信登录", "plaintiff signs in with WeChat", self.plaintiff_login),
            Step("实名与人脸核验", "real name, face match and liveness", self.plaintiff_identity),
            Step("网上立案", "case filed with evidence", self.file_case),
            Step("立案审查", "clerk registers the case, judge assigned", self.register),
            Step("缴费", "fee paid with WeChat Pay", self.pay_fee),
            Step("被告认领案件", "defendant signs in, verified, claims", self.defendant_joins),
            Step("送达与签收", "notice served on the defendant and signed for", self.serve_notice),
            Step("答辩", "defence in the asynchronous hearing", self.defence),
            Step("异步审理", "asynchronous hearing to a signed transcript", self.async_hearing),
            Step("视频庭审", "video hearing with two participants, recorded", self.video_hearing),
            Step("判决送达", "judgment served, proof of service verified", self.judgment),
            Step("案件总览", "the case on the plaintiff's dashboard", self.dashboard),
        ]

    # ------------------------------------------------------------------ helpers

    @property
    def case_url(self) -> str:
        return f"{FILING}/filings/{self.out.filing_id}"

    async def _served(self, person: Litigant, task_id: str) -> JSON:
        async def check() -> JSON | None:
            inbox = await self.api.call("GET", f"{SERVICE}/inbox", token=person.token)
            for item in inbox["items"]:
                if item.get("task_id") == task_id and item["status"] == "served":
                    return dict(item)
            return None

        found: JSON = await poll(check)
        return found

    # ------------------------------------------------------------------ steps

    async def plaintiff_login(self) -> str:
        signed = await wechat_sign_in(self.api, self.plaintiff, self.templates)
        self.out.plaintiff_openid = str(self.plaintiff.openid)
        new = "new account" if signed["is_new_account"] else "returning"
        return f"openid {self.plaintiff.openid}, {new}"

    async def plaintiff_identity(self) -> str:
        await verify_real_name(self.api, self.plaintiff)
        grant = await prove_presence(self.api, self.plaintiff, force=True)
        assert grant is not None
        return (
            f"{self.plaintiff.id_portrait.name} ↔ {self.plaintiff.selfie.name} match; "
            f"liveness {'+'.join(grant['actions'])} in {grant['frames']} frames"
        )

    async def file_case(self) -> str:
        p = self.plaintiff
        draft = await self.api.call(
            "POST",
            f"{FILING}/filings",
            token=p.token,
            json_body={
                "court": COURT,
                "cause": CAUSE,
                "procedure": "small_claims",
                "claim_amount": "5000",
                "claims": "判令被告归还借款5000元",
                "facts_and_reasons": "被告于2026年3月向原告借款5000元，约定6月归还，到期未还。",
            },
        )
        self.out.filing_id = str(draft["id"])
        for role, who, region, me in (
            ("plaintiff", p, "330106", True),
            ("defendant", self.defendant, "330281", False),
        ):
            party = await self.api.call(
                "POST",
                f"{self.case_url}/parties",
                token=p.token,
                json_body={
                    "role": role,
                    "kind": "natural",
                    "name": who.name,
                    "id_number": who.id_number,
                    "region_code": region,
                    "address": f"浙江省某市某路{region[-2:]}号",
                    "is_me": me,
                },
            )
            self.parties[role] = str(party["id"])
        evidence = await self.api.call(
            "POST",
            f"{self.case_url}/evidence",
            token=p.token,
            data=form(("title", "借条", ""), ("file", pdf_bytes("借条 IOU 5000"), "借条.pdf")),
        )
        quote = await self.api.call(
            "GET",
            "/api/v1/fees/quote",
            params={"case_type": "property", "amount": "5000", "procedure": "small_claims"},
        )
        submitted = await self.api.call("POST", f"{self.case_url}/submit", token=p.token)
        return (
            f"evidence sha256 {evidence['sha256'][:12]}…, fee quote ¥{quote['total']}, "
            f"{submitted['status']}, decision due {submitted['decision_due_on']}"
        )

    async def register(self) -> str:
        for staff in (self.clerk, self.judge, self.court_admin):
            await staff_sign_in(self.api, staff, self.totps)
        queue = await self.api.call("GET", f"{FILING}/review-queue", token=self.clerk.token)
        if self.out.filing_id not in [i["id"] for i in queue["items"]]:
            raise StepFailed("the filing is not in the clerk's review queue")
        registered = await self.api.call(
            "POST", f"{self.case_url}/register", token=self.clerk.token
        )
        self.out.case_number = str(registered["case_number"])
        self.out.fee_total = str(registered["fee_notice"]["total"])
        await self.api.call(
            "POST",
            f"{self.case_url}/assignment",
            token=self.court_admin.token,
            json_body={
                "judge_id": str(self.judge.account_id),
                "clerk_id": str(self.clerk.account_id),
            },
        )
        return f"case number {self.out.case_number}, fee notice ¥{self.out.fee_total}"

    async def pay_fee(self) -> str:
        order = await self.api.call("POST", f"{self.case_url}/payments", token=self.plaintiff.token)
        payment = order["payment"]
        # The phone's wx.requestPayment: the user confirms, WeChat Pay notifies the server.
        paid = await self.api.control(
            "pay/pay", {"out_trade_no": payment["out_trade_no"], "wait": True}
        )
        statuses = [d["status"] for d in paid.get("deliveries", [])]

        async def check() -> JSON | None:
            state = await self.api.call(
                "GET", f"{self.case_url}/payments", token=self.plaintiff.token
            )
            return dict(state) if state["fee_paid"] else None

        state = await poll(check, wait_s=20)
        self.out.fee_paid = bool(state["fee_paid"])
        return (
            f"¥{payment['amount_fen'] / 100:.2f} order {payment['out_trade_no']}, "
            f"signed notification answered {statuses}"
        )

    async def defendant_joins(self) -> str:
        d = self.defendant
        await wechat_sign_in(self.api, d, self.templates)
        await verify_real_name(self.api, d)
        await prove_presence(self.api, d, force=True)
        await self.api.call(
            "POST",
            f"{FILING}/cases/claim",
            token=d.token,
            json_body={"case_number": self.out.case_number},
        )
        # Both parties accept electronic service, with the in-app inbox as their address.
        for person in (self.plaintiff, d):
            await self.api.call(
                "POST",
                f"{SERVICE}/cases/{self.out.filing_id}/consents/mine",
                token=person.token,
                json_body={"inbox": True},
            )
        return "alex_2.jpg ↔ alex_1.jpg match, party linked, e-service consent from both"

    async def serve_notice(self) -> str:
        task = await self.api.call(
            "POST",
            f"{SERVICE}/cases/{self.out.filing_id}/tasks",
            token=self.clerk.token,
            json_body={
                "documents": [
                    {"kind": "notice_of_response", "template_fields": {"response_days": "15"}}
                ],
                "recipients": [{"party_id": self.parties["defendant"]}],
                "plan": [["inapp"]],
            },
        )
        delivery = await self._served(self.defendant, str(task["id"]))
        self.out.notice_delivery_id = str(delivery["id"])
        await self._present(self.defendant)
        signed = await self.api.call(
            "POST",
            f"{SERVICE}/deliveries/{delivery['id']}/sign",
            token=self.defendant.token,
            json_body={},
        )
        deadlines = signed.get("deadlines") or delivery.get("deadlines") or []
        due = [d for d in deadlines if d.get("kind") == "response"]
        self.out.defence_due = str(due[0]["due"]) if due else ""
        return (
            f"served ({delivery['service_rule']}), signed for; defence due {self.out.defence_due}"
        )

    async def judgment(self) -> str:
        text = (
            "经审理查明，被告向原告借款5000元，已归还2000元。依照《中华人民共和国民法典》"
            "第六百七十五条之规定，判决如下：被告于本判决生效之日起十日内向原告归还借款3000元。"
        )
        task = await self.api.call(
            "POST",
            f"{SERVICE}/cases/{self.out.filing_id}/tasks",
            token=self.judge.token,
            json_body={
                "documents": [
                    {"kind": "judgment", "template_fields": {"text": text, "appeal_days": "15"}}
                ],
                "recipients": [
                    {"party_id": self.parties["plaintiff"]},
                    {"party_id": self.parties["defendant"]},
                ],
                "plan": [["inapp"]],
            },
        )
        deliveries = {}
        for name, person in (("plaintiff", self.plaintiff), ("defendant", self.defendant)):
            deliveries[name] = await self._served(person, str(task["id"]))
        # The plaintiff signs with a personal signature code, the defendant with a face check.
        code = f"{random.randrange(10**6):06d}"
        await self.api.call(
            "PUT",
            f"{SERVICE}/signature-code",
            token=self.plaintiff.token,
            json_body={"code": code},
        )
        await self.api.call(
            "POST",
            f"{SERVICE}/deliveries/{deliveries['plaintiff']['id']}/sign",
            token=self.plaintiff.token,
            json_body={"signature_code": code},
        )
        await self._present(self.defendant)
        await self.api.call(
            "POST",
            f"{SERVICE}/deliveries/{deliveries['defendant']['id']}/sign",
            token=self.defendant.token,
            json_body={},
        )
        delivery_id = str(deliveries["defendant"]["id"])
        self.out.judgment_delivery_id = delivery_id
        pdf = await self.api.call(
            "GET", f"{SERVICE}/deliveries/{delivery_id}/proof", token=self.judge.token, raw=True
        )
        self.out.proof_pdf = bytes(pdf)
        check = await self.api.call(
            "POST",
            f"{SERVICE}/proofs/verify",
            token=self.plaintiff.token,
            data=form(("file", self.out.proof_pdf, "proof.pdf")),
        )
        self.out.proof_valid = bool(check["valid_signature"])
        self.out.proof_matches_record = bool(check["matches_record"])
        self.out.service_date = str(check.get("service_date") or "")
        if not (self.out.proof_valid and self.out.proof_matches_record):
            raise StepFailed(f"the proof of service does not verify: {check}")
        return (
            f"served on both, signed for; proof of service ({len(pdf)} bytes) signature valid, "
            f"matches the record, service date {self.out.service_date}"
        )

    async def dashboard(self) -> str:
        board = await self.api.call("GET", f"{FILING}/dashboard", token=self.plaintiff.token)
        [item] = [i for i in board["items"] if i["id"] == self.out.filing_id]
        timeline = await self.api.call("GET", f"{self.case_url}/timeline", token=self.judge.token)
        self.out.timeline = [e["kind"] for e in timeline["items"]]
        return (
            f"{item['case_number']} {item['status']['label_zh']}, fee {item['fee']['status']}, "
            f"unread {item['unread_documents']}; {len(self.out.timeline)} timeline events"
        )


Printer = Callable[[str], None]


async def run_steps(scenario: Scenario, say: Printer) -> bool:
    """Run every step in order, printing ``[ 3/12] 缴费 fee paid ... ok (0.4 s)``; stop at the
    first failure with what the API said."""
    steps = scenario.steps()
    for number, step in enumerate(steps, 1):
        label = f"[{number:2d}/{len(steps)}] {step.title_zh} {step.title_en}"
        started = time.monotonic()
        try:
            detail = await step.run()
        except StepFailed as failed:
            say(f"{label} ... FAILED ({time.monotonic() - started:.1f} s)\n        {failed.detail}")
            return False
        except Exception as exc:  # the demo reports, whatever broke
            say(
                f"{label} ... FAILED ({time.monotonic() - started:.1f} s)\n"
                f"        {type(exc).__name__}: {exc}"
            )
            return False
        say(f"{label} ... ok ({time.monotonic() - started:.1f} s)\n        {detail}")
    return True
