"""The emulator's clock: real time plus an offset that the control API can move.

Token expiry, subscription lifetimes, delta-token age and out-of-office windows all read this clock,
so a test can jump an hour ahead (``POST /_emulator/clock``) instead of sleeping. Real waiting
(notification delays, retry back-off) still uses wall time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class EmulatorClock:
    """``now()`` = the real UTC time shifted by an adjustable offset, or a frozen instant."""

    def __init__(
        self,
        start: datetime | None = None,
        *,
        frozen: bool = False,
        source: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._source = source
        self._offset = timedelta(0)
        self._frozen: datetime | None = None
        if start is not None:
            self.set(start)
        if frozen:  # exactly ``start``: the offset alone would drift by the time set() took
            self._frozen = self.now() if start is None else start.astimezone(UTC)

    def now(self) -> datetime:
        if self._frozen is not None:
            return self._frozen
        return self._source() + self._offset

    def advance(self, seconds: float) -> datetime:
        delta = timedelta(seconds=seconds)
        if self._frozen is not None:
            self._frozen += delta
        else:
            self._offset += delta
        return self.now()

    def set(self, instant: datetime) -> datetime:
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError("the emulator clock needs a timezone-aware instant")
        instant = instant.astimezone(UTC)
        if self._frozen is not None:
            self._frozen = instant
        else:
            self._offset = instant - self._source()
        return self.now()
