"""Who may do what in a mediation. Parties (and their lawyers) propose and parties sign; the
case's judge or the court's administrator starts a mediation and designates the mediator; the
designated mediator (or the case's judge) runs it. Everyone else: 404."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from backend.auth.principal import Principal, Role
from backend.policy import Policy, Relation, Rule, case_relations
from filing.access import FilingAccess

RESOURCE = "mediation"
READ = "read"
PARTICIPATE = "participate"
MANAGE = "manage"
MEDIATE = "mediate"


@dataclass(frozen=True)
class MediationAccess:
    case: FilingAccess
    mediator_id: UUID | None = None

    # CaseScoped, delegated to the case
    @property
    def court_code(self) -> str:
        return self.case.court_code

    @property
    def party_account_ids(self) -> frozenset[UUID]:
        return self.case.party_account_ids

    @property
    def agent_account_ids(self) -> frozenset[UUID]:
        return self.case.agent_account_ids

    @property
    def judge_account_ids(self) -> frozenset[UUID]:
        return self.case.judge_account_ids

    @property
    def clerk_account_ids(self) -> frozenset[UUID]:
        return self.case.clerk_account_ids


def _is_mediator(principal: Principal, resource: MediationAccess) -> bool:
    return resource.mediator_id is not None and principal.account_id == resource.mediator_id


def _rule(relations: frozenset[str], *, mediator: bool) -> Rule:
    def rule(principal: Principal, resource: object) -> bool:
        if not isinstance(resource, MediationAccess):
            return False
        if mediator and _is_mediator(principal, resource):
            return True
        return bool(case_relations(principal, resource) & relations)

    return rule


def register_policy(policy: Policy) -> None:
    policy.case_scoped.add(RESOURCE)
    everyone = frozenset(
        {Relation.PARTY, Relation.AGENT, Relation.JUDGE, Relation.CLERK, Relation.COURT_ADMIN}
    )
    policy.allow(RESOURCE, [READ], _rule(everyone, mediator=True))
    policy.allow(
        RESOURCE, [PARTICIPATE], _rule(frozenset({Relation.PARTY, Relation.AGENT}), mediator=False)
    )
    policy.allow(
        RESOURCE, [MANAGE], _rule(frozenset({Relation.JUDGE, Relation.COURT_ADMIN}), mediator=False)
    )
    policy.allow(RESOURCE, [MEDIATE], _rule(frozenset({Relation.JUDGE}), mediator=True))


MEDIATOR_ROLES = frozenset({Role.JUDGE, Role.CLERK, Role.COURT_ADMIN})
