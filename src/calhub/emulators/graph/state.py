"""The emulator's whole world, in memory: tenants, apps, mailboxes, rooms, faults, and the stores.

One ``GraphState`` is shared by every request of one emulator app (asyncio, one thread, so plain
dictionaries suffice). Feature modules keep their own records in the stores hung off it:
``events`` (events, series, delta journal) and ``subscriptions`` (subscriptions and delivery).
Every change to an event goes through ``publish_change`` so delta queries and change notifications
see the same history.
"""

from __future__ import annotations

import random
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from calhub.emulators.graph.clock import EmulatorClock
from calhub.emulators.graph.events.store import EventStore
from calhub.emulators.graph.subscriptions.store import SubscriptionStore

Consent = Literal["granted", "pending", "denied", "revoked", "deleted"]
MailboxKind = Literal["user", "room"]
ChangeType = Literal["created", "updated", "deleted"]


@dataclass(slots=True)
class App:
    """An app registration and its service principal in one tenant."""

    client_id: str
    client_secret: str | None
    consent: Consent = "granted"
    certificate_pem: str | None = None  # public certificate for client assertions
    client_secret_expires_at: datetime | None = None  # after it: invalid_client 7000222
    service_principal_id: str = field(default_factory=lambda: _guid())
    redirect_uris: tuple[str, ...] = ()  # empty: any redirect URI is accepted


@dataclass(slots=True)
class RoomInfo:
    """What the Places API tells about a room mailbox (graph.md §7)."""

    capacity: int | None = None
    building: str | None = None
    floor_number: int | None = None
    floor_label: str | None = None
    booking_type: Literal["standard", "reserved"] = "standard"
    room_list: str | None = None
    hidden: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # any other place properties, Graph names


@dataclass(slots=True)
class Mailbox:
    """A user or room mailbox; rooms are addressable under ``/users/{address}`` like users."""

    id: str
    upn: str
    display_name: str
    tenant_id: str
    kind: MailboxKind = "user"
    settings: dict[str, Any] = field(default_factory=dict)  # mailboxSettings, Graph shape
    rest_enabled: bool = True  # False: MailboxNotEnabledForRESTAPI
    room: RoomInfo | None = None

    @property
    def address(self) -> str:
        return self.upn


@dataclass(slots=True)
class Tenant:
    id: str
    domain: str
    apps: dict[str, App] = field(default_factory=dict)
    allowed: frozenset[str] | None = None  # lower-cased UPNs; None = no access policy
    mailboxes: dict[str, Mailbox] = field(default_factory=dict)
    _by_address: dict[str, str] = field(default_factory=dict)

    def add_mailbox(self, mailbox: Mailbox) -> None:
        self.mailboxes[mailbox.id] = mailbox
        self._by_address[mailbox.upn.lower()] = mailbox.id

    def mailbox(self, key: str) -> Mailbox | None:
        """By object id (GUID, any case) or by address (case-insensitive)."""
        found = self.mailboxes.get(key) or self.mailboxes.get(key.lower())
        if found is not None:
            return found
        mailbox_id = self._by_address.get(key.lower())
        return self.mailboxes.get(mailbox_id) if mailbox_id else None

    def allows(self, mailbox: Mailbox) -> bool:
        return self.allowed is None or mailbox.upn.lower() in self.allowed

    def rooms(self) -> Iterator[Mailbox]:
        return (m for m in self.mailboxes.values() if m.kind == "room")


@dataclass(slots=True)
class Faults:
    """The knobs of ``POST /_emulator/faults``; the defaults are Graph's documented limits."""

    error_rate: float = 0.0
    throttle_rate: float = 0.0
    latency_ms: tuple[int, int] = (0, 0)
    duplicate_notifications: float = 0.0
    drop_notifications: float = 0.0
    notification_delay_ms: tuple[int, int] = (0, 0)
    mailbox_concurrency: int = 4
    requests_per_10min: int = 10_000


@dataclass(frozen=True, slots=True)
class EventChange:
    """One change to one event in one mailbox, as delta and notifications see it."""

    mailbox: Mailbox
    calendar_id: str
    event_id: str
    change_type: ChangeType
    etag: str


ChangeListener = Callable[[EventChange], None]


class GraphState:
    """Everything the emulator knows; ``reset`` empties it for a new seed."""

    def __init__(self, clock: EmulatorClock | None = None, *, seed: int | None = None) -> None:
        self.clock = clock or EmulatorClock()
        self.random = random.Random(seed)  # noqa: S311 - fault injection, not security
        self.signing_key = secrets.token_bytes(32)
        self.tenants: dict[str, Tenant] = {}
        self.faults = Faults()
        self.events = EventStore()
        self._listeners: list[ChangeListener] = []
        self.subscriptions = SubscriptionStore(self)
        self.add_change_listener(self.subscriptions.on_change)

    def reset(self) -> None:
        self.tenants.clear()
        self.faults = Faults()
        self.events.reset()
        self.subscriptions.reset()

    def tenant(self, key: str) -> Tenant | None:
        """By tenant id or by domain (as ``/{tenant}/oauth2/...`` accepts both)."""
        if key in self.tenants:
            return self.tenants[key]
        lowered = key.lower()
        return next(
            (t for t in self.tenants.values() if lowered in (t.id.lower(), t.domain.lower())),
            None,
        )

    def mailbox_anywhere(self, address: str) -> Mailbox | None:
        for tenant in self.tenants.values():
            found = tenant.mailbox(address)
            if found is not None:
                return found
        return None

    def add_change_listener(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    def publish_change(self, change: EventChange) -> None:
        for listener in self._listeners:
            listener(change)

    def dump(self) -> dict[str, Any]:
        """The ``GET /_emulator/state`` body: plain JSON for test assertions."""
        return {
            "now": self.clock.now().isoformat(),
            "faults": {
                "error_rate": self.faults.error_rate,
                "throttle_rate": self.faults.throttle_rate,
                "latency_ms": list(self.faults.latency_ms),
                "duplicate_notifications": self.faults.duplicate_notifications,
                "drop_notifications": self.faults.drop_notifications,
                "notification_delay_ms": list(self.faults.notification_delay_ms),
                "mailbox_concurrency": self.faults.mailbox_concurrency,
                "requests_per_10min": self.faults.requests_per_10min,
            },
            "tenants": [
                {
                    "id": tenant.id,
                    "domain": tenant.domain,
                    "apps": [
                        {"client_id": app.client_id, "consent": app.consent}
                        for app in tenant.apps.values()
                    ],
                    "access_policy": (
                        None if tenant.allowed is None else {"allowed": sorted(tenant.allowed)}
                    ),
                    "mailboxes": [
                        {"id": m.id, "address": m.upn, "kind": m.kind}
                        for m in tenant.mailboxes.values()
                    ],
                }
                for tenant in self.tenants.values()
            ],
            "events": self.events.dump(),
            "subscriptions": self.subscriptions.dump(),
        }


def _guid() -> str:
    return str(uuid.uuid4())
