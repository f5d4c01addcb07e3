"""What became of a tenant's join-block writes, for its admin (docs/joinlinks.md, "Write-back":
a keyword whose backend is not configured, revoked consent or a blocked mailbox fail the write
with the reason in ``outcome``).

    page = await list_join_writes(uow_factory, tenant_id, state=JoinWriteState.FAILED)
    more = await list_join_writes(uow_factory, tenant_id, after=page.next_after)

Writes come newest first, at most ``limit`` (1 to ``MAX_PAGE_SIZE``) a page; ``next_after`` is
the cursor of the next page, None on the last. A write shows ids, its state, attempts, outcome
(words, never invite content or addresses) and times; the provider's event id and change key
stay inside. A tenant id that does not exist raises ``UnknownTenant``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from calhub.domain.ids import CalendarId, EventId, TenantId
from calhub.services.apikeys import UnknownTenant
from calhub.storage.repositories.join_writes import JoinWriteState
from calhub.storage.unit_of_work import UnitOfWorkFactory

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "JoinWritePage",
    "JoinWriteState",
    "JoinWriteStatus",
    "UnknownTenant",
    "list_join_writes",
]

DEFAULT_PAGE_SIZE: Final = 100
MAX_PAGE_SIZE: Final = 500
_LARGEST_ID: Final = 2**63 - 1  # ids are PostgreSQL bigints


@dataclass(frozen=True, slots=True)
class JoinWriteStatus:
    """One queued write as an admin sees it."""

    id: int
    calendar_id: CalendarId
    event_id: EventId
    state: JoinWriteState
    attempts: int
    outcome: str | None
    created_at: datetime
    updated_at: datetime
    not_before: datetime


@dataclass(frozen=True, slots=True)
class JoinWritePage:
    writes: Sequence[JoinWriteStatus]
    next_after: int | None


async def list_join_writes(
    uow_factory: UnitOfWorkFactory,
    tenant_id: TenantId,
    *,
    state: JoinWriteState | None = None,
    after: int | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
) -> JoinWritePage:
    """The tenant's writes (only those in ``state`` if given) older than the write ``after``,
    newest first."""
    # Every id is below the largest bigint, so a cursor beyond it leaves nothing out.
    after_id = after if after is not None and after <= _LARGEST_ID else None
    async with uow_factory.reading() as uow:
        if await uow.tenants.get(tenant_id) is None:
            raise UnknownTenant(str(tenant_id))
        # One row more than asked says whether there is a next page without a second query.
        found = await uow.join_writes.list(
            tenant_id, state=state, after_id=after_id, limit=limit + 1
        )
    writes = [
        JoinWriteStatus(
            id=write.id,
            calendar_id=write.calendar_id,
            event_id=write.event_id,
            state=write.state,
            attempts=write.attempts,
            outcome=write.outcome,
            created_at=write.created_at,
            updated_at=write.updated_at,
            not_before=write.not_before,
        )
        for write in found[:limit]
    ]
    return JoinWritePage(writes, writes[-1].id if len(found) > limit else None)
