"""Outbound webhook endpoints and their deliveries (docs/feeds.md, "Webhooks").

An endpoint's URL and signing secret are sealed like every other secret (a URL may carry a
token in its query); its repr shows neither. Fan-out reads only the active endpoints' ids and
event types (``routes``), without opening any keys.

A delivery is one (endpoint, outbox event) pair, unique, so fanning an event out twice adds
nothing. ``claim_due`` takes due pending deliveries of active endpoints with ``FOR UPDATE OF
webhook_deliveries SKIP LOCKED``: several workers each take their own, and a delivery stays
locked while its worker POSTs it, so a killed worker's deliveries are taken up again by the
next run. States: ``pending`` (tried at ``next_attempt_at``), ``delivered`` and ``failed``
(given up). Rows hold ids, states, status codes and reasons in words, never message bodies.

Cross-tenant queries (for the delivery job): ``routes``, ``claim_due``, ``next_due_at``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, delete, func, literal, null, select, update
from sqlalchemy.dialects.postgresql import insert

from calhub.domain.calendars import Secret
from calhub.domain.ids import TenantId, WebhookEndpointId
from calhub.storage.crypto.fields import TenantKeys
from calhub.storage.repositories.base import Scope, column_arrays, unnested_rows
from calhub.storage.tables import outbox, webhook_deliveries, webhook_endpoints


class EndpointState(enum.StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    id: WebhookEndpointId
    tenant_id: TenantId
    url: str
    secret: Secret
    event_types: tuple[str, ...]  # empty: every type
    state: EndpointState
    created_at: datetime
    updated_at: datetime
    failing_since: datetime | None = None
    consecutive_failures: int = 0
    last_success_at: datetime | None = None
    disabled_at: datetime | None = None
    disabled_reason: str | None = None

    def __repr__(self) -> str:  # the URL may hold a token
        return f"WebhookEndpoint(id={self.id}, state={self.state.value})"


@dataclass(frozen=True, slots=True)
class EndpointRoute:
    """What fan-out needs of an active endpoint."""

    id: WebhookEndpointId
    tenant_id: TenantId
    event_types: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    id: int
    tenant_id: TenantId
    endpoint_id: WebhookEndpointId
    event_id: int
    event_type: str | None  # the outbox event's kind (None once the event is gone)
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    last_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """What one attempt did to its delivery."""

    delivery_id: int
    state: DeliveryState
    status: int | None
    error: str | None
    next_attempt_at: datetime


def _sealed(keys: TenantKeys, endpoint_id: WebhookEndpointId, column: str, value: str) -> bytes:
    return keys.seal(value, table="webhook_endpoints", column=column, row_id=endpoint_id).blob


def _endpoint(row: Row[Any], keys: TenantKeys) -> WebhookEndpoint:
    def open_(column: str) -> str:
        return keys.open(
            getattr(row, column), table="webhook_endpoints", column=column, row_id=row.id
        )

    return WebhookEndpoint(
        id=WebhookEndpointId(row.id),
        tenant_id=TenantId(row.tenant_id),
        url=open_("url"),
        secret=Secret(open_("secret")),
        event_types=tuple(row.event_types),
        state=EndpointState(row.state),
        created_at=row.created_at,
        updated_at=row.updated_at,
        failing_since=row.failing_since,
        consecutive_failures=row.consecutive_failures,
        last_success_at=row.last_success_at,
        disabled_at=row.disabled_at,
        disabled_reason=row.disabled_reason,
    )


def _delivery(row: Row[Any]) -> WebhookDelivery:
    return WebhookDelivery(
        id=row.id,
        tenant_id=TenantId(row.tenant_id),
        endpoint_id=WebhookEndpointId(row.endpoint_id),
        event_id=row.event_id,
        event_type=row.event_type,
        state=DeliveryState(row.state),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
        last_attempt_at=row.last_attempt_at,
        last_status=row.last_status,
        last_error=row.last_error,
    )


_NEW_DELIVERY_COLUMNS = ("tenant_id", "endpoint_id", "event_id")
_ATTEMPT_COLUMNS = ("id", "state", "last_status", "last_error", "next_attempt_at")
_active = webhook_endpoints.c.state == EndpointState.ACTIVE.value


class WebhookRepository:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    # --- endpoints --------------------------------------------------------------------------

    async def _decode(self, tenant_id: TenantId, rows: Sequence[Row[Any]]) -> list[WebhookEndpoint]:
        keys = await self._scope.keys(tenant_id, [row.url for row in rows])
        return [_endpoint(row, keys) for row in rows]

    async def add(self, endpoint: WebhookEndpoint) -> None:
        keys = await self._scope.keys(endpoint.tenant_id)
        await self._scope.conn.execute(
            webhook_endpoints.insert().values(
                id=endpoint.id,
                tenant_id=endpoint.tenant_id,
                url=_sealed(keys, endpoint.id, "url", endpoint.url),
                secret=_sealed(keys, endpoint.id, "secret", endpoint.secret.reveal()),
                event_types=list(endpoint.event_types),
                state=endpoint.state.value,
                created_at=endpoint.created_at,
                updated_at=endpoint.updated_at,
            )
        )

    async def get(
        self, tenant_id: TenantId, endpoint_id: WebhookEndpointId
    ) -> WebhookEndpoint | None:
        found = await self.get_many(tenant_id, [endpoint_id])
        return found[0] if found else None

    async def get_many(
        self, tenant_id: TenantId, endpoint_ids: Sequence[WebhookEndpointId]
    ) -> list[WebhookEndpoint]:
        rows = (
            await self._scope.conn.execute(
                select(webhook_endpoints).where(
                    webhook_endpoints.c.tenant_id == tenant_id,
                    webhook_endpoints.c.id.in_(list(endpoint_ids)),
                )
            )
        ).all()
        return await self._decode(tenant_id, rows)

    async def list_for_tenant(self, tenant_id: TenantId) -> list[WebhookEndpoint]:
        rows = (
            await self._scope.conn.execute(
                select(webhook_endpoints)
                .where(webhook_endpoints.c.tenant_id == tenant_id)
                .order_by(webhook_endpoints.c.id)
            )
        ).all()
        return await self._decode(tenant_id, rows)

    async def delete(self, tenant_id: TenantId, endpoint_id: WebhookEndpointId) -> bool:
        """Remove the endpoint with its deliveries; False when there was none."""
        result = await self._scope.conn.execute(
            delete(webhook_endpoints)
            .where(
                webhook_endpoints.c.tenant_id == tenant_id, webhook_endpoints.c.id == endpoint_id
            )
            .returning(webhook_endpoints.c.id)
        )
        return result.first() is not None

    async def enable(
        self, tenant_id: TenantId, endpoint_id: WebhookEndpointId, now: datetime
    ) -> bool:
        """Make the endpoint active with a clean record; False when there is no such endpoint."""
        result = await self._scope.conn.execute(
            update(webhook_endpoints)
            .where(
                webhook_endpoints.c.tenant_id == tenant_id, webhook_endpoints.c.id == endpoint_id
            )
            .values(
                state=EndpointState.ACTIVE.value,
                updated_at=now,
                failing_since=None,
                consecutive_failures=0,
                disabled_at=None,
                disabled_reason=None,
            )
            .returning(webhook_endpoints.c.id)
        )
        return result.first() is not None

    async def disable_if_failing_since(
        self,
        tenant_id: TenantId,
        endpoint_id: WebhookEndpointId,
        since: datetime,
        reason: str,
        now: datetime,
    ) -> bool:
        """Disable the endpoint unless it is disabled already or something was delivered to it
        after ``since``; True when this call disabled it."""
        result = await self._scope.conn.execute(
            update(webhook_endpoints)
            .where(
                webhook_endpoints.c.tenant_id == tenant_id,
                webhook_endpoints.c.id == endpoint_id,
                _active,
                webhook_endpoints.c.last_success_at.is_(None)
                | (webhook_endpoints.c.last_success_at < since),
            )
            .values(
                state=EndpointState.DISABLED.value,
                updated_at=now,
                disabled_at=now,
                disabled_reason=reason,
            )
            .returning(webhook_endpoints.c.id)
        )
        return result.first() is not None

    async def record_outcomes(
        self, endpoint_id: WebhookEndpointId, *, succeeded: bool, failures: int, now: datetime
    ) -> None:
        """One batch's attempts at the endpoint: any success resets its failure streak."""
        columns = webhook_endpoints.c
        values: dict[str, Any] = (
            {"consecutive_failures": 0, "failing_since": None, "last_success_at": now}
            if succeeded
            else {
                "consecutive_failures": columns.consecutive_failures + failures,
                "failing_since": func.coalesce(columns.failing_since, now),
            }
        )
        await self._scope.conn.execute(
            update(webhook_endpoints).where(columns.id == endpoint_id).values(**values)
        )

    async def routes(self, tenant_ids: Sequence[TenantId]) -> list[EndpointRoute]:
        """The active endpoints of these tenants (any tenant's: fan-out)."""
        if not tenant_ids:
            return []
        rows = await self._scope.conn.execute(
            select(
                webhook_endpoints.c.id,
                webhook_endpoints.c.tenant_id,
                webhook_endpoints.c.event_types,
            )
            .where(webhook_endpoints.c.tenant_id.in_(list(set(tenant_ids))), _active)
            .order_by(webhook_endpoints.c.id)
        )
        return [
            EndpointRoute(
                WebhookEndpointId(row.id), TenantId(row.tenant_id), tuple(row.event_types)
            )
            for row in rows
        ]

    # --- deliveries -------------------------------------------------------------------------

    async def add_deliveries(
        self, rows: Sequence[tuple[TenantId, WebhookEndpointId, int]], now: datetime
    ) -> int:
        """A pending delivery, due now, per (tenant, endpoint, outbox event) that has none yet;
        returns how many were added."""
        if not rows:
            return 0
        wanted = unnested_rows(webhook_deliveries, _NEW_DELIVERY_COLUMNS).cte("wanted")
        statement = (
            insert(webhook_deliveries)
            .from_select(
                [*_NEW_DELIVERY_COLUMNS, "state", "next_attempt_at", "created_at"],
                select(
                    wanted.c.tenant_id,
                    wanted.c.endpoint_id,
                    wanted.c.event_id,
                    literal(DeliveryState.PENDING.value).label("state"),
                    literal(now).label("next_attempt_at"),
                    literal(now).label("created_at"),
                ),
            )
            .on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"])
            .returning(webhook_deliveries.c.id)
        )
        values = [
            {"tenant_id": tenant_id, "endpoint_id": endpoint_id, "event_id": event_id}
            for tenant_id, endpoint_id, event_id in rows
        ]
        result = await self._scope.conn.execute(
            statement, column_arrays(values, _NEW_DELIVERY_COLUMNS)
        )
        return len(result.all())

    @staticmethod
    def _with_event_type() -> Select[Any]:
        return select(webhook_deliveries, outbox.c.kind.label("event_type")).outerjoin(
            outbox, outbox.c.id == webhook_deliveries.c.event_id
        )

    async def claim_due(self, now: datetime, limit: int) -> list[WebhookDelivery]:
        """Up to ``limit`` due pending deliveries of active endpoints (every tenant's), soonest
        first, locked until this unit of work ends (the lease in the module docstring)."""
        rows = await self._scope.conn.execute(
            select(webhook_deliveries, null().label("event_type"))
            .join(
                webhook_endpoints,
                (webhook_endpoints.c.tenant_id == webhook_deliveries.c.tenant_id)
                & (webhook_endpoints.c.id == webhook_deliveries.c.endpoint_id),
            )
            .where(
                webhook_deliveries.c.state == DeliveryState.PENDING.value,
                webhook_deliveries.c.next_attempt_at <= now,
                _active,
            )
            .order_by(webhook_deliveries.c.next_attempt_at, webhook_deliveries.c.id)
            .limit(limit)
            .with_for_update(of=webhook_deliveries, skip_locked=True)
        )
        return [_delivery(row) for row in rows]

    async def record_attempts(self, records: Sequence[AttemptRecord], now: datetime) -> None:
        """One attempt more for each delivery, with its outcome, in one statement."""
        if not records:
            return
        given = unnested_rows(webhook_deliveries, _ATTEMPT_COLUMNS).subquery("given")
        await self._scope.conn.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.id == given.c.id)
            .values(
                state=given.c.state,
                attempts=webhook_deliveries.c.attempts + 1,
                last_attempt_at=now,
                last_status=given.c.last_status,
                last_error=given.c.last_error,
                next_attempt_at=given.c.next_attempt_at,
            ),
            column_arrays(
                [
                    {
                        "id": r.delivery_id,
                        "state": r.state.value,
                        "last_status": r.status,
                        "last_error": r.error,
                        "next_attempt_at": r.next_attempt_at,
                    }
                    for r in sorted(records, key=lambda r: r.delivery_id)
                ],
                _ATTEMPT_COLUMNS,
            ),
        )

    async def expire(self, delivery_ids: Sequence[int], reason: str) -> None:
        """Give up deliveries without another attempt (they outlived the retry window)."""
        if delivery_ids:
            await self._scope.conn.execute(
                update(webhook_deliveries)
                .where(webhook_deliveries.c.id.in_(list(delivery_ids)))
                .values(state=DeliveryState.FAILED.value, last_error=reason)
            )

    async def next_due_at(self) -> datetime | None:
        """When the soonest pending delivery of an active endpoint is due (any tenant's)."""
        result = await self._scope.conn.execute(
            select(func.min(webhook_deliveries.c.next_attempt_at))
            .select_from(webhook_deliveries)
            .join(
                webhook_endpoints,
                (webhook_endpoints.c.tenant_id == webhook_deliveries.c.tenant_id)
                & (webhook_endpoints.c.id == webhook_deliveries.c.endpoint_id),
            )
            .where(webhook_deliveries.c.state == DeliveryState.PENDING.value, _active)
        )
        due: datetime | None = result.scalar_one()
        return due

    async def list_deliveries(
        self,
        tenant_id: TenantId,
        endpoint_id: WebhookEndpointId,
        *,
        state: DeliveryState | None = None,
        after_id: int | None = None,
        limit: int,
    ) -> list[WebhookDelivery]:
        """The endpoint's deliveries (in ``state`` if given), newest first: at most ``limit``
        older than ``after_id`` (the last id of the previous page), from the newest if None."""
        query = self._with_event_type().where(
            webhook_deliveries.c.tenant_id == tenant_id,
            webhook_deliveries.c.endpoint_id == endpoint_id,
        )
        if state is not None:
            query = query.where(webhook_deliveries.c.state == state.value)
        if after_id is not None:
            query = query.where(webhook_deliveries.c.id < after_id)
        rows = await self._scope.conn.execute(
            query.order_by(webhook_deliveries.c.id.desc()).limit(limit)
        )
        return [_delivery(row) for row in rows]
