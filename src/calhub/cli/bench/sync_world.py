"""What ``calhub bench sync`` needs from a provider's emulated world (``sync_graph``,
``sync_google``): the emulator app to serve, the settings that point calhub at it, a connected
tenant, the users' changes, and notification requests for the intake phase.

Users make their changes through the emulator's event store, the code a request runs once
routed and authenticated, so notifications, sync cursors and change keys follow exactly as for
a request while the HTTP stack is skipped: making the workload takes as little as possible of
the CPU calhub shares with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from calhub.bootstrap import Runtime
from calhub.domain.ids import ConnectionId, TenantId


class ChangeRefused(Exception):
    """The emulator refused a user's change; ``status`` is the HTTP status it would answer."""

    def __init__(self, status: int) -> None:
        super().__init__(f"refused with {status}")
        self.status = status


@dataclass(frozen=True, slots=True)
class IntakeRequest:
    """One notification request as the provider sends it to calhub's intake."""

    path: str
    headers: dict[str, str]
    body: bytes
    items: int  # notifications it carries
    accepted: int  # the status calhub answers when it stored them


class SyncWorld(Protocol):
    provider: str  # the connection's provider, as the result names it
    source: str  # where users make their changes, for the progress bar ("Graph")
    app: Any  # the emulator's ASGI app
    process_settings: tuple[str, ...]  # the settings ``settings`` sets, for the hub's processes
    intake_connections: int  # the intake phase's requests in flight at once

    def settings(self, origin: str) -> dict[str, Any]:
        """Settings that point calhub at the emulator served at ``origin``."""
        ...

    async def connect(self, runtime: Runtime) -> tuple[TenantId, ConnectionId]:
        """A tenant with a working connection to the emulated organisation."""
        ...

    def addresses(self) -> list[str]:
        """Every calendar's address, as calhub stores it as the calendar's owner."""
        ...

    def now(self) -> datetime: ...

    def create(self, address: str, start: datetime, end: datetime, subject: str) -> tuple[str, str]:
        """A new event in ``address``'s calendar: its provider id and change key as the mirror
        will show them. Raises ``ChangeRefused``."""
        ...

    def edit(self, address: str, event_id: str, subject: str) -> str:
        """A new subject for an event: its new change key. Raises ``ChangeRefused``."""
        ...

    async def drain(self) -> None:
        """Until every notification the emulator has queued is delivered (or given up)."""
        ...

    def intake_requests(self, count: int) -> list[IntakeRequest]:
        """About ``count`` notifications of new changes, authentic, spread over calendars."""
        ...
