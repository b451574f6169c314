"""Filing reference data (courts, causes of action) and the case-number counters.

Levels, categories and type codes are plain strings in the database (the enums and catalogues in
``filing.catalogue`` / ``filing.case_numbers`` are the Python side), so migrations never import
them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class CourtLevel(StrEnum):
    HIGH = "high"
    INTERMEDIATE = "intermediate"
    BASIC = "basic"
    INTERNET = "internet"


class Court(Model):
    # A people's court. ``code`` is the court code of its case numbers (浙0281); ``parent_code``
    # the court that hears its appeals. ``fee_schedule`` is a filing.fees.CourtFeeSchedule as
    # JSON (the province's amounts inside the statutory ranges).

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=8, unique=True)
    name_zh = fields.CharField(max_length=100)
    name_en = fields.CharField(max_length=200)
    level = fields.CharField(max_length=16)
    region_code = fields.CharField(max_length=6)  # GB/T 2260 administrative division code
    parent_code = fields.CharField(max_length=8, null=True)
    case_types: list[str] = fields.JSONField(default=list)  # type codes heard: ["民初", "民终", …]
    # Internet courts: keys of filing.catalogue.INTERNET_COURT_CATEGORIES they hear.
    designated_categories: list[str] = fields.JSONField(default=list)
    fee_schedule: dict[str, Any] = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "filing_court"


class CauseOfAction(Model):
    # A civil cause of action (民事案件案由规定). ``position`` keeps the catalogue order and is the
    # pagination key.

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    parent_code = fields.CharField(max_length=64, null=True)
    level = fields.SmallIntField()
    position = fields.IntField(unique=True)
    name_zh = fields.CharField(max_length=100)
    name_en = fields.CharField(max_length=200)
    part_zh = fields.CharField(max_length=100)
    part_en = fields.CharField(max_length=200)
    category_zh = fields.CharField(max_length=100)
    category_en = fields.CharField(max_length=200)
    internet_category = fields.CharField(max_length=48, null=True)

    class Meta:
        table = "filing_cause"


class CaseNumberCounter(Model):
    # The last serial handed out per court + type + year; incremented in place by
    # filing.case_numbers.allocate_serial under the row lock of the registration transaction.

    id = fields.IntField(primary_key=True)
    court_code = fields.CharField(max_length=8)
    type_code = fields.CharField(max_length=4)
    year = fields.SmallIntField()
    last_serial = fields.IntField()

    class Meta:
        table = "filing_case_counter"
        unique_together = (("court_code", "type_code", "year"),)


# ------------------------------------------------------------------------------ filings


class FilingStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    CORRECTION_REQUESTED = "correction_requested"
    RESUBMITTED = "resubmitted"
    FORWARDED = "forwarded"
    REGISTERED = "registered"
    REFUSED = "refused"


class Filing(Model):
    # A complaint (起诉状) from draft to registration or refusal. ``receiving_court_code`` is where
    # the litigant filed; ``competent_court_code`` the court routing found to have jurisdiction
    # (it reviews and registers). Court codes are plain strings like the reference data.

    id = fields.UUIDField(primary_key=True)
    receiving_court_code = fields.CharField(max_length=8)
    competent_court_code = fields.CharField(max_length=8, null=True)
    case_type_code = fields.CharField(max_length=4, default="民初")
    procedure = fields.CharField(max_length=16, default="ordinary")
    cause_code = fields.CharField(max_length=64)
    claim_amount = fields.DecimalField(max_digits=16, decimal_places=2, null=True)
    performance_region_code = fields.CharField(max_length=6, null=True)
    claims = fields.TextField(default="")
    facts_and_reasons = fields.TextField(default="")
    status = fields.CharField(max_length=24, default=FilingStatus.DRAFT.value)
    routing_reasons: list[dict[str, str]] = fields.JSONField(default=list)
    received_at = fields.DatetimeField(null=True)
    clock_started_at = fields.DatetimeField(null=True)
    decision_due_on = fields.DateField(null=True)
    decided_at = fields.DatetimeField(null=True)
    refusal_reason = fields.TextField(null=True)
    case_number = fields.CharField(max_length=64, null=True, unique=True)
    fee_total = fields.DecimalField(max_digits=16, decimal_places=2, null=True)
    fee_due_on = fields.DateField(null=True)
    fee_quote: dict[str, Any] | None = fields.JSONField(null=True)
    fee_paid_at = fields.DatetimeField(null=True)  # set by the verified payment notification
    # What is due after a granted fee relief (Decree 481 Art. 44-47): null while none was
    # granted (fee_total is due); 0 when waived. ``fee_relief`` names the relief granted.
    fee_payable = fields.DecimalField(max_digits=16, decimal_places=2, null=True)
    fee_relief = fields.CharField(max_length=16, null=True)
    # The decision date an overdue-clock alert was raised for (once per clock; a correction
    # restarts the clock and may raise a new one).
    clock_alerted_due_on = fields.DateField(null=True)
    assigned_judge_id = fields.UUIDField(null=True)
    assigned_clerk_id = fields.UUIDField(null=True)
    created_by_id = fields.UUIDField(db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "filing_filing"
        indexes = (
            ("competent_court_code", "status"),
            # dashboard page order (newest first, keyset on created_at, id)
            ("created_at", "id"),
            # clock alerts: pending filings by decision date
            ("status", "decision_due_on"),
        )


class IdType(StrEnum):
    # The document identifying a party (filing.parties.DOCUMENTS has names and checks).
    RESIDENT_ID = "resident_id"
    HMT_RESIDENCE_PERMIT = "hmt_residence_permit"
    HK_MACAU_PERMIT = "hk_macau_permit"
    TAIWAN_PERMIT = "taiwan_permit"
    FOREIGN_PERMANENT_RESIDENT_ID = "foreign_permanent_resident_id"
    PASSPORT = "passport"
    CREDIT_CODE = "credit_code"
    FOREIGN_REGISTRATION = "foreign_registration"


class Party(Model):
    # A plaintiff, defendant or third party, identified by the document ``id_type``. A person's
    # document number is stored encrypted with a keyed lookup hash and a masked form (resident
    # IDs in context "resident_id", as identity's real-name records); organisations carry their
    # unified social credit code, or a registration number abroad. ``country``: ISO 3166-1
    # alpha-3 of a passport's nationality or of a foreign organisation's registration.

    id = fields.UUIDField(primary_key=True)
    filing: fields.ForeignKeyRelation[Filing] = fields.ForeignKeyField(
        "filing.Filing", related_name="parties", on_delete=fields.CASCADE
    )
    role = fields.CharField(max_length=16)
    kind = fields.CharField(max_length=16)
    name = fields.CharField(max_length=200)
    id_type = fields.CharField(max_length=32, default="resident_id", db_default="resident_id")
    id_number_enc = fields.BinaryField(null=True)
    id_number_hash = fields.CharField(max_length=64, null=True, db_index=True)
    id_number_masked = fields.CharField(max_length=20, null=True)
    credit_code = fields.CharField(max_length=18, null=True)
    registration_number = fields.CharField(max_length=40, null=True)
    country = fields.CharField(max_length=3, null=True)
    region_code = fields.CharField(max_length=6)
    address = fields.CharField(max_length=300)
    service_address = fields.CharField(max_length=200, null=True)
    service_address_confirmed = fields.BooleanField(default=False)
    # No domicile in the PRC mainland: service gives such a party the 30-day response and
    # appeal periods of CPL Art. 285-286 (and 60-day public notice).
    domiciled_abroad = fields.BooleanField(default=False)
    account_id = fields.UUIDField(null=True, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "filing_party"
        indexes = (("filing_id",),)


class Representation(Model):
    # A lawyer acting for a party under a power of attorney (授权委托书); revoked_at ends it.

    id = fields.UUIDField(primary_key=True)
    party: fields.ForeignKeyRelation[Party] = fields.ForeignKeyField(
        "filing.Party", related_name="representations", on_delete=fields.CASCADE
    )
    lawyer_account_id = fields.UUIDField(db_index=True)
    power_of_attorney_file_id = fields.UUIDField()
    granted_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "filing_representation"
        indexes = (("party_id",), ("lawyer_account_id", "revoked_at"))


class Evidence(Model):
    # One evidence item; ``anchor_seq`` is the audit-chain event recording its upload, so its
    # SHA-256 is fixed in the hash chain from that moment.

    id = fields.UUIDField(primary_key=True)
    filing: fields.ForeignKeyRelation[Filing] = fields.ForeignKeyField(
        "filing.Filing", related_name="evidence", on_delete=fields.CASCADE
    )
    title = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    file_id = fields.UUIDField()
    sha256 = fields.CharField(max_length=64, db_index=True)
    size = fields.BigIntField()
    media_type = fields.CharField(max_length=100)
    uploaded_by_id = fields.UUIDField()
    uploaded_at = fields.DatetimeField()
    anchor_seq = fields.BigIntField(null=True)
    removed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "filing_evidence"
        indexes = (("filing_id",),)


class CorrectionNotice(Model):
    # The one notice listing every correction a deficient complaint needs (立案登记制).

    id = fields.UUIDField(primary_key=True)
    filing: fields.ForeignKeyRelation[Filing] = fields.ForeignKeyField(
        "filing.Filing", related_name="corrections", on_delete=fields.CASCADE
    )
    items: list[str] = fields.JSONField()
    deadline = fields.DateField()
    issued_by_id = fields.UUIDField()
    issued_at = fields.DatetimeField()
    answered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "filing_correction"
        indexes = (("filing_id",),)


class Forwarding(Model):
    # Cross-regional filing: the receiving court forwards the material to the competent court.

    id = fields.UUIDField(primary_key=True)
    filing: fields.ForeignKeyRelation[Filing] = fields.ForeignKeyField(
        "filing.Filing", related_name="forwardings", on_delete=fields.CASCADE
    )
    from_court_code = fields.CharField(max_length=8)
    to_court_code = fields.CharField(max_length=8)
    reason = fields.TextField()
    at = fields.DatetimeField()

    class Meta:
        table = "filing_forwarding"
        indexes = (("filing_id",),)


class CaseEvent(Model):
    # The case record's timeline. ``visibility``: "all" (parties and court) or "court".

    id = fields.BigIntField(primary_key=True)
    filing: fields.ForeignKeyRelation[Filing] = fields.ForeignKeyField(
        "filing.Filing", related_name="events", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=48)
    actor_id = fields.UUIDField(null=True)
    at = fields.DatetimeField()
    details: dict[str, Any] = fields.JSONField(default=dict)
    visibility = fields.CharField(max_length=8, default="all")

    class Meta:
        table = "filing_case_event"
        indexes = (("filing_id", "at"),)


class PaymentStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    # Money arrived for a fee already paid (or superseded): recorded, never credited, and to be
    # refunded (Decree 481 Art. 53: within 15 days).
    REFUND_DUE = "refund_due"
    # A pending order replaced by a newer one (e.g. after a reduction) and closed at WeChat.
    CLOSED = "closed"


class Payment(Model):
    # A WeChat Pay (JSAPI) order for a registered case's fee. ``out_trade_no`` is ours (server
    # chosen), ``transaction_id`` WeChat's, set once the verified notification arrives; the
    # unique constraint on it makes a duplicate notification change nothing.

    id = fields.UUIDField(primary_key=True)
    filing: fields.ForeignKeyRelation[Filing] = fields.ForeignKeyField(
        "filing.Filing", related_name="payments", on_delete=fields.CASCADE
    )
    out_trade_no = fields.CharField(max_length=32, unique=True)
    amount_fen = fields.BigIntField()
    payer_account_id = fields.UUIDField(db_index=True)
    status = fields.CharField(max_length=16, default=PaymentStatus.PENDING.value)
    prepay_id = fields.CharField(max_length=128, null=True)
    transaction_id = fields.CharField(max_length=64, null=True, unique=True)
    paid_at = fields.DatetimeField(null=True)
    # Sent to WeChat as time_expire: after it the order cannot be paid and another may be placed.
    expires_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "filing_payment"
        indexes = (("filing_id", "status"),)


class FeeReliefKind(StrEnum):
    # Decree 481 Art. 44-47: 缓交 / 减交 / 免交
    DEFERRAL = "deferral"
    REDUCTION = "reduction"
    WAIVER = "waiver"


class FeeReliefStatus(StrEnum):
    PENDING = "pending"
    GRANTED = "granted"
    REFUSED = "refused"


class FeeRelief(Model):
    # A natural-person party's application to defer, reduce or waive the case fee, and the
    # court's decision. ``granted_payable`` / ``granted_due_on`` are what a grant set.

    id = fields.UUIDField(primary_key=True)
    filing: fields.ForeignKeyRelation[Filing] = fields.ForeignKeyField(
        "filing.Filing", related_name="fee_reliefs", on_delete=fields.CASCADE
    )
    party: fields.ForeignKeyRelation[Party] = fields.ForeignKeyField(
        "filing.Party", related_name="fee_reliefs", on_delete=fields.CASCADE
    )
    applicant_account_id = fields.UUIDField()
    kind = fields.CharField(max_length=16)
    grounds = fields.TextField()
    supporting_file_id = fields.UUIDField(null=True)
    requested_payable = fields.DecimalField(max_digits=16, decimal_places=2, null=True)
    requested_due_on = fields.DateField(null=True)
    status = fields.CharField(max_length=16, default=FeeReliefStatus.PENDING.value)
    decided_by_id = fields.UUIDField(null=True)
    decided_at = fields.DatetimeField(null=True)
    decision_reason = fields.TextField(null=True)
    granted_payable = fields.DecimalField(max_digits=16, decimal_places=2, null=True)
    granted_due_on = fields.DateField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "filing_fee_relief"
        indexes = (("filing_id", "status"),)
