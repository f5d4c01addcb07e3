"""The emulator's whole world, in memory: customers, service accounts, users, rooms, tokens,
faults, and the stores of events and channels.

One ``GoogleState`` is shared by every request of one emulator app (asyncio, one thread, so plain
dictionaries suffice). Calendar events live in ``calendar`` (``calendar/store.py``), watch channels
in ``channels`` (``channels/store.py``); every committed change to a calendar reaches the channels
through ``calendar.on_change``. ``calendar_info`` says which calendars exist: a user's primary
calendar (id = the user's email) and each room's (id = its ``resourceEmail``).
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, Request

from calhub.emulators.google.calendar.store import CalendarStore
from calhub.emulators.google.channels.store import ChannelStore
from calhub.emulators.graph.clock import EmulatorClock

Consent = Literal["granted", "revoked"]


@dataclass(slots=True)
class ServiceAccount:
    """A service account with domain-wide delegation in one customer (google.md §8.2)."""

    client_email: str
    public_key_pem: str
    scopes: frozenset[str]  # what the admin granted to its client id
    state: Consent = "granted"


@dataclass(slots=True)
class User:
    email: str
    name: str
    time_zone: str
    id: str  # Directory's numeric user id
    is_admin: bool = False


@dataclass(slots=True)
class Customer:
    """A Workspace account: its domain, users, Directory resources and delegated apps."""

    id: str
    domain: str
    service_accounts: dict[str, ServiceAccount] = field(default_factory=dict)  # by lower email
    users: dict[str, User] = field(default_factory=dict)  # by lower-cased email
    buildings: dict[str, dict[str, Any]] = field(default_factory=dict)  # Directory JSON, by id
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)  # Directory JSON, by id

    def service_account(self, client_email: str) -> ServiceAccount | None:
        return self.service_accounts.get(client_email.lower())

    def user(self, email: str) -> User | None:
        return self.users.get(email.lower())

    def resource_by_email(self, email: str) -> dict[str, Any] | None:
        lowered = email.lower()
        return next(
            (r for r in self.resources.values() if r["resourceEmail"].lower() == lowered), None
        )

    def default_time_zone(self) -> str:
        first = next(iter(self.users.values()), None)
        return first.time_zone if first is not None else "UTC"


@dataclass(frozen=True, slots=True)
class AccessToken:
    """What an opaque bearer token stands for; it dies at ``expires_at`` or with consent."""

    customer_id: str
    client_email: str
    user_email: str
    scopes: frozenset[str]
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class CalendarInfo:
    """A calendar that exists: a user's primary calendar or a room's."""

    id: str  # the user's email, or the resource's resourceEmail
    customer_id: str
    summary: str
    time_zone: str  # the user's timeZone; rooms: the customer's first user's, else UTC
    is_resource: bool


@dataclass(slots=True)
class Faults:
    """The knobs of ``POST /_emulator/faults``: the Graph emulator's, plus Google's per-user
    quota of 600 requests a minute (google.md §9.3)."""

    error_rate: float = 0.0
    throttle_rate: float = 0.0
    latency_ms: tuple[int, int] = (0, 0)
    duplicate_notifications: float = 0.0
    drop_notifications: float = 0.0
    notification_delay_ms: tuple[int, int] = (0, 0)
    requests_per_minute_per_user: int = 600

    def dump(self) -> dict[str, Any]:
        return {
            "error_rate": self.error_rate,
            "throttle_rate": self.throttle_rate,
            "latency_ms": list(self.latency_ms),
            "duplicate_notifications": self.duplicate_notifications,
            "drop_notifications": self.drop_notifications,
            "notification_delay_ms": list(self.notification_delay_ms),
            "requests_per_minute_per_user": self.requests_per_minute_per_user,
        }


class GoogleState:
    """Everything the emulator knows; ``reset`` empties it for a new seed."""

    def __init__(self, clock: EmulatorClock | None = None, *, seed: int | None = None) -> None:
        self.clock = clock or EmulatorClock()
        self.random = random.Random(seed)  # noqa: S311 - fault injection, not security
        self.faults = Faults()
        self.customers: dict[str, Customer] = {}
        self.tokens: dict[str, AccessToken] = {}
        # Admission times (emulator clock) per (API, service account, user): the per-user quota.
        self.usage: dict[tuple[str, str, str], deque[float]] = {}
        self.calendar = CalendarStore(self.clock, self.calendar_info)
        self.channels = ChannelStore(self.clock, lambda: self.faults, self.random)
        self.calendar.on_change(self.channels.calendar_changed)

    def reset(self) -> None:
        self.customers.clear()
        self.tokens.clear()
        self.usage.clear()
        self.faults = Faults()
        self.calendar.reset()
        self.channels.reset()

    def customer(self, key: str) -> Customer | None:
        """By customer id or by domain (case-insensitive)."""
        if key in self.customers:
            return self.customers[key]
        lowered = key.lower()
        return next(
            (c for c in self.customers.values() if lowered in (c.id.lower(), c.domain.lower())),
            None,
        )

    def calendar_info(self, calendar_id: str) -> CalendarInfo | None:
        """The calendar ``calendar_id`` names (case-insensitive), or None if there is none."""
        for customer in self.customers.values():
            user = customer.user(calendar_id)
            if user is not None:
                return CalendarInfo(user.email, customer.id, user.email, user.time_zone, False)
            room = customer.resource_by_email(calendar_id)
            if room is not None:
                return CalendarInfo(
                    room["resourceEmail"],
                    customer.id,
                    room.get("generatedResourceName") or room["resourceName"],
                    customer.default_time_zone(),
                    True,
                )
        return None

    def dump(self) -> dict[str, Any]:
        """The ``GET /_emulator/state`` body: plain JSON for test assertions."""
        now = self.clock.now()
        return {
            "now": now.isoformat(),
            "faults": self.faults.dump(),
            "customers": [
                {
                    "id": customer.id,
                    "domain": customer.domain,
                    "service_accounts": [
                        {
                            "client_email": account.client_email,
                            "state": account.state,
                            "scopes": sorted(account.scopes),
                        }
                        for account in customer.service_accounts.values()
                    ],
                    "users": [
                        {"email": u.email, "id": u.id, "timeZone": u.time_zone}
                        for u in customer.users.values()
                    ],
                    "buildings": sorted(customer.buildings),
                    "resources": [
                        {"resourceId": r["resourceId"], "resourceEmail": r["resourceEmail"]}
                        for r in customer.resources.values()
                    ],
                }
                for customer in self.customers.values()
            ],
            "access_tokens": sum(1 for t in self.tokens.values() if t.expires_at > now),
            "calendar": self.calendar.summary(),
            "channels": self.channels.summary(),
        }


def state_of(request: Request) -> GoogleState:
    state: GoogleState = request.app.state.google
    return state


async def current_state(request: Request) -> GoogleState:
    """The FastAPI dependency: ``state_of`` on the event loop (FastAPI runs a plain ``def``
    dependency in its thread pool, a hand-off to a thread and back on every request)."""
    return state_of(request)


StateDep = Annotated[GoogleState, Depends(current_state)]
