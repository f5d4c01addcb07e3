"""Register room devices and users' clients, and authenticate them (issue 6, "Devices").

    issued = await register_device(ctx, tenant_id, room="boardroom@contoso.com", name="Codec")
    issued.token        # chd_..., shown once; only its SHA-256 digest is stored
    device = await authenticate_device(ctx, token)

A room device reads its room calendar's bookings; a client reads its user's calendar. The
calendar is named by id or by its owner's address (looked up through the blind index). A device
token has 256 random bits, so one SHA-256 is enough to store it and a unique index finds it in
one lookup. Adding or removing a device reschedules its calendar's join prompts.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from calhub.domain.calendars import Calendar, CalendarKind
from calhub.domain.devices import DEVICE_TOKEN_PREFIX, Device, DeviceKind
from calhub.domain.ids import CalendarId, DeviceId, TenantId, new_id
from calhub.domain.timezones import UnknownTimeZone, resolve_zone
from calhub.services.context import HubContext
from calhub.storage.unit_of_work import UnitOfWork
from calhub.sync.prompts import reconcile_calendar_prompts

SEEN_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often
MAX_NAME_CHARS = 200


class DeviceRejected(ValueError):
    """A registration that cannot be made; the message says which field and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class DeviceNotFound(LookupError):
    """No such device in the tenant."""


class InvalidDeviceToken(Exception):
    """The presented device token is malformed, unknown or was replaced."""


@dataclass(frozen=True, slots=True)
class IssuedDevice:
    device: Device
    token: str  # shown once, never stored

    def __repr__(self) -> str:
        return f"IssuedDevice(device_id={self.device.id}, token=[redacted])"


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _new_token() -> str:
    return f"{DEVICE_TOKEN_PREFIX}_{secrets.token_urlsafe(32)}"


async def register_device(
    ctx: HubContext,
    tenant_id: TenantId,
    *,
    kind: DeviceKind,
    calendar: str,
    name: str,
    time_zone: str = "UTC",
) -> IssuedDevice:
    """A new device reading ``calendar`` (a calendar id, or the room's or user's address)."""
    name = name.strip()
    if not name or len(name) > MAX_NAME_CHARS:
        raise DeviceRejected("name", f"name: 1 to {MAX_NAME_CHARS} characters")
    try:
        resolve_zone(time_zone)
    except UnknownTimeZone as exc:
        raise DeviceRejected("time_zone", f"time_zone: unknown time zone {time_zone!r}") from exc
    now = ctx.clock.now()
    token = _new_token()
    async with ctx.uow() as uow:
        target = await _calendar_for(uow, tenant_id, kind, calendar)
        device = Device(
            id=DeviceId(new_id(now)),
            tenant_id=tenant_id,
            calendar_id=target.id,
            kind=kind,
            name=name,
            time_zone=time_zone,
            created_at=now,
        )
        await uow.devices.add(device, token_hash(token))
        await reconcile_calendar_prompts(uow, tenant_id, target.id, now)
        await uow.commit()
    return IssuedDevice(device, token)


async def _calendar_for(
    uow: UnitOfWork, tenant_id: TenantId, kind: DeviceKind, calendar: str
) -> Calendar:
    wanted = CalendarKind.ROOM if kind is DeviceKind.ROOM else CalendarKind.USER
    what = "room" if wanted is CalendarKind.ROOM else "user"
    try:
        found = await uow.calendars.get(tenant_id, CalendarId(uuid.UUID(calendar)))
        candidates = [] if found is None else [found]
    except ValueError:
        candidates = list(await uow.calendars.find_by_owner_email(tenant_id, calendar))
    matching = [c for c in candidates if c.kind is wanted]
    if not matching:
        if candidates:
            raise DeviceRejected(what, f"{what}: the calendar is not a {what} calendar")
        raise DeviceRejected(what, f"{what}: no {what} calendar with this id or address")
    return matching[0]


async def list_devices(ctx: HubContext, tenant_id: TenantId) -> list[Device]:
    async with ctx.uow.reading() as uow:
        return await uow.devices.list_for_tenant(tenant_id)


async def get_device(ctx: HubContext, tenant_id: TenantId, device_id: DeviceId) -> Device:
    async with ctx.uow.reading() as uow:
        device = await uow.devices.get(tenant_id, device_id)
    if device is None:
        raise DeviceNotFound(str(device_id))
    return device


async def remove_device(ctx: HubContext, tenant_id: TenantId, device_id: DeviceId) -> None:
    """Remove the device; its token stops working and its pending prompts are dropped."""
    async with ctx.uow() as uow:
        calendar_id = await uow.devices.delete(tenant_id, device_id)
        if calendar_id is None:
            raise DeviceNotFound(str(device_id))
        await uow.commit()


async def replace_device_token(
    ctx: HubContext, tenant_id: TenantId, device_id: DeviceId
) -> IssuedDevice:
    """A new token for the device; the old one stops working at once."""
    token = _new_token()
    async with ctx.uow() as uow:
        if not await uow.devices.replace_token(tenant_id, device_id, token_hash(token)):
            raise DeviceNotFound(str(device_id))
        device = await uow.devices.get(tenant_id, device_id)
        await uow.commit()
    assert device is not None  # just updated in this transaction
    return IssuedDevice(device, token)


async def authenticate_device(ctx: HubContext, token: str) -> tuple[TenantId, DeviceId]:
    """The tenant and device holding ``token``; raises ``InvalidDeviceToken`` otherwise."""
    if not token.startswith(f"{DEVICE_TOKEN_PREFIX}_"):
        raise InvalidDeviceToken("not a calhub device token")
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        found = await uow.devices.get_by_token_hash(token_hash(token))
        if found is None:
            raise InvalidDeviceToken("unknown or replaced device token")
        await uow.devices.mark_seen(found[1], now, not_since=now - SEEN_EVERY)
        await uow.commit()
    return found
