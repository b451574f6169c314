"""What the identity domain shares through the application: its clients and its dependencies."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from backend.audit.service import AuditLog
from backend.auth.service import AuthService
from backend.fieldcrypto import FieldCipher
from backend.policy import Policy
from backend.ratelimit.service import RateLimiter
from identity.sms_client import SmsClient
from identity.wechat_client import WeChatClient


@dataclass(frozen=True)
class IdentityDeps:
    """Everything the identity services need, built once per application."""

    cipher: FieldCipher
    audit: AuditLog
    auth: AuthService
    limiter: RateLimiter
    policy: Policy
    wechat: WeChatClient
    sms: SmsClient


WECHAT_CLIENT = web.AppKey("identity_wechat_client", WeChatClient)
SMS_CLIENT = web.AppKey("identity_sms_client", SmsClient)
IDENTITY = web.AppKey("identity_deps", IdentityDeps)
