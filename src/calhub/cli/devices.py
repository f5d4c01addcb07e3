"""``calhub device``: register room devices and users' clients, list and remove them, replace a
token, and ``simulate`` one (docs/meetings.md, "Devices").

    calhub device add --room boardroom@contoso.com --name "Boardroom" --time-zone Europe/Berlin
    calhub device add --user ana@contoso.com --name "Ana's laptop"
    calhub device list
    calhub device token DEVICE_ID      # a new token; the old one stops working
    calhub device remove DEVICE_ID

``add`` and ``token`` print the token once, on stdout (everything else goes to stderr), so
``TOKEN=$(calhub device add ...)`` works. ``--tenant`` may be left out while the hub has a single
tenant; mistakes are printed in red and exit with code 2.
"""

from __future__ import annotations

import uuid
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from calhub.bootstrap import Runtime
from calhub.cli.common import (
    OptionalTenant,
    chosen_tenant,
    console,
    fail,
    given_tenant,
    run_with_runtime,
)
from calhub.cli.device_simulate import simulate
from calhub.domain.devices import Device, DeviceKind
from calhub.domain.ids import DeviceId
from calhub.services.devices import (
    DeviceNotFound,
    DeviceRejected,
    IssuedDevice,
    list_devices,
    register_device,
    remove_device,
    replace_device_token,
)

device_app = typer.Typer(
    help="Room devices and users' clients: register, list, remove, new token, simulate.",
    no_args_is_help=True,
)


def _device_id(text: str) -> DeviceId:
    try:
        return DeviceId(uuid.UUID(text))
    except ValueError as exc:
        raise fail(f"DEVICE_ID must be a device id (a UUID), got {text!r}") from exc


def _issued(issued: IssuedDevice) -> None:
    device = issued.device
    console.print(
        f"[green]device {device.id}[/green] ({device.kind.value}, calendar {device.calendar_id}); "
        "its token, shown only now:"
    )
    typer.echo(issued.token)


@device_app.command("add")
def add(
    name: Annotated[str, typer.Option("--name", help="What admins call the device.")],
    room: Annotated[
        str | None, typer.Option("--room", help="A room device: the room's address or calendar id.")
    ] = None,
    user: Annotated[
        str | None,
        typer.Option("--user", help="A user's client: the user's address or calendar id."),
    ] = None,
    time_zone: Annotated[
        str, typer.Option("--time-zone", help="IANA zone; bookings reach to its end of day + 8 h.")
    ] = "UTC",
    tenant: OptionalTenant = None,
) -> None:
    """Register a device for a room (--room) or a user's client (--user); prints its token."""
    if (room is None) == (user is None):
        raise fail("give exactly one of --room and --user")
    kind, calendar = (DeviceKind.ROOM, room) if room is not None else (DeviceKind.CLIENT, user)
    assert calendar is not None
    given = given_tenant(tenant)

    async def main(runtime: Runtime) -> IssuedDevice:
        tenant_id = await chosen_tenant(runtime, given)
        try:
            return await register_device(
                runtime.hub, tenant_id, kind=kind, calendar=calendar, name=name, time_zone=time_zone
            )
        except DeviceRejected as exc:
            raise fail(str(exc)) from exc

    _issued(run_with_runtime(main))


@device_app.command("list")
def list_(tenant: OptionalTenant = None) -> None:
    """The tenant's devices: id, kind, calendar, name, time zone, last seen."""
    given = given_tenant(tenant)

    async def main(runtime: Runtime) -> list[Device]:
        return await list_devices(runtime.hub, await chosen_tenant(runtime, given))

    found = run_with_runtime(main)
    if not found:
        console.print("no devices; add one with `calhub device add`")
        return
    table = Table("id", "kind", "calendar", "name", "time zone", "last seen", header_style="bold")
    for device in found:
        seen = (
            "never"
            if device.last_seen_at is None
            else device.last_seen_at.isoformat(" ", "seconds")
        )
        table.add_row(
            str(device.id),
            device.kind.value,
            str(device.calendar_id),
            escape(device.name),
            device.time_zone,
            seen,
        )
    Console(highlight=False).print(table)


@device_app.command("remove")
def remove(
    device_id: Annotated[str, typer.Argument(help="The device's id.")],
    tenant: OptionalTenant = None,
) -> None:
    """Remove a device: its token stops working, its pending join prompts are dropped."""
    given, wanted = given_tenant(tenant), _device_id(device_id)

    async def main(runtime: Runtime) -> None:
        try:
            await remove_device(runtime.hub, await chosen_tenant(runtime, given), wanted)
        except DeviceNotFound as exc:
            raise fail(f"no device {wanted} in the tenant") from exc

    run_with_runtime(main)
    console.print(f"removed device {wanted}")


@device_app.command("token")
def token(
    device_id: Annotated[str, typer.Argument(help="The device's id.")],
    tenant: OptionalTenant = None,
) -> None:
    """Issue a new token for a device (printed once); the old one stops working at once."""
    given, wanted = given_tenant(tenant), _device_id(device_id)

    async def main(runtime: Runtime) -> IssuedDevice:
        try:
            return await replace_device_token(
                runtime.hub, await chosen_tenant(runtime, given), wanted
            )
        except DeviceNotFound as exc:
            raise fail(f"no device {wanted} in the tenant") from exc

    _issued(run_with_runtime(main))


device_app.command("simulate")(simulate)


def register(app: typer.Typer) -> None:
    app.add_typer(device_app, name="device")
