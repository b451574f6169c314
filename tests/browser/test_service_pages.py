"""In a real browser: the defendant consents to e-service on the phone; a clerk serves a notice of
response from the console (a template filled in, the defendant chosen, the channel plan); the
defendant, signed in on the phone, sets a signature
code, arrives through the short link of the notice, signs for the document with the code, reads
it and sees the service date and the defence deadline; the clerk then sees the delivery served
and downloads the signed proof of service."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, expect

from backend.appkeys import DATABASE, SETTINGS
from filing.models import Filing, Party
from service_of_process.models import ServiceAttempt, ServiceDelivery
from tests.browser.conftest import Court, Phone, open_page
from tests.browser.test_litigant_and_clerk import page_failures, shot, staff_signs_in
from tests.service_of_process.delivery.delivery_fixtures import drain, make_worker

COURT = "浙0281"
CASE_NUMBER = "(2026)浙0281民初301号"
SIGNATURE_CODE = "246810"


async def phone_user_signs_in(phone: Phone) -> str:
    """A new WeChat user on the phone; returns its account id."""
    page = phone.page
    await page.goto("/miniapp/")
    await page.click("#wx-login")
    await expect(page).to_have_url(re.compile(r"#/consents$"))
    me: dict[str, Any] = await page.evaluate(
        "fetch('/api/v1/auth/me', {headers: {Authorization: 'Bearer ' +"
        " JSON.parse(sessionStorage.getItem('mc.miniapp.tokens')).access}}).then(r => r.json())"
    )
    return str(me["id"])


async def registered_case(court: Court, defendant_account: str, clerk_id: str) -> Filing:
    """A registered case at the court, the phone user as defendant (built in the database:
    filing and registration have their own browser test)."""
    with court.app[DATABASE].activate():
        filing = await Filing.create(
            id=uuid.uuid4(),
            receiving_court_code=COURT,
            competent_court_code=COURT,
            cause_code="4.cont.loan.private",
            status="registered",
            case_number=CASE_NUMBER,
            procedure="simple",
            assigned_clerk_id=uuid.UUID(clerk_id),
            created_by_id=uuid.uuid4(),
        )
        for role, name, account in (
            ("plaintiff", "张三", None),
            ("defendant", "李四", defendant_account),
        ):
            await Party.create(
                id=uuid.uuid4(),
                filing=filing,
                role=role,
                kind="natural",
                name=name,
                id_number_masked="3302**********1234" if account else None,
                region_code="330281",
                address="浙江省余姚市某路2号",
                account_id=uuid.UUID(account) if account else None,
            )
    return filing


async def clerk_serves_notice(page: Page, filing: Filing, artifacts: Path) -> None:
    await page.goto(f"/console/#/filing/{filing.id}")
    await page.click("#go-serve")
    await expect(page.locator("#no-tasks")).to_be_visible()
    form = page.locator("#serve-form")
    await form.locator("#serve-kind").select_option("notice_of_response")
    await form.locator("input[name=tf_response_days]").fill("15")
    await form.locator("#serve-recipients label", has_text="李四").locator("input").check()
    # The plan: the in-app inbox only (no phone or email on file for this party).
    for channel in ("wechat", "sms"):
        await form.locator(f"input[name=plan1][value={channel}]").uncheck()
    await shot(page, artifacts, "21-console-serve-form")
    await page.click("#serve-send")
    row = page.locator("table.deliveries tbody tr")
    await expect(row).to_have_count(1)
    await expect(row.locator(".delivery-status")).to_contain_text("待生效")


async def test_clerk_serves_and_party_signs_with_code(
    browser: Browser, court: Court, artifacts: Path
) -> None:
    clerk_id = await court.staff("clerk_serve", "clerk")
    party = await open_page(browser, court.base)
    clerk = await open_page(browser, court.base, phone=False)
    account_id = await phone_user_signs_in(party)
    filing = await registered_case(court, account_id, clerk_id)

    # The defendant consents to electronic service in the case without giving an address: the
    # service date is then fixed by its own act (signing), not by the inbox receiving it.
    page = party.page
    await page.goto(f"/miniapp/#/case/{filing.id}")
    await page.click("#case-links .service-consent summary")
    await page.uncheck("#case-links .service-consent input[name=inbox]")
    await page.click("#service-consent")
    await expect(page.locator("#service-consent-done")).to_be_visible()

    await staff_signs_in(clerk.page, "clerk_serve")
    await clerk_serves_notice(clerk.page, filing, artifacts)
    # The job worker sends the in-app notice (and makes its short link).
    with court.app[DATABASE].activate():
        await drain(make_worker(court.app, court.app[SETTINGS]))
        delivery = await ServiceDelivery.get(filing_id=filing.id)
        attempt = await ServiceAttempt.get(delivery_id=delivery.id, channel="inapp")
    assert attempt.status == "delivered" and attempt.link_id

    # A signature code first; a wrong current code would be refused, a first one is not needed.
    await page.click("a[data-tab=inbox]")
    await expect(page.locator("#inbox-list")).to_contain_text("应诉通知书")
    await page.click("#signature-code-link")
    await page.fill("#signature-code-form input[name=code]", SIGNATURE_CODE)
    await page.fill("#signature-code-form input[name=repeat]", SIGNATURE_CODE)
    await page.click("#signature-code-form button[type=submit]")
    await expect(page.locator("#signature-code-saved")).to_be_visible()

    # The short link of the notice opens the delivery; the documents stay closed until signed.
    await page.goto(f"/miniapp/#/service/link/{attempt.link_id}")
    await expect(page).to_have_url(re.compile(rf"#/delivery/{delivery.id}$"))
    await expect(page.locator("#delivery-documents .download")).to_be_disabled()
    await expect(page.locator("#service-date")).to_contain_text("尚未送达")
    await shot(page, artifacts, "22-miniapp-delivery-unsigned")

    # A wrong code: the API's problem+json detail is shown; then the right one signs.
    await page.fill("#sign-code", "000000")
    await page.click("#sign-with-code")
    await expect(page.locator("#sign-card .error")).to_contain_text("签收码错误")
    await page.fill("#sign-code", SIGNATURE_CODE)
    await page.click("#sign-with-code")
    await expect(page.locator("#signed-at")).to_contain_text("签收码")
    service_date = page.locator("#service-date")
    await expect(service_date).not_to_contain_text("尚未送达")
    await expect(page.locator("#delivery-deadlines")).to_contain_text("答辩期")
    await expect(page.locator("#delivery-deadlines .deadline-due")).to_have_text(
        re.compile(r"^\d{4}-\d{2}-\d{2}$")
    )
    await shot(page, artifacts, "23-miniapp-delivery-signed")
    async with page.expect_download() as download_info:
        await page.click("#delivery-documents .download")
    download = await download_info.value
    assert download.suggested_filename.endswith(".pdf")
    body = await asyncio.to_thread(Path(await download.path()).read_bytes)
    assert body.startswith(b"%PDF")

    # The clerk sees it served, on the date the party signed, and takes the proof of service.
    with court.app[DATABASE].activate():
        served = await ServiceDelivery.get(id=delivery.id)
    assert served.status == "served" and served.signed_method == "code"
    assert served.service_date == served.signed_at
    cpage = clerk.page
    await cpage.click("#serve-refresh")
    await expect(cpage.locator("table.deliveries .delivery-status")).to_contain_text("已送达")
    await expect(cpage.locator("#service-deadlines")).to_contain_text("response")
    async with cpage.expect_download() as proof_info:
        await cpage.click("table.deliveries .proof")
    proof = await proof_info.value
    assert proof.suggested_filename == f"proof-of-service-{delivery.id}.pdf"
    proof_pdf = await asyncio.to_thread(Path(await proof.path()).read_bytes)
    assert proof_pdf.startswith(b"%PDF")
    await shot(cpage, artifacts, "24-console-served")

    for phone in (party, clerk):
        assert page_failures(phone) == []
