"""/api/v1/service/: serve documents, consent, inbox, receipt, deadlines, proof of service.

Case-level routes authorise through the policy on a fresh view of the case (every denial is a
404). A delivery is visible to its recipient and to the court staff of its case, to nobody else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from aiohttp import web
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from tortoise.transactions import in_transaction

from backend.appkeys import AUDIT, BLOBS, KEYRING, POLICY, RATE_LIMITER, SETTINGS
from backend.auth.principal import Principal, Role
from backend.errors import (
    Conflict,
    NotFound,
    ValidationFailed,
)
from backend.fieldcrypto import FieldCipher
from backend.http import endpoint, request_actor, require_principal
from backend.policy import Policy, Relation, case_relations
from backend.storage.http import file_response, read_upload
from backend.storage.purposes import UploadRule
from backend.storage.service import get_file
from backend.storage.sniff import FileKind
from filing.access import FilingAccess, load_access
from filing.filings import get_filing
from filing.models import Filing
from identity.presence import require_recent_presence
from service_of_process import service as svc
from service_of_process.consent import RESOURCE, record_consent
from service_of_process.documents import DocumentKind
from service_of_process.models import (
    Channel,
    ConsentBasis,
    ServiceAttempt,
    ServiceDeadline,
    ServiceDelivery,
    ServiceDocument,
    ServiceTask,
    SignatureCode,
)
from service_of_process.postal import (
    failure_label,
    publish_notice,
    record_postal_failure,
    record_postal_service,
)
from service_of_process.proof import ProofInvalid, render_proof, verify_proof
from service_of_process.proof_records import build_proof, compare_with_record, public_keys
from service_of_process.rules import LEGAL_GROUNDS, NOT_SERVED_GROUND
from service_of_process.schemas import (
    AttemptOut,
    CaseDeadlineOut,
    CaseDeadlines,
    ConsentIn,
    ConsentOut,
    DeadlineOut,
    DeliveryList,
    DeliveryOut,
    DocumentCheckOut,
    DocumentMatchOut,
    DocumentOut,
    LinkOut,
    PostalFailedIn,
    PostalIn,
    ProofCheckOut,
    PublicNoticeIn,
    SignatureCodeIn,
    SignIn,
    StaffConsentIn,
    TaskCreate,
    TaskList,
    TaskOut,
)

routes = web.RouteTableDef()
TAGS = ("service",)
READ, SERVE, MANAGE = "read", "serve", "manage"
PROOF_MAX_BYTES = 5 * 1024 * 1024
# A 6-digit code: a few wrong tries, then a lockout for the window.
CODE_FAILURES_BEFORE_LOCK = 5
CODE_LOCK_WINDOW_S = 15 * 60
_hasher = PasswordHasher()
PDF_RESPONSE = {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}
UPLOAD_FORM = {"multipart/form-data": {"schema": {"type": "object"}}}


# ------------------------------------------------------------------------------ policy


def _court_clerk(principal: Principal, access: FilingAccess) -> bool:
    return principal.has(Role.CLERK) and principal.court_code == access.court_code


def _rule(relations: frozenset[str], *, court_clerks: bool) -> Any:
    def rule(principal: Principal, resource: object) -> bool:
        if not isinstance(resource, FilingAccess) or resource.status != "registered":
            return False
        if case_relations(principal, resource) & relations:
            return True
        return court_clerks and _court_clerk(principal, resource)

    return rule


def register_policy(policy: Policy) -> None:
    everyone = frozenset(
        {Relation.PARTY, Relation.AGENT, Relation.JUDGE, Relation.CLERK, Relation.COURT_ADMIN}
    )
    staff = frozenset({Relation.JUDGE, Relation.CLERK})
    policy.case_scoped.add(RESOURCE)
    policy.allow(RESOURCE, [READ], _rule(everyone, court_clerks=True))
    policy.allow(RESOURCE, [SERVE], _rule(staff, court_clerks=True))
    policy.allow(RESOURCE, [MANAGE], _rule(staff | {Relation.COURT_ADMIN}, court_clerks=True))


async def _case(request: web.Request, action: str) -> tuple[Filing, FilingAccess]:
    principal = require_principal(request)
    filing = await get_filing(request.match_info["case_id"])
    access, _ = await load_access(filing)
    request.config_dict[POLICY].check(principal, action, RESOURCE, access)
    return filing, access


def _may(request: web.Request, action: str, access: FilingAccess) -> bool:
    return request.config_dict[POLICY].permits(require_principal(request), action, RESOURCE, access)


async def _delivery(request: web.Request) -> tuple[ServiceDelivery, bool]:
    """The delivery and whether the caller is its recipient; 404 for anyone else but staff."""
    principal = require_principal(request)
    try:
        delivery_id = UUID(request.match_info["delivery_id"])
    except ValueError:
        raise NotFound("no such delivery") from None
    delivery = await ServiceDelivery.get_or_none(id=delivery_id)
    if delivery is None:
        raise NotFound("no such delivery")
    if delivery.account_id is not None and delivery.account_id == principal.account_id:
        return delivery, True
    filing = await Filing.get_or_none(id=delivery.filing_id)
    if filing is None:
        raise NotFound("no such delivery")
    access, _ = await load_access(filing)
    if not _may(request, MANAGE, access):
        raise NotFound("no such delivery")
    return delivery, False


def _cipher(request: web.Request) -> FieldCipher:
    return FieldCipher(request.config_dict[KEYRING].field_key)


# ------------------------------------------------------------------------------ shapes


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _doc_out(d: ServiceDocument) -> DocumentOut:
    return DocumentOut(
        id=str(d.id),
        kind=d.kind,
        title_zh=d.title_zh,
        title_en=d.title_en,
        sha256=d.sha256,
        size=d.size,
    )


async def _delivery_out(
    delivery: ServiceDelivery,
    task: ServiceTask | None = None,
    documents: list[ServiceDocument] | None = None,
) -> DeliveryOut:
    [out] = await _deliveries_out(
        [delivery],
        tasks={task.id: task} if task is not None else None,
        documents={task.id: documents} if task is not None and documents is not None else None,
    )
    return out


async def _deliveries_out(
    deliveries: Sequence[ServiceDelivery],
    *,
    tasks: dict[UUID, ServiceTask] | None = None,
    documents: dict[UUID, list[ServiceDocument]] | None = None,
) -> list[DeliveryOut]:
    """The shapes of many deliveries with one query per table (tasks, documents, attempts,
    deadlines), whatever their number; ``tasks`` / ``documents`` the caller already read."""
    if not deliveries:
        return []
    ids = [d.id for d in deliveries]
    task_ids = {d.task_id for d in deliveries}  # type: ignore[attr-defined]
    tasks = dict(tasks or {})
    if missing := task_ids - set(tasks):
        tasks.update({t.id: t for t in await ServiceTask.filter(id__in=missing)})
    docs: dict[UUID, list[ServiceDocument]] = {t: [] for t in task_ids}
    docs.update(documents or {})
    if missing := task_ids - set(documents or {}):
        for doc in await ServiceDocument.filter(task_id__in=missing).order_by("position"):
            docs[doc.task_id].append(doc)  # type: ignore[attr-defined]
    attempts: dict[UUID, list[ServiceAttempt]] = {d: [] for d in ids}
    for a in await ServiceAttempt.filter(delivery_id__in=ids).order_by("stage", "channel"):
        attempts[a.delivery_id].append(a)  # type: ignore[attr-defined]
    # A copy for information shows the periods running from the original service.
    served_ids = {d.id: d.copy_of_id or d.id for d in deliveries}
    deadlines: dict[UUID, list[ServiceDeadline]] = {d: [] for d in served_ids.values()}
    for dl in await ServiceDeadline.filter(delivery_id__in=list(deadlines)).order_by("kind"):
        deadlines[dl.delivery_id].append(dl)
    return [
        _delivery_shape(
            d,
            tasks[d.task_id],  # type: ignore[attr-defined]
            docs[d.task_id],  # type: ignore[attr-defined]
            attempts[d.id],
            deadlines[served_ids[d.id]],
        )
        for d in deliveries
    ]


def _delivery_shape(
    delivery: ServiceDelivery,
    task: ServiceTask,
    documents: list[ServiceDocument],
    attempts: list[ServiceAttempt],
    deadlines: list[ServiceDeadline],
) -> DeliveryOut:
    ground = LEGAL_GROUNDS.get(delivery.service_rule or "", NOT_SERVED_GROUND)
    signed = delivery.signed_at is not None
    return DeliveryOut(
        id=str(delivery.id),
        task_id=str(task.id),
        case_id=str(delivery.filing_id),
        case_number=task.case_number,
        court_name_zh=task.court_name_zh,
        recipient_name=delivery.recipient_name,
        recipient_role=delivery.recipient_role,
        recipient_abroad=delivery.recipient_abroad,
        consent_basis=delivery.consent_basis,
        status=delivery.status,
        stage=delivery.stage,
        service_date=_iso(delivery.service_date),
        service_rule=delivery.service_rule,
        legal_ground_zh=ground[0],
        legal_ground_en=ground[1],
        signed_at=_iso(delivery.signed_at),
        signed_method=delivery.signed_method,
        # Only the recipient can sign (sign_receipt): the signer is the delivery's party.
        signer_party_id=str(delivery.party_id) if signed and delivery.party_id else None,
        signer_name=delivery.recipient_name if signed else None,
        postal_reason=delivery.postal_reason,
        postal_failure=delivery.postal_failure,
        postal_failure_label=failure_label(delivery.postal_failure),
        postal_failed_at=_iso(delivery.postal_failed_at),
        published_at=_iso(delivery.published_at),
        notice_medium=delivery.notice_medium,
        notice_reference=delivery.notice_reference,
        copy_of=str(delivery.copy_of_id) if delivery.copy_of_id else None,
        documents=[_doc_out(d) for d in documents],
        attempts=[
            AttemptOut(
                channel=a.channel,
                stage=a.stage,
                status=a.status,
                address_masked=a.address_masked,
                address_confirmed=a.address_confirmed,
                detail=a.detail,
                sent_at=_iso(a.sent_at),
                delivered_at=_iso(a.delivered_at),
            )
            for a in attempts
        ],
        deadlines=[_deadline_out(d) for d in deadlines],
    )


def _deadline_out(d: ServiceDeadline) -> DeadlineOut:
    return DeadlineOut(
        kind=d.kind,
        article=d.article,
        days=d.days,
        start=str(d.start),
        due=str(d.due),
        rolled_over=d.rolled_over,
        provisional=d.provisional,
        explanation_zh=d.explanation_zh,
        explanation_en=d.explanation_en,
    )


async def _task_out(task: ServiceTask, only_account: UUID | None) -> TaskOut:
    documents = await ServiceDocument.filter(task_id=task.id).order_by("position")
    query = ServiceDelivery.filter(task_id=task.id)
    if only_account is not None:
        query = query.filter(account_id=only_account)
    deliveries = await query.order_by("created_at", "id")
    return TaskOut(
        id=str(task.id),
        case_id=str(task.filing_id),
        case_number=task.case_number,
        origin=task.origin,
        plan=task.plan,
        fallback=task.fallback,
        escalate_after_s=task.escalate_after_s,
        created_at=task.created_at.isoformat(),
        documents=[_doc_out(d) for d in documents],
        deliveries=await _deliveries_out(
            deliveries, tasks={task.id: task}, documents={task.id: documents}
        ),
    )


# ------------------------------------------------------------------------------ serving


@routes.post("/cases/{case_id}/tasks")
@endpoint(
    "Serve documents (uploaded PDFs or generated from templates) to recipients of a case "
    "with a channel plan",
    body=TaskCreate,
    response=TaskOut,
    status=201,
    roles={Role.JUDGE, Role.CLERK},
    tags=TAGS,
    errors=(404, 409, 422),
)
async def create_task(request: web.Request, *, body: TaskCreate) -> TaskOut:
    principal = require_principal(request)
    filing, _ = await _case(request, SERVE)
    settings = request.config_dict[SETTINGS]
    prepared: list[svc.PreparedDocument] = []
    facts = None
    for doc in body.documents:
        if doc.template_fields is not None:
            facts = facts or await svc.case_facts(filing)
            context = await svc.document_context(filing, doc.template_fields, facts)
            prepared.append(
                await svc.prepare_generated(request.config_dict[BLOBS], doc.kind, context)
            )
        else:
            prepared.append(svc.PreparedDocument(kind=DocumentKind(doc.kind), file_id=doc.file_id))
    plan = svc.Plan(
        stages=tuple(tuple(stage) for stage in body.plan),
        fallback=svc.Fallback(body.fallback),
        escalate_after_s=body.escalate_after_s or settings.service_escalate_after_s,
    )
    async with in_transaction() as conn:
        locked = await get_filing(str(filing.id), conn)
        task = await svc.create_service_task(
            conn,
            _cipher(request),
            request.config_dict[AUDIT],
            request_actor(request),
            filing=locked,
            documents=prepared,
            recipients=[
                svc.RecipientRef(party_id=r.party_id, account_id=r.account_id, abroad=r.abroad)
                for r in body.recipients
            ],
            plan=plan,
            created_by=principal.account_id,
        )
    return await _task_out(task, None)


@routes.get("/cases/{case_id}/tasks")
@endpoint(
    "Service tasks of a case (court staff: every recipient; parties: their own deliveries)",
    response=TaskList,
    tags=TAGS,
)
async def list_tasks(request: web.Request) -> TaskList:
    filing, access = await _case(request, READ)
    staff = _may(request, MANAGE, access)
    only = None if staff else require_principal(request).account_id
    tasks = await ServiceTask.filter(filing_id=filing.id).order_by("created_at", "id")
    out = [await _task_out(t, only) for t in tasks]
    return TaskList(items=[t for t in out if staff or t.deliveries])


@routes.get("/cases/{case_id}/deadlines")
@endpoint(
    "Deadlines running from service in a case (court staff: all; parties: their own)",
    response=CaseDeadlines,
    tags=TAGS,
)
async def case_deadlines(request: web.Request) -> CaseDeadlines:
    filing, access = await _case(request, READ)
    query = ServiceDelivery.filter(filing_id=filing.id, service_date__isnull=False)
    staff = _may(request, MANAGE, access)
    me = require_principal(request).account_id
    # A party and its agents see the deadlines of their own side (the lawyer's dashboard).
    side = access.side_of(me)
    items: list[CaseDeadlineOut] = []
    visible = [
        delivery
        for delivery in await query.order_by("created_at")
        if staff or delivery.account_id == me or delivery.recipient_role in side
    ]
    by_delivery: dict[UUID, list[ServiceDeadline]] = {d.id: [] for d in visible}
    if visible:
        for row in await ServiceDeadline.filter(delivery_id__in=list(by_delivery)).order_by("kind"):
            by_delivery[row.delivery_id].append(row)
    for delivery in visible:
        for d in by_delivery[delivery.id]:
            items.append(
                CaseDeadlineOut(
                    **_deadline_out(d).model_dump(),
                    delivery_id=str(delivery.id),
                    recipient_name=delivery.recipient_name,
                    recipient_role=delivery.recipient_role,
                    service_date=_iso(delivery.service_date) or "",
                )
            )
    items.sort(key=lambda i: (i.due, i.kind))
    return CaseDeadlines(case_id=str(filing.id), items=items)


# ------------------------------------------------------------------------------ consent


def _addresses(body: ConsentIn) -> dict[Channel, str | None]:
    addresses: dict[Channel, str | None] = {}
    if body.inbox:
        addresses[Channel.INAPP] = None
    if body.email is not None:
        addresses[Channel.EMAIL] = body.email
    if body.mobile is not None:
        addresses[Channel.SMS] = body.mobile
    return addresses


def _consent_out(row: Any) -> ConsentOut:
    return ConsentOut(
        id=str(row.id),
        case_id=str(row.filing_id),
        account_id=str(row.account_id),
        basis=row.basis,
        addresses_masked=row.addresses_masked,
        created_at=row.created_at.isoformat(),
    )


@routes.post("/cases/{case_id}/consents/mine")
@endpoint(
    "Consent to electronic service in this case and give your service addresses",
    body=ConsentIn,
    response=ConsentOut,
    status=201,
    tags=TAGS,
    errors=(404, 422),
)
async def my_consent(request: web.Request, *, body: ConsentIn) -> ConsentOut:
    principal = require_principal(request)
    filing, access = await _case(request, READ)
    if not case_relations(principal, access) & {Relation.PARTY, Relation.AGENT}:
        raise NotFound("no such case")
    async with in_transaction() as conn:
        row = await record_consent(
            conn,
            _cipher(request),
            request.config_dict[AUDIT],
            request_actor(request),
            filing_id=filing.id,
            account_id=principal.account_id,
            basis=ConsentBasis.EXPLICIT,
            addresses=_addresses(body),
            evidence="given in the app",
            recorded_by=principal.account_id,
        )
    return _consent_out(row)


@routes.post("/cases/{case_id}/consents")
@endpoint(
    "Record a recipient's consent the court holds (prior agreement, consent given in court)",
    body=StaffConsentIn,
    response=ConsentOut,
    status=201,
    roles={Role.JUDGE, Role.CLERK},
    tags=TAGS,
    errors=(404, 422),
)
async def staff_consent(request: web.Request, *, body: StaffConsentIn) -> ConsentOut:
    principal = require_principal(request)
    filing, access = await _case(request, SERVE)
    if body.account_id not in access.party_account_ids | access.agent_account_ids:
        raise ValidationFailed("account_id: not a party or agent of this case")
    async with in_transaction() as conn:
        row = await record_consent(
            conn,
            _cipher(request),
            request.config_dict[AUDIT],
            request_actor(request),
            filing_id=filing.id,
            account_id=body.account_id,
            basis=ConsentBasis(body.basis),
            addresses=_addresses(body),
            evidence=body.evidence,
            recorded_by=principal.account_id,
        )
    return _consent_out(row)


# ------------------------------------------------------------------------------ recipient


@routes.get("/inbox")
@endpoint("Documents served on me (newest first)", response=DeliveryList, tags=TAGS)
async def inbox(request: web.Request) -> DeliveryList:
    principal = require_principal(request)
    rows = (
        await ServiceDelivery.filter(account_id=principal.account_id)
        .order_by("-created_at")
        .limit(100)
    )
    return DeliveryList(items=await _deliveries_out(rows[:100]))


@routes.get("/deliveries/{delivery_id}")
@endpoint(
    "One delivery: documents, attempts, service date and deadlines",
    response=DeliveryOut,
    tags=TAGS,
    errors=(404,),
)
async def get_delivery(request: web.Request) -> DeliveryOut:
    delivery, is_recipient = await _delivery(request)
    async with in_transaction() as conn:
        await svc.log_access(
            conn,
            delivery,
            require_principal(request).account_id,
            "view" if is_recipient else "staff_view",
        )
    return await _delivery_out(delivery)


async def _check_signature_code(request: web.Request, account_id: UUID, code: str) -> None:
    limiter = request.config_dict[RATE_LIMITER]
    key = f"service.signature_code:{account_id}"
    await limiter.ensure_not_locked(
        key,
        limit=CODE_FAILURES_BEFORE_LOCK,
        window_s=CODE_LOCK_WINDOW_S,
        what="wrong signature codes",
    )
    row = await SignatureCode.get_or_none(account_id=account_id)
    ok = False
    if row is not None:
        loop = asyncio.get_running_loop()
        ok = await loop.run_in_executor(None, _verify_code, row.code_hash, code)
    if not ok:
        await limiter.hit(
            key,
            limit=CODE_FAILURES_BEFORE_LOCK,
            window_s=CODE_LOCK_WINDOW_S,
            what="wrong signature codes",
        )
        raise ValidationFailed(
            "the signature code is wrong or not set / 签收码错误或尚未设置",
            code="wrong_signature_code",
        )


def _verify_code(code_hash: str, code: str) -> bool:
    try:
        return _hasher.verify(code_hash, code)
    except (VerificationError, InvalidHashError):
        return False


@routes.post("/deliveries/{delivery_id}/sign")
@endpoint(
    "Sign for the documents served on me: with my signature code, or after a face check "
    "from the last 5 minutes",
    body=SignIn,
    response=DeliveryOut,
    tags=TAGS,
    errors=(403, 404, 422, 429),
)
async def sign(request: web.Request, *, body: SignIn) -> DeliveryOut:
    principal = require_principal(request)
    delivery, is_recipient = await _delivery(request)
    if not is_recipient:
        raise NotFound("no such delivery")
    if body.signature_code is not None:
        await _check_signature_code(request, principal.account_id, body.signature_code)
        method = "code"
    else:
        require_recent_presence(principal)
        method = "face"
    async with in_transaction() as conn:
        delivery = await svc.sign_receipt(
            conn,
            _cipher(request),
            request.config_dict[AUDIT],
            request_actor(request),
            delivery.id,
            principal.account_id,
            method,
        )
    return await _delivery_out(delivery)


@routes.put("/signature-code")
@endpoint(
    "Set or change my personal signature code (changing it needs the current one)",
    body=SignatureCodeIn,
    tags=TAGS,
    errors=(422, 429),
)
async def set_signature_code(request: web.Request, *, body: SignatureCodeIn) -> None:
    principal = require_principal(request)
    existing = await SignatureCode.get_or_none(account_id=principal.account_id)
    if existing is not None:
        if body.current_code is None:
            raise ValidationFailed(
                "give your current signature code to change it / 修改签收码需提供原签收码",
                code="current_code_required",
            )
        await _check_signature_code(request, principal.account_id, body.current_code)
    loop = asyncio.get_running_loop()
    code_hash = await loop.run_in_executor(None, _hasher.hash, body.code)
    async with in_transaction() as conn:
        if existing is None:
            await SignatureCode.create(
                account_id=principal.account_id,
                code_hash=code_hash,
                set_at=svc.utcnow(),
                using_db=conn,
            )
        else:
            await (
                SignatureCode.filter(account_id=principal.account_id)
                .using_db(conn)
                .update(code_hash=code_hash, set_at=svc.utcnow())
            )
        await request.config_dict[AUDIT].record(
            conn,
            request_actor(request),
            "service.set_signature_code",
            "account",
            str(principal.account_id),
            {},
        )


@routes.get("/deliveries/{delivery_id}/documents/{document_id}")
@endpoint(
    "Download a served document (the recipient after signing for it; court staff)",
    tags=TAGS,
    response_content=PDF_RESPONSE,
    errors=(404, 409),
)
async def download(request: web.Request) -> web.StreamResponse:
    principal = require_principal(request)
    delivery, is_recipient = await _delivery(request)
    try:
        document_id = UUID(request.match_info["document_id"])
    except ValueError:
        raise NotFound("no such document") from None
    document = await ServiceDocument.get_or_none(id=document_id, task_id=delivery.task_id)  # type: ignore[attr-defined]
    if document is None:
        raise NotFound("no such document")
    # A copy for information needs no receipt: the documents were served already.
    if is_recipient and delivery.signed_at is None and delivery.copy_of_id is None:
        raise Conflict("sign for the documents first / 请先签收", code="not_signed")
    stored = await get_file(document.file_id)
    async with in_transaction() as conn:
        await svc.record_open(
            conn,
            request.config_dict[AUDIT],
            delivery,
            principal.account_id,
            document.id,
            "download" if is_recipient else "staff_download",
        )
    return await file_response(
        request,
        stored.blob.as_stored(),
        f"{document.title_zh}.pdf",
    )


@routes.post("/deliveries/{delivery_id}/postal")
@endpoint(
    "Record paper service by post (when the recipient did not consent or every channel failed)",
    body=PostalIn,
    response=DeliveryOut,
    roles={Role.JUDGE, Role.CLERK},
    tags=TAGS,
    errors=(404, 409),
)
async def postal(request: web.Request, *, body: PostalIn) -> DeliveryOut:
    delivery, _ = await _delivery(request)
    async with in_transaction() as conn:
        delivery = await record_postal_service(
            conn,
            request.config_dict[AUDIT],
            request_actor(request),
            delivery.id,
            body.served_at,
            body.tracking_number,
        )
    return await _delivery_out(delivery)


@routes.post("/deliveries/{delivery_id}/postal-failed")
@endpoint(
    "Record post that came back (邮寄失败: 退回-无法投递, 查无此人, 下落不明); the delivery "
    "still waits for service",
    body=PostalFailedIn,
    response=DeliveryOut,
    roles={Role.JUDGE, Role.CLERK},
    tags=TAGS,
    errors=(404, 409),
)
async def postal_failed(request: web.Request, *, body: PostalFailedIn) -> DeliveryOut:
    delivery, _ = await _delivery(request)
    async with in_transaction() as conn:
        delivery = await record_postal_failure(
            conn,
            request.config_dict[AUDIT],
            request_actor(request),
            delivery.id,
            body.reason,
            body.tracking_number,
            body.returned_at,
        )
    return await _delivery_out(delivery)


@routes.post("/deliveries/{delivery_id}/public-notice")
@endpoint(
    "Serve by public notice (公告送达) after post came back with the addressee unknown or "
    "whereabouts unknown: deemed served 30 days after publication, 60 abroad (CPL Art. 95)",
    body=PublicNoticeIn,
    response=DeliveryOut,
    roles={Role.JUDGE, Role.CLERK},
    tags=TAGS,
    errors=(404, 409),
)
async def public_notice(request: web.Request, *, body: PublicNoticeIn) -> DeliveryOut:
    delivery, _ = await _delivery(request)
    async with in_transaction() as conn:
        delivery = await publish_notice(
            conn,
            request.config_dict[AUDIT],
            request_actor(request),
            delivery.id,
            body.published_at,
            body.medium,
            body.reference,
        )
    return await _delivery_out(delivery)


@routes.get("/postal-tasks")
@endpoint(
    "Deliveries waiting for paper service at my court (no consent, no account, or every "
    "channel failed)",
    response=DeliveryList,
    roles={Role.JUDGE, Role.CLERK},
    tags=TAGS,
)
async def postal_tasks(request: web.Request) -> DeliveryList:
    principal = require_principal(request)
    tasks = ServiceTask.filter(court_code=principal.court_code or "").values_list("id", flat=True)
    rows = (
        await ServiceDelivery.filter(
            task_id__in=list(await tasks), status="postal", postal_served_at__isnull=True
        )
        .order_by("postal_required_at", "id")
        .limit(200)
    )
    return DeliveryList(items=await _deliveries_out(rows[:200]))


# ------------------------------------------------------------------------------ short links


@routes.get("/s/{link_id}")
@endpoint(
    "Short link from a text or email: logs the click and opens the app's service page "
    "(the link carries only an opaque id)",
    public=True,
    tags=TAGS,
    response_content={"text/plain": {"schema": {"type": "string"}}},
    errors=(404,),
)
async def short_link(request: web.Request) -> web.Response:
    attempt = await ServiceAttempt.get_or_none(link_id=request.match_info["link_id"][:32])
    if attempt is None:
        raise NotFound("no such link")
    delivery = await ServiceDelivery.get(id=attempt.delivery_id)  # type: ignore[attr-defined]
    async with in_transaction() as conn:
        await svc.log_access(conn, delivery, None, "link_opened", method=attempt.channel)
    base = request.config_dict[SETTINGS].public_base_url.rstrip("/")
    return web.Response(
        status=302,
        headers={"Location": f"{base}/miniapp/#/service/link/{attempt.link_id}"},
        text="open the mobile court to read the documents",
    )


@routes.get("/links/{link_id}")
@endpoint(
    "Which of my deliveries a short link points to", response=LinkOut, tags=TAGS, errors=(404,)
)
async def resolve_link(request: web.Request) -> LinkOut:
    principal = require_principal(request)
    attempt = await ServiceAttempt.get_or_none(link_id=request.match_info["link_id"][:32])
    delivery = None
    if attempt is not None:
        delivery = await ServiceDelivery.get(id=attempt.delivery_id)  # type: ignore[attr-defined]
    if delivery is None or delivery.account_id != principal.account_id:
        raise NotFound("no such link")
    return LinkOut(delivery_id=str(delivery.id))


# ------------------------------------------------------------------------------ proof


@routes.get("/deliveries/{delivery_id}/proof")
@endpoint(
    "The proof of service (电子送达凭证) as a PDF signed with the court's key",
    tags=TAGS,
    response_content=PDF_RESPONSE,
    errors=(404,),
)
async def proof(request: web.Request) -> web.Response:
    delivery, _ = await _delivery(request)
    # A copy for information proves nothing itself: the proof is the original service's.
    served = await ServiceDelivery.get(id=delivery.copy_of_id) if delivery.copy_of_id else delivery
    record = await build_proof(served)
    key = request.config_dict[KEYRING].server_key
    loop = asyncio.get_running_loop()
    pdf = await loop.run_in_executor(None, render_proof, record, key.private_key, key.kid)
    async with in_transaction() as conn:
        await svc.log_access(conn, delivery, require_principal(request).account_id, "proof")
    return web.Response(
        body=pdf,
        content_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="proof-of-service-{delivery.id}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@routes.post("/proofs/verify")
@endpoint(
    "Check a proof-of-service PDF: the court's signature, and the record it names",
    response=ProofCheckOut,
    tags=TAGS,
    request_content=UPLOAD_FORM,
    errors=(413, 415),
)
async def verify_proof_route(request: web.Request) -> ProofCheckOut:
    upload = await read_upload(
        request, rule=UploadRule(frozenset({FileKind.PDF}), PROOF_MAX_BYTES), keep=True
    )
    pdf = await request.config_dict[BLOBS].read_bytes(upload.blob.sha256, max_bytes=PROOF_MAX_BYTES)
    keys = public_keys(request.config_dict[KEYRING].server_key)
    loop = asyncio.get_running_loop()
    try:
        presented = await loop.run_in_executor(None, verify_proof, pdf, keys)
    except ProofInvalid as exc:
        return ProofCheckOut(valid_signature=False, differences=[exc.detail])
    delivery, differences = await compare_with_record(presented)
    return ProofCheckOut(
        valid_signature=True,
        proof_id=presented.proof_id,
        matches_record=delivery is not None and not differences,
        differences=differences,
        service_date=_iso(presented.service_date),
    )


@routes.post("/documents/verify")
@endpoint(
    "Check a document against what was served: its SHA-256 among the documents of cases "
    "you may see",
    response=DocumentCheckOut,
    tags=TAGS,
    request_content=UPLOAD_FORM,
    errors=(413, 415),
)
async def verify_document(request: web.Request) -> DocumentCheckOut:
    principal = require_principal(request)
    upload = await read_upload(
        request, rule=UploadRule(frozenset(FileKind), 50 * 1024 * 1024), keep=False
    )
    sha = upload.blob.sha256
    matches: list[DocumentMatchOut] = []
    documents = await ServiceDocument.filter(sha256=sha).select_related("task")
    filings = (
        {f.id: f for f in await Filing.filter(id__in={d.task.filing_id for d in documents})}
        if documents
        else {}
    )
    allowed: dict[UUID, bool] = {}
    for document in documents:
        task: ServiceTask = document.task
        filing = filings.get(task.filing_id)
        if filing is None:
            continue
        if filing.id not in allowed:
            # One access check per case, however many of its documents match.
            access, _ = await load_access(filing)
            allowed[filing.id] = request.config_dict[POLICY].permits(
                principal, READ, RESOURCE, access
            )
        if not allowed[filing.id]:
            continue
        matches.append(
            DocumentMatchOut(
                case_number=task.case_number,
                task_id=str(task.id),
                document_id=str(document.id),
                title_zh=document.title_zh,
                served_at=task.created_at,
            )
        )
    return DocumentCheckOut(sha256=sha, matches=matches)


def create_app() -> web.Application:
    app = web.Application()
    app.add_routes(routes)
    return app
