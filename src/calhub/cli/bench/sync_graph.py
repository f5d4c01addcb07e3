"""``calhub bench sync --provider msgraph``: Microsoft 365 as the Graph emulator plays it.

One tenant of user mailboxes and rooms (``USERS_PER_ROOM`` users per room) and a consented app;
users' changes go through the emulator's event store; the intake phase posts Graph's own
notification bodies, ``INTAKE_BATCH`` items each (Graph's largest), each item for another
calendar with that subscription's ``clientState``.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from typing import Any, Final

from calhub.bootstrap import Runtime
from calhub.cli.bench.sync_world import ChangeRefused, IntakeRequest
from calhub.cli.emulated import graph_settings
from calhub.domain.ids import ConnectionId, TenantId
from calhub.emulators.graph.app import create_app
from calhub.emulators.graph.clock import EmulatorClock
from calhub.emulators.graph.errors import GraphError
from calhub.emulators.graph.events.lookup import find_target
from calhub.emulators.graph.events.mutations import create_event, update_event
from calhub.emulators.graph.events.parsing import parse_event_input
from calhub.emulators.graph.events.scope import Scope
from calhub.emulators.graph.seed import load_seed
from calhub.emulators.graph.state import GraphState, Mailbox
from calhub.emulators.graph.subscriptions.model import change_notification
from calhub.providers.msgraph.auth import ClientSecret
from calhub.services.connections import create_microsoft_connection
from calhub.services.providers import MicrosoftCredentials
from calhub.services.tenants import create_tenant

TENANT_ID: Final = "5d1c7a3e-8b2f-4e6a-9c0d-1f2e3d4c5b6a"
APP_ID: Final = "bench-sync-app"
APP_SECRET: Final = "bench-sync-secret"  # noqa: S105 - the emulator's, not a real secret
DOMAIN: Final = "bench-sync.test"
USERS_PER_ROOM: Final = 4
INTAKE_BATCH: Final = 100


class GraphWorld:
    provider = "msgraph"
    source = "Graph"
    process_settings: tuple[str, ...] = ("graph_base_url", "microsoft_login_url")
    intake_connections = 8  # of 100 notifications each: 800 in flight

    def __init__(self, calendars: int, seed: int) -> None:
        self.state = GraphState(EmulatorClock(), seed=seed)
        load_seed(self.state, _seed(calendars))
        self.app = create_app(self.state)
        self._scope = Scope(self.state, self.state.tenants[TENANT_ID])

    def settings(self, origin: str) -> dict[str, Any]:
        return graph_settings(origin)

    async def connect(self, runtime: Runtime) -> tuple[TenantId, ConnectionId]:
        tenant = await create_tenant(runtime.uow, runtime.clock, "calhub bench sync")
        credentials = MicrosoftCredentials(APP_ID, ClientSecret(APP_SECRET))
        connection = await create_microsoft_connection(
            runtime.hub, tenant.id, credentials, tenant_hint=DOMAIN
        )
        async with runtime.uow() as uow:  # what the admin's consent records
            await uow.connections.record_consent(
                tenant.id, connection.id, TENANT_ID, runtime.clock.now()
            )
            await uow.commit()
        return tenant.id, connection.id

    def addresses(self) -> list[str]:
        return sorted(m.upn.lower() for m in self.state.tenants[TENANT_ID].mailboxes.values())

    def now(self) -> datetime:
        return self._scope.now()

    def create(self, address: str, start: datetime, end: datetime, subject: str) -> tuple[str, str]:
        body = {"subject": subject, "start": _time(start), "end": _time(end)}
        try:
            mailbox = self._mailbox(address)
            calendar = self._scope.box(mailbox).calendar
            event = create_event(self._scope, mailbox, calendar, parse_event_input(body))
        except GraphError as exc:
            raise ChangeRefused(exc.status) from exc
        return event.id, event.change_key

    def edit(self, address: str, event_id: str, subject: str) -> str:
        try:
            mailbox = self._mailbox(address)
            target = find_target(self._scope.box(mailbox), event_id)
            edited = update_event(
                self._scope, mailbox, target, parse_event_input({"subject": subject})
            )
        except GraphError as exc:
            raise ChangeRefused(exc.status) from exc
        return edited.item.change_key

    async def drain(self) -> None:
        await self.state.subscriptions.drain()

    def intake_requests(self, count: int) -> list[IntakeRequest]:
        subscriptions = sorted(
            self.state.subscriptions.owned_by(TENANT_ID, APP_ID), key=lambda s: s.id
        )
        picks = itertools.cycle(subscriptions)
        headers = {"Content-Type": "application/json"}
        requests = []
        for post in range(max(1, count // INTAKE_BATCH)):
            items = [
                change_notification(
                    subscription,
                    subscription.mailbox_id,
                    f"bench-intake-{post}-{item}",
                    "updated",
                    f'W/"bench-intake-{post}-{item}"',
                )
                for item, subscription in zip(range(INTAKE_BATCH), picks, strict=False)
            ]
            body = json.dumps({"value": items}).encode()
            requests.append(IntakeRequest("/hooks/microsoft", headers, body, len(items), 202))
        return requests

    def _mailbox(self, address: str) -> Mailbox:
        mailbox = self._scope.mailbox(address)
        if mailbox is None:
            raise GraphError(404, "ErrorInvalidUser", "no such mailbox")
        return mailbox


def _time(moment: datetime) -> dict[str, str]:
    return {"dateTime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def _seed(calendars: int) -> dict[str, Any]:
    rooms = calendars // (USERS_PER_ROOM + 1)
    users = calendars - rooms
    return {
        "tenants": [
            {
                "id": TENANT_ID,
                "domain": DOMAIN,
                "apps": [{"client_id": APP_ID, "client_secret": APP_SECRET, "consent": "granted"}],
                "access_policy": None,
                "users": [
                    {
                        "id": f"00000000-0000-4000-8000-{i:012d}",
                        "userPrincipalName": f"user{i}@{DOMAIN}",
                        "displayName": f"User {i}",
                    }
                    for i in range(users)
                ],
                "rooms": [
                    {
                        "id": f"00000000-0000-4000-9000-{i:012d}",
                        "emailAddress": f"room{i}@{DOMAIN}",
                        "displayName": f"Room {i}",
                        "capacity": 8,
                        "bookingType": "standard",
                        "hidden": False,
                    }
                    for i in range(rooms)
                ],
                "events": [],
            }
        ]
    }
