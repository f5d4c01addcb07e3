"""``events.watch`` and ``channels.stop`` (google.md §4.1, §4.2, §4.5).

``POST /calendar/v3/calendars/{calendarId}/events/watch`` takes a ``Channel`` body and answers
it back with ``kind``, ``resourceId``, ``resourceUri`` and ``expiration`` (a string of ms); the
first ``sync`` message is on its way by then. It needs one of events.list's scopes, and the
calendar must be one the caller may use (its own customer's; ``primary`` is the impersonated
user's), else 404 ``notFound``. ``POST /calendar/v3/channels/stop`` takes ``{"id",
"resourceId"}`` and answers 204 with no body; a channel the service account does not have live,
or a wrong ``resourceId``, is 404 ``notFound``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from calhub.emulators.google.access import CallerDep, require_scope
from calhub.emulators.google.channels.watch import read_watch
from calhub.emulators.google.errors import CONTENT_TYPE, GoogleError
from calhub.emulators.google.state import StateDep

AUTH = "https://www.googleapis.com/auth/"
WATCH_SCOPES = frozenset(
    AUTH + name
    for name in (
        "calendar",
        "calendar.readonly",
        "calendar.events",
        "calendar.events.readonly",
        "calendar.events.owned",
        "calendar.events.owned.readonly",
        "calendar.events.public.readonly",
        "calendar.events.freebusy",
        "calendar.app.created",
    )
)
# channels.stop: every Calendar scope but calendar.freebusy and calendar.calendars(.readonly).
STOP_SCOPES = WATCH_SCOPES | frozenset(
    AUTH + name
    for name in (
        "calendar.acls",
        "calendar.acls.readonly",
        "calendar.calendarlist",
        "calendar.calendarlist.readonly",
        "calendar.settings",
        "calendar.settings.readonly",
    )
)

router = APIRouter(prefix="/calendar/v3")


@router.post("/calendars/{calendar_id}/events/watch")
async def watch(
    calendar_id: str, request: Request, caller: CallerDep, state: StateDep
) -> JSONResponse:
    require_scope(caller, WATCH_SCOPES)
    wanted = caller.user_email if calendar_id.lower() == "primary" else calendar_id
    calendar = state.calendar_info(wanted)
    if calendar is None or calendar.customer_id != caller.customer_id:
        raise GoogleError(404, "notFound", "Not Found")
    channels = state.channels
    body = await _json_object(request)
    watch_request = read_watch(
        body, state.clock.now(), channels.default_lifetime, channels.max_lifetime
    )
    resource_uri = (
        f"{str(request.base_url).rstrip('/')}/calendar/v3/calendars/"
        f"{quote(calendar_id, safe='@')}/events?alt=json"
    )
    channel = channels.open(caller.client_email, calendar.id, resource_uri, watch_request)
    return JSONResponse(channel.as_json(), media_type=CONTENT_TYPE)


@router.post("/channels/stop")
async def stop(request: Request, caller: CallerDep, state: StateDep) -> Response:
    require_scope(caller, STOP_SCOPES)
    body = await _json_object(request)
    channel_id, resource = _required(body, "id"), _required(body, "resourceId")
    if not state.channels.stop(caller.client_email, channel_id, resource):
        project = caller.client_email.partition("@")[2].partition(".")[0]
        raise GoogleError(
            404, "notFound", f"Channel '{channel_id}' not found for project '{project}'"
        )
    return Response(status_code=204)


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise GoogleError(400, "parseError", "Parse Error") from None
    if not isinstance(body, dict):
        raise GoogleError(400, "parseError", "Parse Error")
    return body


def _required(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise GoogleError(400, "required", f"Required: {name}", location=name)
    return value
