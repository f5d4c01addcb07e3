"""Fault injection and the per-user quota for Calendar and Directory calls (google.md §9).

``FaultMiddleware`` wraps every request under ``/calendar/v3/`` and ``/admin/directory/v1/``
(never ``/token`` or the control API). In order:

1. over quota: ``requests_per_minute_per_user`` admitted requests of one service account
   impersonating one user to one API within the last minute of the emulator clock (a request's
   ``quotaUser``, at most 40 characters, counts in place of the user, google.md §9.3) → 403
   ``rateLimitExceeded`` (domain ``usageLimits``) with the live service's "Quota exceeded for quota
   metric 'Queries' and limit 'Queries per minute per user'" message;
2. ``latency_ms``: a random delay;
3. ``throttle_rate``: a random "Rate Limit Exceeded", half as 403 and half as 429 (the two shapes
   Google uses interchangeably, both retried by google-api-python-client);
4. ``error_rate``: a random 500 or 503 ``backendError``.

The caller comes from the bearer token; requests without a valid one are not counted (the route
refuses them). Refused requests count nowhere. Randomness comes from ``state.random``, so a seeded
state replays the same faults.
"""

from __future__ import annotations

import asyncio
from collections import deque
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from calhub.emulators.google.access import caller_for
from calhub.emulators.google.errors import GoogleError, render
from calhub.emulators.google.state import GoogleState

WINDOW_SECONDS = 60.0
MAX_QUOTA_USER = 40
SERVICES = {
    "/calendar/v3/": "calendar-json.googleapis.com",
    "/admin/directory/v1/": "admin.googleapis.com",
}
EMULATOR_PROJECT_NUMBER = "000000000000"


class FaultMiddleware:
    """The ASGI middleware described in the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        service = next((s for prefix, s in SERVICES.items() if path.startswith(prefix)), None)
        if scope["type"] != "http" or service is None:
            await self.app(scope, receive, send)
            return
        state: GoogleState = scope["app"].state.google
        refusal = _over_quota(state, scope, service)
        if refusal is None:
            low, high = state.faults.latency_ms
            if high > 0:
                await asyncio.sleep(state.random.uniform(low, high) / 1000)
            refusal = _random_fault(state)
        if refusal is not None:
            await render(refusal)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _over_quota(state: GoogleState, scope: Scope, service: str) -> GoogleError | None:
    authorization = next(
        (value for name, value in scope.get("headers", ()) if name == b"authorization"), None
    )
    try:
        caller = caller_for(state, None if authorization is None else authorization.decode())
    except GoogleError:
        return None
    now = state.clock.now().timestamp()
    quota_user = _quota_user(scope) or caller.user_email
    window = state.usage.setdefault((service, caller.client_email, quota_user), deque())
    while window and window[0] <= now - WINDOW_SECONDS:
        window.popleft()
    if len(window) >= state.faults.requests_per_minute_per_user:
        return GoogleError(
            403,
            "rateLimitExceeded",
            "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' "
            f"of service '{service}' for consumer 'project_number:{EMULATOR_PROJECT_NUMBER}'.",
            domain="usageLimits",
        )
    window.append(now)
    return None


def _quota_user(scope: Scope) -> str | None:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    named = query.get("quotaUser", [""])[-1]
    return named if 0 < len(named) <= MAX_QUOTA_USER else None


def _random_fault(state: GoogleState) -> GoogleError | None:
    faults = state.faults
    if faults.throttle_rate > 0 and state.random.random() < faults.throttle_rate:
        status = 403 if state.random.random() < 0.5 else 429
        return GoogleError(status, "rateLimitExceeded", "Rate Limit Exceeded", domain="usageLimits")
    if faults.error_rate > 0 and state.random.random() < faults.error_rate:
        if state.random.random() < 0.5:
            return GoogleError(500, "backendError", "Backend Error")
        return GoogleError(503, "backendError", "The service is currently unavailable.")
    return None
