"""/api/v1/audit/: read, checkpoint and verify the audit chain (system administrators)."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from pydantic import Field

from backend.appkeys import AUDIT, KEYRING, POLICY
from backend.audit.models import AuditEvent
from backend.http import endpoint, require_principal
from backend.schemas import Output, Page, PageQuery

routes = web.RouteTableDef()
TAGS = ("audit",)


class EventQuery(PageQuery):
    action: str | None = Field(default=None, max_length=64)
    resource_type: str | None = Field(default=None, max_length=32)
    resource_id: str | None = Field(default=None, max_length=64)


class EventOut(Output):
    seq: int
    occurred_at: datetime
    actor_subject: str | None
    actor_roles: str
    request_id: str | None
    action: str
    resource_type: str
    resource_id: str | None
    details: dict[str, object]
    hash: str


class EventPage(Page[EventOut]):
    pass


class VerifyOut(Output):
    ok: bool
    events: int
    checkpoints: int
    head_seq: int
    problems: list[str]


class CheckpointOut(Output):
    created: bool
    seq: int | None = None
    hash: str | None = None


@routes.get("/events")
@endpoint(
    "Audit events, newest first", query=EventQuery, response=EventPage, tags=TAGS, errors=(403,)
)
async def list_events(request: web.Request, *, query: EventQuery) -> EventPage:
    request.config_dict[POLICY].check(require_principal(request), "read", "audit_log")
    rows = AuditEvent.all().order_by("-seq")
    if query.cursor:
        if not query.cursor.isdigit():
            rows = rows.filter(seq__lt=0)
        else:
            rows = rows.filter(seq__lt=int(query.cursor))
    for name in ("action", "resource_type", "resource_id"):
        if (value := getattr(query, name)) is not None:
            rows = rows.filter(**{name: value})
    events = await rows.limit(query.limit + 1)
    more = len(events) > query.limit
    events = events[: query.limit]
    return EventPage(
        items=[EventOut.model_validate(e) for e in events],
        next_cursor=str(events[-1].seq) if more else None,
    )


@routes.post("/verify")
@endpoint(
    "Recompute the whole chain and check the signed checkpoints",
    response=VerifyOut,
    tags=TAGS,
    errors=(403,),
)
async def verify(request: web.Request) -> VerifyOut:
    request.config_dict[POLICY].check(require_principal(request), "verify", "audit_log")
    keyring = request.config_dict[KEYRING]
    report = await request.config_dict[AUDIT].verify(
        {keyring.server_key.kid: keyring.server_key.public_key}
    )
    return VerifyOut(
        ok=report.ok,
        events=report.events,
        checkpoints=report.checkpoints,
        head_seq=report.head_seq,
        problems=report.problems[:100],
    )


@routes.post("/checkpoints")
@endpoint(
    "Sign the current head of the chain now", response=CheckpointOut, tags=TAGS, errors=(403,)
)
async def checkpoint(request: web.Request) -> CheckpointOut:
    request.config_dict[POLICY].check(require_principal(request), "verify", "audit_log")
    created = await request.config_dict[AUDIT].checkpoint()
    if created is None:
        return CheckpointOut(created=False)
    return CheckpointOut(created=True, seq=created.seq, hash=created.hash)


def create_app() -> web.Application:
    app = web.Application()
    app.add_routes(routes)
    return app
