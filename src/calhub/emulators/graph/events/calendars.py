"""Calendar resources: ``/users/{id}/calendar``, ``/calendars``, ``/calendars/{id}`` and the
calendar group (graph.md §1.4, §1.7).

Each mailbox has one calendar, "Calendar", in one group, "My Calendars", with stable Graph-like
ids. O365 reads ``/calendar`` to find the id it then uses in ``/calendars/{id}/...`` paths.
Teams is the only online meeting provider, as on a tenant with Teams licences.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from calhub.emulators.graph.access import CallerDep, MailboxDep
from calhub.emulators.graph.events.context import EventRequest, event_request
from calhub.emulators.graph.events.model import CalendarRecord
from calhub.emulators.graph.events.odata import json_response

router = APIRouter()
_USER = "/v1.0/users/{user_id}"
_CALENDAR_GROUP_CLASS = "0006f0b7-0000-0000-c000-000000000046"


def calendar_json(calendar: CalendarRecord) -> dict[str, Any]:
    return {
        "id": calendar.id,
        "name": calendar.name,
        "color": "auto",
        "hexColor": "",
        "isDefaultCalendar": True,
        "changeKey": calendar.change_key,
        "canShare": True,
        "canViewPrivateItems": True,
        "canEdit": True,
        "allowedOnlineMeetingProviders": ["teamsForBusiness"],
        "defaultOnlineMeetingProvider": "teamsForBusiness",
        "isTallyingResponses": True,
        "isRemovable": False,
        "owner": {"name": calendar.owner_name, "address": calendar.owner_address},
    }


@router.get(f"{_USER}/calendar")
@router.get(_USER + "/calendars/{calendar_id}")
@router.get(_USER + "/calendarGroups/{group_id}/calendars/{calendar_id}")
async def get_calendar(
    request: Request,
    mailbox: MailboxDep,
    caller: CallerDep,
) -> Response:
    ctx = event_request(request, caller, mailbox)
    body = {"@odata.context": ctx.context("calendars/$entity"), **calendar_json(ctx.calendar)}
    return json_response(body)


@router.get(f"{_USER}/calendars")
@router.get(_USER + "/calendarGroups/{group_id}/calendars")
async def list_calendars(
    request: Request,
    mailbox: MailboxDep,
    caller: CallerDep,
) -> Response:
    ctx = event_request(request, caller, mailbox)
    return json_response(_collection(ctx, "calendars", calendar_json(ctx.calendar)))


@router.get(f"{_USER}/calendarGroups")
async def list_calendar_groups(
    request: Request,
    mailbox: MailboxDep,
    caller: CallerDep,
) -> Response:
    ctx = event_request(request, caller, mailbox)
    group = {
        "id": ctx.calendar.group_id,
        "name": "My Calendars",
        "classId": _CALENDAR_GROUP_CLASS,
        "changeKey": ctx.calendar.change_key,
    }
    return json_response(_collection(ctx, "calendarGroups", group))


def _collection(ctx: EventRequest, name: str, entry: dict[str, Any]) -> dict[str, Any]:
    return {"@odata.context": ctx.context(name), "value": [entry]}
