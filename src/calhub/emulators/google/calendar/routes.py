"""Calendar v3 ``events.*`` and ``freebusy.query`` over HTTP (google.md §2, §3, §5, §8.1).

Routes read the query into ``listing.Query``, check the caller's scopes for the method, resolve
``calendarId`` (``primary`` is the caller's own calendar; a calendar of another customer or none
at all is 404 ``notFound``), and hand the work to the store. Event bodies are JSON; ``If-Match``
reaches update/patch/delete; ``sendUpdates`` is accepted and, with no mail to send, ignored.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from calhub.emulators.google.access import Caller, CallerDep, require_scope
from calhub.emulators.google.calendar import freebusy, listing
from calhub.emulators.google.calendar.model import CalendarEvents
from calhub.emulators.google.calendar.store import not_found
from calhub.emulators.google.calendar.times import bad_request, parse_query_time, zone
from calhub.emulators.google.errors import GoogleError
from calhub.emulators.google.state import GoogleState, StateDep

router = APIRouter(prefix="/calendar/v3")

_SCOPE = "https://www.googleapis.com/auth/"
READ_SCOPES = frozenset(
    _SCOPE + name
    for name in ("calendar", "calendar.readonly", "calendar.events", "calendar.events.readonly",
                 "calendar.events.owned", "calendar.events.owned.readonly",
                 "calendar.events.public.readonly", "calendar.events.freebusy",
                 "calendar.app.created")
)  # fmt: skip
WRITE_SCOPES = frozenset(
    _SCOPE + name
    for name in ("calendar", "calendar.events", "calendar.events.owned", "calendar.app.created")
)
FREEBUSY_SCOPES = frozenset(
    _SCOPE + name
    for name in ("calendar", "calendar.readonly", "calendar.freebusy", "calendar.events.freebusy")
)
_SEND_UPDATES = ("all", "externalOnly", "none")


def _calendar(state: GoogleState, caller: Caller, calendar_id: str) -> CalendarEvents:
    wanted = caller.user_email if calendar_id == "primary" else calendar_id
    info = state.calendar_info(wanted)
    calendar = state.calendar.calendar(wanted) if info is not None else None
    if info is None or calendar is None or info.customer_id != caller.customer_id:
        raise not_found()
    return calendar


def _envelope(state: GoogleState, calendar: CalendarEvents) -> dict[str, Any]:
    info = state.calendar_info(calendar.id)
    assert info is not None
    reminders = [] if info.is_resource else [{"method": "popup", "minutes": 10}]
    return {"summary": info.summary, "accessRole": "owner", "defaultReminders": reminders}


def _flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name, "false").lower()
    if value not in ("true", "false"):
        raise bad_request(f"Invalid boolean value for {name}.")
    return value == "true"


def _int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    try:
        return default if raw is None else int(raw)
    except ValueError:
        raise GoogleError(400, "invalid", f"Invalid value for {name}.", location=name,
                          location_type="parameter") from None  # fmt: skip


def _query(request: Request) -> listing.Query:
    params = request.query_params

    def when(name: str) -> Any:
        return parse_query_time(params[name], name) if name in params else None

    time_zone = params.get("timeZone")
    if time_zone is not None:
        zone(time_zone)
    order_by = params.get("orderBy")
    if order_by not in (None, "startTime", "updated"):
        raise bad_request("Invalid value for orderBy.")
    return listing.Query(
        time_min=when("timeMin"),
        time_max=when("timeMax"),
        single_events=_flag(request, "singleEvents"),
        order_by=order_by,
        show_deleted=_flag(request, "showDeleted"),
        max_results=_int(request, "maxResults", listing.DEFAULT_PAGE),
        page_token=params.get("pageToken"),
        sync_token=params.get("syncToken"),
        ical_uid=params.get("iCalUID"),
        q=params.get("q"),
        event_types=params.getlist("eventTypes"),
        time_zone=time_zone,
        updated_min=when("updatedMin"),
        private_properties=params.getlist("privateExtendedProperty"),
        shared_properties=params.getlist("sharedExtendedProperty"),
        original_start=params.get("originalStart"),
        given=set(params.keys()),
    )


def _write_options(request: Request) -> int:
    send = request.query_params.get("sendUpdates")
    if send is not None and send not in _SEND_UPDATES:
        raise bad_request("Invalid value for sendUpdates.")
    version = _int(request, "conferenceDataVersion", 0)
    if version not in (0, 1):
        raise bad_request("Invalid conferenceDataVersion value.")
    return version


async def _body(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"{}")
    except ValueError:
        raise GoogleError(400, "parseError", "Parse Error") from None


@router.get("/calendars/{calendar_id}/events")
async def list_events(
    calendar_id: str, request: Request, state: StateDep, caller: CallerDep
) -> Any:
    require_scope(caller, READ_SCOPES)
    calendar = _calendar(state, caller, calendar_id)
    query = _query(request)
    return listing.list_events(calendar, query, state.clock.now(), _envelope(state, calendar))


@router.post("/calendars/{calendar_id}/events")
async def insert_event(
    calendar_id: str, request: Request, state: StateDep, caller: CallerDep
) -> Any:
    require_scope(caller, WRITE_SCOPES)
    calendar = _calendar(state, caller, calendar_id)
    version = _write_options(request)
    body = await _body(request)
    if not isinstance(body, dict):
        raise GoogleError(400, "parseError", "Parse Error")
    return state.calendar.insert(calendar.id, body, conference_version=version)


@router.get("/calendars/{calendar_id}/events/{event_id}")
async def get_event(calendar_id: str, event_id: str, state: StateDep, caller: CallerDep) -> Any:
    require_scope(caller, READ_SCOPES)
    calendar = _calendar(state, caller, calendar_id)
    return state.calendar.get(calendar.id, event_id)


@router.get("/calendars/{calendar_id}/events/{event_id}/instances")
async def event_instances(
    calendar_id: str, event_id: str, request: Request, state: StateDep, caller: CallerDep
) -> Any:
    require_scope(caller, READ_SCOPES)
    calendar = _calendar(state, caller, calendar_id)
    query = _query(request)
    envelope = _envelope(state, calendar)
    return listing.list_instances(calendar, event_id, query, state.clock.now(), envelope)


async def _modify(
    calendar_id: str, event_id: str, request: Request, state: GoogleState, caller: Caller,
    *, patch: bool,
) -> Any:  # fmt: skip
    require_scope(caller, WRITE_SCOPES)
    calendar = _calendar(state, caller, calendar_id)
    version = _write_options(request)
    body = await _body(request)
    if not isinstance(body, dict):
        raise GoogleError(400, "parseError", "Parse Error")
    return state.calendar.modify(
        calendar.id, event_id, body, patch=patch, conference_version=version,
        if_match=request.headers.get("if-match"),
    )  # fmt: skip


@router.patch("/calendars/{calendar_id}/events/{event_id}")
async def patch_event(
    calendar_id: str, event_id: str, request: Request, state: StateDep, caller: CallerDep
) -> Any:
    return await _modify(calendar_id, event_id, request, state, caller, patch=True)


@router.put("/calendars/{calendar_id}/events/{event_id}")
async def update_event(
    calendar_id: str, event_id: str, request: Request, state: StateDep, caller: CallerDep
) -> Any:
    return await _modify(calendar_id, event_id, request, state, caller, patch=False)


@router.delete("/calendars/{calendar_id}/events/{event_id}", status_code=204)
async def delete_event(
    calendar_id: str, event_id: str, request: Request, state: StateDep, caller: CallerDep
) -> Response:
    require_scope(caller, WRITE_SCOPES)
    calendar = _calendar(state, caller, calendar_id)
    _write_options(request)
    state.calendar.delete(calendar.id, event_id, if_match=request.headers.get("if-match"))
    return Response(status_code=204)


@router.post("/freeBusy")
async def freebusy_query(request: Request, state: StateDep, caller: CallerDep) -> Any:
    require_scope(caller, FREEBUSY_SCOPES)
    return freebusy.query(state.calendar, caller.customer_id, await _body(request))
