"""Request and response shapes of /api/v1/identity/.

Responses carry personal numbers only masked (``3302**********123X``, ``138****5678``); the
full values have no field to travel in.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from backend.auth.schemas import RoleOut
from backend.schemas import Input, Output, Page, PageQuery
from identity.models import ConsentPurpose, LawyerApplicationStatus

# ---------------------------------------------------------------- WeChat login


class WeChatLoginIn(Input):
    code: str = Field(min_length=1, max_length=128, description="the code from wx.login()")


class WeChatLoginOut(Output):
    token_type: str = "Bearer"
    access_token: str
    refresh_token: str
    expires_in: int = Field(description="seconds until the access token expires")
    account_id: UUID
    is_new_account: bool


# ---------------------------------------------------------------- phone


class PhoneCodeIn(Input):
    code: str = Field(
        min_length=1, max_length=256, description="the code from the getPhoneNumber button"
    )


class SmsSendIn(Input):
    phone: str = Field(min_length=11, max_length=20, description="mainland China mobile number")


class SmsSentOut(Output):
    phone_masked: str
    expires_in: int = Field(description="seconds the code stays valid")


class SmsVerifyIn(Input):
    phone: str = Field(min_length=11, max_length=20)
    code: str = Field(pattern=r"^[0-9]{6}$")


class PhoneOut(Output):
    phone_masked: str = Field(examples=["138****5678"])
    country_code: str
    source: str = Field(description="wechat | sms")
    verified_at: datetime


# ---------------------------------------------------------------- real name


class RealNameIn(Input):
    name: str = Field(min_length=2, max_length=64)
    id_number: str = Field(min_length=1, max_length=32, description="18-character resident ID")


class RealNameOut(Output):
    name: str
    id_number_masked: str = Field(examples=["3302**********123X"])
    birth_date: date
    sex: str
    is_minor: bool = Field(description="under 18 today")
    guardian_required: bool = Field(
        description="a minor acts through a guardian (Civil Code Art. 19-23)"
    )
    status: str = Field(description="pending_face | verified")
    method: str | None = Field(description="face | in_person, once verified")
    verified_at: datetime | None
    status_text: str


class InPersonIn(Input):
    note: str = Field(
        min_length=2,
        max_length=500,
        description="what was checked (document type, desk); do not type the ID number",
    )


class StaffRealNameOut(RealNameOut):
    account_id: UUID


# ---------------------------------------------------------------- organisations


class OrganisationIn(Input):
    name: str = Field(min_length=2, max_length=200)
    credit_code: str = Field(min_length=1, max_length=32)
    legal_representative_account_id: UUID


class OrganisationOut(Output):
    id: UUID
    name: str
    credit_code: str
    organisation_type: str | None
    legal_representative_account_id: UUID
    legal_representative_name_masked: str
    created_at: datetime


class OrganisationList(Output):
    items: list[OrganisationOut]


# ---------------------------------------------------------------- consents


class ConsentIn(Input):
    purpose: ConsentPurpose
    notice_version: str = Field(min_length=1, max_length=32)
    granted: bool


class ConsentOut(Output):
    id: UUID
    purpose: str
    notice_version: str
    granted_at: datetime
    withdrawn_at: datetime | None
    active: bool


class ConsentStateOut(Output):
    purpose: ConsentPurpose
    active: bool
    consent: ConsentOut | None


class ConsentList(Output):
    current: list[ConsentStateOut]
    history: list[ConsentOut]


class NoticeOut(Output):
    purpose: ConsentPurpose
    version: str
    sensitive: bool = Field(description="sensitive personal information: separate consent")
    title_zh: str
    title_en: str
    text_zh: str
    text_en: str


class NoticeList(Output):
    items: list[NoticeOut]


# ---------------------------------------------------------------- staff


class StaffLoginIn(Input):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    totp: str | None = Field(default=None, pattern=r"^[0-9]{6}$")


class StaffCredentialsIn(Input):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TotpConfirmIn(StaffCredentialsIn):
    totp: str = Field(pattern=r"^[0-9]{6}$")


class TokenOut(Output):
    token_type: str = "Bearer"
    access_token: str
    refresh_token: str
    expires_in: int


class TotpEnrolmentOut(Output):
    secret: str = Field(description="base32; shown once, store it in an authenticator app")
    provisioning_uri: str = Field(description="otpauth:// URI for a QR code; shown once")
    step_seconds: int = 30
    digits: int = 6


class TotpConfirmedOut(Output):
    enrolled: bool


class StepUpIn(Input):
    totp: str = Field(pattern=r"^[0-9]{6}$", description="the current code of your authenticator")


class StepUpOut(Output):
    access_token: str = Field(description="same session, now carrying the step-up time")
    expires_in: int
    step_up_verified_at: datetime
    step_up_valid_until: datetime
    method: str = "totp"


class StaffCreateIn(Input):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    display_name: str = Field(min_length=1, max_length=100)
    role: Literal["judge", "clerk"]
    password: str = Field(min_length=1, max_length=256)
    court_code: str | None = Field(
        default=None, max_length=16, description="defaults to the administrator's own court"
    )


class StaffOut(Output):
    id: UUID
    username: str
    display_name: str
    roles: list[RoleOut]
    court_code: str | None
    created_at: datetime


# ---------------------------------------------------------------- lawyers


class LawyerApplicationOut(Output):
    id: UUID
    status: LawyerApplicationStatus
    licence_number: str
    law_firm: str
    licence_file_id: UUID
    submitted_at: datetime
    decided_at: datetime | None
    reason: str | None = Field(description="why it was rejected")
    status_text: str


class ReviewApplicationOut(LawyerApplicationOut):
    applicant_account_id: UUID
    applicant_name: str | None
    applicant_id_number_masked: str | None
    applicant_realname_status: str | None


class LawyerApplicationList(Output):
    items: list[LawyerApplicationOut]


class ReviewPage(Page[ReviewApplicationOut]):
    pass


class ReviewQuery(PageQuery):
    status: LawyerApplicationStatus = LawyerApplicationStatus.PENDING


class RejectIn(Input):
    reason: str = Field(min_length=2, max_length=500)


LAWYER_FORM: dict[str, Any] = {
    "schema": {
        "type": "object",
        "required": ["licence_number", "law_firm", "licence_photo"],
        "properties": {
            "licence_number": {
                "type": "string",
                "pattern": "^([0-9]{17}|[0-9]{12})$",
                "description": "执业证号: 17 digits (older licences 12)",
            },
            "law_firm": {"type": "string", "maxLength": 200},
            "licence_photo": {
                "type": "string",
                "format": "binary",
                "description": "JPEG or PNG photo of the licence, last part, at most 10 MiB",
            },
        },
    },
    "encoding": {"licence_photo": {"contentType": "image/jpeg, image/png"}},
}


# ---------------------------------------------------------------- me


class ProfileOut(Output):
    account_id: UUID
    display_name: str
    roles: list[RoleOut]
    wechat_linked: bool
    phone: PhoneOut | None
    real_name: RealNameOut | None
    consents: list[ConsentStateOut]
    lawyer_application: LawyerApplicationOut | None


# ---------------------------------------------------------------- face checks


class FaceVerificationOut(Output):
    verification_id: UUID
    purpose: str = Field(description="realname | presence")
    result: str = Field(description="match (refusals are answered as problems)")
    method: str
    created_at: datetime
    realname_status: str = Field(description="pending_face | verified")
    realname_method: str | None = Field(description="face | in_person")
    realname_verified_at: datetime | None


class LivenessActionOut(Output):
    action: str = Field(description="blink | turn_left | turn_right | open_mouth")
    prompt_zh: str
    prompt_en: str
    prompt_zh_en: str = Field(examples=["请眨眼 / Blink"])


class LivenessChallengeOut(Output):
    challenge_id: UUID
    nonce: str = Field(description="single use; send it back with the frames")
    actions: list[LivenessActionOut] = Field(description="do them in this order")
    expires_at: datetime
    ttl_s: int
    min_frames: int
    max_frames: int
    mirrored_hint: str = Field(
        default="send mirrored=true when the frames are mirrored like a selfie preview",
    )


class PresenceTokenOut(Output):
    verification_id: UUID
    token_type: str = "Bearer"
    access_token: str = Field(description="same session, now carrying the presence time")
    expires_in: int
    presence_verified_at: datetime
    presence_valid_until: datetime
    max_age_s: int


class PresenceOut(Output):
    present: bool
    presence_verified_at: datetime
    presence_valid_until: datetime
    max_age_s: int


_IMAGE = {"type": "string", "format": "binary"}

FACE_VERIFY_FORM: dict[str, Any] = {
    "schema": {
        "type": "object",
        "required": ["id_portrait", "selfie"],
        "properties": {
            "id_portrait": {
                **_IMAGE,
                "description": "the portrait side of the ID card (or the authority-issued photo), "
                "JPEG or PNG, at most 8 MiB; keep the file: presence checks ask for the same one",
            },
            "selfie": {**_IMAGE, "description": "a photo of your face, JPEG or PNG, at most 8 MiB"},
        },
    },
    "encoding": {
        "id_portrait": {"contentType": "image/jpeg, image/png"},
        "selfie": {"contentType": "image/jpeg, image/png"},
    },
}

LIVENESS_FORM: dict[str, Any] = {
    "schema": {
        "type": "object",
        "required": ["nonce", "id_portrait"],
        "properties": {
            "nonce": {"type": "string", "description": "from the challenge; sent first"},
            "mirrored": {
                "type": "boolean",
                "default": False,
                "description": "the frames are mirrored (selfie preview); before any file",
            },
            "id_portrait": {
                **_IMAGE,
                "description": "the same ID-portrait file accepted at real-name verification",
            },
            "clip": {
                "type": "string",
                "format": "binary",
                "description": "MP4 or WebM, at most 6 s and 20 MiB (or send frames)",
            },
            "frame": {
                "type": "array",
                "items": _IMAGE,
                "description": "8-60 JPEG/PNG frames in order, about 10 a second, same size",
            },
        },
    },
    "encoding": {
        "id_portrait": {"contentType": "image/jpeg, image/png"},
        "clip": {"contentType": "video/mp4, video/webm"},
        "frame": {"contentType": "image/jpeg, image/png"},
    },
}
