"""``create_app(state)``: the Google emulator as one ASGI app.

One origin serves the OAuth token endpoint (``POST /token``), Calendar under ``/calendar/v3``,
Directory under ``/admin/directory/v1`` and the control API under ``/_emulator``. Tests run it
in-process; ``calhub emulate google`` serves it with uvicorn. Watch-channel deliveries in flight
are closed when the app shuts down.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from calhub.emulators.google import access, control, directory
from calhub.emulators.google.calendar import routes as calendar_routes
from calhub.emulators.google.channels import routes as channel_routes
from calhub.emulators.google.errors import install_error_handlers
from calhub.emulators.google.faults import FaultMiddleware
from calhub.emulators.google.state import GoogleState


def create_app(state: GoogleState | None = None) -> FastAPI:
    """The emulator app over ``state`` (a fresh empty one, on the real clock, if not given)."""
    world = state if state is not None else GoogleState()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await world.channels.aclose()

    app = FastAPI(
        title="calhub Google Workspace emulator",
        description="Google Calendar v3, Directory resources and the OAuth token endpoint, "
        "offline.",
        lifespan=lifespan,
        docs_url="/_emulator/docs",
        openapi_url="/_emulator/openapi.json",
        redoc_url=None,
    )
    app.state.google = world
    install_error_handlers(app)
    for router in (
        access.router,
        control.router,
        directory.router,
        calendar_routes.router,
        channel_routes.router,
    ):
        app.include_router(router)
    app.add_middleware(FaultMiddleware)
    return app
