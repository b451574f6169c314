"""Who may do what in an asynchronous hearing (and the case view the services work on).

Parties and their lawyers take part (only as themselves: the author of a post is always the
caller); the assigned judge conducts; the assigned clerk reads. Anyone else gets 404 (case
scoped). Rebuilt from the database on every request, like filing access.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient

from backend.auth.principal import Principal, Role
from backend.errors import Forbidden
from backend.policy import Policy, Relation
from filing.access import FilingAccess, load_access
from filing.filings import get_filing
from filing.models import Filing, Party
from hearings.asynchronous.rules import JUDGE

RESOURCE = "async_hearing"
READ = "read"
PARTICIPATE = "participate"  # consent, apply, enter a stage, post, give a reason, sign
CONDUCT = "conduct"  # findings, start, windows, questions, conversion, decisions, transcript


def register_policy(policy: Policy) -> None:
    policy.allow_case_relations(
        RESOURCE, [READ], {Relation.PARTY, Relation.AGENT, Relation.JUDGE, Relation.CLERK}
    )
    policy.allow_case_relations(RESOURCE, [PARTICIPATE], {Relation.PARTY, Relation.AGENT})
    policy.allow_case_relations(RESOURCE, [CONDUCT], {Relation.JUDGE})


@dataclass(frozen=True)
class Case:
    filing: Filing
    access: FilingAccess
    parties: list[Party]

    @property
    def label(self) -> str:
        return self.filing.case_number or f"案件{str(self.filing.id)[:8]}"

    @property
    def sides(self) -> frozenset[str]:
        """Party roles present in the case (plaintiff, defendant, third_party)."""
        return frozenset(p.role for p in self.parties)

    def accounts_of(self, role: str) -> frozenset[UUID]:
        """Accounts speaking for ``role``: the parties themselves and their lawyers."""
        return frozenset(who for who, roles in self.access.sides if role in roles)

    @property
    def participant_accounts(self) -> frozenset[UUID]:
        return frozenset(who for who, _ in self.access.sides)

    @property
    def judge_accounts(self) -> frozenset[UUID]:
        return self.access.judge_account_ids

    def role_of(self, principal: Principal) -> str:
        """The caller's role in the record: ``judge`` or the party role they speak for."""
        if principal.has(Role.JUDGE) and principal.account_id in self.access.judge_account_ids:
            return JUDGE
        roles = self.access.side_of(principal.account_id)
        if len(roles) != 1:
            # Speaking for both sides at once would make the record ambiguous.
            raise Forbidden(
                "您在本案中代表的当事人身份不唯一 / you speak for more than one side in this case",
                code="ambiguous_side",
            )
        return next(iter(roles))


async def load_case(
    filing_id: str,
    principal: Principal,
    policy: Policy,
    action: str,
    conn: BaseDBAsyncClient | None = None,
) -> Case:
    filing = await get_filing(filing_id, conn)
    access, parties = await load_access(filing)
    policy.check(principal, action, RESOURCE, access)
    return Case(filing, access, parties)
