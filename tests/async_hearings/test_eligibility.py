"""Eligibility rules (Art. 20, 21) as a pure function: every unmet condition is named."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hearings.asynchronous.rules import CaseFacts, Exclusion, Mode, unmet_conditions

ELIGIBLE = CaseFacts(
    registered=True,
    case_type_code="民初",
    procedure="small_claims",
    has_written_application=True,
    consents={"p1": True, "p2": True},
    attendance_hard=True,
    facts_undisputed=True,
    exclusions=(),
)


def codes(facts: CaseFacts, mode: Mode = Mode.HEARING) -> list[str]:
    return [u.code for u in unmet_conditions(facts, mode)]


def test_eligible_case() -> None:
    assert codes(ELIGIBLE) == []
    assert codes(replace(ELIGIBLE, procedure="simple", case_type_code="行初")) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"procedure": "ordinary"}, ["procedure_not_eligible"]),
        ({"case_type_code": "刑初"}, ["case_type_not_eligible"]),
        ({"registered": False}, ["case_not_registered"]),
        ({"has_written_application": False}, ["no_written_application"]),
        ({"consents": {"p1": True, "p2": None}}, ["consent_missing"]),
        ({"consents": {"p1": True, "p2": False}}, ["party_refused"]),
        ({"consents": {"p1": False, "p2": False}}, ["all_parties_refused"]),
        ({"attendance_hard": False}, ["attendance_not_found_hard"]),
        ({"facts_undisputed": False}, ["facts_not_undisputed"]),
        (
            {"exclusions": ("complex_evidence", "state_secrets")},
            ["excluded_complex_evidence", "excluded_state_secrets"],
        ),
    ],
)
def test_each_unmet_condition_is_named(change: dict[str, object], expected: list[str]) -> None:
    assert codes(replace(ELIGIBLE, **change)) == expected  # type: ignore[arg-type]


def test_several_conditions_at_once_in_both_languages() -> None:
    facts = replace(ELIGIBLE, procedure="ordinary", facts_undisputed=False, consents={"p1": None})
    unmet = unmet_conditions(facts, Mode.HEARING)
    assert [u.code for u in unmet] == [
        "procedure_not_eligible",
        "consent_missing",
        "facts_not_undisputed",
    ]
    assert all(u.message_zh and u.message_en and u.message_zh != u.message_en for u in unmet)


def test_every_exclusion_has_a_name() -> None:
    for exclusion in Exclusion:
        (unmet,) = unmet_conditions(replace(ELIGIBLE, exclusions=(exclusion.value,)), Mode.HEARING)
        assert unmet.message_zh.startswith("第二十一条") and "Art. 21" in unmet.message_en


def test_exchange_needs_only_every_partys_consent() -> None:
    # ordinary procedure, no application, no findings: asynchronous exchange is still possible
    facts = replace(
        ELIGIBLE,
        procedure="ordinary",
        case_type_code="刑初",
        has_written_application=False,
        attendance_hard=False,
        facts_undisputed=False,
    )
    assert codes(facts, Mode.EXCHANGE) == []
    assert codes(replace(facts, consents={"p1": True, "p2": None}), Mode.EXCHANGE) == [
        "consent_missing"
    ]
