"""A tenant's meeting settings: read them, replace them with a checked document (issue 6, "OBTP";
the document is ``calhub.domain.meetings.settings_json``'s; docs/obtp.md, "Lead time").

    settings = await get_meeting_settings(uow_factory, tenant_id)
    settings = await set_meeting_settings(uow_factory, clock, tenant_id, document)

A document that cannot be used raises ``InvalidMeetingSettings`` naming the field and why (a room
id must name one of the tenant's room calendars), and nothing is stored; a tenant id that does
not exist raises ``UnknownTenant``. A stored change reconciles the tenant's join prompts at once:
prompts not sent yet move to the new lead time.
"""

from __future__ import annotations

from calhub.domain.calendars import CalendarKind
from calhub.domain.clock import Clock
from calhub.domain.ids import TenantId
from calhub.domain.meetings.settings import MeetingSettings
from calhub.domain.meetings.settings_json import InvalidMeetingSetting, settings_from_json
from calhub.services.apikeys import UnknownTenant
from calhub.services.obtp import reconcile_tenant_prompts
from calhub.storage.unit_of_work import UnitOfWork, UnitOfWorkFactory

__all__ = [
    "InvalidMeetingSettings",
    "UnknownTenant",
    "get_meeting_settings",
    "set_meeting_settings",
]


class InvalidMeetingSettings(ValueError):
    """A meeting-settings document that cannot be used: ``location`` is the field's path in the
    document (``("rooms", "<id>", "lead_minutes")``; empty for the document itself), ``reason``
    says why."""

    def __init__(self, location: tuple[str | int, ...], reason: str, message: str) -> None:
        super().__init__(message)
        self.location = location
        self.reason = reason


async def get_meeting_settings(
    uow_factory: UnitOfWorkFactory, tenant_id: TenantId
) -> MeetingSettings:
    """The tenant's settings, the defaults if it never set any."""
    async with uow_factory.reading() as uow:
        await _require_tenant(uow, tenant_id)
        return await uow.meeting_settings.get(tenant_id)


async def set_meeting_settings(
    uow_factory: UnitOfWorkFactory, clock: Clock, tenant_id: TenantId, document: object
) -> MeetingSettings:
    """Replace the tenant's settings with ``document`` (parsed JSON; absent fields take their
    defaults), reconcile its join prompts, and return what is stored."""
    try:
        settings = settings_from_json(document)
    except InvalidMeetingSetting as exc:
        raise InvalidMeetingSettings(exc.location, exc.reason, str(exc)) from exc
    async with uow_factory() as uow:
        await _require_tenant(uow, tenant_id)
        for room in sorted(settings.room_leads, key=str):
            calendar = await uow.calendars.get(tenant_id, room)
            if calendar is None or calendar.kind is not CalendarKind.ROOM:
                location = ("rooms", str(room))
                reason = "no room calendar of the tenant has this id"
                raise InvalidMeetingSettings(location, reason, f"rooms.{room}: {reason}")
        await uow.meeting_settings.put(tenant_id, settings, clock.now())
        await uow.commit()
    await reconcile_tenant_prompts(uow_factory, clock, tenant_id)
    return settings


async def _require_tenant(uow: UnitOfWork, tenant_id: TenantId) -> None:
    if await uow.tenants.get(tenant_id) is None:
        raise UnknownTenant(str(tenant_id))
