"""Provider change-notification subscriptions, one per calendar (issue 4, "Sync").

The ``clientState`` secret is sealed like any other secret and also stored as its SHA-256
digest: the notification intake finds subscriptions by the provider's subscription id before it
knows a tenant (``for_intake``), and checks the state a notification carries against the digest
in constant time, without opening the tenant's keys on the hot path.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Text, any_, bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from calhub.domain.calendars import Subscription, SubscriptionStatus
from calhub.domain.ids import CalendarId, ConnectionId, SubscriptionId, TenantId
from calhub.storage.mappers import subscription_from_row, subscription_values
from calhub.storage.repositories.base import Scope
from calhub.storage.tables import calendars, subscriptions


def _digest(client_state: str) -> bytes:
    return hashlib.sha256(client_state.encode()).digest()


# Built once; ``= ANY(array)``: one text for any number of ids, compiled and prepared once.
_FOR_INTAKE = select(
    subscriptions.c.id,
    subscriptions.c.tenant_id,
    subscriptions.c.calendar_id,
    subscriptions.c.provider_subscription_id,
    subscriptions.c.status,
    subscriptions.c.client_state_hash,
).where(subscriptions.c.provider_subscription_id == any_(bindparam("ids", type_=ARRAY(Text))))


@dataclass(frozen=True, slots=True)
class IntakeSubscription:
    """What the intake needs to accept a notification for a subscription."""

    id: SubscriptionId
    tenant_id: TenantId
    calendar_id: CalendarId
    status: SubscriptionStatus
    client_state_hash: bytes = field(repr=False)

    def accepts(self, client_state: str) -> bool:
        """Whether ``client_state`` is this subscription's secret (constant-time compare)."""
        return hmac.compare_digest(_digest(client_state), self.client_state_hash)


class SubscriptionRepository:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    async def _decode(self, rows: Sequence[Row[Any]]) -> list[Subscription]:
        by_tenant: defaultdict[TenantId, list[Row[Any]]] = defaultdict(list)
        for row in rows:
            by_tenant[TenantId(row.tenant_id)].append(row)
        found: list[Subscription] = []
        for tenant_id, tenant_rows in by_tenant.items():
            keys = await self._scope.keys(tenant_id, [row.client_state for row in tenant_rows])
            found.extend(subscription_from_row(row, keys) for row in tenant_rows)
        return sorted(found, key=lambda s: (s.expires_at, s.id))

    async def replace(self, subscription: Subscription) -> None:
        """Make ``subscription`` the calendar's one subscription (dropping any older one)."""
        keys = await self._scope.keys(subscription.tenant_id)
        await self._scope.conn.execute(
            delete(subscriptions).where(
                subscriptions.c.tenant_id == subscription.tenant_id,
                subscriptions.c.calendar_id == subscription.calendar_id,
            )
        )
        await self._scope.conn.execute(
            subscriptions.insert().values(
                subscription_values(subscription, keys, _digest(subscription.client_state.reveal()))
            )
        )

    async def get(
        self, tenant_id: TenantId, subscription_id: SubscriptionId
    ) -> Subscription | None:
        rows = (
            await self._scope.conn.execute(
                select(subscriptions).where(
                    subscriptions.c.tenant_id == tenant_id, subscriptions.c.id == subscription_id
                )
            )
        ).all()
        found = await self._decode(rows)
        return found[0] if found else None

    async def for_calendar(
        self, tenant_id: TenantId, calendar_id: CalendarId
    ) -> Subscription | None:
        rows = (
            await self._scope.conn.execute(
                select(subscriptions).where(
                    subscriptions.c.tenant_id == tenant_id,
                    subscriptions.c.calendar_id == calendar_id,
                )
            )
        ).all()
        found = await self._decode(rows)
        return found[0] if found else None

    async def list_for_connection(
        self, tenant_id: TenantId, connection_id: ConnectionId
    ) -> list[Subscription]:
        rows = (
            await self._scope.conn.execute(
                select(subscriptions)
                .join(calendars, calendars.c.id == subscriptions.c.calendar_id)
                .where(
                    subscriptions.c.tenant_id == tenant_id,
                    calendars.c.tenant_id == tenant_id,
                    calendars.c.connection_id == connection_id,
                )
            )
        ).all()
        return await self._decode(rows)

    async def for_intake(
        self, provider_subscription_ids: Sequence[str]
    ) -> dict[str, IntakeSubscription]:
        """Subscriptions by the provider's id, across tenants; unknown ids are left out."""
        rows = await self._scope.conn.execute(
            _FOR_INTAKE, {"ids": sorted(set(provider_subscription_ids))}
        )
        return {
            row.provider_subscription_id: IntakeSubscription(
                id=SubscriptionId(row.id),
                tenant_id=TenantId(row.tenant_id),
                calendar_id=CalendarId(row.calendar_id),
                status=SubscriptionStatus(row.status),
                client_state_hash=bytes(row.client_state_hash),
            )
            for row in rows
        }

    async def due_for_renewal(self, before: datetime, limit: int) -> list[Subscription]:
        """Subscriptions (every tenant's) expiring before ``before``, soonest first."""
        rows = (
            await self._scope.conn.execute(
                select(subscriptions)
                .where(subscriptions.c.expires_at < before)
                .order_by(subscriptions.c.expires_at, subscriptions.c.id)
                .limit(limit)
            )
        ).all()
        return await self._decode(rows)

    async def record_renewal(
        self,
        tenant_id: TenantId,
        subscription_id: SubscriptionId,
        expires_at: datetime,
        now: datetime,
    ) -> bool:
        """The provider extended the subscription to ``expires_at`` (its answer, not ours)."""
        return await self._update(
            tenant_id,
            subscription_id,
            expires_at=expires_at,
            renewed_at=now,
            status=SubscriptionStatus.ACTIVE.value,
        )

    async def set_status(
        self, tenant_id: TenantId, subscription_id: SubscriptionId, status: SubscriptionStatus
    ) -> bool:
        return await self._update(tenant_id, subscription_id, status=status.value)

    async def _update(
        self, tenant_id: TenantId, subscription_id: SubscriptionId, **values: object
    ) -> bool:
        result = await self._scope.conn.execute(
            update(subscriptions)
            .where(subscriptions.c.tenant_id == tenant_id, subscriptions.c.id == subscription_id)
            .values(**values)
            .returning(subscriptions.c.id)
        )
        return result.first() is not None

    async def delete(self, tenant_id: TenantId, subscription_id: SubscriptionId) -> bool:
        result = await self._scope.conn.execute(
            delete(subscriptions)
            .where(subscriptions.c.tenant_id == tenant_id, subscriptions.c.id == subscription_id)
            .returning(subscriptions.c.id)
        )
        return result.first() is not None
