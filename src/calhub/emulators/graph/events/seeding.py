"""Seeded events (stub: to be implemented)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from calhub.emulators.graph.state import GraphState, Tenant


def seed_events(state: GraphState, tenant: Tenant, entries: list[Any]) -> None:
    pass
