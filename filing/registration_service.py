"""What else happens when a case is registered: the parties are served.

Serving documents belongs to electronic service (service_of_process), which filing does not
import: it registers a :class:`RegistrationService` under :data:`REGISTRATION_SERVICE`, and the
register route calls it inside the registration transaction, so a case is never registered
without its notices (or the other way round). The notices are rendered before that
transaction opens: it holds the case-number counter's lock, which every other registration at
the court waits for.
"""

from __future__ import annotations

from typing import Protocol

from aiohttp import web
from tortoise.backends.base.client import BaseDBAsyncClient

from backend.auth.principal import Actor
from filing.models import Filing


class RegistrationService(Protocol):
    async def prepare(self, filing: Filing, case_number: str) -> object:
        """Called before the registration transaction with the case number the case is
        expected to get: the slow part of :meth:`registered` (rendering), whose result is
        handed to it. Raising aborts the registration before anything is written."""
        ...

    async def registered(
        self, conn: BaseDBAsyncClient, filing: Filing, actor: Actor, prepared: object
    ) -> None:
        """Called inside the registration transaction, after the case number is allocated;
        raising aborts the registration."""
        ...


REGISTRATION_SERVICE = web.AppKey[RegistrationService]("filing_registration_service")
