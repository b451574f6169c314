"""The rules of asynchronous trial as plain data and pure functions (no database, no HTTP).

Online Litigation Rules Art. 20: mediation, evidence exchange and questioning may run
asynchronously with every party's consent ("exchange" mode); a whole asynchronous *hearing* only in
small-claims cases and civil or administrative cases under simple procedure, when attending together
online is genuinely hard, one party applied in writing and all agree, and after the online exchange
the main facts and evidence are undisputed. Art. 21 lists cases that are never heard online.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from filing.catalogue import CASE_TYPES_BY_CODE, CaseCategory


class Mode(StrEnum):
    HEARING = "hearing"
    EXCHANGE = "exchange"


class Scope(StrEnum):
    """What a party consents to, separately (Art. 2, 4: consent to one step is not to another)."""

    HEARING = "hearing"
    EXCHANGE = "exchange"
    MEDIATION = "mediation"


class StageKind(StrEnum):
    CLAIM = "claim"
    DEFENCE = "defence"
    EVIDENCE = "evidence"
    CROSS_EXAMINATION = "cross_examination"
    INQUIRY = "inquiry"
    DEBATE = "debate"
    FINAL_STATEMENTS = "final_statements"


STAGE_NAMES: dict[StageKind, tuple[str, str]] = {
    StageKind.CLAIM: ("诉讼请求陈述", "statement of claim"),
    StageKind.DEFENCE: ("答辩", "defence"),
    StageKind.EVIDENCE: ("举证", "evidence submission"),
    StageKind.CROSS_EXAMINATION: ("质证", "cross-examination"),
    StageKind.INQUIRY: ("法庭询问", "judge's inquiry"),
    StageKind.DEBATE: ("法庭辩论", "debate"),
    StageKind.FINAL_STATEMENTS: ("最后陈述", "final statements"),
}

STAGES: dict[Mode, tuple[StageKind, ...]] = {
    Mode.HEARING: tuple(StageKind),
    Mode.EXCHANGE: (StageKind.EVIDENCE, StageKind.CROSS_EXAMINATION, StageKind.INQUIRY),
}

PLAINTIFF, DEFENDANT, THIRD_PARTY = "plaintiff", "defendant", "third_party"
JUDGE = "judge"


class Exclusion(StrEnum):
    """Art. 21 grounds the judge records; any of them rules an asynchronous hearing out."""

    NO_TECHNICAL_MEANS = "no_technical_means"
    IN_PERSON_CHECK = "in_person_check"
    COMPLEX_EVIDENCE = "complex_evidence"
    STATE_SECRETS = "state_secrets"
    PUBLIC_ATTENTION = "public_attention"
    OTHER = "other"


EXCLUSION_NAMES: dict[Exclusion, tuple[str, str]] = {
    Exclusion.NO_TECHNICAL_MEANS: (
        "当事人均不具备在线诉讼的技术条件",
        "no party has the technical means for online litigation",
    ),
    Exclusion.IN_PERSON_CHECK: (
        "需要现场查明身份、核对原件或查验实物",
        "identity, originals or objects must be checked in person",
    ),
    Exclusion.COMPLEX_EVIDENCE: ("案件证据繁多、复杂", "the evidence is extensive or complex"),
    Exclusion.STATE_SECRETS: ("涉及国家秘密或国家安全", "state secrets or national security"),
    Exclusion.PUBLIC_ATTENTION: ("社会影响重大、社会关注度高", "major public attention"),
    Exclusion.OTHER: ("人民法院认为不宜在线审理的其他情形", "other reasons the court finds"),
}


@dataclass(frozen=True, slots=True)
class Unmet:
    code: str
    message_zh: str
    message_en: str


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """Everything eligibility depends on, gathered by the service."""

    registered: bool
    case_type_code: str
    procedure: str
    has_written_application: bool
    consents: dict[str, bool | None]  # party id -> consented (None: not answered)
    attendance_hard: bool
    facts_undisputed: bool
    exclusions: tuple[str, ...]


def _category(case_type_code: str) -> CaseCategory | None:
    kind = CASE_TYPES_BY_CODE.get(case_type_code)
    return kind.category if kind is not None else None


def consent_problems(consents: dict[str, bool | None], scope: Scope) -> list[Unmet]:
    """What is missing for "every party consented" (party id -> answer, None: none yet)."""
    problems = []
    missing = [key for key, answer in consents.items() if answer is None]
    refused = [key for key, answer in consents.items() if answer is False]
    if refused and len(refused) == len(consents):
        problems.append(
            Unmet(
                "all_parties_refused",
                "各方当事人均不同意在线审理（第二十一条）",
                "every party refused online proceedings (Art. 21)",
            )
        )
    elif refused:
        problems.append(
            Unmet(
                "party_refused",
                f"有{len(refused)}方当事人不同意（{scope.value}）",
                f"{len(refused)} party/parties refused ({scope.value})",
            )
        )
    if missing:
        problems.append(
            Unmet(
                "consent_missing",
                f"尚有{len(missing)}方当事人未在线表示同意",
                f"{len(missing)} party/parties have not consented in the app yet",
            )
        )
    return problems


def unmet_conditions(facts: CaseFacts, mode: Mode) -> list[Unmet]:
    """Every condition that is not met (empty: eligible), each named in Chinese and English."""
    unmet: list[Unmet] = []
    if not facts.registered:
        unmet.append(Unmet("case_not_registered", "案件尚未立案", "the case is not registered"))
    if mode is Mode.EXCHANGE:
        return unmet + consent_problems(facts.consents, Scope.EXCHANGE)
    category = _category(facts.case_type_code)
    if category not in (CaseCategory.CIVIL, CaseCategory.ADMINISTRATIVE):
        unmet.append(
            Unmet(
                "case_type_not_eligible",
                "仅民事、行政案件可以异步审理",
                "only civil and administrative cases may be heard asynchronously",
            )
        )
    if facts.procedure not in ("small_claims", "simple"):
        unmet.append(
            Unmet(
                "procedure_not_eligible",
                "仅适用小额诉讼程序或简易程序的案件可以异步审理",
                "only small-claims cases and cases under simple procedure may be heard "
                "asynchronously",
            )
        )
    if not facts.has_written_application:
        unmet.append(
            Unmet(
                "no_written_application",
                "尚无当事人提出书面申请",
                "no party has applied in writing",
            )
        )
    unmet.extend(consent_problems(facts.consents, Scope.HEARING))
    if not facts.attendance_hard:
        unmet.append(
            Unmet(
                "attendance_not_found_hard",
                "法官尚未认定各方同时在线参与庭审确有困难",
                "the judge has not found that attending together online is genuinely hard",
            )
        )
    if not facts.facts_undisputed:
        unmet.append(
            Unmet(
                "facts_not_undisputed",
                "法官尚未认定经在线交换后主要事实和证据无争议",
                "the judge has not recorded that the main facts and evidence are undisputed",
            )
        )
    for code in facts.exclusions:
        zh, en = EXCLUSION_NAMES[Exclusion(code)]
        unmet.append(Unmet(f"excluded_{code}", f"第二十一条：{zh}", f"Art. 21: {en}"))
    return unmet
