"""``POST /users/{id}/calendar/getSchedule``: free/busy of users and rooms (graph.md §5).

- ``schedules``: SMTP addresses. Microsoft documents at most 20 per call; the live service
  accepts up to 100 and answers 101 with ``400 ErrorMailboxDataArrayTooBig`` (OBSERVED), which is
  what the emulator enforces.
- ``startTime``/``endTime`` are ``dateTimeTimeZone``; the window must be shorter than 62 days
  (Exchange's ``ErrorTimeIntervalTooBig``) and not empty.
- ``availabilityViewInterval``: minutes per slot, 5..1440, default 30 (also when null, where the
  live service has answered 500).
- ``availabilityView``: one digit per slot (``0`` free, ``1`` tentative, ``2`` busy, ``3`` oof,
  ``4`` working elsewhere), the busiest status overlapping the slot (ranked free <
  workingElsewhere < tentative < busy < oof).
- ``scheduleItems``: every non-cancelled event in the window, whole; private and confidential
  events show only their status and times.
- An address that resolves to no mailbox gets an error inside the 200:
  ``{"message": "Unable to resolve e-mail address ...", "responseCode": "5009"}``.

Body keys match case-insensitively (msgraph-sdk sends PascalCase). Output times follow
``Prefer: outlook.timezone``.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from calhub.emulators.graph.access import CallerDep, MailboxDep, graph_state
from calhub.emulators.graph.errors import GraphError
from calhub.emulators.graph.events.model import Instance
from calhub.emulators.graph.events.odata import json_response, preferences, read_json
from calhub.emulators.graph.events.render import GRAPH_ROOT
from calhub.emulators.graph.events.times import Zone, parse_date_time_time_zone, render_time
from calhub.emulators.graph.events.views import view
from calhub.emulators.graph.state import GraphState, Mailbox, Tenant

MAX_SCHEDULES = 100  # documented: 20; observed limit: 100 (graph.md §5.1)
MAX_WINDOW = timedelta(days=62)
DIGITS = {"free": "0", "tentative": "1", "busy": "2", "oof": "3", "workingElsewhere": "4"}
RANK = {"free": 0, "workingElsewhere": 1, "tentative": 2, "busy": 3, "oof": 4}
_PRIVATE = ("private", "confidential")
CONTEXT = f"{GRAPH_ROOT}/$metadata#Collection(microsoft.graph.scheduleInformation)"
DEFAULT_WORKING_HOURS = {
    "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
    "startTime": "08:00:00.0000000",
    "endTime": "17:00:00.0000000",
    "timeZone": {"name": "UTC"},
}

router = APIRouter()


@router.post("/v1.0/users/{user_id}/calendar/getSchedule")
async def get_schedule(
    request: Request,
    mailbox: MailboxDep,
    caller: CallerDep,
) -> Response:
    del mailbox  # resolved for its checks (access policy, consent); free/busy is org-wide
    body = await read_json(request)
    if not isinstance(body, dict):
        raise GraphError(400, "ErrorInvalidRequest", "The request body must be a JSON object.")
    params = {str(key).lower(): value for key, value in body.items()}
    schedules = _schedules(params.get("schedules"))
    start, _ = parse_date_time_time_zone(params.get("starttime"), "startTime")
    end, _ = parse_date_time_time_zone(params.get("endtime"), "endTime")
    if end <= start:
        raise GraphError(
            400, "ErrorInvalidTimeInterval", "The end time must be later than the start time."
        )
    if end - start >= MAX_WINDOW:
        raise GraphError(
            400, "ErrorTimeIntervalTooBig", "The time interval must be less than 62 days."
        )
    interval = _interval(params.get("availabilityviewinterval"))
    prefs = preferences(request)
    value = [
        _information(
            graph_state(request), caller.tenant, address, start, end, interval, prefs.output_zone
        )
        for address in schedules
    ]
    return json_response({"@odata.context": CONTEXT, "value": value}, headers=prefs.applied())


def _information(
    state: GraphState,
    tenant: Tenant,
    address: str,
    start: datetime,
    end: datetime,
    interval: int,
    zone: Zone,
) -> dict[str, Any]:
    target = tenant.mailbox(address)
    if target is None or "@" not in address:
        return {
            "scheduleId": address,
            "error": {
                "message": f"Unable to resolve e-mail address {address} to an Active Directory "
                "object.",
                "responseCode": "5009",
            },
        }
    found = [i for i in _instances(state, target, start, end) if not i.source.is_cancelled]
    return {
        "scheduleId": address,
        "availabilityView": _availability(found, start, end, interval),
        "scheduleItems": [_item(instance, zone) for instance in found],
        "workingHours": target.settings.get("workingHours") or DEFAULT_WORKING_HOURS,
    }


def _instances(
    state: GraphState, target: Mailbox, start: datetime, end: datetime
) -> list[Instance]:
    box = state.events.existing(target.id)
    return [] if box is None else view(box, box.calendar, start, end)


def _availability(found: list[Instance], start: datetime, end: datetime, interval: int) -> str:
    step = timedelta(minutes=interval)
    slots = math.ceil((end - start) / step)
    ranks = [0] * slots
    for instance in found:
        status = instance.source.show_as
        if status not in RANK or status == "free":
            continue
        first = max(0, math.floor((instance.sort_key - start) / step))
        last = min(slots, math.ceil((instance.end_instant - start) / step))
        for slot in range(first, last):
            ranks[slot] = max(ranks[slot], RANK[status])
    by_rank = {rank: DIGITS[status] for status, rank in RANK.items()}
    return "".join(by_rank[rank] for rank in ranks)


def _item(instance: Instance, zone: Zone) -> dict[str, Any]:
    props = instance.source.props
    item: dict[str, Any] = {"isPrivate": props["sensitivity"] in _PRIVATE}
    item["status"] = instance.source.show_as
    if not item["isPrivate"]:
        item["subject"] = props["subject"]
        item["location"] = props["location"]["displayName"]
    item["start"] = render_time(instance.start, zone)
    item["end"] = render_time(instance.end, zone)
    return item


def _schedules(value: object) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise GraphError(
            400, "ErrorInvalidParameter", "The 'schedules' parameter must list e-mail addresses."
        )
    if len(value) > MAX_SCHEDULES:
        raise GraphError(
            400,
            "ErrorMailboxDataArrayTooBig",
            "There are too many target users in the EmailAddress array. The allowed size = "
            f"{MAX_SCHEDULES}; the actual size = {len(value)}.",
        )
    return list(value)


def _interval(value: object) -> int:
    if value is None:
        return 30
    if isinstance(value, bool) or not isinstance(value, int) or not 5 <= value <= 1440:
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            "availabilityViewInterval must be a whole number of minutes from 5 to 1440.",
        )
    return value
