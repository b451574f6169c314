"""/api/v1/identity/: WeChat sign-in, phone, real name, organisations, consents, staff, lawyers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from uuid import UUID

from aiohttp import web

from backend.appkeys import AUDIT, AUTH, HTTP_CLIENT, KEYRING, POLICY, RATE_LIMITER, SETTINGS
from backend.auth.models import Account
from backend.auth.principal import ROLE_NAMES, Principal, Role
from backend.auth.schemas import RoleOut
from backend.auth.staff import create_staff_account
from backend.errors import NotFound, ValidationFailed
from backend.fieldcrypto import FieldCipher
from backend.http import endpoint, request_actor, require_principal
from backend.policy import Policy
from backend.storage.http import file_response, read_upload
from backend.storage.purposes import RULES, Purpose, UploadRule
from backend.storage.service import get_file
from identity import consents, face_routes, lawyers, phone, realname
from identity.credit_code import ORGANISATION_TYPES
from identity.keys import IDENTITY, SMS_CLIENT, WECHAT_CLIENT, IdentityDeps
from identity.models import (
    Consent,
    ConsentPurpose,
    LawyerApplication,
    LawyerApplicationStatus,
    Organisation,
    PhoneBinding,
    RealName,
    WeChatIdentity,
)
from identity.schemas import (
    LAWYER_FORM,
    ConsentIn,
    ConsentList,
    ConsentOut,
    ConsentStateOut,
    InPersonIn,
    LawyerApplicationList,
    LawyerApplicationOut,
    NoticeList,
    NoticeOut,
    OrganisationIn,
    OrganisationList,
    OrganisationOut,
    PhoneCodeIn,
    PhoneOut,
    ProfileOut,
    RealNameIn,
    RealNameOut,
    RejectIn,
    ReviewApplicationOut,
    ReviewPage,
    ReviewQuery,
    SmsSendIn,
    SmsSentOut,
    SmsVerifyIn,
    StaffCreateIn,
    StaffCredentialsIn,
    StaffLoginIn,
    StaffOut,
    StaffRealNameOut,
    StepUpIn,
    StepUpOut,
    TokenOut,
    TotpConfirmedOut,
    TotpConfirmIn,
    TotpEnrolmentOut,
    WeChatLoginIn,
    WeChatLoginOut,
)
from identity.sms_client import SmsClient
from identity.staff_login import StaffLogin
from identity.wechat_client import WeChatClient
from identity.wechat_login import wechat_login

routes = web.RouteTableDef()
TAGS = ("identity",)
REALNAME_RESOURCE = "identity_realname"

STATUS_TEXT = {
    "pending_face": "待人脸核验 / Face check pending",
    "verified": "已认证 / Verified",
    "pending": "待审核 / Pending review",
    "approved": "已通过 / Approved",
    "rejected": "未通过 / Rejected",
}


def _deps(request: web.Request) -> IdentityDeps:
    return request.config_dict[IDENTITY]


def _uuid(request: web.Request, name: str, what: str) -> UUID:
    try:
        return UUID(request.match_info[name])
    except ValueError:
        raise NotFound(f"no such {what}") from None


def _roles(raw: list[str]) -> list[Role]:
    return [Role(r) for r in raw if r in Role._value2member_map_]


# ------------------------------------------------------------------------------- shapes


def phone_out(binding: PhoneBinding) -> PhoneOut:
    return PhoneOut(
        phone_masked=binding.phone_masked,
        country_code=binding.country_code,
        source=binding.source,
        verified_at=binding.verified_at,
    )


def realname_out(record: RealName) -> RealNameOut:
    return RealNameOut(
        name=record.name,
        id_number_masked=record.id_number_masked,
        birth_date=record.birth_date,
        sex=record.sex,
        is_minor=realname.is_minor_now(record),
        guardian_required=record.guardian_required and realname.is_minor_now(record),
        status=record.status,
        method=record.method,
        verified_at=record.verified_at,
        status_text=STATUS_TEXT[record.status],
    )


def consent_out(consent: Consent) -> ConsentOut:
    purpose = ConsentPurpose(consent.purpose)
    return ConsentOut(
        id=consent.id,
        purpose=consent.purpose,
        notice_version=consent.notice_version,
        granted_at=consent.granted_at,
        withdrawn_at=consent.withdrawn_at,
        active=consent.withdrawn_at is None
        and consent.notice_version == consents.NOTICES[purpose].version,
    )


def consent_states(history: list[Consent]) -> list[ConsentStateOut]:
    states = []
    for purpose in ConsentPurpose:
        current = next(
            (
                c
                for c in history
                if c.purpose == purpose.value
                and c.withdrawn_at is None
                and c.notice_version == consents.NOTICES[purpose].version
            ),
            None,
        )
        states.append(
            ConsentStateOut(
                purpose=purpose,
                active=current is not None,
                consent=consent_out(current) if current else None,
            )
        )
    return states


def application_out(application: LawyerApplication) -> LawyerApplicationOut:
    return LawyerApplicationOut(
        id=application.id,
        status=LawyerApplicationStatus(application.status),
        licence_number=application.licence_number,
        law_firm=application.law_firm,
        licence_file_id=application.licence_file_id,
        submitted_at=application.submitted_at,
        decided_at=application.decided_at,
        reason=application.reason,
        status_text=STATUS_TEXT[application.status],
    )


async def review_out(application: LawyerApplication) -> ReviewApplicationOut:
    account_id: UUID = application.account_id  # type: ignore[attr-defined]
    record = await RealName.filter(account_id=account_id).first()
    return ReviewApplicationOut(
        **application_out(application).model_dump(),
        applicant_account_id=account_id,
        applicant_name=record.name if record else None,
        applicant_id_number_masked=record.id_number_masked if record else None,
        applicant_realname_status=record.status if record else None,
    )


# ------------------------------------------------------------------------------- WeChat


@routes.post("/wechat/login")
@endpoint(
    "Sign in with a wx.login() code; creates the account on first sign-in",
    description="Errors: 400 wechat_code_invalid (invalid, expired or used code), 403 "
    "wechat_risky_user, 429 (WeChat's or our per-address limit, with Retry-After), 503 when "
    "WeChat is busy or unreachable. The WeChat session_key never leaves the server.",
    body=WeChatLoginIn,
    response=WeChatLoginOut,
    public=True,
    tags=TAGS,
    errors=(400, 403, 429, 502, 503),
)
async def wechat_sign_in(request: web.Request, *, body: WeChatLoginIn) -> WeChatLoginOut:
    result = await wechat_login(_deps(request), body.code, request_actor(request), "mini-program")
    return WeChatLoginOut(
        access_token=result.tokens.access_token,
        refresh_token=result.tokens.refresh_token,
        expires_in=result.tokens.expires_in,
        account_id=result.account_id,
        is_new_account=result.is_new_account,
    )


# ------------------------------------------------------------------------------- phone


@routes.post("/phone/wechat")
@endpoint(
    "Bind the phone number from WeChat's getPhoneNumber button",
    description="Needs consent to personal_info. The answer's watermark must name our appid.",
    body=PhoneCodeIn,
    response=PhoneOut,
    tags=TAGS,
    errors=(400, 403, 502, 503),
)
async def bind_wechat_phone(request: web.Request, *, body: PhoneCodeIn) -> PhoneOut:
    principal = require_principal(request)
    binding = await phone.bind_phone_from_wechat(
        _deps(request), principal.account_id, body.code, request_actor(request)
    )
    return phone_out(binding)


@routes.post("/phone/sms/send")
@endpoint(
    "Send a 6-digit code by SMS to bind a mainland mobile number",
    description="One code a minute and five a day, per number and per account; a code lasts "
    "10 minutes and replaces any earlier one. Needs consent to personal_info.",
    body=SmsSendIn,
    response=SmsSentOut,
    tags=TAGS,
    errors=(403, 422, 429, 503),
)
async def send_sms_code(request: web.Request, *, body: SmsSendIn) -> SmsSentOut:
    principal = require_principal(request)
    expires_in = await phone.send_sms_code(
        _deps(request), principal.account_id, body.phone, request_actor(request)
    )
    number = phone.normalise_mainland_mobile(body.phone)
    return SmsSentOut(phone_masked=phone.mask_phone(number), expires_in=expires_in)


@routes.post("/phone/sms/verify")
@endpoint(
    "Check the SMS code and bind the number",
    description="Single use; after 5 wrong codes the number and the account are locked for "
    "30 minutes (429 locked_out).",
    body=SmsVerifyIn,
    response=PhoneOut,
    tags=TAGS,
    errors=(400, 422, 429),
)
async def verify_sms_code(request: web.Request, *, body: SmsVerifyIn) -> PhoneOut:
    principal = require_principal(request)
    binding = await phone.verify_sms_code(
        _deps(request), principal.account_id, body.phone, body.code, request_actor(request)
    )
    return phone_out(binding)


# ------------------------------------------------------------------------------- real name


@routes.post("/realname")
@endpoint(
    "Submit name and resident ID number (real-name registration)",
    description="The number is checked (GB 11643) and stored encrypted; it is only ever shown "
    "masked. The record waits for a face match or an in-person check. 422 carries the parser's "
    "code (id_length, id_format, id_date, id_date_future, id_checksum …); 409 id_number_claimed "
    "when another account holds the number. Needs consent to personal_info.",
    body=RealNameIn,
    response=RealNameOut,
    tags=TAGS,
    errors=(403, 409, 422),
)
async def submit_real_name(request: web.Request, *, body: RealNameIn) -> RealNameOut:
    principal = require_principal(request)
    record = await realname.register_real_name(
        _deps(request), principal.account_id, body.name, body.id_number, request_actor(request)
    )
    return realname_out(record)


@routes.get("/realname/{account_id}")
@endpoint(
    "A person's real-name record, for court staff (ID number masked)",
    response=StaffRealNameOut,
    roles={Role.JUDGE, Role.CLERK, Role.COURT_ADMIN},
    tags=TAGS,
    errors=(403, 404),
)
async def staff_read_real_name(request: web.Request) -> StaffRealNameOut:
    principal = require_principal(request)
    account_id = _uuid(request, "account_id", "real-name record")
    request.config_dict[POLICY].check(principal, "read", REALNAME_RESOURCE, account_id)
    record = await realname.get_real_name(account_id)
    if record is None:
        raise NotFound("no such real-name record")
    return StaffRealNameOut(**realname_out(record).model_dump(), account_id=account_id)


@routes.post("/realname/{account_id}/verify-in-person")
@endpoint(
    "Record that a clerk checked the person's ID document in person (the non-face path)",
    body=InPersonIn,
    response=StaffRealNameOut,
    roles={Role.CLERK, Role.COURT_ADMIN},
    tags=TAGS,
    errors=(403, 404, 409),
)
async def verify_in_person(request: web.Request, *, body: InPersonIn) -> StaffRealNameOut:
    principal = require_principal(request)
    account_id = _uuid(request, "account_id", "real-name record")
    request.config_dict[POLICY].check(principal, "verify_in_person", REALNAME_RESOURCE, account_id)
    record = await realname.verify_in_person(
        _deps(request), account_id, body.note, principal.account_id, request_actor(request)
    )
    return StaffRealNameOut(**realname_out(record).model_dump(), account_id=account_id)


@routes.get("/me")
@endpoint(
    "My identity profile: phone, real name, consents (numbers masked)",
    response=ProfileOut,
    tags=TAGS,
)
async def my_profile(request: web.Request) -> ProfileOut:
    principal = require_principal(request)
    me = principal.account_id
    account = await Account.get_or_none(id=me)
    if account is None:
        raise NotFound("no such account")
    binding = await PhoneBinding.filter(account_id=me).first()
    record = await realname.get_real_name(me)
    application = await LawyerApplication.filter(account_id=me).order_by("-submitted_at").first()
    return ProfileOut(
        account_id=me,
        display_name=account.display_name,
        roles=[RoleOut(role=r, display_name=ROLE_NAMES[r]) for r in _roles(account.roles)],
        wechat_linked=await WeChatIdentity.filter(account_id=me).exists(),
        phone=phone_out(binding) if binding else None,
        real_name=realname_out(record) if record else None,
        consents=consent_states(await consents.consent_history(me)),
        lawyer_application=application_out(application) if application else None,
    )


# ------------------------------------------------------------------------------- organisations


async def organisation_out(organisation: Organisation) -> OrganisationOut:
    rep_id: UUID = organisation.legal_representative_id  # type: ignore[attr-defined]
    record = await realname.get_real_name(rep_id)
    return OrganisationOut(
        id=organisation.id,
        name=organisation.name,
        credit_code=organisation.credit_code,
        organisation_type=ORGANISATION_TYPES.get(organisation.credit_code[:2]),
        legal_representative_account_id=rep_id,
        legal_representative_name_masked=realname.mask_name(record.name) if record else "*",
        created_at=organisation.created_at,
    )


@routes.post("/organisations")
@endpoint(
    "Register an organisation by its unified social credit code",
    description="The legal representative must be a natural person with a verified real name "
    "(422 legal_representative_not_verified); 409 organisation_exists.",
    body=OrganisationIn,
    response=OrganisationOut,
    status=201,
    tags=TAGS,
    errors=(409, 422),
)
async def register_organisation(request: web.Request, *, body: OrganisationIn) -> OrganisationOut:
    principal = require_principal(request)
    organisation, _ = await realname.register_organisation(
        _deps(request),
        body.name,
        body.credit_code,
        body.legal_representative_account_id,
        principal.account_id,
        request_actor(request),
    )
    return await organisation_out(organisation)


@routes.get("/organisations")
@endpoint("Organisations I registered or represent", response=OrganisationList, tags=TAGS)
async def my_organisations(request: web.Request) -> OrganisationList:
    principal = require_principal(request)
    rows = await realname.organisations_of(principal.account_id)
    return OrganisationList(items=[await organisation_out(o) for o in rows])


# ------------------------------------------------------------------------------- consents


@routes.get("/consents/notices")
@endpoint(
    "The current notices to consent to (Chinese and English; PIPL Art. 17, 30)",
    response=NoticeList,
    public=True,
    tags=TAGS,
)
async def consent_notices(request: web.Request) -> NoticeList:
    return NoticeList(
        items=[
            NoticeOut(
                purpose=n.purpose,
                version=n.version,
                sensitive=n.sensitive,
                title_zh=n.title_zh,
                title_en=n.title_en,
                text_zh=n.text_zh,
                text_en=n.text_en,
            )
            for n in consents.NOTICES.values()
        ]
    )


@routes.post("/consents")
@endpoint(
    "Grant (to the current notice version) or withdraw consent for one purpose",
    description="biometric_face is a separate consent (PIPL Art. 29). Granting an outdated "
    "notice version is refused (422 notice_version_outdated).",
    body=ConsentIn,
    response=ConsentStateOut,
    tags=TAGS,
    errors=(422,),
)
async def set_consent(request: web.Request, *, body: ConsentIn) -> ConsentStateOut:
    principal = require_principal(request)
    consent = await consents.set_consent(
        _deps(request),
        principal.account_id,
        body.purpose,
        body.notice_version,
        body.granted,
        request_actor(request),
    )
    return ConsentStateOut(
        purpose=body.purpose,
        active=consent is not None,
        consent=consent_out(consent) if consent else None,
    )


@routes.get("/consents")
@endpoint(
    "My consents: current state per purpose and the full history", response=ConsentList, tags=TAGS
)
async def list_consents(request: web.Request) -> ConsentList:
    principal = require_principal(request)
    history = await consents.consent_history(principal.account_id)
    return ConsentList(current=consent_states(history), history=[consent_out(c) for c in history])


# ------------------------------------------------------------------------------- staff


@routes.post("/staff/login")
@endpoint(
    "Court staff sign-in: username, password and authenticator code",
    description="401 invalid_credentials; 403 totp_enrolment_required on the first sign-in; "
    "429 locked_out after 5 failures per username (or 20 per address) in 15 minutes.",
    body=StaffLoginIn,
    response=TokenOut,
    public=True,
    tags=TAGS,
    errors=(401, 403, 429),
)
async def staff_login(request: web.Request, *, body: StaffLoginIn) -> TokenOut:
    pair = await StaffLogin(_deps(request)).login(
        body.username, body.password, body.totp, request_actor(request)
    )
    return TokenOut(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


@routes.post("/staff/totp/enrol")
@endpoint(
    "Start authenticator set-up: the TOTP secret, shown this once",
    body=StaffCredentialsIn,
    response=TotpEnrolmentOut,
    public=True,
    tags=TAGS,
    errors=(401, 409, 429),
)
async def staff_totp_enrol(request: web.Request, *, body: StaffCredentialsIn) -> TotpEnrolmentOut:
    enrolment = await StaffLogin(_deps(request)).enrol(
        body.username, body.password, request_actor(request)
    )
    return TotpEnrolmentOut(secret=enrolment.secret, provisioning_uri=enrolment.provisioning_uri)


@routes.post("/staff/totp/confirm")
@endpoint(
    "Finish authenticator set-up with a first code",
    body=TotpConfirmIn,
    response=TotpConfirmedOut,
    public=True,
    tags=TAGS,
    errors=(401, 409, 429),
)
async def staff_totp_confirm(request: web.Request, *, body: TotpConfirmIn) -> TotpConfirmedOut:
    await StaffLogin(_deps(request)).confirm(
        body.username, body.password, body.totp, request_actor(request)
    )
    return TotpConfirmedOut(enrolled=True)


@routes.post("/staff/step-up")
@endpoint(
    "Court staff: confirm a fresh authenticator code before e-signing (step-up)",
    description="The judge signs a hearing transcript with this instead of a face check (staff "
    "have no real-name record): a new access token for the same session, good for signing for "
    "5 minutes. A code is accepted once (a replayed or stale code is refused with 403 "
    "step_up_code_invalid); failures count towards the sign-in lockout (429 locked_out).",
    body=StepUpIn,
    response=StepUpOut,
    tags=TAGS,
    errors=(403, 422, 429),
)
async def staff_step_up(request: web.Request, *, body: StepUpIn) -> StepUpOut:
    grant = await StaffLogin(_deps(request)).step_up(
        require_principal(request), body.totp, request_actor(request)
    )
    return StepUpOut(
        access_token=grant.access_token,
        expires_in=grant.expires_in,
        step_up_verified_at=grant.verified_at,
        step_up_valid_until=grant.valid_until,
    )


@routes.post("/staff")
@endpoint(
    "Create a judge or clerk account for your own court (court administrators)",
    body=StaffCreateIn,
    response=StaffOut,
    status=201,
    roles={Role.COURT_ADMIN, Role.SYSTEM_ADMIN},
    tags=TAGS,
    errors=(403, 409, 422),
)
async def create_staff(request: web.Request, *, body: StaffCreateIn) -> StaffOut:
    principal = require_principal(request)
    court_code = body.court_code or principal.court_code
    if not court_code:
        raise ValidationFailed(
            "court_code is required / 请指定法院代码", code="court_code_required"
        )
    request.config_dict[POLICY].check(principal, "create", "court_staff", court_code)
    account = await create_staff_account(
        audit=request.config_dict[AUDIT],
        username=body.username,
        display_name=body.display_name,
        role=body.role,
        court_code=court_code,
        password=body.password,
        actor=request_actor(request),
    )
    return StaffOut(
        id=account.id,
        username=account.username or body.username,
        display_name=account.display_name,
        roles=[RoleOut(role=r, display_name=ROLE_NAMES[r]) for r in _roles(account.roles)],
        court_code=account.court_code,
        created_at=account.created_at,
    )


# ------------------------------------------------------------------------------- lawyers


@routes.post("/lawyers/applications")
@endpoint(
    "Apply for a lawyer account: licence number, law firm and a photo of the licence",
    description="multipart/form-data with licence_number and law_firm first and licence_photo "
    "(JPEG or PNG, by content) last. Needs a real-name record first (422 realname_required).",
    response=LawyerApplicationOut,
    status=201,
    tags=TAGS,
    request_content={"multipart/form-data": LAWYER_FORM},
    errors=(409, 413, 415, 422),
)
async def apply_as_lawyer(request: web.Request) -> web.StreamResponse:
    principal = require_principal(request)
    await lawyers.ensure_may_apply(principal.account_id, principal.roles)
    checked: dict[str, str] = {}

    def rule(fields: Mapping[str, str]) -> UploadRule:
        # Checked before the file is streamed, so a bad form stores nothing.
        checked["licence_number"] = lawyers.check_licence_number(fields.get("licence_number", ""))
        checked["law_firm"] = lawyers.check_law_firm(fields.get("law_firm", ""))
        return RULES[Purpose.ID_DOCUMENT]

    upload = await read_upload(
        request, rule=rule, field="licence_photo", text_fields=("licence_number", "law_firm")
    )
    application = await lawyers.submit_application(
        _deps(request),
        principal.account_id,
        checked["licence_number"],
        checked["law_firm"],
        upload.blob,
        upload.filename,
        request_actor(request),
    )
    response = web.Response(
        body=application_out(application).model_dump_json().encode(),
        status=201,
        content_type="application/json",
    )
    response.headers["Location"] = f"{request.path.rstrip('/')}/{application.id}"
    return response


@routes.get("/lawyers/applications/mine")
@endpoint(
    "My lawyer applications, newest first, with decisions and reasons",
    response=LawyerApplicationList,
    tags=TAGS,
)
async def my_applications(request: web.Request) -> LawyerApplicationList:
    principal = require_principal(request)
    rows = await lawyers.applications_of(principal.account_id)
    return LawyerApplicationList(items=[application_out(a) for a in rows])


@routes.get("/lawyers/applications")
@endpoint(
    "Lawyer applications to review, oldest first (court administrators)",
    query=ReviewQuery,
    response=ReviewPage,
    tags=TAGS,
    errors=(403,),
)
async def review_queue(request: web.Request, *, query: ReviewQuery) -> ReviewPage:
    request.config_dict[POLICY].check(require_principal(request), "review", lawyers.RESOURCE)
    page = await lawyers.list_applications(query.status, query.limit, query.cursor)
    return ReviewPage(items=[await review_out(a) for a in page.items], next_cursor=page.next_cursor)


@routes.get("/lawyers/applications/{application_id}")
@endpoint(
    "One lawyer application (the applicant or a reviewer)",
    response=ReviewApplicationOut,
    tags=TAGS,
    errors=(404,),
)
async def read_application(request: web.Request) -> ReviewApplicationOut:
    application = await lawyers.get_application(
        request.config_dict[POLICY],
        require_principal(request),
        _uuid(request, "application_id", "application"),
    )
    return await review_out(application)


@routes.get("/lawyers/applications/{application_id}/licence")
@endpoint(
    "Download the licence photo (the applicant or a reviewer)",
    tags=TAGS,
    response_content={
        "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
        "image/png": {"schema": {"type": "string", "format": "binary"}},
    },
    errors=(404,),
)
async def licence_photo(request: web.Request) -> web.StreamResponse:
    application = await lawyers.get_application(
        request.config_dict[POLICY],
        require_principal(request),
        _uuid(request, "application_id", "application"),
    )
    stored = await get_file(application.licence_file_id)
    return await file_response(request, stored.blob.as_stored(), stored.original_name)


async def _decide(request: web.Request, approve: bool, reason: str | None) -> ReviewApplicationOut:
    principal = require_principal(request)
    request.config_dict[POLICY].check(principal, "review", lawyers.RESOURCE)
    application = await lawyers.decide(
        _deps(request),
        _uuid(request, "application_id", "application"),
        approve,
        principal.account_id,
        request_actor(request),
        reason,
    )
    return await review_out(application)


@routes.post("/lawyers/applications/{application_id}/approve")
@endpoint(
    "Approve: the applicant's account gains the lawyer role",
    response=ReviewApplicationOut,
    tags=TAGS,
    errors=(403, 404, 409),
)
async def approve_application(request: web.Request) -> ReviewApplicationOut:
    return await _decide(request, True, None)


@routes.post("/lawyers/applications/{application_id}/reject")
@endpoint(
    "Reject with a reason the applicant sees",
    body=RejectIn,
    response=ReviewApplicationOut,
    tags=TAGS,
    errors=(403, 404, 409),
)
async def reject_application(request: web.Request, *, body: RejectIn) -> ReviewApplicationOut:
    return await _decide(request, False, body.reason)


# ------------------------------------------------------------------------------- assembly


def _is_realname_staff(principal: Principal, _resource: object) -> bool:
    return principal.has(Role.JUDGE, Role.CLERK, Role.COURT_ADMIN)


def _checks_in_person(principal: Principal, _resource: object) -> bool:
    return principal.has(Role.CLERK, Role.COURT_ADMIN)


def _reviews_lawyers(principal: Principal, _resource: object) -> bool:
    return principal.has(Role.COURT_ADMIN, Role.SYSTEM_ADMIN)


def register_policy(policy: Policy) -> None:
    policy.allow(REALNAME_RESOURCE, ["read"], _is_realname_staff)
    policy.allow(REALNAME_RESOURCE, ["verify_in_person"], _checks_in_person)
    policy.allow(lawyers.RESOURCE, ["review"], _reviews_lawyers)


async def clients_ctx(app: web.Application) -> AsyncIterator[None]:
    """The WeChat and SMS clients on the app's shared HTTP session, and the domain's deps.

    Must run after the HTTP client and database contexts (append it after them)."""
    settings, session = app[SETTINGS], app[HTTP_CLIENT]
    wechat, sms = WeChatClient(session, settings), SmsClient(session, settings)
    app[WECHAT_CLIENT] = wechat
    app[SMS_CLIENT] = sms
    app[IDENTITY] = IdentityDeps(
        cipher=FieldCipher(app[KEYRING].field_key),
        audit=app[AUDIT],
        auth=app[AUTH],
        limiter=app[RATE_LIMITER],
        policy=app[POLICY],
        wechat=wechat,
        sms=sms,
    )
    async with face_routes.face_pool(app):
        yield


def create_app() -> web.Application:
    app = web.Application()
    app.add_routes(routes)
    app.add_routes(face_routes.routes)
    return app
