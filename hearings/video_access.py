"""Who may see a video hearing and who may run it.

Everyone related to the case (parties, their lawyers, the assigned judge and clerk, the court's
administrator) may read it; outsiders get 404 like for the case itself. Only the case's judge and
clerk schedule and run it; a party or lawyer who tries gets 403 (they know the hearing exists).
A video mediation session's mediator who is not the case's judge or clerk joins that one hearing
as its host (participant role "mediator", hearings.mediation): reads and runs it, nothing else of
the case, and no longer once removed from it (a new mediator designated).
"""

from __future__ import annotations

from uuid import UUID

from backend.auth.principal import Principal
from backend.errors import Forbidden, NotFound
from backend.policy import Policy, Relation
from filing.access import FilingAccess, load_access
from filing.models import Filing
from hearings.models import ParticipantRole, VideoParticipant

RESOURCE = "video_hearing"
READ = "read"
CONTROL = "control"  # schedule, lifecycle, lobby admission, mute, remove, recording, notes


def register_policy(policy: Policy) -> None:
    policy.allow_case_relations(
        RESOURCE,
        [READ],
        [Relation.PARTY, Relation.AGENT, Relation.JUDGE, Relation.CLERK, Relation.COURT_ADMIN],
    )
    policy.allow_case_relations(RESOURCE, [CONTROL], [Relation.JUDGE, Relation.CLERK])


async def case_access(filing_id: UUID) -> tuple[Filing, FilingAccess]:
    filing = await Filing.get_or_none(id=filing_id)
    if filing is None:
        raise NotFound("no such case")
    access, _ = await load_access(filing)
    return filing, access


async def hosts_of(hearing_id: UUID) -> frozenset[UUID]:
    """The hearing's mediators still in it (see the module docstring)."""
    hosts = VideoParticipant.filter(
        hearing_id=hearing_id, role=ParticipantRole.MEDIATOR.value, removed_at=None
    )
    return frozenset(p.account_id for p in await hosts)


def authorize(
    policy: Policy,
    principal: Principal,
    access: FilingAccess,
    action: str,
    hosts: frozenset[UUID] = frozenset(),
) -> None:
    """404 for outsiders; 403 for case members who may read but not run the hearing.
    ``hosts``: the hearing's mediators (hosts_of), staff of the court holding the case."""
    if principal.account_id in hosts and principal.court_code == access.court_code:
        return
    policy.check(principal, READ, RESOURCE, access)
    if action != READ and not policy.permits(principal, action, RESOURCE, access):
        raise Forbidden(
            "只有本案法官或书记员可以操作庭审 / only the case's judge or clerk may run the hearing",
            code="hearing_control_forbidden",
        )
