"""The event store (stub: to be implemented)."""

from __future__ import annotations

from typing import Any


class EventStore:
    def reset(self) -> None:
        pass

    def dump(self) -> dict[str, Any]:
        return {}
