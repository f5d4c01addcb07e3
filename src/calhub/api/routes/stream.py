"""``GET /api/v1/stream``: the feed as server-sent events (docs/feeds.md, "Stream"; WHATWG
HTML, "Server-sent events").

A tenant API key reads every event of its tenant (or one device's with ``?device=``); a device
token reads only the events for its device. Each event is one frame::

    id: 4711
    event: obtp.join
    data: {"type":"obtp.join","timestamp":"...","data":{...}}

The stream resumes after ``Last-Event-ID`` (the header an EventSource sends when it reconnects,
or ``?after=``; the header wins); without either it starts with the next event. The first frame
carries no data, only ``retry:`` and ``id:`` with the position the stream starts from, so a
client that reconnects before any event arrived resumes from there too. A comment
(``: keep-alive``) goes out every ``KEEPALIVE_S`` seconds so proxies keep the connection open.
New events arrive within milliseconds of their commit: the process's ``OutboxListener`` wakes
the stream; it also re-reads every ``FALLBACK_S`` seconds in case a notification was lost.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated, Final
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from calhub.api.callers import Caller, CallerDep
from calhub.api.dependencies import RuntimeDep
from calhub.api.problems import Problem
from calhub.domain.ids import DeviceId
from calhub.services.feed_messages import FeedMessage
from calhub.services.feed_stream import BATCH, FeedReader, start_after
from calhub.storage.outbox_listener import OutboxListener
from calhub.storage.unit_of_work import UnitOfWorkFactory

router = APIRouter(prefix="/api/v1", tags=["stream"])

KEEPALIVE_S: Final = 15.0
FALLBACK_S: Final = 5.0
RECONNECT_MS: Final = 2000
_LARGEST_ID: Final = 2**63 - 1


def frame(message: FeedMessage) -> str:
    return f"id: {message.event_id}\nevent: {message.type}\ndata: {message.body}\n\n"


def _resume_point(last_event_id: str | None, after: int | None) -> int | None:
    if last_event_id is None:
        return after
    text = last_event_id.strip()
    if not text.isascii() or not text.isdigit() or int(text) > _LARGEST_ID:
        raise Problem(
            "validation-failed",
            "Last-Event-ID must be the id of an event this stream sent (a whole number).",
            errors=[
                {"location": ["header", "Last-Event-ID"], "message": "not an event id"},
            ],
        )
    return int(text)


async def _device_to_read(
    uow_factory: UnitOfWorkFactory, caller: Caller, device: UUID | None
) -> DeviceId | None:
    """The one device whose events the stream carries, or None for the whole tenant."""
    if device is None:
        return caller.device_id
    wanted = DeviceId(device)
    if caller.may_read_device(wanted):
        async with uow_factory.reading() as uow:
            if await uow.devices.get(caller.tenant_id, wanted) is not None:
                return wanted
    raise Problem("not-found", "No such device in your tenant.")


async def _frames(
    reader: FeedReader, listener: OutboxListener, caller: Caller, resume: int
) -> AsyncIterator[str]:
    # No data, so no event: sets the client's reconnection delay and its last event id, so a
    # reconnect before the first event still resumes where this stream began.
    yield f"retry: {RECONNECT_MS}\nid: {resume}\n\n"
    last_write = time.monotonic()
    async with listener.subscribe(caller.tenant_id) as wakeup:
        while not listener.stopping:
            messages = await reader.read()
            if messages:
                yield "".join(frame(message) for message in messages)
                last_write = time.monotonic()
                if len(messages) == BATCH:
                    continue  # more are waiting
            quiet_for = time.monotonic() - last_write
            if quiet_for >= KEEPALIVE_S:
                yield ": keep-alive\n\n"
                last_write, quiet_for = time.monotonic(), 0.0
            await wakeup.wait(at_most_s=min(FALLBACK_S, KEEPALIVE_S - quiet_for))


@router.get(
    "/stream",
    summary="The feed as server-sent events",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "One frame per event: 'id', 'event' (the type) and 'data' (the "
            "message JSON); ': keep-alive' comments in between.",
        },
        401: {"description": "No or a wrong API key or device token (problem+json)."},
        404: {"description": "?device= names no device the caller may read."},
        422: {"description": "Last-Event-ID or ?after= is not an event id."},
    },
)
async def read_stream(
    request: Request,
    runtime: RuntimeDep,
    caller: CallerDep,
    after: Annotated[
        int | None,
        Query(ge=0, le=_LARGEST_ID, description="Resume after this event id."),
    ] = None,
    device: Annotated[
        UUID | None,
        Query(description="Only this device's events (for tenant API keys)."),
    ] = None,
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            description="Resume after this event id (what EventSource sends on reconnect).",
        ),
    ] = None,
) -> StreamingResponse:
    resume = _resume_point(last_event_id, after)
    device_id = await _device_to_read(runtime.uow, caller, device)
    if resume is None:
        resume = await start_after(runtime.uow, caller.tenant_id, device_id)
    reader = FeedReader(runtime.uow, caller.tenant_id, device_id=device_id, after=resume)
    listener: OutboxListener = request.app.state.outbox_listener
    return StreamingResponse(
        _frames(reader, listener, caller, resume),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
