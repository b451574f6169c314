"""/api/v1/async-hearings/: preparation, stages and windows, missed windows.

Posts, the record and the transcript are in ``record_routes``. Every handler authorises on a fresh
view of the case inside its transaction, so every denial is a 404.
"""

from __future__ import annotations

from aiohttp import web
from tortoise.transactions import in_transaction

from backend.appkeys import AUDIT, POLICY
from backend.errors import NotFound, ValidationFailed
from backend.http import endpoint, request_actor, require_principal
from hearings.asynchronous import missed, preparation, stages
from hearings.asynchronous.access import CONDUCT, PARTICIPATE, READ, register_policy
from hearings.asynchronous.notify import DOCUMENT_SERVER, PendingServiceRecorder
from hearings.asynchronous.rules import StageKind
from hearings.asynchronous.schemas import (
    ApplicationIn,
    ApplicationOut,
    ConsentIn,
    ConsentOut,
    ConvertIn,
    DecisionIn,
    EligibilityOut,
    EligibilityQuery,
    FindingsIn,
    HearingOut,
    MissedList,
    MissedOut,
    ReasonIn,
    StartIn,
    UnmetOut,
    WindowIn,
)
from hearings.asynchronous.views import (
    authorize,
    existing_hearing,
    hearing_out,
    missed_out,
    path_uuid,
)
from hearings.video_notice import HEARING_NOTICE_SENDER

routes = web.RouteTableDef()
TAGS = ("async hearings",)
CASE = "/cases/{filing_id}"


def _stage_kind(request: web.Request) -> StageKind:
    try:
        return StageKind(request.match_info["stage"])
    except ValueError:
        raise NotFound("no such stage") from None


@routes.get(CASE)
@endpoint("The case's asynchronous hearing", response=HearingOut, tags=TAGS, errors=(404,))
async def get_hearing(request: web.Request) -> HearingOut:
    case = await authorize(request, READ)
    return await hearing_out(await existing_hearing(case))


@routes.post(CASE + "/consents")
@endpoint(
    "Consent (or refuse) to an asynchronous step, as yourself",
    body=ConsentIn,
    response=ConsentOut,
    tags=TAGS,
    errors=(404, 422),
    description="Scopes are separate (Online Litigation Rules Art. 2, 4): `hearing`, `exchange` "
    "(evidence exchange and questioning), `mediation`. A later answer replaces an earlier one.",
)
async def consent(request: web.Request, *, body: ConsentIn) -> ConsentOut:
    principal = require_principal(request)
    async with in_transaction() as conn:
        case = await authorize(request, PARTICIPATE, conn=conn)
        row = await preparation.record_consent(
            conn,
            request.config_dict[AUDIT],
            request_actor(request),
            case,
            principal,
            body.scope,
            body.consented,
            body.reason,
        )
    return ConsentOut.model_validate(row)


@routes.post(CASE + "/applications")
@endpoint(
    "Apply in writing for an asynchronous hearing (Art. 20 ¶2 (2))",
    body=ApplicationIn,
    response=ApplicationOut,
    status=201,
    tags=TAGS,
    errors=(404, 422),
)
async def apply(request: web.Request, *, body: ApplicationIn) -> ApplicationOut:
    principal = require_principal(request)
    async with in_transaction() as conn:
        case = await authorize(request, PARTICIPATE, conn=conn)
        row = await preparation.record_application(
            conn, request.config_dict[AUDIT], request_actor(request), case, principal, body.text
        )
    return ApplicationOut.model_validate(row)


@routes.put(CASE + "/findings")
@endpoint(
    "Judge: record the findings eligibility depends on (Art. 20, 21)",
    body=FindingsIn,
    response=HearingOut,
    tags=TAGS,
    errors=(404, 409, 422),
)
async def findings(request: web.Request, *, body: FindingsIn) -> HearingOut:
    principal = require_principal(request)
    async with in_transaction() as conn:
        case = await authorize(request, CONDUCT, conn=conn)
        hearing = await preparation.record_findings(
            conn,
            request.config_dict[AUDIT],
            request_actor(request),
            case,
            principal,
            facts_undisputed=body.facts_undisputed,
            attendance_hard=body.attendance_hard,
            exclusions=body.exclusions,
        )
    return await hearing_out(hearing)


@routes.get(CASE + "/eligibility")
@endpoint(
    "Whether the case may proceed asynchronously, naming each unmet condition",
    query=EligibilityQuery,
    response=EligibilityOut,
    tags=TAGS,
    errors=(404, 422),
)
async def eligibility(request: web.Request, *, query: EligibilityQuery) -> EligibilityOut:
    case = await authorize(request, READ)
    unmet = await preparation.eligibility(case, query.mode)
    return EligibilityOut(
        mode=query.mode,
        eligible=not unmet,
        unmet=[
            UnmetOut(code=u.code, message_zh=u.message_zh, message_en=u.message_en) for u in unmet
        ],
    )


@routes.post(CASE + "/start")
@endpoint(
    "Judge: start the asynchronous hearing (409 not_eligible lists each unmet condition)",
    body=StartIn,
    response=HearingOut,
    tags=TAGS,
    errors=(404, 409, 422),
)
async def start(request: web.Request, *, body: StartIn) -> HearingOut:
    principal = require_principal(request)
    for kind, hours in body.window_hours.items():
        if not 1 <= hours <= 24 * 30:
            raise ValidationFailed(f"window_hours.{kind.value}: between 1 and 720 hours")
    async with in_transaction() as conn:
        case = await authorize(request, CONDUCT, conn=conn)
        hearing = await preparation.start(
            conn,
            request.config_dict[AUDIT],
            request_actor(request),
            case,
            principal,
            body.mode,
            body.window_hours,
        )
    return await hearing_out(hearing)


@routes.post(CASE + "/stages/advance")
@endpoint(
    "Judge: close the open stage (recording missed windows) and open the next",
    response=HearingOut,
    tags=TAGS,
    errors=(404, 409),
)
async def advance(request: web.Request) -> HearingOut:
    async with in_transaction() as conn:
        case = await authorize(request, CONDUCT, conn=conn)
        hearing = await existing_hearing(case, conn)
        await stages.advance(
            conn, request.config_dict[AUDIT], request_actor(request), case, hearing
        )
    return await hearing_out(hearing)


@routes.post(CASE + "/stages/{stage}/extend")
@endpoint(
    "Judge: extend the open stage's window",
    body=WindowIn,
    response=HearingOut,
    tags=TAGS,
    errors=(404, 409, 422),
)
async def extend(request: web.Request, *, body: WindowIn) -> HearingOut:
    return await _change_window(request, body, stages.extend)


@routes.post(CASE + "/stages/{stage}/reopen")
@endpoint(
    "Judge: reopen a closed stage with a new window",
    body=WindowIn,
    response=HearingOut,
    tags=TAGS,
    errors=(404, 409, 422),
)
async def reopen(request: web.Request, *, body: WindowIn) -> HearingOut:
    return await _change_window(request, body, stages.reopen)


async def _change_window(
    request: web.Request, body: WindowIn, change: stages.WindowChange
) -> HearingOut:
    """Extend or reopen: the same authorisation, locking and answer around either change."""
    kind = _stage_kind(request)
    async with in_transaction() as conn:
        case = await authorize(request, CONDUCT, conn=conn)
        hearing = await existing_hearing(case, conn)
        await change(
            conn,
            request.config_dict[AUDIT],
            request_actor(request),
            case,
            hearing,
            kind,
            body.closes_at,
        )
    return await hearing_out(hearing)


@routes.post(CASE + "/convert")
@endpoint(
    "Judge: convert to a video hearing, scheduled at starts_at (at least 3 days ahead) with "
    "every party and lawyer invited and the hearing notice served electronically",
    description="The answer's video_hearing_id names the new hearing "
    "(/api/v1/hearings/video/{id}); 422 too_soon when starts_at is under 3 days away.",
    body=ConvertIn,
    response=HearingOut,
    tags=TAGS,
    errors=(404, 409, 422),
)
async def convert(request: web.Request, *, body: ConvertIn) -> HearingOut:
    principal = require_principal(request)
    notices = request.config_dict[HEARING_NOTICE_SENDER]
    case = await authorize(request, CONDUCT)
    title = stages.video_title(case, body.title)
    stages.check_conversion(case, await existing_hearing(case), body.starts_at)
    prepared = await notices.prepare(case.filing, title, body.starts_at)
    async with in_transaction() as conn:
        case = await authorize(request, CONDUCT, conn=conn)
        hearing = await existing_hearing(case, conn)
        await stages.convert_to_video(
            conn,
            request.config_dict[AUDIT],
            request_actor(request),
            case,
            hearing,
            principal,
            body.reason,
            starts_at=body.starts_at,
            title=title,
            notices=notices,
            prepared_notice=prepared,
        )
    return await hearing_out(hearing)


# ------------------------------------------------------------------------ missed windows


@routes.get(CASE + "/missed")
@endpoint(
    "Missed windows (Art. 25) with reasons and decisions",
    response=MissedList,
    tags=TAGS,
    errors=(404,),
)
async def list_missed(request: web.Request) -> MissedList:
    case = await authorize(request, READ)
    hearing = await existing_hearing(case)
    return MissedList(items=[missed_out(r, case) for r in await missed.missed_windows(hearing)])


@routes.post(CASE + "/missed/{missed_id}/reason")
@endpoint(
    "Party: give the reason for a missed window",
    body=ReasonIn,
    response=MissedOut,
    tags=TAGS,
    errors=(404, 409, 422),
)
async def give_reason(request: web.Request, *, body: ReasonIn) -> MissedOut:
    principal = require_principal(request)
    missed_id = path_uuid(request, "missed_id", "missed window")
    async with in_transaction() as conn:
        case = await authorize(request, PARTICIPATE, conn=conn)
        hearing = await existing_hearing(case, conn)
        row = await missed.give_reason(
            conn,
            request.config_dict[AUDIT],
            request_actor(request),
            case,
            hearing,
            principal,
            missed_id,
            body.reason,
        )
    return missed_out(row, case)


@routes.post(CASE + "/missed/{missed_id}/decision")
@endpoint(
    "Judge: accept or reject the reason (rejected: refusing to appear, Art. 25)",
    body=DecisionIn,
    response=MissedOut,
    tags=TAGS,
    errors=(404, 409, 422),
)
async def decide(request: web.Request, *, body: DecisionIn) -> MissedOut:
    principal = require_principal(request)
    missed_id = path_uuid(request, "missed_id", "missed window")
    async with in_transaction() as conn:
        case = await authorize(request, CONDUCT, conn=conn)
        hearing = await existing_hearing(case, conn)
        row = await missed.decide(
            conn,
            request.config_dict[AUDIT],
            request_actor(request),
            case,
            hearing,
            principal,
            missed_id,
            body.accepted,
            body.note,
        )
    return missed_out(row, case)


# ------------------------------------------------------------------------------ app


def install(app: web.Application) -> None:
    """Policy rules, the default document server, and the sub-app at /api/v1/async-hearings/."""
    from hearings.asynchronous.record_routes import routes as record_routes

    register_policy(app[POLICY])
    if DOCUMENT_SERVER not in app:
        app[DOCUMENT_SERVER] = PendingServiceRecorder()
    sub = web.Application()
    sub.add_routes(routes)
    sub.add_routes(record_routes)
    app.add_subapp("/api/v1/async-hearings/", sub)
