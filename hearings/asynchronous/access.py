"""Who may do what in an asynchronous hearing (and the case view the services work on).

Parties and their lawyers take part (only as themselves: the author of a post is always the
caller); the assigned judge conducts; the assigned clerk reads. Anyone else gets 404 (case
scoped). Rebuilt from the database on every request, like filing access, so a revoked power of
attorney applies on the next request.

A lawyer acts for the party (a filing.Party) named in an unrevoked power of attorney; what is
addressed to a party (a question, a missed window, a signature) is theirs and their lawyer's only.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient

from backend.auth.principal import Principal, Role
from backend.errors import Forbidden, ValidationFailed
from backend.policy import Policy, Relation
from filing.access import FilingAccess, load_record_access
from filing.filings import get_filing
from filing.models import Filing, Party, Representation
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
    # Unrevoked powers of attorney only.
    representations: tuple[Representation, ...] = ()

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

    def party(self, party_id: UUID) -> Party | None:
        return next((p for p in self.parties if p.id == party_id), None)

    def accounts_for_party(self, party_id: UUID) -> frozenset[UUID]:
        """The party's own account and the lawyers acting for it."""
        own = {p.account_id for p in self.parties if p.id == party_id and p.account_id}
        lawyers = {r.lawyer_account_id for r in self.representations if r.party_id == party_id}  # type: ignore[attr-defined]
        return frozenset(own | lawyers)

    def parties_for(self, account_id: UUID) -> list[Party]:
        """The parties ``account_id`` acts for: as the party itself or as its lawyer."""
        represented = {
            r.party_id  # type: ignore[attr-defined]
            for r in self.representations
            if r.lawyer_account_id == account_id
        }
        return [p for p in self.parties if p.account_id == account_id or p.id in represented]

    def acts_for(self, principal: Principal, party_id: UUID) -> bool:
        return any(p.id == party_id for p in self.parties_for(principal.account_id))

    def speaking_for(self, principal: Principal, party_id: UUID | None) -> Party:
        """The party the caller acts for now: ``party_id`` if given (it must be one of theirs),
        else their only party."""
        mine = self.parties_for(principal.account_id)
        if party_id is not None:
            chosen = next((p for p in mine if p.id == party_id), None)
            if chosen is None:
                raise Forbidden(
                    "您不能代表该当事人 / you do not act for that party", code="not_your_party"
                )
            return chosen
        if len(mine) == 1:
            return mine[0]
        if not mine:
            raise Forbidden("您不是本案当事人 / you are not a party here", code="not_a_party")
        raise ValidationFailed(
            "您代表多名当事人，请指明 party_id / you act for several parties: name party_id",
            code="party_required",
            errors=[
                {
                    "location": "body",
                    "field": "party_id",
                    "message": "name the party you act for",
                    "type": "party_required",
                }
            ],
        )

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
    case = await case_of(filing)
    policy.check(principal, action, RESOURCE, case.access)
    return case


async def case_of(filing: Filing) -> Case:
    """The case view: access, parties and the unrevoked powers of attorney, read now."""
    access, parties, reps = await load_record_access(filing)
    return Case(filing, access, parties, tuple(r for r in reps if r.revoked_at is None))
