"""A tenant's outbound webhook endpoints and what became of their deliveries
(docs/feeds.md, "Webhooks").

    created = await create_webhook(ctx, tenant_id, "https://example.com/hooks", ["obtp.*"])
    created.secret      # whsec_..., shown once; the endpoint verifies signatures with it

An endpoint takes an http(s) URL and the event types it wants: none means every type, a type
(``obtp.join``) means exactly it, a prefix with ``.*`` (``meeting.*``) every type under it.
The signing secret is ``whsec_`` + base64 of 32 random bytes (Standard Webhooks). Endpoints
that failed for a day are disabled by the delivery job; ``enable_webhook`` brings one back with
a clean record. ``list_deliveries`` shows an endpoint's deliveries newest first, a page at a
time, with attempts, the last status and the last error in words.

Errors: ``WebhookRejected`` (a field that cannot be used; names it), ``WebhookNotFound`` (not in
the tenant), ``UnknownTenant`` (the tenant does not exist).
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from calhub.domain.calendars import Secret
from calhub.domain.ids import TenantId, WebhookEndpointId, new_id
from calhub.services.apikeys import UnknownTenant
from calhub.services.context import HubContext
from calhub.storage.repositories.webhooks import (
    DeliveryState,
    EndpointState,
    WebhookDelivery,
    WebhookEndpoint,
)
from calhub.storage.unit_of_work import UnitOfWork

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "CreatedWebhook",
    "DeliveryPage",
    "DeliveryState",
    "EndpointState",
    "UnknownTenant",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookNotFound",
    "WebhookRejected",
    "create_webhook",
    "enable_webhook",
    "get_webhook",
    "list_deliveries",
    "list_webhooks",
    "remove_webhook",
    "wants",
]

SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - a format prefix, not a secret
SECRET_BYTES: Final = 32
MAX_URL_CHARS: Final = 2048
MAX_EVENT_TYPES: Final = 50
DEFAULT_PAGE_SIZE: Final = 100
MAX_PAGE_SIZE: Final = 500
_LARGEST_ID: Final = 2**63 - 1  # ids are PostgreSQL bigints
_EVENT_TYPE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?")


class WebhookRejected(ValueError):
    """An endpoint that cannot be made; ``field`` names the culprit, the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class WebhookNotFound(LookupError):
    """No such webhook endpoint in the tenant."""


@dataclass(frozen=True, slots=True)
class CreatedWebhook:
    endpoint: WebhookEndpoint
    secret: str  # shown once; stored sealed

    def __repr__(self) -> str:
        return f"CreatedWebhook(endpoint_id={self.endpoint.id}, secret=[redacted])"


@dataclass(frozen=True, slots=True)
class DeliveryPage:
    deliveries: Sequence[WebhookDelivery]
    next_after: int | None


def wants(event_types: Sequence[str], kind: str) -> bool:
    """Whether an endpoint subscribed to ``event_types`` gets events of ``kind``."""
    if not event_types:
        return True
    return any(
        kind.startswith(wanted[:-1]) if wanted.endswith(".*") else kind == wanted
        for wanted in event_types
    )


def checked_url(url: str) -> str:
    url = url.strip()
    if len(url) > MAX_URL_CHARS:
        raise WebhookRejected("url", f"url: at most {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url)
        has_host = bool(parts.hostname)
    except ValueError as exc:
        raise WebhookRejected("url", "url: not a valid URL") from exc
    if parts.scheme not in ("http", "https"):
        raise WebhookRejected("url", "url: must start with http:// or https://")
    if not has_host or any(c.isspace() for c in url):
        raise WebhookRejected("url", "url: needs a host and no spaces")
    return url


def checked_event_types(event_types: Sequence[str]) -> tuple[str, ...]:
    if len(event_types) > MAX_EVENT_TYPES:
        raise WebhookRejected("event_types", f"event_types: at most {MAX_EVENT_TYPES}")
    for wanted in event_types:
        if not _EVENT_TYPE.fullmatch(wanted):
            raise WebhookRejected(
                "event_types",
                f"event_types: {wanted[:80]!r} is not an event type (like 'obtp.join') or a "
                "prefix ending in '.*' (like 'meeting.*')",
            )
    return tuple(dict.fromkeys(event_types))


def new_signing_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


async def _require_tenant(uow: UnitOfWork, tenant_id: TenantId) -> None:
    if await uow.tenants.get(tenant_id) is None:
        raise UnknownTenant(str(tenant_id))


async def create_webhook(
    ctx: HubContext, tenant_id: TenantId, url: str, event_types: Sequence[str] = ()
) -> CreatedWebhook:
    now = ctx.clock.now()
    secret = new_signing_secret()
    endpoint = WebhookEndpoint(
        id=WebhookEndpointId(new_id(now)),
        tenant_id=tenant_id,
        url=checked_url(url),
        secret=Secret(secret),
        event_types=checked_event_types(event_types),
        state=EndpointState.ACTIVE,
        created_at=now,
        updated_at=now,
    )
    async with ctx.uow() as uow:
        await _require_tenant(uow, tenant_id)
        await uow.webhooks.add(endpoint)
        await uow.commit()
    return CreatedWebhook(endpoint, secret)


async def list_webhooks(ctx: HubContext, tenant_id: TenantId) -> list[WebhookEndpoint]:
    async with ctx.uow.reading() as uow:
        await _require_tenant(uow, tenant_id)
        return await uow.webhooks.list_for_tenant(tenant_id)


async def get_webhook(
    ctx: HubContext, tenant_id: TenantId, endpoint_id: WebhookEndpointId
) -> WebhookEndpoint:
    async with ctx.uow.reading() as uow:
        endpoint = await uow.webhooks.get(tenant_id, endpoint_id)
    if endpoint is None:
        raise WebhookNotFound(str(endpoint_id))
    return endpoint


async def remove_webhook(
    ctx: HubContext, tenant_id: TenantId, endpoint_id: WebhookEndpointId
) -> None:
    """Delete the endpoint and its deliveries: nothing more is sent to it."""
    async with ctx.uow() as uow:
        if not await uow.webhooks.delete(tenant_id, endpoint_id):
            raise WebhookNotFound(str(endpoint_id))
        await uow.commit()


async def enable_webhook(
    ctx: HubContext, tenant_id: TenantId, endpoint_id: WebhookEndpointId
) -> WebhookEndpoint:
    """Make a (disabled) endpoint active again; its pending deliveries resume."""
    async with ctx.uow() as uow:
        if not await uow.webhooks.enable(tenant_id, endpoint_id, ctx.clock.now()):
            raise WebhookNotFound(str(endpoint_id))
        await uow.commit()
        endpoint = await uow.webhooks.get(tenant_id, endpoint_id)
    assert endpoint is not None  # enabled in this unit of work
    return endpoint


async def list_deliveries(
    ctx: HubContext,
    tenant_id: TenantId,
    endpoint_id: WebhookEndpointId,
    *,
    state: DeliveryState | None = None,
    after: int | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
) -> DeliveryPage:
    """The endpoint's deliveries (only those in ``state`` if given) older than ``after``,
    newest first; ``next_after`` is the next page's cursor, None on the last."""
    after_id = after if after is not None and after <= _LARGEST_ID else None
    async with ctx.uow.reading() as uow:
        if await uow.webhooks.get(tenant_id, endpoint_id) is None:
            raise WebhookNotFound(str(endpoint_id))
        # One row more than asked says whether there is a next page.
        found = await uow.webhooks.list_deliveries(
            tenant_id, endpoint_id, state=state, after_id=after_id, limit=limit + 1
        )
    page = found[:limit]
    return DeliveryPage(page, page[-1].id if len(found) > limit else None)
