"""Identity records: WeChat links, phones, real names, organisations, consents, staff TOTP, lawyers.

Personal data lives here, not on ``auth.Account``: the account's ``display_name`` stays a nickname
so other people never see a real name through it. ID numbers and phone numbers are stored
encrypted (``FieldCipher``, context-bound) next to a keyed lookup hash and a masked form for
display; the clear value is never needed to answer a request.

Statuses are plain strings in the database (the enums below are the Python side), so migrations
never import these classes.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from backend.auth.models import Account


class RealNameStatus(StrEnum):
    PENDING_FACE = "pending_face"  # ID checked; a face match or an in-person check is still due
    VERIFIED = "verified"


class VerificationMethod(StrEnum):
    FACE = "face"
    IN_PERSON = "in_person"


class PhoneSource(StrEnum):
    WECHAT = "wechat"
    SMS = "sms"


class ConsentPurpose(StrEnum):
    PERSONAL_INFO = "personal_info"
    BIOMETRIC_FACE = "biometric_face"  # PIPL Art. 29: separate consent for sensitive data
    E_SERVICE = "e_service"  # Online Litigation Rules Art. 29


class LawyerApplicationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class WeChatIdentity(Model):
    # One mini-program user (openid under our appid) linked to one account. The unionid, when
    # WeChat gives one, ties openids of our other apps to the same account.

    id = fields.UUIDField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "auth.Account", related_name="wechat_identities", on_delete=fields.CASCADE
    )
    appid = fields.CharField(max_length=32)
    openid = fields.CharField(max_length=64)
    unionid = fields.CharField(max_length=64, null=True, db_index=True)
    # AES-GCM (context "wechat_session_key"); needed only to decrypt data the mini-program sends.
    session_key_enc = fields.BinaryField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_login_at = fields.DatetimeField()

    class Meta:
        table = "identity_wechat"
        unique_together = (("appid", "openid"),)


class PhoneBinding(Model):
    # The account's verified mobile number (one per account).

    id = fields.UUIDField(primary_key=True)
    account: fields.OneToOneRelation[Account] = fields.OneToOneField(
        "auth.Account", related_name="phone_binding", on_delete=fields.CASCADE
    )
    phone_enc = fields.BinaryField()
    phone_hash = fields.CharField(max_length=64, db_index=True)
    phone_masked = fields.CharField(max_length=24)
    country_code = fields.CharField(max_length=4, default="86")
    source = fields.CharField(max_length=16)
    verified_at = fields.DatetimeField()

    class Meta:
        table = "identity_phone"


class SmsOtp(Model):
    # A one-time code sent by SMS; only a keyed hash of the code is kept.

    id = fields.UUIDField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "auth.Account", related_name="sms_otps", on_delete=fields.CASCADE
    )
    phone_hash = fields.CharField(max_length=64, db_index=True)
    code_hash = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(db_index=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    attempts = fields.IntField(default=0)

    class Meta:
        table = "identity_sms_otp"


class RealName(Model):
    # A natural person's real-name record (Online Litigation Rules Art. 7).

    id = fields.UUIDField(primary_key=True)
    account: fields.OneToOneRelation[Account] = fields.OneToOneField(
        "auth.Account", related_name="real_name", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=64)
    id_number_enc = fields.BinaryField()
    # Keyed hash: one ID number can be claimed by one account only.
    id_number_hash = fields.CharField(max_length=64, unique=True)
    id_number_masked = fields.CharField(max_length=18)
    birth_date = fields.DateField()
    sex = fields.CharField(max_length=8)
    # Under 18 when the record was made (Civil Code Art. 17-19): a guardian must act with them.
    is_minor = fields.BooleanField(default=False)
    guardian_required = fields.BooleanField(default=False)
    status = fields.CharField(max_length=16, default=RealNameStatus.PENDING_FACE.value)
    method = fields.CharField(max_length=16, null=True)
    verified_at = fields.DatetimeField(null=True)
    verified_by_id = fields.UUIDField(null=True)
    verification_note = fields.CharField(max_length=500, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "identity_realname"


class Organisation(Model):
    # A legal person or other organisation, identified by its unified social credit code.

    id = fields.UUIDField(primary_key=True)
    name = fields.CharField(max_length=200)
    credit_code = fields.CharField(max_length=18, unique=True)
    legal_representative: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "auth.Account", related_name="represented_organisations", on_delete=fields.RESTRICT
    )
    created_by_id = fields.UUIDField(db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "identity_organisation"


class Consent(Model):
    # One grant of consent to one notice version (PIPL Art. 14, 29); withdrawal keeps the row.

    id = fields.UUIDField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "auth.Account", related_name="consents", on_delete=fields.CASCADE
    )
    purpose = fields.CharField(max_length=32)
    notice_version = fields.CharField(max_length=32)
    granted_at = fields.DatetimeField()
    withdrawn_at = fields.DatetimeField(null=True)

    class Meta:
        table = "identity_consent"
        indexes = (("account_id", "purpose"),)


class StaffTotp(Model):
    # A staff member's TOTP secret (RFC 6238), encrypted; usable once confirmed.

    id = fields.UUIDField(primary_key=True)
    account: fields.OneToOneRelation[Account] = fields.OneToOneField(
        "auth.Account", related_name="totp", on_delete=fields.CASCADE
    )
    secret_enc = fields.BinaryField()
    confirmed_at = fields.DatetimeField(null=True)
    # The last accepted time step: a code is accepted only for a later step (no replay).
    last_used_step = fields.BigIntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "identity_staff_totp"


class LawyerApplication(Model):
    # A request to act as a lawyer, reviewed by a court administrator.

    id = fields.UUIDField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "auth.Account", related_name="lawyer_applications", on_delete=fields.CASCADE
    )
    licence_number = fields.CharField(max_length=17)
    law_firm = fields.CharField(max_length=200)
    licence_file_id = fields.UUIDField()
    status = fields.CharField(max_length=16, default=LawyerApplicationStatus.PENDING.value)
    reason = fields.CharField(max_length=500, null=True)
    submitted_at = fields.DatetimeField(db_index=True)
    decided_at = fields.DatetimeField(null=True)
    decided_by_id = fields.UUIDField(null=True)

    class Meta:
        table = "identity_lawyer_application"
        indexes = (("status", "submitted_at"),)


class FacePurpose(StrEnum):
    REALNAME = "realname"  # first verification of the real-name record (photo match)
    PRESENCE = "presence"  # step-up: liveness + match before signing or entering a hearing


class FaceResult(StrEnum):
    MATCH = "match"
    NO_MATCH = "no_match"
    # The photos or frames could not be used (no face, blurred …): no comparison was made.
    UNUSABLE = "unusable"
    # Liveness failed (still photo, actions missing or out of order …).
    LIVENESS_FAILED = "liveness_failed"
    # The ID portrait is not the one accepted when the real name was verified.
    REFERENCE_MISMATCH = "reference_mismatch"


class FaceVerification(Model):
    # One face-check decision (PIPL Art. 19: the decision is kept, never the images or the face
    # encodings). `reference_digest` is a keyed hash of the ID-portrait *file* accepted at the
    # real-name match: it ties later presence checks to that portrait without keeping any face
    # data (it cannot be turned back into an image or used to recognise anyone), and it is erased
    # when the biometric consent is withdrawn.

    id = fields.UUIDField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "auth.Account", related_name="face_verifications", on_delete=fields.CASCADE
    )
    purpose = fields.CharField(max_length=16)
    result = fields.CharField(max_length=24)
    # The engine's or the liveness checker's code when refused (no_face, static_sequence …).
    reason_code = fields.CharField(max_length=32, null=True)
    # Which input failed: id_portrait, selfie, frame, clip.
    failed_input = fields.CharField(max_length=16, null=True)
    distance = fields.FloatField(null=True)
    threshold = fields.FloatField(null=True)
    method = fields.CharField(max_length=48)
    liveness_passed = fields.BooleanField(null=True)
    liveness_reason = fields.CharField(max_length=32, null=True)
    challenge_id = fields.UUIDField(null=True)
    reference_digest = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "identity_face_verification"
        indexes = (("account_id", "created_at"),)


class LivenessChallenge(Model):
    # A liveness challenge: two actions in order, a single-use nonce (only its hash is kept) and
    # a short expiry. Consumed with a conditional UPDATE, so a nonce works once across processes.

    id = fields.UUIDField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "auth.Account", related_name="liveness_challenges", on_delete=fields.CASCADE
    )
    nonce_hash = fields.CharField(max_length=64)
    # Comma-separated, in the order asked: "blink,turn_left".
    actions = fields.CharField(max_length=64)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "identity_liveness_challenge"
        indexes = (("account_id", "expires_at"),)
