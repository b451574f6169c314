"""The asynchronous hearing and mediation rows of the policy table (denials are 404)."""

from __future__ import annotations

import uuid

import pytest

from backend.auth.principal import Principal, Role
from backend.errors import Forbidden, NotFound
from backend.policy import spine_policy
from filing.access import FilingAccess, build_access
from filing.access import register_policy as register_filing
from filing.models import Filing, Party, Representation
from hearings.asynchronous import access as hearing
from hearings.mediation import access as mediation

COURT = "浙0281"
PLAINTIFF, DEFENDANT, LAWYER, JUDGE, CLERK, MEDIATOR = (uuid.uuid4() for _ in range(6))


def who(*roles: Role, account: uuid.UUID | None = None, court: str | None = None) -> Principal:
    return Principal(
        account_id=account or uuid.uuid4(),
        roles=frozenset(roles),
        session_id=uuid.uuid4(),
        court_code=court,
    )


def case_access() -> FilingAccess:
    filing = Filing(
        id=uuid.uuid4(),
        receiving_court_code=COURT,
        competent_court_code=COURT,
        status="registered",
        created_by_id=PLAINTIFF,
        assigned_judge_id=JUDGE,
        assigned_clerk_id=CLERK,
    )
    plaintiff = Party(id=uuid.uuid4(), filing_id=filing.id, role="plaintiff", account_id=PLAINTIFF)
    defendant = Party(id=uuid.uuid4(), filing_id=filing.id, role="defendant", account_id=DEFENDANT)
    rep = Representation(id=uuid.uuid4(), lawyer_account_id=LAWYER)
    rep.party_id = defendant.id
    return build_access(filing, [plaintiff, defendant], [rep])


P_PLAINTIFF = who(Role.LITIGANT, account=PLAINTIFF)
P_DEFENDANT = who(Role.LITIGANT, account=DEFENDANT)
P_LAWYER = who(Role.LAWYER, account=LAWYER)
P_JUDGE = who(Role.JUDGE, account=JUDGE, court=COURT)
P_OTHER_JUDGE = who(Role.JUDGE, court=COURT)
P_CLERK = who(Role.CLERK, account=CLERK, court=COURT)
P_ADMIN = who(Role.COURT_ADMIN, court=COURT)
P_MEDIATOR = who(Role.CLERK, account=MEDIATOR, court=COURT)
P_OUTSIDER = who(Role.LITIGANT)
P_SYSADMIN = who(Role.SYSTEM_ADMIN)

Y, N = True, False
HEARING_TABLE = [
    # principal, read, participate, conduct
    (P_PLAINTIFF, Y, Y, N),
    (P_DEFENDANT, Y, Y, N),
    (P_LAWYER, Y, Y, N),
    (P_JUDGE, Y, N, Y),
    (P_OTHER_JUDGE, N, N, N),
    (P_CLERK, Y, N, N),
    (P_ADMIN, N, N, N),
    (P_OUTSIDER, N, N, N),
    (P_SYSADMIN, N, N, N),
    (None, N, N, N),
]


@pytest.mark.parametrize(("principal", "read", "participate", "conduct"), HEARING_TABLE)
def test_hearing_table(
    principal: Principal | None, read: bool, participate: bool, conduct: bool
) -> None:
    policy = spine_policy()
    register_filing(policy)
    hearing.register_policy(policy)
    resource = case_access()
    for action, expected in (
        (hearing.READ, read),
        (hearing.PARTICIPATE, participate),
        (hearing.CONDUCT, conduct),
    ):
        assert policy.permits(principal, action, hearing.RESOURCE, resource) is expected, action
        if not expected:
            with pytest.raises(NotFound):
                policy.check(principal, action, hearing.RESOURCE, resource)


MEDIATION_TABLE = [
    # principal, read, participate, manage, mediate
    (P_PLAINTIFF, Y, Y, N, N),
    (P_LAWYER, Y, Y, N, N),
    (P_JUDGE, Y, N, Y, Y),
    (P_ADMIN, Y, N, Y, N),
    (P_CLERK, Y, N, N, N),
    (P_MEDIATOR, Y, N, N, Y),  # designated: not otherwise related to the case
    (P_OTHER_JUDGE, N, N, N, N),
    (P_OUTSIDER, N, N, N, N),
    (None, N, N, N, N),
]


@pytest.mark.parametrize(("principal", "read", "participate", "manage", "mediate"), MEDIATION_TABLE)
def test_mediation_table(
    principal: Principal | None, read: bool, participate: bool, manage: bool, mediate: bool
) -> None:
    policy = spine_policy()
    mediation.register_policy(policy)
    resource = mediation.MediationAccess(case_access(), MEDIATOR)
    expected = {
        mediation.READ: read,
        mediation.PARTICIPATE: participate,
        mediation.MANAGE: manage,
        mediation.MEDIATE: mediate,
    }
    for action, allowed in expected.items():
        assert policy.permits(principal, action, mediation.RESOURCE, resource) is allowed, action
        if not allowed:
            with pytest.raises(NotFound):
                policy.check(principal, action, mediation.RESOURCE, resource)


def test_without_a_designated_mediator_the_clerk_does_not_mediate() -> None:
    policy = spine_policy()
    mediation.register_policy(policy)
    resource = mediation.MediationAccess(case_access(), None)
    assert not policy.permits(P_MEDIATOR, mediation.READ, mediation.RESOURCE, resource)
    assert not policy.permits(P_MEDIATOR, mediation.MEDIATE, mediation.RESOURCE, resource)


def test_a_lawyer_acts_for_the_party_named_in_the_power_of_attorney_only() -> None:
    filing = Filing(id=uuid.uuid4(), status="registered", created_by_id=PLAINTIFF)
    plaintiff = Party(id=uuid.uuid4(), role="plaintiff", account_id=PLAINTIFF)
    first = Party(id=uuid.uuid4(), role="defendant", account_id=DEFENDANT)
    second = Party(id=uuid.uuid4(), role="defendant", account_id=None)
    rep = Representation(id=uuid.uuid4(), lawyer_account_id=LAWYER)
    rep.party_id = first.id
    parties = [plaintiff, first, second]
    case = hearing.Case(filing, build_access(filing, parties, [rep]), parties, (rep,))
    assert case.accounts_for_party(first.id) == {DEFENDANT, LAWYER}
    assert case.accounts_for_party(second.id) == frozenset()
    assert [p.id for p in case.parties_for(LAWYER)] == [first.id]
    assert case.acts_for(P_LAWYER, first.id) and not case.acts_for(P_LAWYER, second.id)
    assert case.speaking_for(P_LAWYER, None) is first
    with pytest.raises(Forbidden):
        case.speaking_for(P_LAWYER, second.id)
    with pytest.raises(Forbidden):
        case.speaking_for(P_JUDGE, None)
