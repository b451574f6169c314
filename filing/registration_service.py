"""What else happens when a case is registered: the parties are served.

Serving documents belongs to electronic service (service_of_process), which filing does not
import: it registers a :class:`RegistrationService` under :data:`REGISTRATION_SERVICE`, and the
register route calls it inside the registration transaction, so a case is never registered
without its notices (or the other way round).
"""

from __future__ import annotations

from typing import Protocol

from aiohttp import web
from tortoise.backends.base.client import BaseDBAsyncClient

from backend.auth.principal import Actor
from filing.models import Filing


class RegistrationService(Protocol):
    async def registered(self, conn: BaseDBAsyncClient, filing: Filing, actor: Actor) -> None:
        """Called inside the registration transaction, after the case number is allocated;
        raising aborts the registration."""
        ...


REGISTRATION_SERVICE = web.AppKey[RegistrationService]("filing_registration_service")
