"""Courtesy notices (WeChat subscribe messages) as durable jobs, and document service.

A notice is enqueued in the transaction of the change it announces; the job sends one subscribe
message through identity's WeChat client. Subscribe messages are never legal service: a user
without a WeChat login or without a grant left simply gets none (recorded, not retried).

``DocumentServer`` is how a generated document (the mediation statement) reaches the parties. The
default records a pending service request and a timeline event; electronic service
(service_of_process) registers its own implementation under :data:`DOCUMENT_SERVER`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID, uuid4

import aiohttp
from aiohttp import web
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from backend.jobs.queue import JobContext, JobRegistry, PermanentJobError, enqueue
from backend.settings import Settings
from filing.filings import add_event, get_filing
from hearings.asynchronous.models import AsyncStage, NotificationSent, ServiceRequest
from identity.models import WeChatIdentity
from identity.wechat_client import WeChatApiError, WeChatClient

log = logging.getLogger("mobile_court.async_hearings")

NOTIFY_KIND = "async_hearings.notify"
REMIND_KIND = "async_hearings.window_reminder"
CLOSE_KIND = "async_hearings.window_close"
REMIND_BEFORE = timedelta(hours=24)
# Mini-program page the notice opens.
HEARING_PAGE = "pages/hearing/index"

EVENTS: dict[str, tuple[str, str]] = {
    "stage_opened": ("异步审理新阶段已开始", "A hearing stage has opened"),
    "question": ("法官向您提问", "The judge asked you a question"),
    "window_closing": ("阶段将在24小时内截止", "A stage window closes within 24 h"),
    "signature_awaited": ("有文书等待您签名", "A document awaits your signature"),
    "missed_window": ("当事人逾期未参与", "A party missed a window"),
    "video_mediation": ("视频调解已安排", "A video mediation is scheduled"),
}


def _thing(value: str) -> str:
    # WeChat's "thing" keywords take at most 20 characters.
    return value if len(value) <= 20 else value[:19] + "…"


async def notify(
    conn: BaseDBAsyncClient,
    account_ids: list[UUID] | set[UUID] | frozenset[UUID],
    event: str,
    *,
    case_label: str,
    when: datetime,
    key: str,
) -> None:
    """Enqueue one notice per account (``key`` makes a repeat of the same notice a no-op)."""
    if event not in EVENTS:
        raise ValueError(f"unknown notice {event!r}")
    for account_id in sorted(account_ids, key=str):
        await enqueue(
            conn,
            NOTIFY_KIND,
            {
                "account_id": str(account_id),
                "event": event,
                "case": case_label,
                "when": when.astimezone(UTC).isoformat(),
                "key": f"{key}:{account_id}",
            },
            dedupe_key=f"notify:{key}:{account_id}"[:128],
        )


async def schedule_window_jobs(conn: BaseDBAsyncClient, stage: AsyncStage) -> None:
    """The 24-hour reminder and the automatic close for the stage's current window."""
    assert stage.closes_at is not None
    closes = stage.closes_at.astimezone(UTC)
    payload = {"stage_id": str(stage.id), "closes_at": closes.isoformat()}
    stamp = int(closes.timestamp())
    remind_at = max(closes - REMIND_BEFORE, datetime.now(UTC))
    await enqueue(
        conn, REMIND_KIND, payload, run_at=remind_at, dedupe_key=f"remind:{stage.id}:{stamp}"
    )
    await enqueue(conn, CLOSE_KIND, payload, run_at=closes, dedupe_key=f"close:{stage.id}:{stamp}")


@dataclass(frozen=True)
class Notifier:
    """The job handler that sends one notice over WeChat."""

    settings: Settings

    async def __call__(self, payload: dict[str, Any], ctx: JobContext) -> None:
        try:
            account_id = UUID(payload["account_id"])
            event, key = payload["event"], payload["key"]
            zh, _en = EVENTS[event]
        except (KeyError, ValueError) as exc:
            raise PermanentJobError(f"bad notice payload: {type(exc).__name__}") from None
        if await NotificationSent.exists(key=key):
            return
        identity = await WeChatIdentity.filter(
            account_id=account_id, appid=self.settings.wechat_appid
        ).first()
        outcome = "no_wechat"
        if identity is not None:
            outcome = await self._send(identity.openid, zh, payload)
        try:
            await NotificationSent.create(
                key=key, account_id=account_id, sent_at=datetime.now(UTC), outcome=outcome
            )
        except IntegrityError:
            pass  # a concurrent run recorded it first

    async def _send(self, openid: str, what: str, payload: dict[str, Any]) -> str:
        when = datetime.fromisoformat(payload["when"]).astimezone(UTC)
        timeout = aiohttp.ClientTimeout(total=15, connect=5)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            client = WeChatClient(session, self.settings)
            try:
                await client.send_subscribe_message(
                    openid,
                    self.settings.wechat_template_hearing_notice,
                    {
                        "thing1": _thing(str(payload.get("case") or "案件")),
                        "thing2": _thing(what),
                        "time3": when.strftime("%Y-%m-%d %H:%M UTC"),
                    },
                    page=HEARING_PAGE,
                )
            except WeChatApiError as exc:
                if exc.code == "wechat_no_grant":
                    return "no_grant"
                raise
        return "sent"


def register_jobs(registry: JobRegistry, settings: Settings) -> None:
    """Every job kind of asynchronous hearings and mediation (called by build_job_registry)."""
    from hearings.asynchronous.stages import CloseStageJob, remind_stage_job

    registry.register(NOTIFY_KIND, Notifier(settings))
    registry.register(REMIND_KIND, remind_stage_job)
    registry.register(CLOSE_KIND, CloseStageJob(settings))


# ------------------------------------------------------------------------- document service


@dataclass(frozen=True, slots=True)
class ServedDocument:
    filing_id: UUID
    document_kind: str
    document_id: UUID
    file_id: UUID
    sha256: str
    title_zh: str
    title_en: str


class DocumentServer(Protocol):
    async def serve(
        self, conn: BaseDBAsyncClient, document: ServedDocument, recipients: list[UUID]
    ) -> UUID:
        """Start serving ``document`` on ``recipients`` inside the caller's transaction; an id
        of the service request."""
        ...


class PendingServiceRecorder:
    """Default: a pending service request in our own table plus a timeline event."""

    async def serve(
        self, conn: BaseDBAsyncClient, document: ServedDocument, recipients: list[UUID]
    ) -> UUID:
        request = await ServiceRequest.create(
            id=uuid4(),
            filing_id=document.filing_id,
            document_kind=document.document_kind,
            document_id=document.document_id,
            file_id=document.file_id,
            sha256=document.sha256,
            recipients=[str(r) for r in recipients],
            created_at=datetime.now(UTC),
            using_db=conn,
        )
        filing = await get_filing(str(document.filing_id), conn)
        await add_event(
            conn,
            filing,
            "document_service_requested",
            None,
            {
                "service_request_id": str(request.id),
                "document_kind": document.document_kind,
                "title_zh": document.title_zh,
                "title_en": document.title_en,
                "sha256": document.sha256,
            },
        )
        return request.id


DOCUMENT_SERVER = web.AppKey["DocumentServer"]("async_hearings_document_server")
