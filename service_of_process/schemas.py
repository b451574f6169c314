"""Request and response shapes of /api/v1/service/."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, Field, model_validator

from backend.schemas import Input, Output
from service_of_process.documents import DocumentKind
from service_of_process.models import Channel, PostalFailure


class DocumentIn(Input):
    kind: DocumentKind
    file_id: UUID | None = Field(
        default=None, description="an uploaded PDF (POST /api/v1/files/?purpose=document)"
    )
    template_fields: dict[str, str] | None = Field(
        default=None,
        max_length=20,
        description="generate the document from its template with these fields instead",
    )

    @model_validator(mode="after")
    def _one_source(self) -> DocumentIn:
        if (self.file_id is None) == (self.template_fields is None):
            raise ValueError("give either file_id or template_fields")
        return self


class RecipientIn(Input):
    party_id: UUID | None = None
    account_id: UUID | None = Field(default=None, description="an agent (lawyer) in the case")
    abroad: bool | None = Field(
        default=None,
        description="the recipient has no domicile in the PRC: 30-day response and appeal "
        "periods (CPL Art. 285–286), public notice deemed served after 60 days; omitted: "
        "taken from the party record (domiciled_abroad; an agent: any party it represents)",
    )


class TaskCreate(Input):
    documents: list[DocumentIn] = Field(min_length=1, max_length=20)
    recipients: list[RecipientIn] = Field(min_length=1, max_length=50)
    plan: list[list[Channel]] = Field(
        min_length=1,
        max_length=4,
        description="stages of channels sent together; the next stage only if the previous "
        "was not effective in time",
    )
    fallback: Literal["postal", "public_notice"] = "postal"
    escalate_after_s: int | None = Field(default=None, ge=1, le=30 * 24 * 3600)


class AttemptOut(Output):
    channel: str
    stage: int
    status: str
    address_masked: str
    address_confirmed: bool
    detail: str
    sent_at: str | None
    delivered_at: str | None


class DeadlineOut(Output):
    kind: str
    article: str
    days: int
    start: str
    due: str
    rolled_over: bool
    provisional: bool
    explanation_zh: str
    explanation_en: str


class DocumentOut(Output):
    id: str
    kind: str
    title_zh: str
    title_en: str
    sha256: str
    size: int


class DeliveryOut(Output):
    id: str
    task_id: str
    case_id: str
    case_number: str
    court_name_zh: str
    recipient_name: str
    recipient_role: str
    recipient_abroad: bool
    consent_basis: str | None
    status: str
    stage: int
    service_date: str | None
    service_rule: str | None
    legal_ground_zh: str
    legal_ground_en: str
    signed_at: str | None
    signed_method: str | None
    signer_party_id: str | None = Field(
        description="the party that signed for the documents (null until signed, and for an "
        "agent's own delivery)"
    )
    signer_name: str | None = Field(description="who signed for them (null until signed)")
    postal_reason: str | None
    postal_failure: str | None = Field(
        description="why the post came back: returned_undeliverable, addressee_unknown, "
        "whereabouts_unknown (the latest return)"
    )
    postal_failure_label: str | None = Field(description="中文 / English name of the reason")
    postal_failed_at: str | None
    published_at: str | None
    notice_medium: str | None
    notice_reference: str | None
    copy_of: str | None = Field(
        description="a copy for information of this delivery, already served on the same "
        "party (status copy): no receipt; service date and deadlines are the original's"
    )
    documents: list[DocumentOut]
    attempts: list[AttemptOut]
    deadlines: list[DeadlineOut]


class TaskOut(Output):
    id: str
    case_id: str
    case_number: str
    origin: str
    plan: list[list[str]]
    fallback: str
    escalate_after_s: int
    created_at: str
    documents: list[DocumentOut]
    deliveries: list[DeliveryOut]


class TaskList(Output):
    items: list[TaskOut]


class DeliveryList(Output):
    items: list[DeliveryOut]


class CaseDeadlineOut(DeadlineOut):
    delivery_id: str
    recipient_name: str
    recipient_role: str
    service_date: str


class CaseDeadlines(Output):
    case_id: str
    items: list[CaseDeadlineOut]


class ConsentIn(Input):
    """The recipient's own explicit consent, with the addresses they give for service."""

    email: str | None = Field(default=None, max_length=254)
    mobile: str | None = Field(default=None, max_length=20)
    inbox: bool = Field(default=False, description="the in-app inbox as a service address")


class StaffConsentIn(ConsentIn):
    """Consent the court records: a prior agreement (e.g. a contract clause)."""

    account_id: UUID
    basis: Literal["prior_agreement", "explicit"] = "prior_agreement"
    evidence: str = Field(min_length=2, max_length=300)


class ConsentOut(Output):
    id: str
    case_id: str
    account_id: str
    basis: str
    addresses_masked: dict[str, str]
    created_at: str


class SignIn(Input):
    signature_code: str | None = Field(
        default=None,
        pattern=r"^[0-9]{6}$",
        description="your personal signature code; without it a face check from the last "
        "5 minutes is required",
    )


class SignatureCodeIn(Input):
    code: str = Field(pattern=r"^[0-9]{6}$")
    current_code: str | None = Field(default=None, pattern=r"^[0-9]{6}$")


class PostalIn(Input):
    served_at: AwareDatetime
    tracking_number: str = Field(min_length=4, max_length=64, pattern=r"^[A-Za-z0-9-]+$")


def _not_future(value: datetime) -> datetime:
    if value > datetime.now(UTC):
        raise ValueError("must not be in the future / 不得晚于当前时间")
    return value


class PostalFailedIn(Input):
    reason: PostalFailure = Field(
        description="returned_undeliverable 退回-无法投递, addressee_unknown 查无此人, "
        "whereabouts_unknown 下落不明"
    )
    tracking_number: str = Field(min_length=4, max_length=64, pattern=r"^[A-Za-z0-9-]+$")
    returned_at: Annotated[AwareDatetime, AfterValidator(_not_future)]


class PublicNoticeIn(Input):
    published_at: Annotated[AwareDatetime, AfterValidator(_not_future)]
    medium: str = Field(
        min_length=2,
        max_length=200,
        description="where it was published, e.g. 人民法院公告网 / court notice board",
    )
    reference: str = Field(min_length=1, max_length=100, description="the notice's number")


class ProofCheckOut(Output):
    valid_signature: bool
    proof_id: str | None = None
    matches_record: bool = False
    differences: list[str] = Field(default_factory=list)
    service_date: str | None = None


class DocumentMatchOut(Output):
    case_number: str
    task_id: str
    document_id: str
    title_zh: str
    served_at: datetime | None = None


class DocumentCheckOut(Output):
    sha256: str
    matches: list[DocumentMatchOut]


class LinkOut(Output):
    delivery_id: str
