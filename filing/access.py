"""Who may see and act on a filing: the policy rules and the access value built from a filing.

Access is recomputed from the database on every request, so a revoked power of attorney or a
reassigned judge applies on the next request. Every denial on a filing is a 404 (no existence
oracle).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from backend.auth.principal import Principal, Role
from backend.policy import Policy, Relation, Rule, case_relations
from filing.models import Filing, FilingStatus, Party, Representation

RESOURCE = "filing"

READ = "read"
EDIT = "edit"  # drafting and answering a correction notice: parties and their agents
REVIEW = "review"  # correction, registration, refusal: clerks of the court holding the filing
ASSIGN = "assign"  # judge and clerk assignment: the court's administrator
# Fee relief decisions and clock alerts: the staff (clerk, judge, administrator) of the court
# holding the case, assigned to it or not.
FEE_DECIDE = "fee_decide"


@dataclass(frozen=True)
class FilingAccess:
    """A CaseScoped value for one filing plus what filing rules need beyond it."""

    court_code: str  # the court holding the filing now (competent court once routed)
    party_account_ids: frozenset[UUID] = frozenset()
    agent_account_ids: frozenset[UUID] = frozenset()
    judge_account_ids: frozenset[UUID] = frozenset()
    clerk_account_ids: frozenset[UUID] = frozenset()
    # Courts whose clerks review or see the filing: the receiving and the competent court.
    review_court_codes: frozenset[str] = frozenset()
    status: str = FilingStatus.DRAFT.value
    # Party roles each account speaks for (as the party or its agent): drives masking.
    sides: tuple[tuple[UUID, frozenset[str]], ...] = ()

    def side_of(self, account_id: UUID) -> frozenset[str]:
        for who, roles in self.sides:
            if who == account_id:
                return roles
        return frozenset()


def _is_review_clerk(principal: Principal, access: FilingAccess, *, current: bool) -> bool:
    if not principal.has(Role.CLERK) or access.status == FilingStatus.DRAFT.value:
        return False
    if current:
        return principal.court_code == access.court_code
    return principal.court_code in access.review_court_codes


def _rule(relations: frozenset[str], *, clerks: str | None = None) -> Rule:
    def rule(principal: Principal, resource: object) -> bool:
        if not isinstance(resource, FilingAccess):
            return False
        if case_relations(principal, resource) & relations:
            return True
        if clerks is None:
            return False
        return _is_review_clerk(principal, resource, current=clerks == "current")

    return rule


def register_policy(policy: Policy) -> None:
    everyone = frozenset(
        {Relation.PARTY, Relation.AGENT, Relation.JUDGE, Relation.CLERK, Relation.COURT_ADMIN}
    )
    policy.case_scoped.add(RESOURCE)
    policy.allow(RESOURCE, [READ], _rule(everyone, clerks="any"))
    policy.allow(RESOURCE, [EDIT], _rule(frozenset({Relation.PARTY, Relation.AGENT})))
    policy.allow(RESOURCE, [REVIEW], _rule(frozenset({Relation.CLERK}), clerks="current"))
    policy.allow(RESOURCE, [ASSIGN], _rule(frozenset({Relation.COURT_ADMIN})))
    policy.allow(RESOURCE, [FEE_DECIDE], _court_staff)


def _court_staff(principal: Principal, resource: object) -> bool:
    return (
        isinstance(resource, FilingAccess)
        and resource.status != FilingStatus.DRAFT.value
        and principal.has(Role.CLERK, Role.JUDGE, Role.COURT_ADMIN)
        and principal.court_code == resource.court_code
    )


def build_access(
    filing: Filing, parties: list[Party], representations: list[Representation]
) -> FilingAccess:
    """The access value from rows already loaded (``representations``: unrevoked only)."""
    role_of = {p.id: p.role for p in parties}
    sides: dict[UUID, set[str]] = {}
    party_ids: set[UUID] = set()
    for party in parties:
        if party.account_id is not None:
            party_ids.add(party.account_id)
            sides.setdefault(party.account_id, set()).add(party.role)
    agents: set[UUID] = set()
    for rep in representations:
        if rep.revoked_at is None:
            agents.add(rep.lawyer_account_id)
            sides.setdefault(rep.lawyer_account_id, set()).add(role_of.get(rep.party_id, ""))  # type: ignore[attr-defined]
    if filing.status == FilingStatus.DRAFT.value:
        # The filer drafts before adding themself (or their client) as a party; submission
        # checks that they became one.
        party_ids.add(filing.created_by_id)
        sides.setdefault(filing.created_by_id, set()).add("plaintiff")
    court = filing.competent_court_code or filing.receiving_court_code
    return FilingAccess(
        court_code=court,
        party_account_ids=frozenset(party_ids),
        agent_account_ids=frozenset(agents),
        judge_account_ids=frozenset({filing.assigned_judge_id} if filing.assigned_judge_id else ()),
        clerk_account_ids=frozenset({filing.assigned_clerk_id} if filing.assigned_clerk_id else ()),
        review_court_codes=frozenset(
            c for c in (filing.receiving_court_code, filing.competent_court_code) if c
        ),
        status=filing.status,
        sides=tuple((k, frozenset(v)) for k, v in sides.items()),
    )


async def load_access(filing: Filing) -> tuple[FilingAccess, list[Party]]:
    access, parties, _ = await load_record_access(filing)
    return access, parties


async def load_record_access(
    filing: Filing,
) -> tuple[FilingAccess, list[Party], list[Representation]]:
    """The access value, the parties and every power of attorney (revoked ones too, oldest
    first): what the case record shows, read once for both the policy check and the response."""
    parties = await Party.filter(filing_id=filing.id).order_by("created_at", "id")
    reps: list[Representation] = []
    if parties:  # a power of attorney always names a party of this filing
        reps = await Representation.filter(party_id__in=[p.id for p in parties]).order_by(
            "granted_at"
        )
    return build_access(filing, parties, reps), parties, reps


def sees_unmasked(principal: Principal, access: FilingAccess, party_role: str) -> bool:
    """Court staff and the party's own side see full details; the other side sees them masked."""
    if principal.is_court_staff:
        return True
    return party_role in access.side_of(principal.account_id)
