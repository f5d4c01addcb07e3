"""Seeded events: ``{"mailbox": upn, "event": {...Graph event JSON as for POST...}}`` (issue 3).

Each entry is created exactly as ``POST /users/{mailbox}/events`` would create it - validation,
attendee copies, room answers, journal and change notifications included - so a seeded calendar
cannot be told from one a client filled. A bad entry raises ``SeedInvalid`` naming the entry and
the Graph error it would have got.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from calhub.emulators.graph.errors import GraphError, SeedInvalid
from calhub.emulators.graph.events.mutations import create_event
from calhub.emulators.graph.events.parsing import parse_event_input
from calhub.emulators.graph.events.scope import Scope

if TYPE_CHECKING:
    from calhub.emulators.graph.state import GraphState, Tenant


def seed_events(state: GraphState, tenant: Tenant, entries: list[Any]) -> None:
    scope = Scope(state, tenant)
    for index, entry in enumerate(entries):
        where = f"tenant {tenant.id}: events[{index}]"
        if not isinstance(entry, Mapping):
            raise SeedInvalid(f"{where} must be a JSON object with 'mailbox' and 'event'")
        address = entry.get("mailbox")
        if not isinstance(address, str) or not address:
            raise SeedInvalid(f"{where}.mailbox must be a mailbox address")
        mailbox = tenant.mailbox(address)
        if mailbox is None:
            raise SeedInvalid(f"{where}.mailbox: no user or room {address!r} in this tenant")
        if not mailbox.rest_enabled:
            raise SeedInvalid(f"{where}.mailbox: {address!r} has no Exchange Online mailbox")
        event = entry.get("event")
        if not isinstance(event, Mapping):
            raise SeedInvalid(f"{where}.event must be a Graph event object")
        try:
            parsed = parse_event_input(dict(event))
            create_event(scope, mailbox, state.events.box(mailbox).calendar, parsed)
        except GraphError as exc:
            raise SeedInvalid(f"{where}.event: {exc.code}: {exc.message}") from None
