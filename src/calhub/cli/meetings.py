"""``calhub meetings``: a person's meetings and a device's bookings, as the API serves them
(issue 6, "Meetings list"; ``GET /api/v1/users/{email}/meetings`` and
``GET /api/v1/devices/{id}/bookings``).

    calhub meetings user ana@contoso.com --days 3 --tz Europe/Berlin
    calhub meetings device 0190f1c2-...-7a1e --json     # the RoomOS Bookings List result

A table by default; ``--json`` prints the API's JSON instead. ``--tenant`` may be left out while
the hub has a single tenant. Mistakes (an unknown address, device or time zone, a value out of
range) are printed in red and exit with code 2.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from calhub.api.routes.meetings import meeting_out
from calhub.bootstrap import Runtime
from calhub.cli.common import (
    OptionalTenant,
    chosen_tenant,
    console,
    fail,
    given_tenant,
    run_with_runtime,
)
from calhub.domain.ids import DeviceId
from calhub.domain.meetings.model import Meeting
from calhub.domain.meetings.windows import MAX_DEVICE_DAYS, MAX_USER_SPAN
from calhub.services.meetings import (
    DeviceBookings,
    DeviceNotFound,
    InvalidWindow,
    PersonMeetings,
    UnknownAddress,
    device_bookings,
    person_meetings,
)

meetings_app = typer.Typer(
    help="A person's meetings, a device's bookings (RoomOS shape).", no_args_is_help=True
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _when(value: object, zone: ZoneInfo) -> str:
    if isinstance(value, datetime):
        return value.astimezone(zone).strftime("%a %Y-%m-%d %H:%M")
    return f"{value} (all day)"


def _join(meeting: Meeting) -> str:
    if meeting.join is None:
        return "-"
    return meeting.join.provider + (" [green]join[/green]" if meeting.join_button else "")


def _series(meeting: Meeting) -> str:
    if meeting.is_exception:
        return "changed occurrence"
    return "recurring" if meeting.is_recurring else "-"


def _person_table(found: PersonMeetings) -> Table:
    table = Table("start", "end", "title", "organizer", "people", "join", "series")
    for meeting in found.meetings:
        table.add_row(
            _when(meeting.start, found.zone),
            _when(meeting.end, found.zone),
            escape(meeting.title),
            escape(meeting.organizer_name or "-"),
            str(meeting.attendee_count),
            _join(meeting),
            _series(meeting),
        )
    return table


def _device_table(found: DeviceBookings) -> Table:
    table = Table("start (UTC)", "end (UTC)", "title", "organizer", "platform", "connect", "id")
    for booking in found.result["Booking"]:
        time, dial = booking["Time"], booking["DialInfo"]
        table.add_row(
            time["StartTime"],
            time["EndTime"],
            escape(booking["Title"]),
            escape(booking["Organizer"]["FirstName"] or "-"),
            booking["MeetingPlatform"],
            dial["ConnectMode"],
            booking["Id"],
        )
    return table


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2))


@meetings_app.command("user")
def user(
    email: Annotated[str, typer.Argument(help="The person's address.")],
    days: Annotated[
        int,
        typer.Option("--days", min=1, max=MAX_USER_SPAN.days, help="Days from today to cover."),
    ] = 7,
    tz: Annotated[str, typer.Option("--tz", help="IANA zone the days and times are in.")] = "UTC",
    tenant: OptionalTenant = None,
    as_json: JsonOption = False,
) -> None:
    """The person's meetings (as organizer or attendee) from today on, one per occurrence."""
    given = given_tenant(tenant)

    async def main(runtime: Runtime) -> PersonMeetings:
        tenant_id = await chosen_tenant(runtime, given)
        try:
            return await person_meetings(runtime.hub, tenant_id, email, tz=tz, days=days)
        except InvalidWindow as exc:
            raise fail(f"--{exc.parameter}: {exc.reason}") from exc
        except UnknownAddress as exc:
            raise fail(f"{exc} in tenant {tenant_id}") from exc

    found = run_with_runtime(main)
    if as_json:
        meetings = [meeting_out(m, found.zone).model_dump(mode="json") for m in found.meetings]
        _print_json(
            {"start": found.start.isoformat(), "end": found.end.isoformat(), "meetings": meetings}
        )
        return
    if not found.meetings:
        console.print("no meetings in this window")
        return
    Console(highlight=False).print(_person_table(found))


@meetings_app.command("device")
def device(
    device_id: Annotated[str, typer.Argument(help="The device's id.")],
    days: Annotated[
        int,
        typer.Option("--days", min=1, max=MAX_DEVICE_DAYS, help="Days from today (then + 8 h)."),
    ] = 1,
    tenant: OptionalTenant = None,
    as_json: JsonOption = False,
) -> None:
    """The device's bookings from now to the end of its day plus 8 hours, as RoomOS lists them."""
    given = given_tenant(tenant)
    try:
        wanted = DeviceId(uuid.UUID(device_id))
    except ValueError as exc:
        raise fail(f"DEVICE_ID must be a device id (a UUID), got {device_id!r}") from exc

    async def main(runtime: Runtime) -> DeviceBookings:
        tenant_id = await chosen_tenant(runtime, given)
        try:
            return await device_bookings(runtime.hub, tenant_id, wanted, days=days)
        except DeviceNotFound as exc:
            raise fail(f"no device {wanted} in tenant {tenant_id}") from exc

    found = run_with_runtime(main)
    if as_json:
        _print_json(found.result)
        return
    if not found.result["Booking"]:
        console.print("no bookings until " + found.end.strftime("%Y-%m-%d %H:%M %Z"))
        return
    Console(highlight=False).print(_device_table(found))


def register(app: typer.Typer) -> None:
    app.add_typer(meetings_app, name="meetings")
