"""Electronic service of documents: consents, service tasks, deliveries, attempts, receipts.

Statuses, channels, bases and rules are plain strings in the database (the enums below are the
Python side), so migrations never import them. Cross-domain references (filing, account, stored
file) are plain UUID columns: domains talk through services, never through each other's tables.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class Channel(StrEnum):
    INAPP = "inapp"  # the platform's own inbox
    WECHAT = "wechat"  # subscribe message: a courtesy notice only, never legal service
    SMS = "sms"  # a text with a short link
    EMAIL = "email"


class ConsentBasis(StrEnum):
    # Online Litigation Rules Art. 29: the ways consent to e-service is established.
    EXPLICIT = "explicit"
    PRIOR_AGREEMENT = "prior_agreement"
    PLEADINGS = "pleadings"
    ACCEPTED_WITHOUT_OBJECTION = "accepted_without_objection"


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # sending; not yet effective
    SERVED = "served"  # service date fixed
    POSTAL = "postal"  # no consent or plan exhausted: a clerk serves it on paper
    PUBLIC_NOTICE = "public_notice"  # published; deemed served 30 days later (CPL Art. 95)
    COPY = "copy"  # a copy for information of a delivery already served (``copy_of_id``)


class ServiceRule(StrEnum):
    # Online Litigation Rules Art. 31 / CPL Art. 90, 95: which rule fixed the service date.
    REACHED_CONFIRMED_ADDRESS = "reached_confirmed_address"
    RECIPIENT_ACTION = "recipient_action"
    READ_RECEIPT = "read_receipt"
    POSTAL = "postal"
    PUBLIC_NOTICE = "public_notice"


class PostalFailure(StrEnum):
    # Why post came back (names in postal.POSTAL_FAILURE_NAMES).
    RETURNED_UNDELIVERABLE = "returned_undeliverable"
    ADDRESSEE_UNKNOWN = "addressee_unknown"
    WHEREABOUTS_UNKNOWN = "whereabouts_unknown"


class AttemptStatus(StrEnum):
    SENDING = "sending"
    SENT = "sent"  # accepted by the gateway, no delivery report yet
    DELIVERED = "delivered"  # the delivery report says it reached the recipient's system
    FAILED = "failed"
    SKIPPED = "skipped"  # no address for this channel


class ServiceConsent(Model):
    # How one account consented to e-service in one case, and the addresses it gave or
    # confirmed (channel -> address; the in-app inbox has no address). Addresses are personal
    # data: stored encrypted (context "service_address") with their masked form.

    id = fields.UUIDField(primary_key=True)
    filing_id = fields.UUIDField()
    account_id = fields.UUIDField()
    basis = fields.CharField(max_length=32)
    evidence = fields.CharField(max_length=300, default="")
    addresses_enc = fields.BinaryField(null=True)
    addresses_masked: dict[str, str] = fields.JSONField(default=dict)
    recorded_by_id = fields.UUIDField()
    created_at = fields.DatetimeField()
    withdrawn_at = fields.DatetimeField(null=True)

    class Meta:
        table = "service_consent"
        indexes = (("filing_id", "account_id"),)


class ServiceTask(Model):
    # One act of service: documents served to recipients of a case with a channel plan.
    # ``origin_key`` makes creation from other domains idempotent (e.g. "filing:<id>:summons").

    id = fields.UUIDField(primary_key=True)
    filing_id = fields.UUIDField(db_index=True)
    court_code = fields.CharField(max_length=8)
    case_number = fields.CharField(max_length=64)
    court_name_zh = fields.CharField(max_length=100)
    origin = fields.CharField(max_length=32, default="manual")
    origin_key = fields.CharField(max_length=128, null=True, unique=True)
    plan: list[list[str]] = fields.JSONField()
    fallback = fields.CharField(max_length=16)
    escalate_after_s = fields.IntField()
    created_by_id = fields.UUIDField(null=True)
    created_at = fields.DatetimeField()
    # Set by the fan-out job in the transaction that enqueues the deliveries: a re-run sees it.
    fanned_out_at = fields.DatetimeField(null=True)

    class Meta:
        table = "service_task"


class ServiceDocument(Model):
    id = fields.UUIDField(primary_key=True)
    task: fields.ForeignKeyRelation[ServiceTask] = fields.ForeignKeyField(
        "service.ServiceTask", related_name="documents", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=32)
    title_zh = fields.CharField(max_length=100)
    title_en = fields.CharField(max_length=200)
    file_id = fields.UUIDField()
    sha256 = fields.CharField(max_length=64, db_index=True)
    size = fields.BigIntField()
    position = fields.SmallIntField()

    class Meta:
        table = "service_document"


class ServiceDelivery(Model):
    # The task's documents to one recipient: its attempts, receipt, service date and the rule
    # that fixed it with the evidence (which attempt or act, and when).

    id = fields.UUIDField(primary_key=True)
    task: fields.ForeignKeyRelation[ServiceTask] = fields.ForeignKeyField(
        "service.ServiceTask", related_name="deliveries", on_delete=fields.CASCADE
    )
    filing_id = fields.UUIDField(db_index=True)
    account_id = fields.UUIDField(null=True, db_index=True)
    party_id = fields.UUIDField(null=True)
    recipient_name = fields.CharField(max_length=200)
    recipient_role = fields.CharField(max_length=16)
    consent_basis = fields.CharField(max_length=32, null=True)
    # The recipient has no domicile in the PRC (as the clerk recorded it when serving): the
    # longer periods of CPL Art. 285–286 and 60 days for public notice apply.
    recipient_abroad = fields.BooleanField(default=False)
    status = fields.CharField(max_length=16, default=DeliveryStatus.PENDING.value)
    stage = fields.SmallIntField(default=0)
    service_date = fields.DatetimeField(null=True)
    service_rule = fields.CharField(max_length=32, null=True)
    service_evidence: dict[str, Any] = fields.JSONField(default=dict)
    signed_at = fields.DatetimeField(null=True)
    signed_method = fields.CharField(max_length=16, null=True)
    first_opened_at = fields.DatetimeField(null=True)
    postal_required_at = fields.DatetimeField(null=True)
    postal_reason = fields.CharField(max_length=32, null=True)
    postal_served_at = fields.DatetimeField(null=True)
    postal_tracking = fields.CharField(max_length=64, null=True)
    # Post that came back (CPL Art. 95 precondition for public notice): the latest return.
    postal_failed_at = fields.DatetimeField(null=True)
    postal_failure = fields.CharField(max_length=32, null=True)
    postal_failure_tracking = fields.CharField(max_length=64, null=True)
    published_at = fields.DatetimeField(null=True)
    notice_medium = fields.CharField(max_length=200, null=True)
    notice_reference = fields.CharField(max_length=100, null=True)
    created_at = fields.DatetimeField()
    # A copy for information of that delivery, already served on the same party some other way
    # (by post before the party linked an account): never service itself, so no receipt,
    # attempts or deadlines; it shows the original's service date, from which periods keep
    # running (不重新起算期间). One per original.
    copy_of_id = fields.UUIDField(null=True, unique=True)

    class Meta:
        table = "service_delivery"


class ServiceAttempt(Model):
    # One channel's try at one delivery; unique per (delivery, channel), so a re-run job never
    # sends or records twice. ``link_id`` is the opaque id of the short link in texts.

    id = fields.UUIDField(primary_key=True)
    delivery: fields.ForeignKeyRelation[ServiceDelivery] = fields.ForeignKeyField(
        "service.ServiceDelivery", related_name="attempts", on_delete=fields.CASCADE
    )
    channel = fields.CharField(max_length=16)
    stage = fields.SmallIntField()
    address_masked = fields.CharField(max_length=100, default="")
    address_confirmed = fields.BooleanField(default=False)
    status = fields.CharField(max_length=16, default=AttemptStatus.SENDING.value)
    gateway_message_id = fields.CharField(max_length=100, null=True)
    link_id = fields.CharField(max_length=32, null=True, unique=True)
    detail = fields.CharField(max_length=300, default="")
    tries = fields.IntField(default=0)
    created_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)
    delivered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "service_attempt"
        unique_together = (("delivery", "channel"),)


class ServiceAccess(Model):
    # Every look at a served document: notice viewed, signed, document opened or downloaded,
    # short link followed (Online Litigation Rules Art. 31: the whole process is logged).

    id = fields.BigIntField(primary_key=True)
    delivery_id = fields.UUIDField(db_index=True)
    document_id = fields.UUIDField(null=True)
    account_id = fields.UUIDField(null=True)
    action = fields.CharField(max_length=16)
    method = fields.CharField(max_length=16, null=True)
    at = fields.DatetimeField()

    class Meta:
        table = "service_access"


class ServiceDeadline(Model):
    # A time limit that runs from the service date (CPL Art. 85 counting via the calendar).

    id = fields.UUIDField(primary_key=True)
    delivery_id = fields.UUIDField(db_index=True)
    filing_id = fields.UUIDField(db_index=True)
    account_id = fields.UUIDField(null=True)
    kind = fields.CharField(max_length=16)
    article = fields.CharField(max_length=32)
    days = fields.IntField()
    start = fields.DateField()
    due = fields.DateField()
    rolled_over = fields.BooleanField(default=False)
    # The official holiday calendar of the due date's year is not published yet: the due date
    # is the nominal one and the court must confirm it once the calendar is out.
    provisional = fields.BooleanField(default=False)
    explanation_zh = fields.TextField()
    explanation_en = fields.TextField()

    class Meta:
        table = "service_deadline"
        unique_together = (("delivery_id", "kind"),)


class SignatureCode(Model):
    # A recipient's personal signature code for signing receipts; only its argon2 hash is kept.

    account_id = fields.UUIDField(primary_key=True)
    code_hash = fields.CharField(max_length=255)
    set_at = fields.DatetimeField()

    class Meta:
        table = "service_signature_code"
