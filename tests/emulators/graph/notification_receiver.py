"""An in-process notification endpoint for the subscription tests, and helpers around it.

``Receiver`` is a tiny ASGI app that answers Graph's validation handshake and records every
notification POST; tests script its answers (status codes, slowness, a broken handshake) and
hand its ``transport()`` to the emulator's subscription store, so nothing leaves the process.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote_plus

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from calhub.emulators.graph.events.ids import calendar_id as default_calendar_id
from calhub.emulators.graph.state import EventChange, GraphState
from calhub.emulators.graph.subscriptions.delivery import DeliveryPolicy

HOOK = "https://hooks.contoso.test/graph"
LIFECYCLE = "https://hooks.contoso.test/lifecycle"
HandshakeMode = Literal["echo", "encoded", "forbidden", "slow"]


@dataclass
class Post:
    """One notification POST as the receiver saw it."""

    path: str
    query: dict[str, str]
    content_type: str
    body: dict[str, Any]
    received_at: float  # time.monotonic()


@dataclass
class Receiver:
    """Answers handshakes per ``handshake``, and notification POSTs as scripted per path.

    ``answer(path, *statuses)`` and ``stall(path, *seconds)`` script the next answers on a path;
    unscripted POSTs get 202 at once. Only POSTs answered 2xx are kept in ``posts``.
    """

    handshake: HandshakeMode = "echo"
    statuses: dict[str, deque[int]] = field(default_factory=dict)
    delays: dict[str, deque[float]] = field(default_factory=dict)
    handshakes: list[httpx.URL] = field(default_factory=list)
    handshake_content_types: list[str] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    attempts: int = 0
    _attempted: asyncio.Condition = field(default_factory=asyncio.Condition)

    def __post_init__(self) -> None:
        self.app = Starlette(routes=[Route("/{path:path}", self._receive, methods=["POST"])])

    def transport(self) -> httpx.ASGITransport:
        return httpx.ASGITransport(app=self.app)

    def answer(self, path: str, *statuses: int) -> None:
        self.statuses.setdefault(path, deque()).extend(statuses)

    def stall(self, path: str, *seconds: float) -> None:
        self.delays.setdefault(path, deque()).extend(seconds)

    async def wait_for_attempts(self, count: int, seconds: float = 2.0) -> None:
        async with self._attempted:
            await asyncio.wait_for(
                self._attempted.wait_for(lambda: self.attempts >= count), seconds
            )

    def items(self, path: str = "/graph") -> list[dict[str, Any]]:
        """Every notification item received on ``path``, in arrival order."""
        return [item for post in self.posts if post.path == path for item in post.body["value"]]

    async def _receive(self, request: Request) -> Response:
        token = request.query_params.get("validationToken")
        if token is not None:
            return await self._validate(request, token)
        async with self._attempted:
            self.attempts += 1
            self._attempted.notify_all()
        path = request.url.path
        statuses = self.statuses.get(path)
        status = statuses.popleft() if statuses else 202
        delays = self.delays.get(path)
        if delays:
            await asyncio.sleep(delays.popleft())
        if 200 <= status < 300:
            self.posts.append(
                Post(
                    path=path,
                    query=dict(request.query_params),
                    content_type=request.headers.get("content-type", ""),
                    body=await request.json(),
                    received_at=time.monotonic(),
                )
            )
        return Response(status_code=status)

    async def _validate(self, request: Request, token: str) -> Response:
        self.handshakes.append(httpx.URL(str(request.url)))
        self.handshake_content_types.append(request.headers.get("content-type", ""))
        if self.handshake == "forbidden":
            return Response(status_code=403)
        if self.handshake == "slow":
            await asyncio.sleep(5)
        if self.handshake == "encoded":
            return PlainTextResponse(quote_plus(token))
        return PlainTextResponse(token)


def attach(state: GraphState) -> Receiver:
    """A receiver that the state's subscriptions talk to, with test timings."""
    receiver = Receiver()
    state.subscriptions.transport = receiver.transport()
    state.subscriptions.policy = quick_policy()
    return receiver


def quick_policy() -> DeliveryPolicy:
    """Timings for tests: sub-second timeouts and back-off, the default 4 h retry window."""
    return DeliveryPolicy(
        validation_timeout=2.0,
        answer_timeout=0.5,
        first_retry_delay=0.01,
        max_retry_delay=0.05,
        tick_interval=0.05,
    )


def subscription_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "changeType": "created,updated,deleted",
        "notificationUrl": HOOK,
        "resource": "/users/adele@contoso.test/events",
        "expirationDateTime": "2026-03-04T08:00:00Z",
        "clientState": "secretClientValue",
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


def publish(
    state: GraphState,
    upn: str,
    change_type: Literal["created", "updated", "deleted"] = "created",
    *,
    event_id: str = "AAMkAGI2event=",
    calendar_id: str | None = None,
    etag: str = 'W/"DwAAABYAAAAZ"',
) -> None:
    """Publish one event change as the events store does."""
    mailbox = state.mailbox_anywhere(upn)
    assert mailbox is not None
    calendar = calendar_id or default_calendar_id(mailbox.id)
    state.publish_change(EventChange(mailbox, calendar, event_id, change_type, etag))


async def settle(state: GraphState, seconds: float = 2.0) -> None:
    """Wait until every queued notification has been delivered or dropped."""
    await asyncio.wait_for(state.subscriptions.drain(), seconds)
