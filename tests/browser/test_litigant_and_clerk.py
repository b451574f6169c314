"""End to end in a real browser: a litigant signs in with (simulated) WeChat, consents, registers
their real name with a face check from the camera, files a case with evidence and sees it in
"my cases"; a clerk signs in to the console (setting up the authenticator), finds it in the review
queue with its 7-day clock and asks for corrections; the litigant resubmits, the clerk registers
it and the court administrator assigns the judge; the litigant then sees the case number and pays
the fee through the fake WeChat Pay."""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from pathlib import Path

import pyotp
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import FACES, STAFF_PASSWORD, Court, Phone, open_page
from tests.filing.workflow_helpers import DEFENDANT_ID, PDF, PLAINTIFF_ID

REPO = Path(__file__).resolve().parents[2]


async def shot(page: Page, folder: Path, name: str) -> None:
    path = folder / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    # Also under tests/artifacts/ (gitignored), where CI collects them.
    keep = REPO / "tests" / "artifacts"
    keep.mkdir(exist_ok=True)
    shutil.copyfile(path, keep / path.name)


def page_failures(phone: Phone) -> list[str]:
    """Uncaught errors and CSP violations (failed API calls are expected and shown on the page)."""
    return [e for e in phone.console_errors if "Failed to load resource" not in e]


async def litigant_files_a_case(litigant: Phone, artifacts: Path) -> str:
    page = litigant.page
    await page.goto("/miniapp/")
    await expect(page.locator("#wx-login")).to_be_visible()
    await shot(page, artifacts, "01-miniapp-login")
    await page.click("#wx-login")

    # A new account lands on the consents; grant each purpose.
    await expect(page).to_have_url(re.compile(r"#/consents$"))
    for purpose in ("personal_info", "biometric_face"):
        await page.click(f"button[data-purpose={purpose}]")
        await expect(page.locator(f"button[data-purpose={purpose}]")).to_have_text(
            re.compile("撤回")
        )

    # Real name: the ID number, then the face check with a selfie from the (fake) camera.
    await page.goto("/miniapp/#/realname")
    await page.fill("input[name=name]", "张三")
    await page.fill("input[name=id_number]", PLAINTIFF_ID)
    await page.click("#realname-form button[type=submit]")
    await expect(page.locator("#realname-status")).to_contain_text("待人脸核验")
    await page.set_input_files("#id-portrait", str(FACES / "obama_1.jpg"))
    await page.click("#take-selfie")
    await expect(page.locator(".camera img[src^='blob:']")).to_be_visible()
    await shot(page, artifacts, "02-miniapp-face-check")
    await page.click("#face-verify")
    outcome = page.locator("#face-result, #view .error")
    await expect(outcome).to_be_visible(timeout=30_000)
    assert "verified" in await outcome.inner_text()
    await expect(page.locator("#realname-status")).to_contain_text("已认证", timeout=10_000)

    # Liveness: the server's two random actions are prompted in order while frames are taken;
    # a photo held up to the camera cannot perform them, and the refusal is shown.
    await page.set_input_files("#id-portrait", str(FACES / "obama_1.jpg"))
    await page.click("#liveness")
    await expect(page.locator("#liveness-actions li")).to_have_count(2)
    await expect(page.locator(".camera .prompt")).to_be_visible()
    await expect(page.locator(".error .error-detail")).to_be_visible(timeout=30_000)
    await shot(page, artifacts, "03-miniapp-liveness-refused")

    # File the case at the Yuyao court against a defendant living there.
    await page.click("a[data-tab=file]")
    form = page.locator("#filing-form")
    await form.locator("select[name=court]").select_option("浙0281")
    await form.locator("input[type=search]").fill("民间借贷")
    await form.locator("input[type=search]").dispatch_event("change")
    cause = form.locator("select[name=cause]")
    await expect(cause.locator("option[value='4.cont.loan.private']")).to_have_count(1)
    await cause.select_option("4.cont.loan.private")
    await form.locator("input[name=claim_amount]").fill("100000")
    await form.locator("textarea[name=claims]").fill("判令被告归还借款100000元")
    await form.locator("textarea[name=facts_and_reasons]").fill("被告于2025年借款未还。")
    await form.locator("input[name=me_id_number]").fill(PLAINTIFF_ID)
    await form.locator("input[name=me_region_code]").fill("330106")
    await form.locator("input[name=me_address]").fill("浙江省杭州市西湖区某路1号")
    await form.locator("input[name=defendant_name]").fill("李四")
    await form.locator("input[name=defendant_id_number]").fill(DEFENDANT_ID)
    await form.locator("input[name=defendant_region_code]").fill("330281")
    await form.locator("input[name=defendant_address]").fill("浙江省余姚市某路2号")
    await page.click("#create-filing")
    await expect(page).to_have_url(re.compile(r"#/case/[0-9a-f-]{36}$"))
    filing_id = page.url.rsplit("/", 1)[1]

    # Evidence with upload progress, the fee quote, then submission.
    await expect(page.locator("#fee-quote")).to_contain_text("¥2300.00")
    evidence = page.locator("#evidence-form")
    await evidence.locator("input[name=title]").fill("借条")
    await evidence.locator("input[name=file]").set_input_files(
        {"name": "iou.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    await evidence.locator("button[type=submit]").click()
    await expect(page.locator("#evidence-list")).to_contain_text("借条")
    await shot(page, artifacts, "03-miniapp-draft-case")
    await page.click("#submit-filing")
    await expect(page.locator(".badge.status-submitted")).to_be_visible()

    # "My cases" lists it; a spoiled access token is renewed with the refresh token on the way.
    await page.evaluate(
        "const k = 'mc.miniapp.tokens'; const t = JSON.parse(sessionStorage.getItem(k));"
        "sessionStorage.setItem(k, JSON.stringify({...t, access: 'expired'}));"
    )
    await page.click("a[data-tab=cases]")
    await expect(page.locator(f"#case-list a[data-filing='{filing_id}']")).to_be_visible()
    await shot(page, artifacts, "04-miniapp-my-cases")
    return filing_id


async def staff_signs_in(page: Page, username: str) -> None:
    await page.goto("/console/")
    await page.fill("#staff-login input[name=username]", username)
    await page.fill("#staff-login input[name=password]", STAFF_PASSWORD)
    await page.click("#staff-login button[type=submit]")
    # First sign-in: the API's refusal is shown, and the authenticator is set up.
    await expect(page.locator(".error")).to_contain_text("totp_enrolment_required")
    await page.click("#totp-start")
    secret = (await page.locator("#totp-secret").inner_text()).strip()
    totp = pyotp.TOTP(secret)
    await page.fill("#totp-confirm-code", totp.now())
    await page.click("#totp-confirm")
    await expect(page.locator("#totp-done")).to_be_visible()
    # A code is single use: sign in with the next step's code (inside the allowed drift).
    await page.fill("#staff-login input[name=totp]", totp.at(time.time() + 30))
    await page.click("#staff-login button[type=submit]")
    await expect(page.locator("#who")).to_contain_text(username)


async def clerk_requests_corrections(clerk: Phone, filing_id: str, artifacts: Path) -> None:
    page = clerk.page
    await staff_signs_in(page, "clerk_browser")
    row = page.locator(f"#review-queue a[data-filing='{filing_id}']")
    await expect(row).to_be_visible()
    await expect(page.locator("#review-queue .clock")).to_contain_text("7")
    await expect(page.locator("#review-queue")).to_contain_text("民间借贷纠纷")
    await shot(page, artifacts, "05-console-review-queue")
    await row.click()
    # The evidence downloads with the clerk's token in the header, never in the URL.
    async with page.expect_download() as download_info:
        await page.click("#evidence-list .download")
    download = await download_info.value
    assert download.suggested_filename == "iou.pdf"
    assert await asyncio.to_thread(Path(await download.path()).read_bytes) == PDF
    await page.fill("textarea[name=items]", "补充借条原件照片\n写明利息计算方式")
    await page.fill("input[name=deadline_days]", "10")
    await page.click("#request-corrections")
    await expect(page.locator(".badge.status-correction_requested")).to_be_visible()
    await expect(page.locator("#register")).to_have_count(0)


async def litigant_resubmits(litigant: Phone, filing_id: str) -> None:
    page = litigant.page
    await page.goto(f"/miniapp/#/case/{filing_id}")
    await expect(page.locator("#view")).to_contain_text("写明利息计算方式")
    await page.fill("textarea[name=facts_and_reasons]", "借款10万元，约定年利率3.65%。")
    await page.click("#resubmit")
    await expect(page.locator(".badge.status-resubmitted")).to_be_visible()


async def clerk_registers(clerk: Phone, filing_id: str, artifacts: Path) -> str:
    page = clerk.page
    await page.goto("/console/#/queue")
    await page.click(f"#review-queue a[data-filing='{filing_id}']")
    await expect(page.locator("#view")).to_contain_text("年利率3.65%")
    await page.click("#register")
    number = page.locator("#case-number")
    await expect(number).to_contain_text(re.compile(r"浙0281民初\d+号"))
    await shot(page, artifacts, "06-console-registered")
    return (await number.inner_text()).strip()


async def admin_assigns_the_judge(admin: Phone, filing_id: str, judge_id: str) -> None:
    page = admin.page
    await staff_signs_in(page, "admin_browser")
    await page.goto(f"/console/#/filing/{filing_id}")
    await page.fill("input[name=judge_id]", judge_id)
    await page.click("#assign")
    await expect(page.locator("#assigned-judge")).to_have_text(judge_id)


async def test_litigant_files_and_clerk_registers(
    browser: Browser, court: Court, artifacts: Path
) -> None:
    await court.staff("clerk_browser", "clerk")
    await court.staff("admin_browser", "court_admin")
    judge_id = await court.staff("judge_browser", "judge")
    litigant = await open_page(browser, court.base)
    clerk = await open_page(browser, court.base, phone=False)
    admin = await open_page(browser, court.base, phone=False)

    filing_id = await litigant_files_a_case(litigant, artifacts)
    await clerk_requests_corrections(clerk, filing_id, artifacts)
    await litigant_resubmits(litigant, filing_id)
    case_number = await clerk_registers(clerk, filing_id, artifacts)
    await admin_assigns_the_judge(admin, filing_id, judge_id)

    # Back on the phone: the case number and the fee notice.
    page = litigant.page
    await page.reload()  # the page is already on this case: fetch it again
    await expect(page.locator("#case-number")).to_have_text(case_number)
    await expect(page.locator("#fee-notice")).to_contain_text("2300.00")
    await shot(page, artifacts, "07-miniapp-registered")

    # Paying through (fake) WeChat Pay: the signed notification reaches the server.
    await page.click("#pay")
    await expect(page.locator("#fee-paid")).to_contain_text("¥2300.00", timeout=15_000)
    await shot(page, artifacts, "08-miniapp-fee-paid")

    for phone in (litigant, clerk, admin):
        assert page_failures(phone) == []


async def test_calculators_work_without_signing_in(
    browser: Browser, court: Court, artifacts: Path
) -> None:
    visitor = await open_page(browser, court.base)
    page = visitor.page
    await page.goto("/miniapp/#/fees")
    form = page.locator("#fee-form")
    await form.locator("select[name=case_type]").select_option("property")
    await form.locator("input[name=amount]").fill("100000")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#fee-total")).to_have_text("¥2300.00")
    await form.locator("select[name=procedure]").select_option("simple")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#fee-total")).to_have_text("¥1150.00")
    # A bad amount comes back as the API's problem+json, shown on the page.
    await form.locator("input[name=amount]").fill("12.345")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#fee-result .error")).to_contain_text("amount")
    await shot(page, artifacts, "09-miniapp-fee-calculator")

    # The deadline calculator answers (or, where electronic service is not deployed, shows why).
    await page.goto("/miniapp/#/deadline")
    await page.locator("#deadline-form button[type=submit]").click()
    await expect(page.locator("#deadline-result .card, #deadline-result .error")).to_be_visible()
    assert page_failures(visitor) == []
