"""Notifications over real sockets: the emulator POSTs to a uvicorn receiver on a loopback port."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from calhub.emulators.graph.state import GraphState
from tests.emulators.graph.notification_receiver import (
    publish,
    quick_policy,
    settle,
    subscription_body,
)
from tests.emulators.graph.servers import serve_in_thread


class ThreadedReceiver:
    """A receiver served by uvicorn in its own thread; ``arrived`` is set by each notification."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.arrived = threading.Event()
        self.app = Starlette(routes=[Route("/graph", self.receive, methods=["POST"])])

    async def receive(self, request: Request) -> Response:
        token = request.query_params.get("validationToken")
        if token is not None:
            return PlainTextResponse(token)
        self.items.extend((await request.json())["value"])
        self.arrived.set()
        return Response(status_code=202)


async def test_notification_reaches_a_loopback_receiver(
    graph: httpx.AsyncClient, graph_state: GraphState
) -> None:
    receiver = ThreadedReceiver()
    graph_state.subscriptions.policy = quick_policy()
    with serve_in_thread(receiver.app) as url:
        body = subscription_body(notificationUrl=f"{url}/graph?source=loopback")
        created = await graph.post("/subscriptions", json=body)
        assert created.status_code == 201, created.text
        publish(graph_state, "adele@contoso.test", event_id="over-the-wire")
        await settle(graph_state)
        assert await asyncio.to_thread(receiver.arrived.wait, 5)
        await graph_state.subscriptions.close()
    [item] = receiver.items
    assert item["subscriptionId"] == created.json()["id"]
    assert item["resourceData"]["id"] == "over-the-wire"
    assert item["clientState"] == "secretClientValue"
