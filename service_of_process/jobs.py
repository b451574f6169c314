"""Delivery on the durable job system.

- ``service.fan_out {task_id}``: one transaction marks the task fanned out and enqueues one
  ``service.deliver`` per delivery; a re-run (crash after commit, before the job was marked
  done) finds the mark and does nothing, a crash before commit leaves nothing behind.
- ``service.deliver {delivery_id, stage}``: schedules the stage's escalation check, then sends
  every channel of the stage at once. Each channel's attempt is a row unique per (delivery,
  channel), written before the gateway call and settled after it, so a re-run never records a
  second attempt or receipt; a failing gateway fails only its own attempt, which is retried with
  the job's backoff while the other channels' results are already committed.
- ``service.report {attempt_id}``: polls the SMS gateway's delivery report until it has one.
- ``service.escalate {delivery_id, stage}``: not effective in time → the next stage; after the
  last stage → the plan's fallback (postal task, or public notice deemed served 30 days later).

Handlers build their clients from the settings (a worker process has no web application).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import aiohttp
from tortoise.transactions import in_transaction

from backend.audit.service import AuditLog
from backend.auth.principal import Actor
from backend.fieldcrypto import FieldCipher
from backend.jobs.queue import JobContext, JobRegistry, PermanentJobError, enqueue
from backend.keys import KeyRing, load_keyring
from backend.settings import Settings
from filing.models import Party
from identity.models import PhoneBinding, WeChatIdentity
from identity.phone import PHONE_CONTEXT, mask_phone
from service_of_process.channels import (
    GatewayRefused,
    Gateways,
    GatewayUnavailable,
    Notice,
)
from service_of_process.consent import RESOURCE, ConsentView, consent_of, mask_address
from service_of_process.models import (
    AttemptStatus,
    Channel,
    DeliveryStatus,
    ServiceAttempt,
    ServiceDelivery,
    ServiceDocument,
    ServiceTask,
)
from service_of_process.rules import EFFECTIVE_CHANNELS
from service_of_process.service import (
    JOB_DELIVER,
    JOB_ESCALATE,
    JOB_FAN_OUT,
    JOB_REPORT,
    Fallback,
    refresh_service,
    utcnow,
)

log = logging.getLogger("mobile_court.service.jobs")
REPORT_POLL_S = 30
SETTLED = frozenset({AttemptStatus.DELIVERED, AttemptStatus.FAILED, AttemptStatus.SKIPPED})


def link_url(settings: Settings, link_id: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/api/v1/service/s/{link_id}"


@dataclass
class ServiceRuntime:
    """What the handlers share in one process; the key ring is read on first use."""

    settings: Settings
    _keyring: KeyRing | None = field(default=None, repr=False)

    @property
    def keyring(self) -> KeyRing:
        if self._keyring is None:
            self._keyring = load_keyring(self.settings)
        return self._keyring

    @property
    def cipher(self) -> FieldCipher:
        return FieldCipher(self.keyring.field_key)

    @property
    def audit(self) -> AuditLog:
        return AuditLog(self.keyring.server_key)

    # ------------------------------------------------------------------ fan-out

    async def fan_out(self, payload: dict[str, Any], ctx: JobContext) -> None:
        task_id = _uuid(payload, "task_id")
        async with in_transaction() as conn:
            marked = (
                await ServiceTask.filter(id=task_id, fanned_out_at__isnull=True)
                .using_db(conn)
                .update(fanned_out_at=utcnow())
            )
            if not marked:
                return  # fanned out by an earlier run
            deliveries = (
                await ServiceDelivery.filter(task_id=task_id, account_id__isnull=False)
                .using_db(conn)
                .values_list("id", flat=True)
            )
            for delivery_id in deliveries:
                await enqueue(conn, JOB_DELIVER, {"delivery_id": str(delivery_id), "stage": 0})

    # ------------------------------------------------------------------ delivery

    async def deliver(self, payload: dict[str, Any], ctx: JobContext) -> None:
        delivery_id = _uuid(payload, "delivery_id")
        stage = int(payload.get("stage", 0))
        delivery = await ServiceDelivery.get_or_none(id=delivery_id)
        if delivery is None:
            raise PermanentJobError("the delivery no longer exists")
        task = await ServiceTask.get(id=delivery.task_id)  # type: ignore[attr-defined]
        if delivery.status == DeliveryStatus.PENDING.value:
            async with in_transaction() as conn:
                await enqueue(
                    conn,
                    JOB_ESCALATE,
                    {"delivery_id": str(delivery.id), "stage": stage},
                    run_at=utcnow() + timedelta(seconds=task.escalate_after_s),
                    dedupe_key=f"svc-esc:{delivery.id}:{stage}",
                )
        party = await Party.get_or_none(id=delivery.party_id) if delivery.party_id else None
        consent = await consent_of(
            None, self.cipher, delivery.filing_id, delivery.account_id, party
        )
        if delivery.consent_basis is None:
            channels = [Channel.INAPP]  # no consent: the in-app notice only (Art. 29)
        else:
            channels = [Channel(c) for c in task.plan[stage]]
        titles = tuple(
            str(title)
            for title in await ServiceDocument.filter(task_id=task.id)
            .order_by("position")
            .values_list("title_zh", flat=True)
        )
        timeout = aiohttp.ClientTimeout(total=15, connect=5)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            gateways = Gateways.create(session, self.settings)
            attempts = await _attempts_of(delivery.id, channels, stage)
            outcomes = await asyncio.gather(
                *(
                    self._attempt(
                        gateways, task, delivery, consent, attempts[channel.value], titles, ctx
                    )
                    for channel in channels
                ),
                return_exceptions=True,
            )
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        if failures:
            # Only the failed channels run again: the settled ones are skipped on the re-run.
            raise failures[0]

    async def _attempt(
        self,
        gateways: Gateways,
        task: ServiceTask,
        delivery: ServiceDelivery,
        consent: ConsentView | None,
        attempt: ServiceAttempt,
        titles: tuple[str, ...],
        ctx: JobContext,
    ) -> None:
        channel = Channel(attempt.channel)
        if attempt.status in SETTLED:
            return
        if attempt.status == AttemptStatus.SENT:
            await self._expect_report(attempt)
            return
        target = await self._address(delivery, consent, channel)
        if target is None:
            await ServiceAttempt.filter(id=attempt.id).update(
                status=AttemptStatus.SKIPPED.value, detail="no address for this channel"
            )
            return
        address, confirmed, masked = target
        await ServiceAttempt.filter(id=attempt.id).update(
            address_masked=masked, address_confirmed=confirmed, tries=attempt.tries + 1
        )
        notice = Notice(
            attempt_id=str(attempt.id),
            court_name_zh=task.court_name_zh,
            case_number=task.case_number,
            titles_zh=titles,
            link=link_url(self.settings, attempt.link_id or ""),
        )
        try:
            report = await gateways.of(channel).send(address, notice)
        except GatewayRefused as exc:
            await self._settle(attempt.id, AttemptStatus.FAILED, f"refused: {exc}"[:300])
            return
        except GatewayUnavailable as exc:
            if ctx.is_last_attempt:
                await self._settle(attempt.id, AttemptStatus.FAILED, f"gave up: {exc}"[:300])
                return
            await ServiceAttempt.filter(id=attempt.id).update(detail=f"retrying: {exc}"[:300])
            raise
        await self._settle(
            attempt.id,
            report.status,
            report.detail,
            message_id=report.message_id,
            delivered_at=report.delivered_at,
        )
        if report.status == AttemptStatus.SENT:
            await self._expect_report(attempt)

    async def _address(
        self, delivery: ServiceDelivery, consent: ConsentView | None, channel: Channel
    ) -> tuple[str, bool, str] | None:
        """(address, given or confirmed by the recipient, masked) or None."""
        given = consent.addresses if consent is not None else {}
        if channel.value in given:
            address = given[channel.value]
            return address, True, mask_address(channel.value, address)
        if channel == Channel.INAPP:
            return "", False, mask_address(channel.value, "")
        if channel == Channel.SMS:
            binding = await PhoneBinding.get_or_none(account_id=delivery.account_id)
            if binding is None:
                return None
            phone = self.cipher.decrypt(binding.phone_enc, context=PHONE_CONTEXT)
            return phone, False, mask_phone(phone)
        if channel == Channel.WECHAT:
            link = await WeChatIdentity.get_or_none(
                account_id=delivery.account_id, appid=self.settings.wechat_appid
            )
            if link is None:
                return None
            return link.openid, False, "WeChat " + link.openid[:4] + "***"
        return None

    async def _settle(
        self,
        attempt_id: UUID,
        status: AttemptStatus,
        detail: str,
        *,
        message_id: str | None = None,
        delivered_at: Any = None,
    ) -> None:
        async with in_transaction() as conn:
            attempt = await ServiceAttempt.filter(id=attempt_id).using_db(conn).get()
            attempt.status = status.value
            attempt.detail = detail
            attempt.gateway_message_id = message_id or attempt.gateway_message_id
            attempt.sent_at = attempt.sent_at or utcnow()
            attempt.delivered_at = delivered_at or attempt.delivered_at
            await attempt.save(
                using_db=conn,
                update_fields=["status", "detail", "gateway_message_id", "sent_at", "delivered_at"],
            )
            # Only arrival at an address the recipient gave can fix the service date (Art. 31);
            # other arrivals are logged evidence, and need no recomputation.
            if (
                status == AttemptStatus.DELIVERED
                and attempt.address_confirmed
                and attempt.channel in EFFECTIVE_CHANNELS
            ):
                await refresh_service(conn, self.audit, attempt.delivery_id)  # type: ignore[attr-defined]

    async def _expect_report(self, attempt: ServiceAttempt) -> None:
        async with in_transaction() as conn:
            await enqueue(
                conn,
                JOB_REPORT,
                {"attempt_id": str(attempt.id)},
                run_at=utcnow() + timedelta(seconds=REPORT_POLL_S),
                dedupe_key=f"svc-rep:{attempt.id}",
            )

    async def report(self, payload: dict[str, Any], ctx: JobContext) -> None:
        attempt = await ServiceAttempt.get_or_none(id=_uuid(payload, "attempt_id"))
        if attempt is None:
            raise PermanentJobError("the attempt no longer exists")
        if attempt.status != AttemptStatus.SENT or attempt.gateway_message_id is None:
            return
        async with aiohttp.ClientSession() as session:
            gateway = Gateways.create(session, self.settings).of(Channel(attempt.channel))
            result = await gateway.report(attempt.gateway_message_id)
        if result.status == AttemptStatus.SENT:
            if ctx.is_last_attempt:
                await ServiceAttempt.filter(id=attempt.id).update(detail="no delivery report")
                return
            raise GatewayUnavailable("no delivery report yet")
        await self._settle(
            attempt.id,
            result.status,
            result.detail,
            message_id=attempt.gateway_message_id,
            delivered_at=result.delivered_at,
        )

    # ------------------------------------------------------------------ escalation

    async def escalate(self, payload: dict[str, Any], ctx: JobContext) -> None:
        delivery_id = _uuid(payload, "delivery_id")
        stage = int(payload.get("stage", 0))
        async with in_transaction() as conn:
            delivery = (
                await ServiceDelivery.filter(id=delivery_id)
                .using_db(conn)
                .select_for_update()
                .first()
            )
            if delivery is None or delivery.status != DeliveryStatus.PENDING.value:
                return
            if delivery.stage != stage:
                return  # an earlier run already moved on
            task = await ServiceTask.filter(id=delivery.task_id).using_db(conn).get()  # type: ignore[attr-defined]
            audit, actor = self.audit, Actor.system("service")
            if stage + 1 < len(task.plan):
                delivery.stage = stage + 1
                await delivery.save(using_db=conn, update_fields=["stage"])
                await enqueue(
                    conn,
                    JOB_DELIVER,
                    {"delivery_id": str(delivery.id), "stage": stage + 1},
                    dedupe_key=f"svc-dlv:{delivery.id}:{stage + 1}",
                )
                await audit.record(
                    conn,
                    actor,
                    "service.escalate",
                    RESOURCE,
                    str(delivery.filing_id),
                    {"delivery_id": str(delivery.id), "stage": stage + 1},
                )
                return
            now = utcnow()
            if task.fallback == Fallback.PUBLIC_NOTICE.value:
                delivery.status = DeliveryStatus.PUBLIC_NOTICE.value
                delivery.published_at = now
                fields = ["status", "published_at"]
            else:
                delivery.status = DeliveryStatus.POSTAL.value
                delivery.postal_required_at = now
                delivery.postal_reason = "plan_exhausted"
                fields = ["status", "postal_required_at", "postal_reason"]
            await delivery.save(using_db=conn, update_fields=fields)
            await audit.record(
                conn,
                actor,
                "service.fallback",
                RESOURCE,
                str(delivery.filing_id),
                {"delivery_id": str(delivery.id), "fallback": task.fallback},
            )
            if task.fallback == Fallback.PUBLIC_NOTICE.value:
                await refresh_service(conn, audit, delivery.id)


async def _attempts_of(
    delivery_id: UUID, channels: list[Channel], stage: int
) -> dict[str, ServiceAttempt]:
    """The delivery's attempt row for each channel, created where missing: one INSERT that skips
    the rows an earlier run already wrote (unique per delivery and channel), then one SELECT,
    instead of a get-or-create transaction per channel."""
    now = utcnow()
    await ServiceAttempt.bulk_create(
        [
            ServiceAttempt(
                id=uuid4(),
                delivery_id=delivery_id,
                channel=channel.value,
                stage=stage,
                created_at=now,
                link_id=secrets.token_urlsafe(12),
            )
            for channel in channels
        ],
        ignore_conflicts=True,
    )
    rows = await ServiceAttempt.filter(
        delivery_id=delivery_id, channel__in=[c.value for c in channels]
    )
    return {row.channel: row for row in rows}


def _uuid(payload: dict[str, Any], key: str) -> UUID:
    try:
        return UUID(str(payload[key]))
    except (KeyError, ValueError):
        raise PermanentJobError(f"payload needs a valid {key}") from None


def register_jobs(registry: JobRegistry, settings: Settings) -> None:
    runtime = ServiceRuntime(settings)
    registry.register(JOB_FAN_OUT, runtime.fan_out)
    registry.register(JOB_DELIVER, runtime.deliver)
    registry.register(JOB_REPORT, runtime.report)
    registry.register(JOB_ESCALATE, runtime.escalate)
