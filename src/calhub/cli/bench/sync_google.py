"""``calhub bench sync --provider google``: Google Workspace as the Google emulator plays it.

One customer of users and room resources (``USERS_PER_ROOM`` users per room), the emulator's
example service account with domain-wide delegation (its development key ships with calhub);
users' changes go through the emulator's event store; the intake phase sends Google's push
messages, one per request as Google sends them: no body, ``X-Goog-*`` headers naming a live
channel with its token, ``exists``, each with a new message number.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from calhub.bootstrap import Runtime
from calhub.cli.bench.sync_world import ChangeRefused, IntakeRequest
from calhub.cli.emulated import google_settings
from calhub.domain.ids import ConnectionId, TenantId
from calhub.emulators.google.app import create_app
from calhub.emulators.google.errors import GoogleError
from calhub.emulators.google.example import example_key, example_service_account
from calhub.emulators.google.seed import load_seed
from calhub.emulators.google.state import GoogleState
from calhub.emulators.graph.clock import EmulatorClock
from calhub.services.google_connections import create_google_connection
from calhub.services.providers import GoogleCredentials
from calhub.services.tenants import create_tenant

CUSTOMER_ID: Final = "C0bench5ync"
DOMAIN: Final = "bench-google.test"
ADMIN: Final = f"user0@{DOMAIN}"
BUILDING: Final = "BENCH-1"
USERS_PER_ROOM: Final = 4


class GoogleWorld:
    provider = "google"
    source = "Google Calendar"
    process_settings: tuple[str, ...] = (
        "google_calendar_url",
        "google_directory_url",
        "google_token_url",
    )
    # One message per request, from Google's many senders at once; the intake stores what
    # arrives together in one transaction (``PushIntake``), as Graph's 8 POSTs bring 800.
    intake_connections = 256

    def __init__(self, calendars: int, seed: int) -> None:
        self.state = GoogleState(EmulatorClock(), seed=seed)
        load_seed(self.state, _seed(calendars, example_service_account()))
        self.app = create_app(self.state)
        # Far above the emulator's own numbers, so no message repeats one it sent (a repeat is
        # a duplicate, which the intake rightly stores once).
        self._message_number = 10**12
        self._token_uri = ""

    def settings(self, origin: str) -> dict[str, Any]:
        self._token_uri = f"{origin}/token"
        return google_settings(origin)

    async def connect(self, runtime: Runtime) -> tuple[TenantId, ConnectionId]:
        tenant = await create_tenant(runtime.uow, runtime.clock, "calhub bench sync")
        key = example_key(self._token_uri)
        outcome = await create_google_connection(
            runtime.hub, tenant.id, GoogleCredentials(key, ADMIN), domain=DOMAIN
        )
        if not outcome.delegation.granted:
            raise RuntimeError(f"the emulator refused the delegation: {outcome.delegation.message}")
        return tenant.id, outcome.connection.id

    def addresses(self) -> list[str]:
        customer = self.state.customers[CUSTOMER_ID]
        rooms = [r["resourceEmail"].lower() for r in customer.resources.values()]
        return sorted([*customer.users, *rooms])

    def now(self) -> datetime:
        return self.state.clock.now()

    def create(self, address: str, start: datetime, end: datetime, subject: str) -> tuple[str, str]:
        body = {"summary": subject, "start": _time(start), "end": _time(end)}
        try:
            event = self.state.calendar.insert(address, body)
        except GoogleError as exc:
            raise ChangeRefused(exc.status) from exc
        return str(event["id"]), str(event["etag"])

    def edit(self, address: str, event_id: str, subject: str) -> str:
        try:
            event = self.state.calendar.modify(address, event_id, {"summary": subject}, patch=True)
        except GoogleError as exc:
            raise ChangeRefused(exc.status) from exc
        return str(event["etag"])

    async def drain(self) -> None:
        await self.state.channels.drain()

    def intake_requests(self, count: int) -> list[IntakeRequest]:
        channels = sorted(self.state.channels.live(), key=lambda channel: channel.id)
        requests = []
        for number in range(count):
            channel = channels[number % len(channels)]
            self._message_number += 1
            headers = {
                "X-Goog-Channel-ID": channel.id,
                "X-Goog-Channel-Token": channel.token or "",
                "X-Goog-Resource-ID": channel.resource_id,
                "X-Goog-Resource-URI": channel.resource_uri,
                "X-Goog-Resource-State": "exists",
                "X-Goog-Message-Number": str(self._message_number),
            }
            requests.append(IntakeRequest("/hooks/google", headers, b"", 1, 200))
        return requests


def _time(moment: datetime) -> dict[str, str]:
    return {"dateTime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "timeZone": "UTC"}


def _seed(calendars: int, account: dict[str, Any]) -> dict[str, Any]:
    rooms = calendars // (USERS_PER_ROOM + 1)
    users = calendars - rooms
    return {
        "customers": [
            {
                "id": CUSTOMER_ID,
                "domain": DOMAIN,
                "service_accounts": [account],
                "users": [
                    {
                        "email": f"user{i}@{DOMAIN}",
                        "name": f"User {i}",
                        "timeZone": "UTC",
                        "isAdmin": i == 0,
                    }
                    for i in range(users)
                ],
                "buildings": [
                    {"buildingId": BUILDING, "buildingName": "Bench House", "floorNames": ["1"]}
                ],
                "resources": [
                    {
                        "resourceId": f"room{i}",
                        "resourceName": f"Room {i}",
                        "resourceCategory": "CONFERENCE_ROOM",
                        "capacity": 8,
                        "buildingId": BUILDING,
                        "floorName": "1",
                    }
                    for i in range(rooms)
                ],
                "events": [],
            }
        ]
    }
