"""``/api/v1/devices``: register room devices and users' clients, list, remove, new token.

A device reads one calendar's feed (docs/meetings.md, "Devices"): ``kind: room`` names a room
calendar, ``kind: client`` a user's calendar, either by calendar id or by address. The token is
in the 201 answer only; it opens ``GET /api/v1/devices/{id}/bookings`` and ``GET /api/v1/stream``
for this device and nothing else. Managing devices needs a tenant API key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from calhub.api.dependencies import ApiKeyDep, RuntimeDep
from calhub.api.problems import Problem
from calhub.domain.devices import Device, DeviceKind
from calhub.domain.ids import DeviceId
from calhub.services.devices import (
    DeviceNotFound,
    DeviceRejected,
    IssuedDevice,
    get_device,
    list_devices,
    register_device,
    remove_device,
    replace_device_token,
)

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])

DeviceIdPath = Annotated[UUID, Path(description="The device's id.")]


class DeviceIn(BaseModel):
    kind: DeviceKind = Field(description="room: a room system; client: a user's app.")
    calendar: str = Field(
        description="The room's (kind room) or user's (kind client) calendar: its id or address.",
        examples=["boardroom@contoso.com"],
    )
    name: str = Field(description="What admins call the device.", examples=["Boardroom codec"])
    time_zone: str = Field(
        default="UTC",
        description="IANA zone; a room device's bookings reach to the end of its day + 8 hours.",
        examples=["Europe/Berlin"],
    )


class DeviceOut(BaseModel):
    id: UUID
    kind: DeviceKind
    calendar_id: UUID
    name: str
    time_zone: str
    created_at: datetime
    last_seen_at: datetime | None = Field(description="Last authenticated call, to the minute.")


class IssuedDeviceOut(DeviceOut):
    token: str = Field(description="The device's bearer token (chd_...), shown only this once.")


def _out(device: Device) -> DeviceOut:
    return DeviceOut(
        id=device.id,
        kind=device.kind,
        calendar_id=device.calendar_id,
        name=device.name,
        time_zone=device.time_zone,
        created_at=device.created_at,
        last_seen_at=device.last_seen_at,
    )


def _issued(issued: IssuedDevice) -> IssuedDeviceOut:
    return IssuedDeviceOut(**_out(issued.device).model_dump(), token=issued.token)


def _not_found(exc: DeviceNotFound) -> Problem:
    return Problem("not-found", "No such device in your tenant.")


@router.post(
    "",
    status_code=201,
    response_model=IssuedDeviceOut,
    summary="Register a device for a room or a user",
    responses={422: {"description": "Unknown calendar, wrong kind, bad name or time zone."}},
)
async def create_device(runtime: RuntimeDep, api_key: ApiKeyDep, body: DeviceIn) -> IssuedDeviceOut:
    try:
        issued = await register_device(
            runtime.hub,
            api_key.tenant_id,
            kind=body.kind,
            calendar=body.calendar,
            name=body.name,
            time_zone=body.time_zone,
        )
    except DeviceRejected as exc:
        raise Problem(
            "validation-failed",
            str(exc),
            errors=[{"location": ["body", exc.field], "message": str(exc)}],
        ) from exc
    return _issued(issued)


@router.get("", response_model=list[DeviceOut], summary="The tenant's devices")
async def read_devices(runtime: RuntimeDep, api_key: ApiKeyDep) -> list[DeviceOut]:
    return [_out(device) for device in await list_devices(runtime.hub, api_key.tenant_id)]


@router.get("/{device_id}", response_model=DeviceOut, summary="One device")
async def read_device(
    runtime: RuntimeDep, api_key: ApiKeyDep, device_id: DeviceIdPath
) -> DeviceOut:
    try:
        return _out(await get_device(runtime.hub, api_key.tenant_id, DeviceId(device_id)))
    except DeviceNotFound as exc:
        raise _not_found(exc) from exc


@router.delete("/{device_id}", status_code=204, summary="Remove a device; its token stops working")
async def delete_device(
    runtime: RuntimeDep, api_key: ApiKeyDep, device_id: DeviceIdPath
) -> Response:
    try:
        await remove_device(runtime.hub, api_key.tenant_id, DeviceId(device_id))
    except DeviceNotFound as exc:
        raise _not_found(exc) from exc
    return Response(status_code=204)


@router.post(
    "/{device_id}/token",
    response_model=IssuedDeviceOut,
    summary="Issue a new token for a device; the old one stops working",
)
async def new_device_token(
    runtime: RuntimeDep, api_key: ApiKeyDep, device_id: DeviceIdPath
) -> IssuedDeviceOut:
    try:
        return _issued(
            await replace_device_token(runtime.hub, api_key.tenant_id, DeviceId(device_id))
        )
    except DeviceNotFound as exc:
        raise _not_found(exc) from exc
