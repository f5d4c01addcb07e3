"""``create_app(settings)``: the HTTP API's composition root.

Without a ``runtime`` the app bootstraps its own in its lifespan (database, keyring, queue); tests
and ``calhub serve --with-worker`` pass one they already hold so a process has exactly one.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from calhub import __version__
from calhub.api.errors import install_error_handlers
from calhub.api.middleware import BodyLimitMiddleware, MetricsMiddleware
from calhub.api.push_lane import PUSH_OPERATION, GooglePushLane
from calhub.api.routes import (
    calendars,
    connections,
    devices,
    health,
    hooks,
    join_settings,
    join_writes,
    meeting_settings,
    meetings,
    pings,
    presence,
    problems,
    stream,
    tenant,
    webhooks,
)
from calhub.bootstrap import Runtime, bootstrap
from calhub.services.google_intake import PUSH_PATH, PushIntake
from calhub.settings import Settings
from calhub.storage.outbox_listener import OutboxListener

DESCRIPTION = """calhub connects Microsoft 365 and Google Workspace calendars to meetings, rooms
and scheduling. Authenticate with a tenant API key: `Authorization: Bearer chk_...`.
Every error is RFC 9457 `application/problem+json`; `GET /problems/{slug}` explains each type."""


def create_app(settings: Settings, runtime: Runtime | None = None) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            if runtime is not None:
                app.state.runtime = runtime
            else:
                app.state.runtime = await stack.enter_async_context(bootstrap(settings))
            # One LISTEN connection per process wakes its event streams (storage/outbox_listener).
            app.state.outbox_listener = await stack.enter_async_context(
                OutboxListener(app.state.runtime.database_url)
            )
            # Google's push messages come one per request; this process stores them in groups.
            app.state.google_pushes = PushIntake(app.state.runtime.hub)
            yield

    app = FastAPI(
        title="calhub",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        # calhub's metrics are Prometheus's (``/metrics``); FastAPI's OpenTelemetry hooks asked
        # on every request whether a provider had been configured since (environment lookups).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    registry = CollectorRegistry()
    app.state.metrics_registry = registry
    install_error_handlers(app)
    app.add_middleware(GooglePushLane)  # innermost: pushes are still counted and size-checked
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, registry=registry)
    for module in (
        health,
        problems,
        tenant,
        pings,
        hooks,
        connections,
        calendars,
        join_settings,
        join_writes,
        devices,
        presence,
        meetings,
        meeting_settings,
        stream,
        webhooks,
    ):
        app.include_router(module.router)

    def openapi() -> dict[str, Any]:
        schema = app.openapi_schema
        if schema is None:
            schema = FastAPI.openapi(app)  # generated from the routes, kept by FastAPI
            schema["paths"][PUSH_PATH] = {"post": PUSH_OPERATION}  # answered by GooglePushLane
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
