"""Paper service by post, post that comes back, and public notice after it (CPL Art. 95).

A delivery in status ``postal`` is served on paper by a clerk. Post that comes back is recorded
(the delivery keeps waiting: the clerk may post again); when it came back because the addressee
cannot be found, the court may serve by public notice, deemed served 30 days after publication
(60 abroad) through the same rule the electronic fallback uses (``rules.effective_service``).

No HTTP here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient

from backend.audit.service import AuditLog
from backend.auth.principal import Actor
from backend.errors import Conflict, ValidationFailed
from service_of_process.consent import RESOURCE
from service_of_process.models import DeliveryStatus, PostalFailure, ServiceDelivery
from service_of_process.service import refresh_service

POSTAL_FAILURE_NAMES = {
    PostalFailure.RETURNED_UNDELIVERABLE: ("退回-无法投递", "returned as undeliverable"),
    PostalFailure.ADDRESSEE_UNKNOWN: ("查无此人", "addressee unknown at the address"),
    PostalFailure.WHEREABOUTS_UNKNOWN: ("下落不明", "whereabouts unknown"),
}


def failure_label(reason: str | None) -> str | None:
    """The "中文 / English" name of a recorded postal failure."""
    if reason is None:
        return None
    zh, en = POSTAL_FAILURE_NAMES[PostalFailure(reason)]
    return f"{zh} / {en}"


# CPL Art. 95: public notice "where the addressee's whereabouts are unknown, or service by the
# other means of this section is impossible". Our reading: post returned because nobody by that
# name is at the address, or the addressee's whereabouts are unknown, shows the person cannot be
# reached there; a plain "undeliverable" return (refused, address incomplete, nobody in) does not
# by itself exhaust the other means: the clerk should post again or serve another way first.
PUBLIC_NOTICE_GROUNDS = frozenset(
    {PostalFailure.ADDRESSEE_UNKNOWN, PostalFailure.WHEREABOUTS_UNKNOWN}
)


async def _waiting_for_post(conn: BaseDBAsyncClient, delivery_id: UUID) -> ServiceDelivery:
    delivery = await ServiceDelivery.filter(id=delivery_id).using_db(conn).select_for_update().get()
    if delivery.status != DeliveryStatus.POSTAL.value:
        raise Conflict(
            "this delivery is not waiting for postal service / 该送达不在待邮寄状态",
            code="not_postal",
        )
    return delivery


async def record_postal_service(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    delivery_id: UUID,
    served_at: datetime,
    tracking: str,
) -> ServiceDelivery:
    delivery = await _waiting_for_post(conn, delivery_id)
    delivery.postal_served_at = served_at
    delivery.postal_tracking = tracking
    await delivery.save(using_db=conn, update_fields=["postal_served_at", "postal_tracking"])
    await audit.record(
        conn,
        actor,
        "service.postal_served",
        RESOURCE,
        str(delivery.filing_id),
        {"delivery_id": str(delivery.id), "served_at": served_at.isoformat()},
    )
    return await refresh_service(conn, audit, delivery.id, actor=actor)


async def record_postal_failure(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    delivery_id: UUID,
    reason: PostalFailure,
    tracking: str,
    returned_at: datetime,
) -> ServiceDelivery:
    """Post came back: recorded (the latest return; the audit log keeps each one), the delivery
    still waits for service."""
    delivery = await _waiting_for_post(conn, delivery_id)
    delivery.postal_failed_at = returned_at.astimezone(UTC)
    delivery.postal_failure = reason.value
    delivery.postal_failure_tracking = tracking
    await delivery.save(
        using_db=conn,
        update_fields=["postal_failed_at", "postal_failure", "postal_failure_tracking"],
    )
    await audit.record(
        conn,
        actor,
        "service.postal_failed",
        RESOURCE,
        str(delivery.filing_id),
        {
            "delivery_id": str(delivery.id),
            "reason": reason.value,
            "tracking": tracking,
            "returned_at": returned_at.isoformat(),
        },
    )
    return delivery


async def publish_notice(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    delivery_id: UUID,
    published_at: datetime,
    medium: str,
    reference: str,
) -> ServiceDelivery:
    """Serve by public notice after post failed for a reason that allows it (see
    ``PUBLIC_NOTICE_GROUNDS``): deemed served 30 days after ``published_at`` (60 abroad), the
    deadlines from then, and a copy for a party that linked an account meanwhile on that day."""
    delivery = await _waiting_for_post(conn, delivery_id)
    if delivery.postal_failure not in PUBLIC_NOTICE_GROUNDS:
        raise Conflict(
            "public notice needs post returned with the addressee unknown or whereabouts "
            "unknown (CPL Art. 95) / 公告送达须以邮寄退回且查无此人或下落不明为前提",
            code="no_ground_for_public_notice",
        )
    assert delivery.postal_failed_at is not None
    if published_at < delivery.postal_failed_at:
        message = "published before the post came back / 公告日期早于邮件退回日期"
        raise ValidationFailed(
            f"published_at: {message}",
            errors=[
                {
                    "location": "body",
                    "field": "published_at",
                    "message": message,
                    "type": "value_error",
                }
            ],
        )
    delivery.status = DeliveryStatus.PUBLIC_NOTICE.value
    delivery.published_at = published_at
    delivery.notice_medium = medium
    delivery.notice_reference = reference
    await delivery.save(
        using_db=conn,
        update_fields=["status", "published_at", "notice_medium", "notice_reference"],
    )
    await audit.record(
        conn,
        actor,
        "service.public_notice",
        RESOURCE,
        str(delivery.filing_id),
        {
            "delivery_id": str(delivery.id),
            "published_at": published_at.isoformat(),
            "medium": medium,
            "reference": reference,
        },
    )
    return await refresh_service(conn, audit, delivery.id, actor=actor)
