"""``calhub device simulate``: behave like a room device and show what it would show
(docs/feeds.md, "Simulating a device"; the demo and end-to-end tests use it).

    calhub device simulate --device 0190... --token chd_...
    calhub device simulate --device 0190... --json --exit-after 3 --timeout 120

Like a RoomOS codec it reads its bookings (``GET /api/v1/devices/{id}/bookings``), then follows
its event stream (``GET /api/v1/stream`` with the device token): a join prompt (``obtp.join``)
prints "Join <title> now — <platform> <number>", a withdrawal says so, and ``meeting.*`` events
make it read and print its bookings again (RoomOS: ``Bookings Updated`` → ``Bookings List``).
A dropped connection is resumed with ``Last-Event-ID``, so nothing is missed or shown twice.

``--json`` prints one JSON object per line on stdout, ``kind`` saying what it is: ``bookings``
(``bookings``: the RoomOS records), ``prompt``, ``withdrawn`` (``title``, ``platform``,
``number``, ``booking_id``, ``prompt_id``, ``event_id``) or ``event`` (any other type, with its
``data``). Notes (reconnecting) go to stderr. ``--exit-after N`` stops after N stream events;
``--timeout S`` after S seconds (exit code 1 if the N events had not come). A token or device
that is refused, or a hub that cannot be reached, is a red message and exit code 2.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any, Final

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from calhub.cli.common import console, fail, run_async

STREAM_READ_TIMEOUT_S: Final = 45.0  # three missed keep-alives: the connection is dead
RECONNECT_MIN_S: Final = 0.5
RECONNECT_MAX_S: Final = 10.0


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    id: str | None
    type: str
    data: str


class EventStreamParser:
    """Lines of a ``text/event-stream`` to events (WHATWG HTML, "Interpreting an event
    stream"); ``last_event_id`` follows every ``id:`` field, also of frames without data."""

    def __init__(self) -> None:
        self.last_event_id: str | None = None
        self._id: str | None = None
        self._type = ""
        self._data: list[str] = []

    def feed(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._type = value
        elif name == "id" and "\0" not in value:
            self._id = value
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        if self._id is not None:
            self.last_event_id = self._id
        data, kind = self._data, self._type or "message"
        self._id, self._type, self._data = None, "", []
        if not data:
            return None
        return ServerSentEvent(self.last_event_id, kind, "\n".join(data))


class Refused(Exception):
    """The hub answered with an error a retry cannot fix; the message says what it was."""


def _problem(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    return f"HTTP {response.status_code}" + (f": {detail}" if detail else "")


@dataclass
class _Output:
    as_json: bool
    out: Console

    def line(self, record: dict[str, Any]) -> None:
        if self.as_json:
            self.out.print(json.dumps(record, ensure_ascii=False), markup=False, soft_wrap=True)

    def bookings(self, bookings: list[dict[str, Any]], after: str | None) -> None:
        self.line({"kind": "bookings", "after": after, "bookings": bookings})
        if self.as_json:
            return
        title = "Bookings" + (f" (after {after})" if after else "")
        table = Table("start", "end", "title", "organizer", "join", title=title)
        for booking in bookings:
            time = booking.get("Time", {})
            table.add_row(
                escape(str(time.get("StartTime", ""))),
                escape(str(time.get("EndTime", ""))),
                escape(str(booking.get("Title", ""))),
                escape(str(booking.get("Organizer", {}).get("FirstName", ""))),
                escape(" ".join(_join(booking))),
            )
        self.out.print(table if bookings else "no bookings")

    def prompt(self, event: ServerSentEvent, data: dict[str, Any], withdrawn: bool) -> None:
        booking = data.get("booking") or {}
        title = str(booking.get("Title", "a meeting"))
        platform, number = _join(booking)
        self.line(
            {
                "kind": "withdrawn" if withdrawn else "prompt",
                "event_id": int(event.id or 0),
                "prompt_id": data.get("prompt_id"),
                "booking_id": data.get("booking_id"),
                "start": data.get("start"),
                "title": title,
                "platform": platform,
                "number": number,
            }
        )
        if not self.as_json:
            text = f"Join {title} now — {platform} {number}".rstrip()
            if withdrawn:
                self.out.print(f"[yellow]Withdrawn: {escape(text)}[/yellow]")
            else:
                self.out.print(f"[bold green]{escape(text)}[/bold green]")

    def other(self, event: ServerSentEvent, data: dict[str, Any]) -> None:
        self.line(
            {"kind": "event", "type": event.type, "event_id": int(event.id or 0), "data": data}
        )
        if not self.as_json:
            self.out.print(f"{escape(event.type)}: {escape(json.dumps(data))}")


def _join(booking: dict[str, Any]) -> tuple[str, str]:
    """The platform and the number a device would dial for a booking."""
    platform = str(booking.get("MeetingPlatform", ""))
    calls = booking.get("DialInfo", {}).get("Calls", {}).get("Call", [])
    number = str(calls[0].get("Number", "")) if calls else ""
    if not number:
        number = str(booking.get("Webex", {}).get("MeetingNumber", ""))
    return platform, number


class DeviceSimulator:
    def __init__(self, client: httpx.AsyncClient, device_id: str, output: _Output) -> None:
        self.client = client
        self.device_id = device_id
        self.output = output
        self.parser = EventStreamParser()
        self.received = 0

    async def show_bookings(self, after: str | None = None) -> None:
        response = await self.client.get(f"/api/v1/devices/{self.device_id}/bookings")
        if response.status_code != 200:
            raise Refused(f"the bookings were refused ({_problem(response)})")
        self.output.bookings(list(response.json().get("Booking", [])), after)

    async def events(self) -> AsyncIterator[ServerSentEvent]:
        """The device's events; the first connection reads the bookings once it is open."""
        pause, first = RECONNECT_MIN_S, True
        while True:
            headers = {}
            if self.parser.last_event_id is not None:
                headers["Last-Event-ID"] = self.parser.last_event_id
            try:
                async with self.client.stream(
                    "GET", "/api/v1/stream", headers=headers, timeout=_stream_timeout()
                ) as response:
                    if response.status_code != 200:
                        await response.aread()
                        raise Refused(f"the stream was refused ({_problem(response)})")
                    lines = response.aiter_lines()
                    if first:  # the stream's start is fixed: nothing after the list is missed
                        await self._until_open(lines)
                        await self.show_bookings()
                        first = False
                    pause = RECONNECT_MIN_S
                    async for line in lines:
                        event = self.parser.feed(line)
                        if event is not None:
                            yield event
            except httpx.TransportError as exc:
                if first:
                    raise Refused(f"cannot reach calhub ({type(exc).__name__})") from exc
            console.print(f"stream closed; reconnecting in {pause:g} s", style="dim")
            await asyncio.sleep(pause)
            pause = min(pause * 2, RECONNECT_MAX_S)

    async def _until_open(self, lines: AsyncIterator[str]) -> None:
        """Read the stream's first frame (its reconnection delay and starting id)."""
        async for line in lines:
            self.parser.feed(line)
            if not line:
                return

    async def follow(self, exit_after: int | None) -> None:
        async for event in self.events():
            self.received += 1
            try:
                message = json.loads(event.data)
            except ValueError:
                message = {}
            data = message.get("data", {}) if isinstance(message, dict) else {}
            if event.type in ("obtp.join", "obtp.withdrawn"):
                self.output.prompt(event, data, withdrawn=event.type == "obtp.withdrawn")
            elif event.type.startswith("meeting."):
                await self.show_bookings(after=event.type)
            else:
                self.output.other(event, data)
            if exit_after is not None and self.received >= exit_after:
                return


def _stream_timeout() -> httpx.Timeout:
    return httpx.Timeout(10.0, read=STREAM_READ_TIMEOUT_S)


async def simulate_device(
    api: str,
    token: str,
    device_id: str,
    *,
    as_json: bool,
    exit_after: int | None,
    timeout_s: float | None,
) -> bool:
    """Run the simulator; False when ``timeout_s`` ended it before ``exit_after`` events."""
    output = _Output(as_json, Console(highlight=False, soft_wrap=True))
    async with httpx.AsyncClient(
        base_url=api.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=10.0
    ) as client:
        simulator = DeviceSimulator(client, device_id, output)
        try:
            async with asyncio.timeout(timeout_s):
                await simulator.follow(exit_after)
        except TimeoutError:
            return exit_after is None
    return True


def simulate(
    device: Annotated[str, typer.Option("--device", help="The device's id.")],
    api: Annotated[
        str,
        typer.Option(
            "--api", envvar="CALHUB_PUBLIC_BASE_URL", help="calhub's base URL.", show_default=True
        ),
    ] = "http://127.0.0.1:8080",
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="CALHUB_DEVICE_TOKEN",
            help="The device's token (chd_...), or a tenant API key.",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per line (for scripts and tests).")
    ] = False,
    exit_after: Annotated[
        int | None, typer.Option("--exit-after", min=1, help="Stop after this many events.")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", min=0.1, help="Stop after this many seconds.")
    ] = None,
) -> None:
    """Connect like a room device: print its bookings, then its join prompts as they arrive."""
    if not token:
        raise fail("give the device's token with --token or CALHUB_DEVICE_TOKEN")
    try:
        finished = run_async(
            simulate_device(
                api, token, device, as_json=as_json, exit_after=exit_after, timeout_s=timeout
            )
        )
    except Refused as exc:
        raise fail(str(exc)) from exc
    if not finished:
        console.print(f"[red]timed out after {timeout:g} s before {exit_after} events[/red]")
        raise typer.Exit(1)
