"""Builders for storage tests: tenants, calendars and events with realistic content."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from calhub.domain.calendars import (
    Calendar,
    CalendarKind,
    Connection,
    ConnectionStatus,
    ProviderKind,
    Secret,
)
from calhub.domain.events import Attendee, Event, ShowAs
from calhub.domain.ids import CalendarId, ConnectionId, EventId, TenantId, new_id
from calhub.domain.tenants import Tenant
from calhub.storage.unit_of_work import UnitOfWorkFactory

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


async def add_tenant(uow_factory: UnitOfWorkFactory, name: str = "Acme") -> Tenant:
    tenant = Tenant(id=TenantId(new_id(NOW)), name=name, created_at=NOW)
    async with uow_factory() as uow:
        await uow.tenants.add(tenant)
        await uow.commit()
    return tenant


async def add_calendar(
    uow_factory: UnitOfWorkFactory,
    tenant_id: TenantId,
    owner: str = "alice@example.com",
    credentials: str = '{"refresh_token": "r"}',
    provider_calendar_id: str | None = None,
    kind: CalendarKind = CalendarKind.USER,
) -> Calendar:
    connection = Connection(
        id=ConnectionId(new_id(NOW)),
        tenant_id=tenant_id,
        provider=ProviderKind.FAKE,
        status=ConnectionStatus.ACTIVE,
        credentials=Secret(credentials),
        settings={"directory": "example.com"},
        created_at=NOW,
        updated_at=NOW,
    )
    calendar = Calendar(
        id=CalendarId(new_id(NOW)),
        tenant_id=tenant_id,
        connection_id=connection.id,
        provider_calendar_id=provider_calendar_id or f"cal-{owner}",
        kind=kind,
        owner_email=owner,
        name=f"Calendar of {owner}",
        created_at=NOW,
        updated_at=NOW,
    )
    async with uow_factory() as uow:
        await uow.connections.add(connection)
        await uow.calendars.add(calendar)
        await uow.commit()
    return calendar


def make_event(
    tenant_id: TenantId, calendar_id: CalendarId, provider_id: str, **changes: object
) -> Event:
    start = datetime(2026, 1, 6, 10, 0, tzinfo=BERLIN)
    event = Event(
        id=EventId(new_id(NOW)),
        tenant_id=tenant_id,
        calendar_id=calendar_id,
        provider_event_id=provider_id,
        start=start,
        end=start + timedelta(hours=1),
        time_zone="Europe/Berlin",
        subject="Planning",
        body="Agenda: everything",
        location="Room 4.2",
        organizer=Attendee("Olga@Example.com", "Olga"),
        attendees=(Attendee("alice@example.com", "Alice"), Attendee("bob@example.com")),
        show_as=ShowAs.BUSY,
        change_key="ck1",
    )
    return dataclasses.replace(event, **changes)  # type: ignore[arg-type]
