"""The application factory: assembles the spine and mounts one sub-app per domain under /api/v1/."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiohttp import web

from backend import __version__
from backend.appkeys import (
    AUDIT,
    AUTH,
    BLOBS,
    DATABASE,
    HTTP_CLIENT,
    JOBS,
    KEYRING,
    METRICS,
    POLICY,
    RATE_LIMITER,
    SETTINGS,
    WORKER,
)
from backend.audit import routes as audit_routes
from backend.audit.service import AuditLog
from backend.auth import routes as auth_routes
from backend.auth.service import AuthService
from backend.auth.session_cache import SessionCache, listen_for_revocations
from backend.auth.tokens import TokenCodec
from backend.db import Database, migrate
from backend.errors import ServiceUnavailable
from backend.http import edge_middleware, endpoint, on_response_prepare
from backend.idempotency.middleware import idempotency_middleware
from backend.jobs.queue import JobRegistry
from backend.jobs.worker import Worker
from backend.keys import load_keyring
from backend.observability import Metrics
from backend.openapi import build_openapi
from backend.policy import spine_policy
from backend.ratelimit.service import RateLimiter
from backend.settings import Settings
from backend.storage import routes as storage_routes
from backend.storage.blobs import create_blob_store
from filing import routes as filing_routes
from filing.activity import CASE_ACTIVITY_SOURCES
from filing.clock import register_jobs as register_filing_jobs
from hearings import integrations as hearing_integrations
from hearings import routes as hearing_routes
from hearings import video_jobs
from hearings.asynchronous import notify as async_hearing_jobs
from hearings.asynchronous import routes as async_hearing_routes
from hearings.mediation import routes as mediation_routes
from identity import routes as identity_routes
from miniapp_stub import pages as miniapp_pages
from service_of_process import calendar_routes
from service_of_process import integrations as service_integrations
from service_of_process import jobs as service_jobs
from service_of_process import routes as service_routes

log = logging.getLogger("mobile_court.app")
STATIC_DIR = Path(__file__).parent / "static"

ops = web.RouteTableDef()


@ops.get("/healthz")
@endpoint(
    "Liveness: the process answers",
    public=True,
    tags=("operations",),
    response_content={"text/plain": {"schema": {"type": "string"}}},
)
async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


@ops.get("/readyz")
@endpoint(
    "Readiness: the database answers",
    public=True,
    tags=("operations",),
    response_content={"text/plain": {"schema": {"type": "string"}}},
    errors=(503,),
)
async def readyz(request: web.Request) -> web.Response:
    try:
        await asyncio.wait_for(request.config_dict[DATABASE].ping(), timeout=2)
    except Exception as exc:
        raise ServiceUnavailable("database unreachable") from exc
    return web.Response(text="ready")


@ops.get("/metrics")
@endpoint(
    "Prometheus metrics",
    public=True,
    tags=("operations",),
    response_content={"text/plain": {"schema": {"type": "string"}}},
)
async def metrics(request: web.Request) -> web.Response:
    return web.Response(
        body=request.config_dict[METRICS].render(), content_type="text/plain", charset="utf-8"
    )


@ops.get("/api/v1/openapi.json")
@endpoint(
    "This API's OpenAPI 3.1 description",
    public=True,
    tags=("operations",),
    response_content={"application/json": {"schema": {"type": "object"}}},
)
async def openapi(request: web.Request) -> web.Response:
    spec = build_openapi(request.app, title="Mobile court API", version=__version__)
    return web.json_response(spec)


@ops.get("/api/v1/docs")
@endpoint(
    "Readable API documentation",
    public=True,
    tags=("operations",),
    response_content={"text/html": {"schema": {"type": "string"}}},
)
async def docs(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "docs.html")


async def _database_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    if settings.should_auto_migrate:
        await migrate(settings)
    database = await Database.open(settings)
    app[DATABASE] = database
    app[RATE_LIMITER] = RateLimiter(database)
    try:
        yield
    finally:
        await database.close()


async def _auth_ctx(app: web.Application) -> AsyncIterator[None]:
    """Token service and session cache; on PostgreSQL, the listener for revocations made by
    other server processes."""
    settings, database = app[SETTINGS], app[DATABASE]
    codec = TokenCodec(
        app[KEYRING],
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_s=settings.access_token_ttl_s,
    )
    sessions = SessionCache(settings.session_cache_ttl_s)
    app[AUTH] = AuthService(
        codec, app[AUDIT], database, sessions, refresh_ttl_s=settings.refresh_token_ttl_s
    )
    listener = None
    if database.is_postgres:
        # Until the listener is connected, revocations from other processes could be missed.
        sessions.enabled = False
        listener = asyncio.create_task(
            listen_for_revocations(settings.effective_database_url, sessions)
        )
    try:
        yield
    finally:
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener


async def _http_client_ctx(app: web.Application) -> AsyncIterator[None]:
    timeout = aiohttp.ClientTimeout(total=15, connect=5)
    async with aiohttp.ClientSession(timeout=timeout, raise_for_status=False) as session:
        app[HTTP_CLIENT] = session
        yield


async def _blob_store_ctx(app: web.Application) -> AsyncIterator[None]:
    store = await create_blob_store(app[SETTINGS])
    app[BLOBS] = store
    try:
        yield
    finally:
        await store.close()


async def _worker_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    worker = Worker(app[JOBS], settings, app[METRICS], app[DATABASE])
    app[WORKER] = worker
    if settings.run_worker:
        await worker.start()
    try:
        yield
    finally:
        await worker.stop()


async def _audit_checkpoint_ctx(app: web.Application) -> AsyncIterator[None]:
    settings, audit = app[SETTINGS], app[AUDIT]

    async def loop() -> None:
        while True:
            await asyncio.sleep(settings.audit_checkpoint_interval_s)
            try:
                await audit.checkpoint()
            except Exception:
                log.exception("audit checkpoint failed; will retry next interval")

    task = asyncio.create_task(loop()) if settings.run_worker else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def build_job_registry(settings: Settings) -> JobRegistry:
    """Every job kind the product runs. The server and `mobile-court worker` both use this, so a
    standalone worker never meets a kind it does not know (which it would bury as dead)."""
    registry = JobRegistry()
    register_filing_jobs(registry, settings)
    service_jobs.register_jobs(registry, settings)
    async_hearing_jobs.register_jobs(registry, settings)
    video_jobs.register_jobs(registry, settings)
    return registry


def create_app(settings: Settings) -> web.Application:
    keyring = load_keyring(settings)
    app = web.Application(
        middlewares=[edge_middleware, idempotency_middleware],
        client_max_size=settings.max_json_body,
    )
    app.on_response_prepare.append(on_response_prepare)
    app[SETTINGS] = settings
    app[KEYRING] = keyring
    app[AUDIT] = AuditLog(keyring.server_key)
    app[METRICS] = Metrics()
    app[POLICY] = spine_policy()
    app[JOBS] = build_job_registry(settings)

    app.cleanup_ctx.extend(
        [
            _database_ctx,
            _auth_ctx,
            _http_client_ctx,
            _blob_store_ctx,
            _worker_ctx,
            _audit_checkpoint_ctx,
        ]
    )
    app.add_routes(ops)
    app.add_subapp("/api/v1/auth/", auth_routes.create_app())
    app.add_subapp("/api/v1/audit/", audit_routes.create_app())
    app.add_subapp("/api/v1/files/", storage_routes.create_app())
    app.cleanup_ctx.append(identity_routes.clients_ctx)
    app.cleanup_ctx.append(filing_routes.payments_ctx)
    # Domains append their CaseActivitySource (deadlines, hearings, unread documents) for the
    # filing dashboard; filing's own is added by its context once the database is open.
    app[CASE_ACTIVITY_SOURCES] = []
    app.cleanup_ctx.append(filing_routes.activity_ctx)
    app.cleanup_ctx.append(filing_routes.clock_ctx)
    identity_routes.register_policy(app[POLICY])
    app.add_subapp("/api/v1/identity/", identity_routes.create_app())
    app.add_subapp("/api/v1/fees/", filing_routes.create_fees_app())
    filing_routes.register_policy(app[POLICY])
    app.add_subapp("/api/v1/filing/", filing_routes.create_app())
    service_routes.register_policy(app[POLICY])
    app.add_subapp("/api/v1/service/", service_routes.create_app())
    app.add_subapp("/api/v1/calendar/", calendar_routes.create_app())
    # Electronic service fills the seams of filing, hearings and mediation (before their
    # defaults are installed below); hearings put the next hearing on the dashboard.
    service_integrations.install(app)
    app.cleanup_ctx.append(hearing_integrations.activity_ctx)
    app.cleanup_ctx.append(hearing_routes.video_ctx)
    hearing_routes.register_policy(app[POLICY])
    app.add_subapp("/api/v1/hearings/", hearing_routes.create_app())
    async_hearing_routes.install(app)
    mediation_routes.install(app)
    app.add_routes(miniapp_pages.routes)
    return app
