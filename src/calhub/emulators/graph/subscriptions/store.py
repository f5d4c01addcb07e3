"""The subscription store (stub: to be implemented)."""

from __future__ import annotations

from typing import Any


class SubscriptionStore:
    def reset(self) -> None:
        pass

    def dump(self) -> list[dict[str, Any]]:
        return []

    async def close(self) -> None:
        pass
