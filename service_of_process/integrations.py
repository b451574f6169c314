"""Electronic service plugged into the other domains.

Each domain left a seam for what electronic service provides; this module fills them:

- video hearings (``HEARING_NOTICE_SENDER``): the hearing notice is served on the invited parties
  and lawyers inside the scheduling transaction (CPL Art. 139: at least 3 days ahead);
- mediation (``DOCUMENT_SERVER``): the mediation statement, as rendered and stored when the last
  party signed, is served on the parties and their agents;
- filing registration (``REGISTRATION_SERVICE``): the notice of response is served on the
  defendants (CPL Art. 128: 15 days to defend, counted from service);
- a party linking its account (``PARTY_LINKED``): copies for information of what was already
  served on it reach its inbox (``service_of_process.copies``);
- the dashboard (``CASE_ACTIVITY_SOURCES``): the viewer's side's next deadline running from
  service, and the documents served on the viewer that they have not opened yet.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from aiohttp import web
from tortoise.backends.base.client import BaseDBAsyncClient

from backend.appkeys import AUDIT, BLOBS, DATABASE, KEYRING
from backend.auth.principal import Actor
from backend.db import Database
from backend.db import as_date as _date
from backend.db import as_uuid as _uuid
from backend.db import ids_clause as _ids_clause
from backend.fieldcrypto import FieldCipher
from filing.activity import CASE_ACTIVITY_SOURCES, CaseActivity, Deadline
from filing.models import Filing, Party, Representation
from filing.party_links import PARTY_LINKED
from filing.registration_service import REGISTRATION_SERVICE
from hearings.asynchronous.notify import DOCUMENT_SERVER, ServedDocument
from hearings.mediation.workdays import WORKING_DAYS, weekdays_only
from hearings.models import ParticipantRole, VideoHearing, VideoParticipant
from hearings.video_notice import HEARING_NOTICE_SENDER
from service_of_process.calendar import CalendarNotCovered, describe_day
from service_of_process.copies import copy_served_documents
from service_of_process.documents import DocumentKind
from service_of_process.rules import COURT_TZ, DEADLINE_RULES, court_date
from service_of_process.service import (
    DEFAULT_PLAN,
    PreparedDocument,
    RecipientRef,
    create_service_task,
    prepare_documents,
    serve_documents,
    utcnow,
)

# The video hearing takes place in the mini-program's hearing room.
ONLINE_PLACE = "移动微法院在线视频庭审"
# CPL Art. 128 (LEGAL.md §5): the defence is due within 15 days of receipt; Art. 285: 30 for a
# defendant without a domicile in the PRC.
RESPONSE_DAYS = "15"
RESPONSE_DAYS_ABROAD = "30"


@dataclass(frozen=True)
class RenderedAhead:
    """Documents rendered before the caller's transaction, handed back to it by the caller
    (the other domains' seams carry it as an opaque object)."""

    documents: tuple[PreparedDocument, ...]


class _Services:
    """What serving needs from the running app (the blob store exists once it has started)."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self.cipher = FieldCipher(app[KEYRING].field_key)
        self.audit = app[AUDIT]

    async def prepare(
        self,
        filing: Filing,
        documents: Sequence[tuple[DocumentKind, dict[str, str]]],
        case_number: str | None = None,
    ) -> RenderedAhead:
        """Render before the caller's transaction (see :func:`prepare_documents`)."""
        return RenderedAhead(
            tuple(
                await prepare_documents(
                    self._app[BLOBS], filing, documents, case_number=case_number
                )
            )
        )

    async def serve(
        self,
        conn: BaseDBAsyncClient,
        actor: Actor,
        *,
        filing: Filing,
        documents: Sequence[tuple[DocumentKind, dict[str, str]]],
        origin: str,
        origin_key: str,
        recipients: Sequence[RecipientRef],
        prepared: object,
    ) -> UUID:
        task = await serve_documents(
            conn,
            self.cipher,
            self.audit,
            self._app[BLOBS],
            actor,
            filing=filing,
            documents=documents,
            origin=origin,
            origin_key=origin_key,
            recipients=recipients,
            ahead=prepared.documents if isinstance(prepared, RenderedAhead) else (),
        )
        return task.id


async def recipients_of_accounts(
    conn: BaseDBAsyncClient, filing_id: UUID, account_ids: Iterable[UUID]
) -> list[RecipientRef]:
    """The service recipients behind accounts of a case: the parties an account is (served as
    the party), else the agent's own account; court staff and strangers are left out."""
    wanted = set(account_ids)
    parties = await Party.filter(filing_id=filing_id).using_db(conn).order_by("created_at", "id")
    agents = set(
        await Representation.filter(party__filing_id=filing_id, revoked_at__isnull=True)
        .using_db(conn)
        .values_list("lawyer_account_id", flat=True)
    )
    refs: list[RecipientRef] = []
    as_party: set[UUID] = set()
    for party in parties:
        if party.account_id is not None and party.account_id in wanted:
            refs.append(RecipientRef(party_id=party.id))
            as_party.add(party.account_id)
    for account_id in sorted(wanted - as_party, key=str):
        if account_id in agents:
            refs.append(RecipientRef(account_id=account_id))
    return refs


def hearing_time_zh(starts_at: datetime) -> str:
    """The start as a court document prints it, in court time: 2026年12月8日 09:30（北京时间）."""
    at = starts_at.astimezone(COURT_TZ)
    return f"{at.year}年{at.month}月{at.day}日 {at:%H:%M}（北京时间）"


def _hearing_notice(title: str, starts_at: datetime) -> tuple[DocumentKind, dict[str, str]]:
    return (
        DocumentKind.HEARING_NOTICE,
        {"hearing_at": hearing_time_zh(starts_at), "place": ONLINE_PLACE, "note": title[:200]},
    )


class ElectronicHearingNotice:
    """Serves the hearing notice on the invited parties and lawyers (HearingNoticeSender)."""

    def __init__(self, services: _Services) -> None:
        self.services = services

    async def prepare(self, filing: Filing, title: str, starts_at: datetime) -> RenderedAhead:
        return await self.services.prepare(filing, [_hearing_notice(title, starts_at)])

    async def send_notice(
        self,
        conn: BaseDBAsyncClient,
        hearing: VideoHearing,
        participants: list[VideoParticipant],
        actor: Actor,
        prepared: object = None,
    ) -> str:
        invited = [
            p.account_id
            for p in participants
            if p.removed_at is None
            and p.role in (ParticipantRole.PARTY.value, ParticipantRole.LAWYER.value)
        ]
        recipients = await recipients_of_accounts(conn, hearing.filing_id, invited)
        if not recipients:
            return "no_recipients"
        filing = await Filing.get(id=hearing.filing_id, using_db=conn)
        await self.services.serve(
            conn,
            actor,
            filing=filing,
            documents=[_hearing_notice(hearing.title, hearing.starts_at)],
            origin="hearings",
            origin_key=f"hearing:{hearing.id}:notice",
            recipients=recipients,
            prepared=prepared,
        )
        # Handed to electronic service; each recipient's service date is on their delivery.
        return "sent"


class ElectronicDocumentServer:
    """Serves a generated document such as the mediation statement (DocumentServer): the very
    file that was rendered and stored, so its SHA-256 matches the signed record."""

    def __init__(self, services: _Services) -> None:
        self.services = services

    async def serve(
        self, conn: BaseDBAsyncClient, document: ServedDocument, recipients: list[UUID]
    ) -> UUID:
        kind = DocumentKind(document.document_kind)
        filing = await Filing.get(id=document.filing_id, using_db=conn)
        refs = await recipients_of_accounts(conn, document.filing_id, recipients)
        task = await create_service_task(
            conn,
            self.services.cipher,
            self.services.audit,
            Actor.system("service_of_process"),
            filing=filing,
            documents=[PreparedDocument(kind=kind, file_id=document.file_id)],
            recipients=refs,
            plan=DEFAULT_PLAN,
            origin=kind.value,
            origin_key=f"{kind.value}:{document.document_id}",
        )
        return task.id


class RegistrationNotices:
    """On registration, the notice of response to every defendant (RegistrationService).

    The templates have no acceptance or fee notice for the plaintiff: the fee notice reaches the
    plaintiff with the registration in the mini-program (filing's own record), so the plaintiff
    side is not served here. A notice of response must not go to the plaintiff either, as it
    starts the defence period for whoever receives it.
    """

    def __init__(self, services: _Services) -> None:
        self.services = services

    async def _notices(
        self, filing: Filing, conn: BaseDBAsyncClient | None = None
    ) -> list[tuple[str, dict[str, str], list[Party]]]:
        """(origin key suffix, notice fields, defendants) per notice to serve."""
        parties = (
            await Party.filter(filing_id=filing.id).using_db(conn).order_by("created_at", "id")
        )
        defendants = [p for p in parties if p.role == "defendant"]
        plaintiffs = "、".join(p.name for p in parties if p.role == "plaintiff")
        notices = []
        # The notice prints the defence period, so defendants without a domicile in the PRC
        # (30 days, CPL Art. 285) get their own notice, served under its own origin key.
        for abroad, days, key in (
            (False, RESPONSE_DAYS, "registered"),
            (True, RESPONSE_DAYS_ABROAD, "registered:abroad"),
        ):
            group = [p for p in defendants if p.domiciled_abroad == abroad]
            if not group:
                continue
            body = {"response_days": days}
            if plaintiffs:
                body["plaintiff"] = plaintiffs[:200]
            notices.append((key, body, group))
        return notices

    async def prepare(self, filing: Filing, case_number: str) -> RenderedAhead:
        documents = [
            (DocumentKind.NOTICE_OF_RESPONSE, body) for _, body, _ in await self._notices(filing)
        ]
        return await self.services.prepare(filing, documents, case_number)

    async def registered(
        self, conn: BaseDBAsyncClient, filing: Filing, actor: Actor, prepared: object
    ) -> None:
        for key, body, group in await self._notices(filing, conn):
            await self.services.serve(
                conn,
                actor,
                filing=filing,
                documents=[(DocumentKind.NOTICE_OF_RESPONSE, body)],
                origin="filing",
                origin_key=f"filing:{filing.id}:{key}",
                recipients=[RecipientRef(party_id=p.id) for p in group],
                prepared=prepared,
            )


class CopiesOnLink:
    """Copies of the documents already served on a party, for the account it links
    (PartyLinkListener)."""

    def __init__(self, services: _Services) -> None:
        self.services = services

    async def party_linked(
        self, conn: BaseDBAsyncClient, filing: Filing, party: Party, actor: Actor
    ) -> None:
        assert party.account_id is not None
        await copy_served_documents(
            conn,
            self.services.audit,
            actor,
            filing_id=filing.id,
            party_id=party.id,
            account_id=party.account_id,
        )


# --------------------------------------------------------------------------- dashboard

_DEADLINE_LABELS = {rule.kind: (rule.name_zh, rule.name_en) for rule in DEADLINE_RULES.values()}


class ServiceActivitySource:
    """Deadlines running from service for the viewer's side, and unopened documents served on
    the viewer: one query per dashboard page (deadlines and unread counts UNION ALL-ed)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def activity(
        self, case_ids: Sequence[UUID], viewer_account_id: UUID
    ) -> Mapping[UUID, CaseActivity]:
        db = self.database
        deadline_ids, deadline_params = _ids_clause(db, "dl.filing_id", case_ids)
        unread_ids, unread_params = _ids_clause(db, "dv.filing_id", case_ids)
        viewer = db.uuid_param(viewer_account_id)
        today = court_date(utcnow())
        # The viewer's side: deliveries to the viewer, or to a party role the viewer is or
        # represents in that case (as the case's deadline list shows them).
        rows = await db.read(
            db.sql(
                "SELECT dl.filing_id AS case_id, dl.due AS due, dl.kind AS kind, 0 AS unread "
                "FROM service_deadline dl JOIN service_delivery dv ON dv.id = dl.delivery_id "
                f"WHERE {deadline_ids} AND dl.due >= ? AND (dv.account_id = ? OR "
                "dv.recipient_role IN (SELECT p.role FROM filing_party p "
                "WHERE p.filing_id = dv.filing_id AND (p.account_id = ? OR EXISTS ("
                "SELECT 1 FROM filing_representation r WHERE r.party_id = p.id "
                "AND r.lawyer_account_id = ? AND r.revoked_at IS NULL)))) "
                "UNION ALL "
                "SELECT dv.filing_id AS case_id, NULL AS due, NULL AS kind, COUNT(*) AS unread "
                "FROM service_delivery dv "
                f"WHERE {unread_ids} AND dv.account_id = ? AND dv.first_opened_at IS NULL "
                "GROUP BY dv.filing_id"
            ),
            *deadline_params,
            today if db.is_postgres else today.isoformat(),
            viewer,
            viewer,
            viewer,
            *unread_params,
            viewer,
        )
        deadlines: dict[UUID, Deadline] = {}
        unread: dict[UUID, int] = {}
        for row in rows:
            case_id = _uuid(row["case_id"])
            if row["kind"] is None:
                unread[case_id] = int(row["unread"])
                continue
            kind = str(row["kind"])
            zh, en = _DEADLINE_LABELS.get(kind, (kind, kind))
            candidate = Deadline(_date(row["due"]), kind, zh, en)
            current = deadlines.get(case_id)
            if current is None or (candidate.on, candidate.kind) < (current.on, current.kind):
                deadlines[case_id] = candidate
        return {
            case_id: CaseActivity(
                next_deadline=deadlines.get(case_id), unread_documents=unread.get(case_id, 0)
            )
            for case_id in deadlines.keys() | unread.keys()
        }


def install(app: web.Application) -> None:
    """Register electronic service in the other domains' seams (call in create_app before the
    hearings install their defaults) and its dashboard source once the database is open."""
    services = _Services(app)
    app[HEARING_NOTICE_SENDER] = ElectronicHearingNotice(services)
    app[DOCUMENT_SERVER] = ElectronicDocumentServer(services)
    app[REGISTRATION_SERVICE] = RegistrationNotices(services)
    app[PARTY_LINKED] = CopiesOnLink(services)
    app[WORKING_DAYS] = official_working_day
    app.cleanup_ctx.append(_activity_ctx)


def official_working_day(day: date) -> bool:
    """Mediation's working days (the 3-day designation, Online Mediation Rules Art. 10) from the
    official calendar, make-up working days included; weekdays for a year it does not cover."""
    try:
        return describe_day(day, allow_provisional=True).working
    except CalendarNotCovered:
        return weekdays_only(day)


async def _activity_ctx(app: web.Application) -> AsyncIterator[None]:
    app[CASE_ACTIVITY_SOURCES].append(ServiceActivitySource(app[DATABASE]))
    yield
