"""Fault injection and Outlook's per-mailbox throttling for Graph calls (graph.md §10.1–10.2).

``FaultMiddleware`` wraps every request under ``/v1.0`` (never the identity platform, the control
API or the ``$batch`` envelope, whose items come back through here one by one). In order:

1. over budget: more than ``requests_per_10min`` admitted requests of one app to one mailbox in
   the last ten minutes of the emulator clock → 429 ``TooManyRequests`` with ``Retry-After`` the
   seconds until the oldest of them leaves the window;
2. over concurrency: ``mailbox_concurrency`` requests of that app to that mailbox already in
   flight → 429 ``ApplicationThrottled`` "Application is over its MailboxConcurrency limit.";
3. ``latency_ms``: a random delay while the request counts as in flight;
4. ``throttle_rate``: a random 429 ``TooManyRequests`` with a ``Retry-After`` of 1–3 s (Outlook
   throttling the app for reasons the client cannot see);
5. ``error_rate``: a random 5xx: mostly 503 ``ServiceNotAvailable`` (about half with
   ``Retry-After``), also 500 ``InternalServerError``, 502 and 504 ``GatewayTimeout``.

The app comes from the bearer token (an invalid token is left for the route to refuse, and such
requests are not throttled); the mailbox from ``/v1.0/users/{id | upn}/...``, resolved in the
caller's tenant so that both spellings count as one mailbox. Randomness comes from
``state.random``, so a seeded state replays the same faults.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from typing import Any

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from calhub.emulators.graph.access import verify_token
from calhub.emulators.graph.errors import GraphError, error_body
from calhub.emulators.graph.state import Faults, GraphState

WINDOW_SECONDS = 600.0
CONCURRENCY_RETRY_AFTER_SECONDS = 1
GRAPH_PREFIX = "/v1.0/"
USERS_PREFIX = "/v1.0/users/"
BATCH_PATH = "/v1.0/$batch"

MailboxKey = tuple[str, str]  # (client id, mailbox id or lower-cased address)


class MailboxUsage:
    """Requests in flight and admitted in the last ten minutes, per (app, mailbox)."""

    def __init__(self) -> None:
        self.in_flight: dict[MailboxKey, int] = {}
        self.recent: dict[MailboxKey, deque[float]] = {}

    def admit(self, key: MailboxKey, faults: Faults, now: float) -> GraphError | None:
        """Count the request in, or answer why not (a refused request counts nowhere)."""
        window = self.recent.setdefault(key, deque())
        while window and window[0] <= now - WINDOW_SECONDS:
            window.popleft()
        if len(window) >= faults.requests_per_10min:
            # The slot the (limit)-th most recent admission holds frees first.
            frees_at = window[len(window) - faults.requests_per_10min] + WINDOW_SECONDS
            return _too_many_requests(max(1, math.ceil(frees_at - now)))
        if self.in_flight.get(key, 0) >= faults.mailbox_concurrency:
            return _over_concurrency()
        window.append(now)
        self.in_flight[key] = self.in_flight.get(key, 0) + 1
        return None

    def release(self, key: MailboxKey) -> None:
        remaining = self.in_flight.get(key, 0) - 1
        if remaining > 0:
            self.in_flight[key] = remaining
        else:
            self.in_flight.pop(key, None)

    def forget_history(self) -> None:
        """A new world (``POST /_emulator/reset``): budgets start afresh; in-flight counts stay
        with the requests that hold them."""
        self.recent.clear()


def mailbox_usage(app: Starlette) -> MailboxUsage:
    """The app's throttling book-keeping, created on first use."""
    usage: MailboxUsage | None = getattr(app.state, "mailbox_usage", None)
    if usage is None:
        usage = MailboxUsage()
        app.state.mailbox_usage = usage
    return usage


class FaultMiddleware:
    """The ASGI middleware described in the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(GRAPH_PREFIX) or path == BATCH_PATH:
            await self.app(scope, receive, send)
            return
        application: Starlette = scope["app"]
        state: GraphState = application.state.graph
        faults = state.faults
        key = _mailbox_key(state, scope, path)
        usage = mailbox_usage(application)
        if key is not None:
            throttled = usage.admit(key, faults, state.clock.now().timestamp())
            if throttled is not None:
                await _respond(state, scope, receive, send, throttled)
                return
        try:
            low, high = faults.latency_ms
            if high > 0:
                await asyncio.sleep(state.random.uniform(low, high) / 1000)
            if faults.throttle_rate > 0 and state.random.random() < faults.throttle_rate:
                throttled = _too_many_requests(state.random.randint(1, 3))
                await _respond(state, scope, receive, send, throttled)
                return
            if faults.error_rate > 0 and state.random.random() < faults.error_rate:
                await _respond(state, scope, receive, send, _server_error(state))
                return
            await self.app(scope, receive, send)
        finally:
            if key is not None:
                usage.release(key)


def _mailbox_key(state: GraphState, scope: Scope, path: str) -> MailboxKey | None:
    """(client id, mailbox) for a mailbox-scoped call with a valid token, else None."""
    if not path.startswith(USERS_PREFIX):
        return None
    user_key = path[len(USERS_PREFIX) :].split("/", 1)[0]
    if not user_key:
        return None
    authorization = next(
        (value for name, value in scope.get("headers", ()) if name == b"authorization"), None
    )
    if authorization is None:
        return None
    try:
        caller = verify_token(state, authorization.decode("latin-1"))
    except GraphError:
        return None
    mailbox = caller.tenant.mailbox(user_key)
    return caller.app.client_id, mailbox.id if mailbox is not None else user_key.lower()


def _too_many_requests(retry_after: int) -> GraphError:
    return GraphError(
        429,
        "TooManyRequests",
        "Please retry again later.",
        headers={"Retry-After": str(retry_after)},
        inner={"code": "429", "message": "Please retry after", "status": "429"},
    )


def _over_concurrency() -> GraphError:
    return GraphError(
        429,
        "ApplicationThrottled",
        "Application is over its MailboxConcurrency limit.",
        headers={"Retry-After": str(CONCURRENCY_RETRY_AFTER_SECONDS)},
    )


def _server_error(state: GraphState) -> GraphError:
    """One of the 5xx answers Graph gives under load (graph.md §10.2)."""
    roll = state.random.random()
    if roll < 0.7:
        return _unavailable(state)
    if roll < 0.8:
        return GraphError(500, "InternalServerError", "An internal server error occurred.")
    if roll < 0.9:
        return GraphError(502, "BadGateway", "The gateway received an invalid response.")
    return GraphError(504, "GatewayTimeout", "The operation timed out.")


def _unavailable(state: GraphState) -> GraphError:
    """Graph's transient 503; about half carry a short ``Retry-After`` (graph.md §10.2)."""
    headers = (
        {"Retry-After": str(state.random.randint(1, 3))} if state.random.random() < 0.5 else {}
    )
    return GraphError(
        503,
        "ServiceNotAvailable",
        "The service is temporarily unavailable. Please try again later.",
        headers=headers,
    )


async def _respond(
    state: GraphState, scope: Scope, receive: Receive, send: Send, error: GraphError
) -> None:
    ids: dict[str, Any] = scope.get("state", {})
    request_id = str(ids.get("request_id", ""))
    body = error_body(
        error.code,
        error.message,
        now=state.clock.now(),
        request_id=request_id,
        client_request_id=str(ids.get("client_request_id", request_id)),
        inner=error.inner,
    )
    response = JSONResponse(body, status_code=error.status, headers=error.headers)
    await response(scope, receive, send)
