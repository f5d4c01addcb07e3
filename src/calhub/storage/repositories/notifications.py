"""The notification inbox: idempotent intake of provider change notifications (issue 4, "Sync").

Intake verifies a POST (or a group of Google's push messages), stores its notifications with
one ``INSERT ... SELECT unnest(...) ON CONFLICT DO NOTHING ... RETURNING`` statement, learns
which were new, enqueues syncs for their calendars and answers.
A notification delivered twice is stored once: rows are unique by (subscription, resource id,
change type, SHA-256 of a dedupe key such as the item's change key). No event content is
stored, only ids (basic Graph notifications carry nothing else). A calendar's sync marks its
pending notifications processed; processed ones are pruned later.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, Update, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert

from calhub.domain.ids import CalendarId, SubscriptionId, TenantId
from calhub.storage.repositories.base import Scope, column_arrays, unnested_rows
from calhub.storage.tables import notification_inbox

_INBOX_COLUMNS = (
    "tenant_id",
    "calendar_id",
    "subscription_id",
    "change_type",
    "resource_id",
    "dedupe_key",
    "received_at",
)

# Built once, over column arrays: one text whatever the number of rows, so it is compiled and
# prepared once (the push intake's groups vary in size from one message to hundreds).
_ADD_MANY = (
    insert(notification_inbox)
    .from_select(_INBOX_COLUMNS, unnested_rows(notification_inbox, _INBOX_COLUMNS))
    .on_conflict_do_nothing()
    .returning(
        notification_inbox.c.subscription_id,
        notification_inbox.c.resource_id,
        notification_inbox.c.change_type,
        notification_inbox.c.dedupe_key,
    )
)


@dataclass(frozen=True, slots=True)
class InboxNotification:
    """One received notification. ``dedupe`` tells deliveries of the same change apart from
    later changes to the same item (the change key, or a digest of the notification)."""

    tenant_id: TenantId
    calendar_id: CalendarId
    subscription_id: SubscriptionId
    change_type: str
    resource_id: str
    dedupe: str

    @property
    def dedupe_key(self) -> bytes:
        return hashlib.sha256(self.dedupe.encode()).digest()


@dataclass(frozen=True, slots=True)
class PendingNotifications:
    count: int
    newest_id: int
    oldest_received_at: datetime


def pending_summary(
    tenant_id: ColumnElement[uuid.UUID], calendar_id: ColumnElement[uuid.UUID]
) -> Select[int, int, datetime]:
    """How many notifications wait for a calendar, the newest's id and the oldest's arrival,
    for a lateral join that reads them with the calendar's row (``calendars.get_for_sync``)."""
    return select(
        func.count().label("waiting"),
        func.max(notification_inbox.c.id).label("newest_id"),
        func.min(notification_inbox.c.received_at).label("oldest_received_at"),
    ).where(
        notification_inbox.c.tenant_id == tenant_id,
        notification_inbox.c.calendar_id == calendar_id,
        notification_inbox.c.processed_at.is_(None),
    )


def pending_from_row(
    count: int, newest_id: int | None, oldest: datetime | None
) -> PendingNotifications | None:
    if count == 0 or newest_id is None or oldest is None:
        return None
    return PendingNotifications(count, newest_id, oldest)


class NotificationInbox:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    async def add_many(
        self, received: Sequence[InboxNotification], received_at: datetime
    ) -> list[InboxNotification]:
        """Store ``received``; returns those not stored before (duplicates are skipped)."""
        unique = {
            (n.subscription_id, n.resource_id, n.change_type, n.dedupe_key): n for n in received
        }
        if not unique:
            return []
        rows = await self._scope.conn.execute(
            _ADD_MANY,
            column_arrays(
                [
                    {
                        "tenant_id": n.tenant_id,
                        "calendar_id": n.calendar_id,
                        "subscription_id": n.subscription_id,
                        "change_type": n.change_type,
                        "resource_id": n.resource_id,
                        "dedupe_key": key[3],
                        "received_at": received_at,
                    }
                    for key, n in unique.items()
                ],
                _INBOX_COLUMNS,
            ),
        )
        return [
            unique[(row.subscription_id, row.resource_id, row.change_type, bytes(row.dedupe_key))]
            for row in rows
        ]

    async def prune_processed(self, before: datetime) -> int:
        """Delete every tenant's notifications processed before ``before``."""
        result = await self._scope.conn.execute(
            delete(notification_inbox).where(notification_inbox.c.processed_at < before)
        )
        return result.rowcount


def mark_processed_statement() -> Update:
    """The statement marking a calendar's notifications up to ``answered_through`` processed at
    ``synced_at`` (those that came in during the sync stay pending; parameters ``of_tenant``,
    ``of_calendar``, ``answered_through``, ``synced_at``: an UPDATE's parameters must not be
    named as columns); ``SyncStatusRepository.record_sync`` runs it with the pass's status
    update."""
    return (
        update(notification_inbox)
        .where(
            notification_inbox.c.tenant_id
            == bindparam("of_tenant", type_=notification_inbox.c.tenant_id.type),
            notification_inbox.c.calendar_id
            == bindparam("of_calendar", type_=notification_inbox.c.calendar_id.type),
            notification_inbox.c.processed_at.is_(None),
            notification_inbox.c.id
            <= bindparam("answered_through", type_=notification_inbox.c.id.type),
        )
        .values(processed_at=bindparam("synced_at", type_=notification_inbox.c.processed_at.type))
    )
