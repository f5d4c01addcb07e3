"""``/hooks/microsoft`` and ``/hooks/microsoft/lifecycle``: where Microsoft Graph delivers
change and lifecycle notifications (graph.md §4.3-§4.7; ARCHITECTURE.md §4 step 1).

No API key: each notification is authenticated by its subscription's ``clientState``
(``calhub.services.intake``). Graph's validation handshake (``?validationToken=...``) is
answered at once with the decoded token as ``text/plain`` on both URLs; a notification POST
gets 202 with an empty body once it is stored, 400 when the body is not Graph's JSON wrapper
and 401 when every item in it carried a wrong ``clientState``.

Google Calendar's push messages (``/hooks/google``) are answered before routing, by
``calhub.api.push_lane``: Google sends one request per message, and this router's per-request
cost was half the intake's.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import PlainTextResponse, Response

from calhub.api.dependencies import RuntimeDep
from calhub.api.problems import Problem
from calhub.providers.msgraph.notifications import MalformedNotifications, NotificationsNotJson
from calhub.services.intake import (
    CHANGE_NOTIFICATIONS_PATH,
    LIFECYCLE_NOTIFICATIONS_PATH,
    receive_notifications,
)

MAX_VALIDATION_TOKEN: Final = 2048  # Graph's tokens are about 150 characters

router = APIRouter(tags=["inbound webhooks"])

ValidationToken = Annotated[
    str | None,
    Query(
        alias="validationToken",
        max_length=MAX_VALIDATION_TOKEN,
        description="Sent by Graph when a subscription is created; echoed back as text/plain.",
    ),
]

_NOTIFICATION_ITEM: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["subscriptionId"],
    "properties": {
        "subscriptionId": {"type": "string"},
        "clientState": {"type": "string"},
        "changeType": {"type": "string", "enum": ["created", "updated", "deleted"]},
        "resource": {"type": "string"},
        "resourceData": {"type": "object"},
        "lifecycleEvent": {
            "type": "string",
            "enum": ["reauthorizationRequired", "subscriptionRemoved", "missed"],
        },
        "tenantId": {"type": "string"},
        "subscriptionExpirationDateTime": {"type": "string", "format": "date-time"},
    },
}
_OPENAPI: Final[dict[str, Any]] = {
    "requestBody": {
        "required": False,
        "description": "Graph's notification wrapper; absent on the validation handshake.",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["value"],
                    "properties": {"value": {"type": "array", "items": _NOTIFICATION_ITEM}},
                }
            }
        },
    }
}
_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "description": "Validation handshake: the decoded validationToken.",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    },
    202: {"description": "Stored; syncs and subscription work are queued. Empty body."},
    400: {"description": "The body is not a Graph notification wrapper (problem+json)."},
    401: {"description": "Every notification carried a wrong clientState (problem+json)."},
    413: {"description": "The body is too large (problem+json)."},
}


@router.post(
    CHANGE_NOTIFICATIONS_PATH,
    status_code=status.HTTP_202_ACCEPTED,
    response_class=Response,
    summary="Receive Microsoft Graph change notifications",
    description="The notificationUrl of calhub's Graph subscriptions. Lifecycle notifications "
    "are accepted here too, for subscriptions that use one URL for both.",
    responses=_RESPONSES,
    openapi_extra=_OPENAPI,
)
async def microsoft_change_notifications(
    runtime: RuntimeDep, request: Request, validation_token: ValidationToken = None
) -> Response:
    return await _receive(runtime, request, validation_token)


@router.post(
    LIFECYCLE_NOTIFICATIONS_PATH,
    status_code=status.HTTP_202_ACCEPTED,
    response_class=Response,
    summary="Receive Microsoft Graph lifecycle notifications",
    description="The lifecycleNotificationUrl of calhub's Graph subscriptions: "
    "reauthorizationRequired renews, subscriptionRemoved recreates and resyncs, "
    "missed resyncs.",
    responses=_RESPONSES,
    openapi_extra=_OPENAPI,
)
async def microsoft_lifecycle_notifications(
    runtime: RuntimeDep, request: Request, validation_token: ValidationToken = None
) -> Response:
    return await _receive(runtime, request, validation_token)


async def _receive(runtime: RuntimeDep, request: Request, validation_token: str | None) -> Response:
    if validation_token is not None:
        return PlainTextResponse(validation_token, headers={"X-Content-Type-Options": "nosniff"})
    try:
        result = await receive_notifications(runtime.hub, await request.body())
    except NotificationsNotJson as exc:
        raise Problem("malformed-json", str(exc)) from exc
    except MalformedNotifications as exc:
        raise Problem("bad-request", str(exc)) from exc
    if result.forged_only:
        raise Problem("notification-rejected", "The notifications could not be authenticated.")
    return Response(status_code=status.HTTP_202_ACCEPTED)
