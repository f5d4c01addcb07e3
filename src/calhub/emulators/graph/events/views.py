"""``calendarView`` and ``instances``: events in a time window (graph.md §2.1, §2.3).

- The window (``startDateTime``, ``endDateTime``) is required; without it Graph answers
  ``400 ErrorInvalidParameter`` ("This request requires a time window specified by the query
  string parameters StartDateTime and EndDateTime.").
- An event is in the window when ``start < endDateTime and end > startDateTime``; series are
  expanded over the window only, never beyond. calendarView returns single events, occurrences
  and exceptions, never masters; ``instances`` returns one series' occurrences and exceptions.
- Pages hold 10 events unless ``$top`` says otherwise (at most 1000); ``@odata.nextLink`` is the
  request's own URL with ``$skip``. Items are in start order unless ``$orderby`` says otherwise.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from calhub.emulators.graph.access import CallerDep, MailboxDep
from calhub.emulators.graph.errors import GraphError
from calhub.emulators.graph.events.context import EventRequest, event_request
from calhub.emulators.graph.events.filters import event_filter
from calhub.emulators.graph.events.model import CalendarRecord, Instance
from calhub.emulators.graph.events.odata import (
    int_option,
    json_response,
    next_link,
    ordered,
    page_size,
)
from calhub.emulators.graph.events.render import render_instance, render_item
from calhub.emulators.graph.events.series import instances
from calhub.emulators.graph.events.store import MailboxEvents
from calhub.emulators.graph.events.times import parse_query_instant

DEFAULT_PAGE = 10
CALENDAR_PATHS = (
    "/v1.0/users/{user_id}",
    "/v1.0/users/{user_id}/calendar",
    "/v1.0/users/{user_id}/calendars/{calendar_id}",
    "/v1.0/users/{user_id}/calendarGroups/{group_id}/calendars/{calendar_id}",
)

router = APIRouter()


async def calendar_view(
    request: Request,
    mailbox: MailboxDep,
    caller: CallerDep,
) -> Response:
    ctx = event_request(request, caller, mailbox)
    lo, hi = window(ctx.params)
    found = view(ctx.box, ctx.calendar, lo, hi)
    return page(ctx, found, ctx.context("calendarView"))


async def list_instances(
    event_id: str,
    request: Request,
    mailbox: MailboxDep,
    caller: CallerDep,
) -> Response:
    ctx = event_request(request, caller, mailbox)
    lo, hi = window(ctx.params)
    target = ctx.target(event_id)
    is_series = target.instance is None and target.item.plan is not None
    found = instances(target.item, lo, hi) if is_series else []
    return page(ctx, found, ctx.context(f"events('{event_id}')/instances"))


for _path in CALENDAR_PATHS:
    router.add_api_route(f"{_path}/calendarView", calendar_view, methods=["GET"])
    router.add_api_route(f"{_path}/events/{{event_id}}/instances", list_instances, methods=["GET"])


def window(params: dict[str, str]) -> tuple[datetime, datetime]:
    start, end = params.get("startdatetime"), params.get("enddatetime")
    if not start or not end:
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            "This request requires a time window specified by the query string parameters "
            "StartDateTime and EndDateTime.",
        )
    lo, hi = parse_query_instant(start, "StartDateTime"), parse_query_instant(end, "EndDateTime")
    if hi < lo:
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            "The value of parameter 'EndDateTime' must be later than 'StartDateTime'.",
        )
    return lo, hi


def view(
    box: MailboxEvents, calendar: CalendarRecord, lo: datetime, hi: datetime
) -> list[Instance]:
    """Every instance of the calendar in ``[lo, hi)``, by start then id."""
    found: list[Instance] = []
    for item in box.items.values():
        if item.calendar_id == calendar.id:
            found.extend(instances(item, lo, hi))
    found.sort(key=lambda i: (i.sort_key, i.id))
    return found


def page(ctx: EventRequest, found: list[Instance], context: str) -> Response:
    """One page of ``found`` after ``$filter`` and ``$orderby``, with ``@odata.nextLink``."""
    predicate = event_filter(ctx.params.get("$filter"))
    if predicate is not None:
        found = [instance for instance in found if predicate(instance)]
    found = ordered(ctx.params, found)
    skip = int_option(ctx.params, "$skip", 0)
    size = page_size(ctx.params, DEFAULT_PAGE)
    options = ctx.options()
    body: dict[str, Any] = {"@odata.context": context}
    if ctx.params.get("$count", "").lower() == "true":
        body["@odata.count"] = len(found)
    chosen = found[skip : skip + size]
    if size and skip + size < len(found):
        body["@odata.nextLink"] = next_link(ctx.request, {"$skip": str(skip + size)})
    body["value"] = [
        render_item(i.source, options) if i.source.plan is not None and i.master is None
        else render_instance(i, options)
        for i in chosen
    ]  # fmt: skip
    return json_response(body, headers=ctx.headers())
