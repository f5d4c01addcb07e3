"""``/api/v1/calendars``: the tenant's mirrored calendars (user mailboxes and rooms) with each
one's sync status, and "sync it now" (issue 4, "Safety net": per-calendar status is visible in
the API; ARCHITECTURE.md §6 "calendars").

A calendar shows its own name and address (the tenant's directory data) and nothing of its
events; ``sync`` says when calhub last heard from the provider, when it last synced, the lag of
the last applied change, the last error in words and whether the mailbox is missing or out of
scope.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from calhub.api.dependencies import ApiKeyDep, RuntimeDep
from calhub.api.service_errors import problems_from_services
from calhub.domain.calendars import CalendarKind
from calhub.domain.ids import CalendarId, ConnectionId
from calhub.services import calendars
from calhub.services.calendars import CalendarWithStatus

router = APIRouter(prefix="/api/v1", tags=["calendars"])


class RoomOut(BaseModel):
    capacity: int | None
    building: str | None
    floor_number: int | None
    floor_label: str | None
    bookable: bool


class SyncStatusOut(BaseModel):
    last_notification_at: datetime | None = Field(
        description="Last change notification, to within 30 seconds."
    )
    last_synced_at: datetime | None
    last_full_sync_at: datetime | None
    lag_seconds: float | None = Field(
        description="From the provider's change (as first reported) to the mirror, for the "
        "last change applied."
    )
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int
    missing_since: datetime | None = Field(description="Discovery no longer finds it.")
    out_of_scope_reason: str | None = Field(description="Why the provider refuses the mailbox.")


class CalendarOut(BaseModel):
    id: UUID
    connection_id: UUID
    kind: CalendarKind
    name: str
    email: str
    room: RoomOut | None
    created_at: datetime
    sync: SyncStatusOut


class CalendarList(BaseModel):
    calendars: list[CalendarOut]


class SyncRequestOut(BaseModel):
    calendar_id: UUID
    queued: bool = Field(description="False when a sync was already waiting; it reads all.")


def calendar_out(found: CalendarWithStatus) -> CalendarOut:
    calendar, sync = found.calendar, found.status
    room = calendar.room
    return CalendarOut(
        id=calendar.id,
        connection_id=calendar.connection_id,
        kind=calendar.kind,
        name=calendar.name,
        email=calendar.owner_email,
        room=None
        if room is None
        else RoomOut(
            capacity=room.capacity,
            building=room.building,
            floor_number=room.floor_number,
            floor_label=room.floor_label,
            bookable=room.bookable,
        ),
        created_at=calendar.created_at,
        sync=SyncStatusOut(
            last_notification_at=sync.last_notification_at,
            last_synced_at=sync.last_synced_at,
            last_full_sync_at=sync.last_full_sync_at,
            lag_seconds=sync.lag_seconds,
            last_error=sync.last_error,
            last_error_at=sync.last_error_at,
            consecutive_failures=sync.consecutive_failures,
            missing_since=sync.missing_since,
            out_of_scope_reason=sync.out_of_scope_reason,
        ),
    )


@router.get("/calendars", response_model=CalendarList, summary="Calendars with their sync status")
async def list_calendars(
    runtime: RuntimeDep,
    api_key: ApiKeyDep,
    connection_id: UUID | None = None,
    kind: Literal["user", "room"] | None = None,
) -> CalendarList:
    found = await calendars.list_calendars(
        runtime.hub,
        api_key.tenant_id,
        connection_id=None if connection_id is None else ConnectionId(connection_id),
        kind=None if kind is None else CalendarKind(kind),
    )
    return CalendarList(calendars=[calendar_out(item) for item in found])


@router.get("/calendars/{calendar_id}", response_model=CalendarOut, summary="One calendar")
async def read_calendar(runtime: RuntimeDep, api_key: ApiKeyDep, calendar_id: UUID) -> CalendarOut:
    with problems_from_services():
        found = await calendars.get_calendar(
            runtime.hub, api_key.tenant_id, CalendarId(calendar_id)
        )
    return calendar_out(found)


@router.post(
    "/calendars/{calendar_id}/sync",
    response_model=SyncRequestOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Sync this calendar now",
)
async def sync_calendar_now(
    runtime: RuntimeDep, api_key: ApiKeyDep, calendar_id: UUID
) -> SyncRequestOut:
    with problems_from_services():
        queued = await calendars.request_sync(
            runtime.hub, api_key.tenant_id, CalendarId(calendar_id)
        )
    return SyncRequestOut(calendar_id=calendar_id, queued=queued)
