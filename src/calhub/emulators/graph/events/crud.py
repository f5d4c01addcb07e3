"""``/users/{id}/events`` and its calendar-scoped variants: list, create, get, update, delete
(graph.md §1.7, §9).

Status codes as Graph: POST 201 with the event, GET and PATCH 200, DELETE 204. Every variant
(``/events``, ``/calendar/events``, ``/calendars/{id}/events``,
``/calendarGroups/{g}/calendars/{c}/events``) is served by the same handlers. A list returns
single events and series masters (never occurrences), 10 per page unless ``$top`` says otherwise.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from calhub.emulators.graph.access import CallerDep, MailboxDep
from calhub.emulators.graph.events.context import EventRequest, event_request
from calhub.emulators.graph.events.lookup import Target
from calhub.emulators.graph.events.mutations import (
    check_if_match,
    create_event,
    delete_event,
    update_event,
)
from calhub.emulators.graph.events.odata import json_response, read_json
from calhub.emulators.graph.events.parsing import parse_event_input
from calhub.emulators.graph.events.render import render_instance, render_item
from calhub.emulators.graph.events.series import single_instance
from calhub.emulators.graph.events.views import CALENDAR_PATHS, page

router = APIRouter()


async def list_events(
    request: Request,
    mailbox: MailboxDep,
    caller: CallerDep,
) -> Response:
    ctx = event_request(request, caller, mailbox)
    items = [
        single_instance(item)
        for item in ctx.box.items.values()
        if item.calendar_id == ctx.calendar.id
    ]
    return page(ctx, items, ctx.context("events"))


async def create(
    request: Request,
    mailbox: MailboxDep,
    caller: CallerDep,
) -> Response:
    ctx = event_request(request, caller, mailbox)
    parsed = parse_event_input(await read_json(request))
    item = create_event(ctx.scope, mailbox, ctx.calendar, parsed)
    body = _entity(ctx, Target(item))
    return json_response(body, status=201, headers=ctx.headers())


async def get_event(
    event_id: str,
    request: Request,
    mailbox: MailboxDep,
    caller: CallerDep,
) -> Response:
    ctx = event_request(request, caller, mailbox)
    return json_response(_entity(ctx, ctx.target(event_id)), headers=ctx.headers())


async def patch_event(
    event_id: str,
    request: Request,
    mailbox: MailboxDep,
    caller: CallerDep,
) -> Response:
    ctx = event_request(request, caller, mailbox)
    target = ctx.target(event_id)
    check_if_match(request.headers.get("if-match"), target)
    parsed = parse_event_input(await read_json(request))
    updated = update_event(ctx.scope, mailbox, target, parsed)
    return json_response(_entity(ctx, updated), headers=ctx.headers())


async def remove_event(
    event_id: str,
    request: Request,
    mailbox: MailboxDep,
    caller: CallerDep,
) -> Response:
    ctx = event_request(request, caller, mailbox)
    target = ctx.target(event_id)
    check_if_match(request.headers.get("if-match"), target)
    delete_event(ctx.scope, mailbox, target)
    return Response(status_code=204)


for _path in CALENDAR_PATHS:
    router.add_api_route(f"{_path}/events", list_events, methods=["GET"])
    router.add_api_route(f"{_path}/events", create, methods=["POST"])
    router.add_api_route(f"{_path}/events/{{event_id}}", get_event, methods=["GET"])
    router.add_api_route(f"{_path}/events/{{event_id}}", patch_event, methods=["PATCH"])
    router.add_api_route(f"{_path}/events/{{event_id}}", remove_event, methods=["DELETE"])


def _entity(ctx: EventRequest, target: Target) -> dict[str, Any]:
    options = ctx.options()
    if target.instance is not None:
        rendered = render_instance(target.instance, options)
    else:
        rendered = render_item(target.item, options)
    return {"@odata.context": ctx.context("events/$entity"), **rendered}
