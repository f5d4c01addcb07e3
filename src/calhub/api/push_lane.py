"""``POST /hooks/google``: Google Calendar's push messages, answered before routing.

Google sends one request per push message (google.md §4.3), so the intake's throughput is the
API process's cost per request. Through FastAPI's router and request handling (route matching,
dependency solving, the exception and exit-stack layers) a body-less POST cost about half of
that process's CPU per message; ``GooglePushLane`` answers these requests directly, with the
same statuses and problem bodies as every route, and hands every other request on. It sits
inside the metrics and body-limit middleware, so pushes are counted (route ``/hooks/google``)
and a body over the limit is refused as anywhere else.

The answers (google.md §4.4): 200 with an empty body once handled; 400 when the headers are not
a push message and 401 for an unknown channel or a wrong token (Google does not retry those);
503 when the sync could not be queued (Google retries 5xx); 405 for any method but POST. The
path's OpenAPI operation is ``PUSH_OPERATION``, added to the app's schema by ``create_app``.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from calhub.api.problems import PROBLEMS, problem_response
from calhub.providers.google.push import MalformedPush
from calhub.services.google_intake import PUSH_PATH, IntakeUnavailable, PushIntake

_HEADERS: Final = (
    ("X-Goog-Channel-ID", True, "The channel id calhub chose."),
    ("X-Goog-Resource-ID", True, "Google's id of the watched calendar's events."),
    ("X-Goog-Resource-State", True, "sync, exists or not_exists."),
    ("X-Goog-Message-Number", True, "The message's number (1 for sync; increasing)."),
    ("X-Goog-Channel-Token", False, "The channel's token: calhub's secret for the channel."),
)

PUSH_OPERATION: Final[dict[str, Any]] = {
    "tags": ["inbound webhooks"],
    "summary": "Receive Google Calendar push messages",
    "description": "The address of calhub's watch channels. The message has no body; its headers "
    "say which channel fired. A change queues a sync of the channel's calendar.",
    "operationId": "google_push_hooks_google_post",
    "parameters": [
        {
            "name": name,
            "in": "header",
            "required": required,
            "description": description,
            "schema": {"type": "string"},
        }
        for name, required, description in _HEADERS
    ],
    "responses": {
        "200": {"description": "Handled (stored and a sync queued, or nothing to do). Empty body."},
        "400": {"description": "The headers are not a Google push message (problem+json)."},
        "401": {"description": "Unknown channel or wrong channel token (problem+json)."},
        "405": {"description": "Only POST is allowed (problem+json)."},
        "503": {"description": "The sync could not be queued; Google retries (problem+json)."},
    },
}


_EMPTY: Final = [(b"content-length", b"0")]  # the headers of the 200 answer


class _PushRoute:
    """What the metrics middleware reads of a matched route: its template."""

    path = PUSH_PATH


class GooglePushLane:
    """ASGI middleware: answers requests to ``PUSH_PATH``, hands on every other one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PUSH_PATH:
            await self.app(scope, receive, send)
            return
        scope["route"] = _PushRoute
        if scope["method"] != "POST":
            response = problem_response(
                PROBLEMS["method-not-allowed"],
                f"{PUSH_PATH} takes POST only.",
                PUSH_PATH,
                headers={"Allow": "POST"},
            )
            await response(scope, receive, send)
            return
        intake: PushIntake = scope["app"].state.google_pushes
        try:
            outcome = await intake.receive(Headers(scope=scope))
        except MalformedPush as exc:
            problem = ("bad-request", str(exc))
        except IntakeUnavailable:
            problem = ("not-ready", "The change could not be queued; try again.")
        else:
            if outcome.accepted:
                await send({"type": "http.response.start", "status": 200, "headers": _EMPTY})
                await send({"type": "http.response.body", "body": b""})
                return
            problem = ("notification-rejected", "The push message could not be authenticated.")
        slug, detail = problem
        await problem_response(PROBLEMS[slug], detail, PUSH_PATH)(scope, receive, send)
