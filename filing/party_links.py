"""What else happens when a party links its account to a case (Online Litigation Rules Art. 10).

Electronic service (service_of_process), which filing does not import, registers a
:class:`PartyLinkListener` under :data:`PARTY_LINKED`: the claim route calls it inside the
transaction that links the party, so documents already served on the party reach its inbox
together with the link.
"""

from __future__ import annotations

from typing import Protocol

from aiohttp import web
from tortoise.backends.base.client import BaseDBAsyncClient

from backend.auth.principal import Actor
from filing.models import Filing, Party


class PartyLinkListener(Protocol):
    async def party_linked(
        self, conn: BaseDBAsyncClient, filing: Filing, party: Party, actor: Actor
    ) -> None:
        """Called inside the linking transaction, ``party.account_id`` already set; raising
        aborts the link."""
        ...


PARTY_LINKED = web.AppKey[PartyLinkListener]("filing_party_linked")
