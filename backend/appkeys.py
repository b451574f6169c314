"""Typed keys for everything the application shares; no module-level state elsewhere."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web

if TYPE_CHECKING:
    from backend.audit.service import AuditLog
    from backend.auth.principal import Principal
    from backend.auth.service import AuthService
    from backend.db import Database
    from backend.jobs.queue import JobRegistry
    from backend.jobs.worker import Worker
    from backend.keys import KeyRing
    from backend.observability import Metrics
    from backend.policy import Policy
    from backend.ratelimit.service import RateLimiter
    from backend.settings import Settings
    from backend.storage.blobs import BlobStore

SETTINGS = web.AppKey["Settings"]("settings")
KEYRING = web.AppKey["KeyRing"]("keyring")
DATABASE = web.AppKey["Database"]("database")
AUTH = web.AppKey["AuthService"]("auth")
POLICY = web.AppKey["Policy"]("policy")
AUDIT = web.AppKey["AuditLog"]("audit")
BLOBS = web.AppKey["BlobStore"]("blobs")
JOBS = web.AppKey["JobRegistry"]("jobs")
WORKER = web.AppKey["Worker"]("worker")
METRICS = web.AppKey["Metrics"]("metrics")
RATE_LIMITER = web.AppKey["RateLimiter"]("rate_limiter")
HTTP_CLIENT = web.AppKey("http_client", aiohttp.ClientSession)

PRINCIPAL = web.RequestKey["Principal | None"]("principal")
REQUEST_ID = web.RequestKey("request_id", str)
