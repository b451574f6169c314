"""Authorization: one place answering "may principal P do action A on resource R".

Domains register rules for their resource types; handlers and services call :meth:`Policy.check`.
Anything not explicitly allowed is denied. For case-scoped resources a denial is reported as 404 so
that outsiders cannot learn that a case exists; for other resources it is a 403.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable
from uuid import UUID

from backend.auth.principal import Principal, Role
from backend.errors import Forbidden, NotFound


@runtime_checkable
class CaseScoped(Protocol):
    """What the policy needs to know about anything that belongs to a case."""

    @property
    def court_code(self) -> str: ...
    @property
    def party_account_ids(self) -> frozenset[UUID]: ...
    @property
    def agent_account_ids(self) -> frozenset[UUID]: ...
    @property
    def judge_account_ids(self) -> frozenset[UUID]: ...
    @property
    def clerk_account_ids(self) -> frozenset[UUID]: ...


@dataclass(frozen=True)
class CaseAccess:
    """A plain CaseScoped value, built by the filing domain from a case and its parties."""

    court_code: str
    party_account_ids: frozenset[UUID] = frozenset()
    agent_account_ids: frozenset[UUID] = frozenset()
    judge_account_ids: frozenset[UUID] = frozenset()
    clerk_account_ids: frozenset[UUID] = frozenset()


class Relation:
    """How a principal relates to a case; rules are written in these terms."""

    PARTY = "party"
    AGENT = "agent"
    JUDGE = "judge"
    CLERK = "clerk"
    COURT_ADMIN = "court_admin"


def case_relations(principal: Principal, case: CaseScoped) -> frozenset[str]:
    relations = set()
    who = principal.account_id
    if who in case.party_account_ids:
        relations.add(Relation.PARTY)
    if principal.has(Role.LAWYER) and who in case.agent_account_ids:
        relations.add(Relation.AGENT)
    if principal.has(Role.JUDGE) and who in case.judge_account_ids:
        relations.add(Relation.JUDGE)
    if principal.has(Role.CLERK) and who in case.clerk_account_ids:
        relations.add(Relation.CLERK)
    if principal.has(Role.COURT_ADMIN) and principal.court_code == case.court_code:
        relations.add(Relation.COURT_ADMIN)
    return frozenset(relations)


Rule = Callable[[Principal, object], bool]


@dataclass
class Policy:
    rules: dict[tuple[str, str], Rule] = field(default_factory=dict)
    case_scoped: set[str] = field(default_factory=set)

    def allow(self, resource_type: str, actions: Iterable[str], rule: Rule) -> None:
        for action in actions:
            key = (resource_type, action)
            if key in self.rules:
                raise ValueError(f"rule for {key} registered twice")
            self.rules[key] = rule

    def allow_case_relations(
        self, resource_type: str, actions: Iterable[str], relations: Iterable[str]
    ) -> None:
        """Allow when the principal has any of ``relations`` to the resource's case."""
        wanted = frozenset(relations)
        self.case_scoped.add(resource_type)

        def rule(principal: Principal, resource: object) -> bool:
            if not isinstance(resource, CaseScoped):
                return False
            return bool(case_relations(principal, resource) & wanted)

        self.allow(resource_type, actions, rule)

    def permits(
        self, principal: Principal | None, action: str, resource_type: str, resource: object = None
    ) -> bool:
        if principal is None:
            return False
        rule = self.rules.get((resource_type, action))
        return rule is not None and rule(principal, resource)

    def check(
        self, principal: Principal | None, action: str, resource_type: str, resource: object = None
    ) -> None:
        if self.permits(principal, action, resource_type, resource):
            return
        if resource_type in self.case_scoped:
            raise NotFound("no such case")
        raise Forbidden(f"you may not {action} this {resource_type}")


def _is_self(principal: Principal, resource: object) -> bool:
    return isinstance(resource, UUID) and resource == principal.account_id


def _is_system_admin(principal: Principal, _resource: object) -> bool:
    return principal.has(Role.SYSTEM_ADMIN)


def _manages_staff_of(principal: Principal, resource: object) -> bool:
    """System admins manage anyone; a court admin manages accounts of their own court."""
    if principal.has(Role.SYSTEM_ADMIN):
        return True
    return (
        principal.has(Role.COURT_ADMIN)
        and isinstance(resource, str)
        and resource == principal.court_code
    )


def _self_or_admin(principal: Principal, resource: object) -> bool:
    return _is_self(principal, resource) or _is_system_admin(principal, resource)


def spine_policy() -> Policy:
    """Rules for the spine's own resources; domains add theirs on app creation."""
    policy = Policy()
    policy.allow("account", ["read"], _self_or_admin)
    # resource: the court code the managed account belongs to
    policy.allow("court_staff", ["create", "disable", "enable"], _manages_staff_of)
    policy.allow("account", ["disable", "enable"], _is_system_admin)
    policy.allow("audit_log", ["read", "verify"], _is_system_admin)
    policy.allow("jobs", ["read"], _is_system_admin)
    return policy
