"""``create_app(state, clock)``: the Graph emulator as one ASGI app.

One origin serves the identity platform (``/{tenant}/oauth2/v2.0/token``,
``/{tenant}/adminconsent``, OpenID metadata), Graph under ``/v1.0`` and the control API under
``/_emulator``. Tests run it in-process; ``calhub emulate graph`` serves it with uvicorn.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from calhub.emulators.graph import (
    batch,
    control,
    identity,
    mailbox_settings,
    places,
    users,
)
from calhub.emulators.graph.clock import EmulatorClock
from calhub.emulators.graph.errors import install_error_handlers
from calhub.emulators.graph.events import routes as event_routes
from calhub.emulators.graph.faults import FaultMiddleware
from calhub.emulators.graph.state import GraphState
from calhub.emulators.graph.subscriptions import routes as subscription_routes

_REPEATED_SLASHES = re.compile("/{2,}")
_DIAGNOSTIC = json.dumps(
    {"ServerInfo": {"DataCenter": "Emulator", "Slice": "E", "Ring": "5", "ScaleUnit": "000"}}
)


def create_app(
    state: GraphState | None = None,
    clock: EmulatorClock | None = None,
    notification_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The emulator app over ``state`` (a fresh empty one if not given).

    ``notification_transport`` carries validation handshakes and notifications (e.g. an
    ``httpx.ASGITransport`` into an in-process receiver); by default they go over the network.
    """
    if state is None:
        state = GraphState(clock)
    elif clock is not None:
        state.clock = clock
    if notification_transport is not None:
        state.subscriptions.transport = notification_transport

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await state.subscriptions.close()

    app = FastAPI(
        title="calhub Microsoft Graph emulator",
        description="Microsoft Graph v1.0 calendar endpoints and the identity platform, offline.",
        lifespan=lifespan,
        docs_url="/_emulator/docs",
        openapi_url="/_emulator/openapi.json",
        redoc_url=None,
    )
    app.state.graph = state
    install_error_handlers(app)
    for router in (
        identity.router,
        control.router,
        batch.router,
        event_routes.router,
        subscription_routes.router,
        places.router,
        mailbox_settings.router,
        users.router,
    ):
        app.include_router(router)
    app.add_middleware(FaultMiddleware)
    app.add_middleware(GraphConventionsMiddleware)
    return app


class GraphConventionsMiddleware:
    """What every Graph response carries, and the URL leniencies real clients rely on.

    - ``request-id``, ``client-request-id`` (echoed) and ``x-ms-ags-diagnostic`` headers;
    - repeated slashes collapse (the SDK's default base URL yields ``/v1.0//users/...``);
    - ``delta()`` is the same function as ``delta`` (msgraph-sdk calls the former).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = _REPEATED_SLASHES.sub("/", scope["path"]).replace("/delta()", "/delta")
        headers = {k.decode("latin-1").lower(): v for k, v in scope.get("headers", [])}
        request_id = str(uuid.uuid4())
        client_request_id = headers.get("client-request-id", request_id.encode()).decode("latin-1")
        scope = dict(scope, path=path, raw_path=path.encode())
        scope.setdefault("state", {})
        scope["state"]["request_id"] = request_id
        scope["state"]["client_request_id"] = client_request_id

        async def send_with_ids(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [
                    (b"request-id", request_id.encode()),
                    (b"client-request-id", client_request_id.encode("latin-1")),
                    (b"x-ms-ags-diagnostic", _DIAGNOSTIC.encode()),
                ]
                message = dict(message, headers=[*message.get("headers", []), *extra])
            await send(message)

        await self.app(scope, receive, send_with_ids)
