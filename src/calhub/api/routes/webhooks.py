"""``/api/v1/webhooks``: the tenant's outbound webhook endpoints and their deliveries
(docs/feeds.md, "Webhooks"; Standard Webhooks for the signature).

``POST`` answers 201 with the signing secret, shown this once. Listings show the URL, the event
types, the state and the failure record (consecutive failures, failing since, last success,
why it was disabled), never the secret. ``POST .../enable`` brings a disabled endpoint back.
``GET .../deliveries`` pages through an endpoint's deliveries newest first (``next`` is the
``after`` of the next page): attempts, the last HTTP status, the last error in words and when
the next attempt is due. Tenant API keys only; mistakes are problem+json.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from calhub.api.dependencies import ApiKeyDep, RuntimeDep
from calhub.api.problems import Problem
from calhub.domain.ids import WebhookEndpointId
from calhub.services.webhooks import (
    DEFAULT_PAGE_SIZE,
    MAX_EVENT_TYPES,
    MAX_PAGE_SIZE,
    DeliveryState,
    EndpointState,
    UnknownTenant,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookNotFound,
    WebhookRejected,
    create_webhook,
    enable_webhook,
    get_webhook,
    list_deliveries,
    list_webhooks,
    remove_webhook,
)

router = APIRouter(prefix="/api/v1", tags=["webhooks"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or a wrong API key (problem+json)."},
    404: {"description": "No such webhook endpoint in your tenant."},
}


class WebhookIn(BaseModel):
    url: str = Field(description="Where to POST events: an http:// or https:// URL.")
    event_types: list[str] = Field(
        default_factory=list,
        max_length=MAX_EVENT_TYPES,
        description="Event types to send: empty for all, exact types ('obtp.join') or "
        "prefixes ending in '.*' ('meeting.*').",
        examples=[["obtp.*", "meeting.*"]],
    )


class WebhookOut(BaseModel):
    id: UUID
    url: str
    event_types: list[str] = Field(description="Empty: every type.")
    state: EndpointState = Field(description="active, or disabled after a day of failures.")
    consecutive_failures: int = Field(description="Failed attempts since the last success.")
    failing_since: datetime | None = Field(description="First failure since the last success.")
    last_success_at: datetime | None
    disabled_at: datetime | None
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="The signing secret (whsec_...), shown only now. Verify 'webhook-signature' "
        "with it as Standard Webhooks describes."
    )


class WebhookList(BaseModel):
    webhooks: list[WebhookOut]


class DeliveryOut(BaseModel):
    id: int
    event_id: int = Field(description="The event's id (its stream id; webhook-id is msg_<id>).")
    event_type: str | None
    state: DeliveryState = Field(
        description="pending: tried again at next_attempt_at; delivered; failed: given up."
    )
    attempts: int
    last_status: int | None = Field(description="HTTP status of the last attempt, if any.")
    last_error: str | None = Field(
        description="Why the last attempt failed, in words.",
        examples=["HTTP 503 Service Unavailable", "no answer within 10 s"],
    )
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None = Field(description="Set while pending.")
    created_at: datetime


class DeliveryList(BaseModel):
    deliveries: list[DeliveryOut] = Field(description="Newest first.")
    next: int | None = Field(description="Pass as 'after' for the next page; null on the last.")


@contextlib.contextmanager
def _problems() -> Iterator[None]:
    try:
        yield
    except WebhookRejected as exc:
        raise Problem(
            "validation-failed",
            str(exc),
            errors=[{"location": ["body", exc.field], "message": str(exc)}],
        ) from exc
    except WebhookNotFound as exc:
        raise Problem("not-found", "No such webhook endpoint in your tenant.") from exc
    except UnknownTenant as exc:
        raise Problem("not-found", "The key's tenant no longer exists.") from exc


def _out(endpoint: WebhookEndpoint) -> WebhookOut:
    return WebhookOut(
        id=endpoint.id,
        url=endpoint.url,
        event_types=list(endpoint.event_types),
        state=endpoint.state,
        consecutive_failures=endpoint.consecutive_failures,
        failing_since=endpoint.failing_since,
        last_success_at=endpoint.last_success_at,
        disabled_at=endpoint.disabled_at,
        disabled_reason=endpoint.disabled_reason,
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
    )


def _delivery(delivery: WebhookDelivery) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        state=delivery.state,
        attempts=delivery.attempts,
        last_status=delivery.last_status,
        last_error=delivery.last_error,
        last_attempt_at=delivery.last_attempt_at,
        next_attempt_at=delivery.next_attempt_at
        if delivery.state is DeliveryState.PENDING
        else None,
        created_at=delivery.created_at,
    )


@router.post(
    "/webhooks",
    status_code=201,
    response_model=WebhookCreated,
    summary="Add a webhook endpoint (the signing secret is shown once)",
    responses={401: _ERRORS[401], 422: {"description": "A field cannot be used; 'errors'."}},
)
async def add_webhook(runtime: RuntimeDep, api_key: ApiKeyDep, body: WebhookIn) -> WebhookCreated:
    with _problems():
        created = await create_webhook(runtime.hub, api_key.tenant_id, body.url, body.event_types)
    return WebhookCreated(**_out(created.endpoint).model_dump(), secret=created.secret)


@router.get("/webhooks", response_model=WebhookList, summary="The tenant's webhook endpoints")
async def read_webhooks(runtime: RuntimeDep, api_key: ApiKeyDep) -> WebhookList:
    with _problems():
        endpoints = await list_webhooks(runtime.hub, api_key.tenant_id)
    return WebhookList(webhooks=[_out(endpoint) for endpoint in endpoints])


@router.get(
    "/webhooks/{endpoint_id}",
    response_model=WebhookOut,
    summary="One webhook endpoint",
    responses=_ERRORS,
)
async def read_webhook(runtime: RuntimeDep, api_key: ApiKeyDep, endpoint_id: UUID) -> WebhookOut:
    with _problems():
        endpoint = await get_webhook(runtime.hub, api_key.tenant_id, WebhookEndpointId(endpoint_id))
    return _out(endpoint)


@router.delete(
    "/webhooks/{endpoint_id}",
    status_code=204,
    summary="Remove a webhook endpoint and its deliveries",
    responses=_ERRORS,
)
async def delete_webhook(runtime: RuntimeDep, api_key: ApiKeyDep, endpoint_id: UUID) -> Response:
    with _problems():
        await remove_webhook(runtime.hub, api_key.tenant_id, WebhookEndpointId(endpoint_id))
    return Response(status_code=204)


@router.post(
    "/webhooks/{endpoint_id}/enable",
    response_model=WebhookOut,
    summary="Re-enable a webhook endpoint (its failure record starts afresh)",
    responses=_ERRORS,
)
async def enable(runtime: RuntimeDep, api_key: ApiKeyDep, endpoint_id: UUID) -> WebhookOut:
    with _problems():
        endpoint = await enable_webhook(
            runtime.hub, api_key.tenant_id, WebhookEndpointId(endpoint_id)
        )
    return _out(endpoint)


@router.get(
    "/webhooks/{endpoint_id}/deliveries",
    response_model=DeliveryList,
    summary="An endpoint's deliveries, newest first",
    responses={**_ERRORS, 422: {"description": "A query parameter has a wrong value."}},
)
async def read_deliveries(
    runtime: RuntimeDep,
    api_key: ApiKeyDep,
    endpoint_id: UUID,
    state: Annotated[DeliveryState | None, Query(description="Only deliveries in it.")] = None,
    after: Annotated[int | None, Query(ge=1, description="'next' of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
) -> DeliveryList:
    with _problems():
        page = await list_deliveries(
            runtime.hub,
            api_key.tenant_id,
            WebhookEndpointId(endpoint_id),
            state=state,
            after=after,
            limit=limit,
        )
    return DeliveryList(deliveries=[_delivery(d) for d in page.deliveries], next=page.next_after)
