"""A video hearing in two real browsers: the judge schedules it in the console (the notice goes
out through electronic service), the party's phone page asks for the face check, passes the
lobby's equipment self-test and waits; the judge joins, admits the party and opens the session,
and each page decodes the other's video (``RTCPeerConnection.getStats()``: inbound-rtp video
``framesDecoded > 0``). The judge mutes the party, the clerk's note lands on the timeline, the
judge closes the hearing and the console shows the recording manifest and its verification.

Time: scheduling must be ≥ 3 days ahead, so after scheduling through the console the test moves
the hearing's start to 10 minutes from now in the database (as tests/hearings do); the production
rule is untouched. The face check itself cannot pass with a still photo on the fake camera
(tests/browser/test_litigant_and_clerk shows it refused), so the test hands the page a token
carrying a fresh check, as tests/hearings do.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import ClientSession
from playwright.async_api import Browser, Page, expect

from backend.appkeys import AUTH, DATABASE
from backend.auth.models import Account
from backend.auth.principal import Actor, Role
from filing.models import Filing, FilingStatus, Party
from hearings.mediation.models import Mediation, MediationSession
from hearings.models import VideoHearing, VideoParticipant
from tests.browser.conftest import Court, Phone, open_page
from tests.browser.test_litigant_and_clerk import page_failures, shot, staff_signs_in

COURT = "浙0281"

# Test instrumentation only: remember every peer connection and WebSocket the page makes, so the
# test can ask each connection for its statistics and cut the signaling socket (injected by the
# browser, outside the page's CSP).
TRACK_PEERS = """
(() => {
  const Native = window.RTCPeerConnection;
  const NativeSocket = window.WebSocket;
  const peers = [];
  const sockets = [];
  window.__peers = peers;
  window.__sockets = sockets;
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); peers.push(this); }
  };
  window.WebSocket = class extends NativeSocket {
    constructor(...args) { super(...args); sockets.push(this); }
  };
})();
"""

FRAMES_DECODED = """
async () => {
  let total = 0;
  for (const pc of window.__peers || []) {
    if (pc.signalingState === 'closed') continue;
    const stats = await pc.getStats();
    stats.forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') total += r.framesDecoded || 0;
    });
  }
  return total;
}
"""


async def frames_decoded(page: Page, wait_s: float = 30) -> int:
    deadline = time.monotonic() + wait_s
    while True:
        frames = int(await page.evaluate(FRAMES_DECODED))
        if frames > 0 or time.monotonic() > deadline:
            return frames
        await asyncio.sleep(0.5)


async def registered_case(court: Court, judge_id: str, clerk_id: str) -> tuple[str, Account]:
    with court.app[DATABASE].activate():
        party = await Account.create(
            id=uuid.uuid4(), display_name="张三", roles=[Role.LITIGANT.value]
        )
        filing = await Filing.create(
            id=uuid.uuid4(),
            receiving_court_code=COURT,
            competent_court_code=COURT,
            cause_code="4.cont.loan.private",
            status=FilingStatus.REGISTERED.value,
            case_number="（2026）浙0281民初901号",
            claims="判令被告归还借款100000元",
            assigned_judge_id=uuid.UUID(judge_id),
            assigned_clerk_id=uuid.UUID(clerk_id),
            created_by_id=party.id,
        )
        await Party.create(
            id=uuid.uuid4(),
            filing=filing,
            role="plaintiff",
            kind="natural",
            name="张三",
            region_code="330106",
            address="浙江省杭州市西湖区某路1号",
            account_id=party.id,
        )
    return str(filing.id), party


async def phone_tokens(court: Court, account: Account, *, present: bool) -> dict[str, str]:
    with court.app[DATABASE].activate():
        pair = await court.app[AUTH].start_session(
            account, Actor.system("browser-test"), method="test"
        )
    access = pair.access_token
    if present:
        access, _ = court.app[AUTH].codec.issue(
            account.id, pair.session_id, presence_verified_at=datetime.now(UTC)
        )
    return {"access": access, "refresh": pair.refresh_token}


async def sign_in_phone(page: Page, tokens: dict[str, str]) -> None:
    await page.evaluate("t => sessionStorage.setItem('mc.miniapp.tokens', t)", json.dumps(tokens))


async def open_tracked(browser: Browser, court: Court, *, phone: bool) -> Phone:
    opened = await open_page(browser, court.base, phone=phone)
    await opened.context.grant_permissions(["camera", "microphone"], origin=court.base)
    await opened.page.add_init_script(TRACK_PEERS)
    return opened


async def test_judge_and_party_see_each_other(
    browser: Browser, court: Court, artifacts: Path
) -> None:
    judge_id = await court.staff("judge_video", "judge")
    clerk_id = await court.staff("clerk_video", "clerk")
    filing_id, party = await registered_case(court, judge_id, clerk_id)
    judge = await open_tracked(browser, court, phone=False)
    phone = await open_tracked(browser, court, phone=True)
    console = judge.page

    # The judge schedules the hearing from the case (≥ 3 days ahead; the form's default).
    await staff_signs_in(console, "judge_video")
    await console.goto(f"/console/#/filing/{filing_id}")
    await console.click("#video-hearings-link")
    await console.fill("#schedule-form input[name=title]", "第一次开庭")
    # Too soon first: the API's refusal is shown on the page.
    too_soon = datetime.now() + timedelta(days=1)
    await console.fill("#schedule-form input[name=starts_at]", too_soon.strftime("%Y-%m-%dT%H:%M"))
    await console.click("#schedule")
    await expect(console.locator("#schedule-error .error")).to_contain_text("3")
    later = datetime.now() + timedelta(days=4)
    await console.fill("#schedule-form input[name=starts_at]", later.strftime("%Y-%m-%dT%H:%M"))
    await console.click("#schedule")
    await expect(console).to_have_url(re.compile(r"#/video/[0-9a-f-]{36}$"))
    hearing_id = console.url.rsplit("/", 1)[1]
    await expect(console.locator("#hearing-status")).to_contain_text("已排期")
    await expect(console.locator("#notice-status")).to_contain_text("电子送达")
    await console.goto(f"/console/#/filing/{filing_id}/hearings")
    await expect(console.locator("#notice-service")).to_contain_text("张三")
    await shot(console, artifacts, "20-console-video-scheduled")

    # The controllable clock: the hearing now starts in 10 minutes, so its lobby is open.
    with court.app[DATABASE].activate():
        await VideoHearing.filter(id=hearing_id).update(
            starts_at=datetime.now(UTC) + timedelta(minutes=10)
        )

    # The party: without a recent face check the room asks for one and says why.
    page = phone.page
    await page.goto("/miniapp/")
    await sign_in_phone(page, await phone_tokens(court, party, present=False))
    await page.goto(f"/miniapp/#/case/{filing_id}")
    await page.click(f"#video-hearings a[data-hearing='{hearing_id}']")
    await expect(page.locator("#presence-card")).to_be_visible()
    await expect(page.locator("#presence-why")).to_contain_text("face check")
    # After the check (a token carrying it): the lobby, and the equipment self-test echo.
    await sign_in_phone(page, await phone_tokens(court, party, present=True))
    await page.reload()
    await expect(page.locator("#lobby")).to_be_visible(timeout=15_000)
    await page.click("#selftest")
    await expect(page.locator("#selftest-result")).to_contain_text("✓", timeout=20_000)
    await shot(page, artifacts, "21-miniapp-video-lobby")

    # The judge joins, sees the party waiting, admits them and opens the session.
    await console.goto(f"/console/#/video/{hearing_id}")
    await expect(console.locator("#hearing-status")).to_contain_text("候庭中")
    await console.click("#join-room")
    admit = console.locator("#lobby-list button[id^=admit-]")
    await expect(admit).to_have_count(1, timeout=15_000)
    await admit.click()
    await expect(page.locator("#room")).to_be_visible(timeout=15_000)
    await console.click("#open-session")
    await expect(console.locator("#recording")).to_be_visible()

    # Each side decodes the other's video.
    assert await frames_decoded(page) > 0, await page.locator("#view").inner_text()
    assert await frames_decoded(console) > 0, await console.locator("#view").inner_text()
    await expect(page.locator("#remote-videos .tile")).to_have_count(1)
    await expect(console.locator("#remote-videos .tile")).to_have_count(1)
    await expect(page.locator("#recording")).to_be_visible()
    await shot(page, artifacts, "22-miniapp-video-room")

    # The phone's connection drops: it reconnects on its own, resumes without re-admission and
    # receives the judge's video again on new peer connections.
    await page.evaluate("window.__sockets[window.__sockets.length - 1].close()")
    await expect(page.locator("#connection")).to_contain_text("重连", timeout=5_000)
    await expect(page.locator("#connection")).to_be_hidden(timeout=15_000)
    assert await frames_decoded(page) > 0, await page.locator("#view").inner_text()
    await expect(page.locator("#room")).to_be_visible()

    # Judge's controls: mute the party (they see it); the clerk's note on the timeline.
    await console.locator("#participants button[id^=mute-]").click()
    await expect(page.locator("#my-mute")).to_be_visible()
    await console.fill("#notes textarea[name=note]", "原告陈述诉讼请求")
    await console.click("#add-note")
    await expect(console.locator("#note-list")).to_contain_text("原告陈述诉讼请求")
    await expect(console.locator("#note-list time")).to_have_text(re.compile(r"\d\d:\d\d:\d\d"))
    await shot(console, artifacts, "23-console-video-hearing")

    # Closing: the party is let go; the console shows the manifest and verifies it.
    await console.fill("#hearing-controls input[name=reason]", "")
    await console.click("#close-hearing")
    await expect(page.locator("#closed")).to_be_visible(timeout=15_000)
    await expect(console.locator("#manifest-sha")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    await console.click("#verify")
    outcome = console.locator("#verify-ok, #verify-bad, #verify-result .error")
    await expect(outcome).to_be_visible(timeout=30_000)
    assert await outcome.get_attribute("id") == "verify-ok", await outcome.inner_text()
    await shot(console, artifacts, "24-console-video-record")

    for opened in (judge, phone):
        assert page_failures(opened) == []
        await opened.context.close()


async def mediation_room(
    court: Court, filing_id: str, party: Account, judge_id: str, mediator_id: str
) -> tuple[str, str, dict[str, str]]:
    """A live mediation session's room, as scheduling it makes (tests/mediation schedule one
    through the API; here the rows are written directly): the judge, the party and the mediator
    as host, opening in 10 minutes. Returns the mediation, the room and the mediator's row."""
    now = datetime.now(UTC)
    with court.app[DATABASE].activate():
        mediation = await Mediation.create(
            id=uuid.uuid4(),
            filing_id=uuid.UUID(filing_id),
            phase="post_filing",
            status="in_progress",
            requested_by_id=party.id,
            requested_at=now,
            designation_due_on=now.date(),
            mediator_id=uuid.UUID(mediator_id),
            designated_at=now,
            period_days=15,
            ends_on=now.date() + timedelta(days=15),
        )
        hearing = await VideoHearing.create(
            id=uuid.uuid4(),
            filing_id=uuid.UUID(filing_id),
            court_code=COURT,
            title="视频调解 / video mediation",
            starts_at=now + timedelta(minutes=10),
            notice_status="not_required",
            scheduled_by_id=uuid.UUID(mediator_id),
        )
        rows = {}
        for account_id, role in (
            (uuid.UUID(judge_id), "judge"),
            (party.id, "party"),
            (uuid.UUID(mediator_id), "mediator"),
        ):
            account = await Account.get(id=account_id)
            row = await VideoParticipant.create(
                id=uuid.uuid4(),
                hearing=hearing,
                account_id=account_id,
                role=role,
                display_name=account.display_name,
            )
            rows[role] = str(row.id)
        await MediationSession.create(
            id=uuid.uuid4(),
            mediation=mediation,
            mode="live",
            starts_at=hearing.starts_at,
            video_hearing_id=hearing.id,
            created_by_id=uuid.UUID(mediator_id),
            created_at=now,
        )
    return str(mediation.id), str(hearing.id), rows


async def test_a_mediator_hosts_the_room_until_replaced(
    browser: Browser, court: Court, artifacts: Path
) -> None:
    """The console serves a mediation's mediator (court staff, neither the case's judge nor its
    clerk) as host: labelled, never offered controls over court staff, running the session; a
    newly designated mediator takes over and the page says the room let the old one go."""
    judge_id = await court.staff("judge_mediation", "judge")
    clerk_id = await court.staff("clerk_mediation", "clerk")
    mediator_id = await court.staff("mediator_video", "clerk")
    successor_id = await court.staff("mediator_next", "clerk")
    filing_id, party = await registered_case(court, judge_id, clerk_id)
    mediation_id, hearing_id, rows = await mediation_room(
        court, filing_id, party, judge_id, mediator_id
    )
    host = await open_tracked(browser, court, phone=False)
    console = host.page

    await staff_signs_in(console, "mediator_video")
    # The mediation page works for a mediator who may not read the case file.
    await console.goto(f"/console/#/mediation/{filing_id}")
    await expect(console.locator("#mediator-id")).to_have_value(str(mediator_id))
    await console.goto(f"/console/#/video/{hearing_id}")
    await expect(console.locator("#hearing-status")).to_contain_text("候庭中")
    mine = console.locator(f"#participants tr[data-participant='{rows['mediator']}']")
    await expect(mine).to_contain_text("调解员 Mediator")
    await console.click("#join-room")
    await expect(mine).to_contain_text("在庭", timeout=15_000)
    # Court staff are not muted or removed (the server refuses it): no such buttons.
    await expect(console.locator("#participants button")).to_have_count(0)
    await console.click("#open-session")
    await expect(console.locator("#recording")).to_be_visible()
    await shot(console, artifacts, "25-console-video-mediation")
    # The way back is the mediation (the case's hearings are not theirs to read).
    await expect(console.locator("#back")).to_have_attribute("href", f"#/mediation/{filing_id}")

    # The judge designates another mediator: the room lets this one go at once.
    with court.app[DATABASE].activate():
        judge = await Account.get(id=judge_id)
    token = (await phone_tokens(court, judge, present=False))["access"]
    async with ClientSession() as http:
        resp = await http.post(
            f"{court.base}/api/v1/mediation/mediations/{mediation_id}/mediator",
            json={"mediator_id": successor_id},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert resp.status == 200, await resp.text()
    await expect(console.locator("#removed")).to_be_visible(timeout=15_000)
    assert page_failures(host) == []
    await host.context.close()
