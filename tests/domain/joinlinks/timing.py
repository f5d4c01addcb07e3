"""Timing join detection in tests: the fastest of a few runs, so load from other processes on a
shared machine does not make a bound flaky."""

from __future__ import annotations

import time

from calhub.domain.joinlinks import detect_join
from calhub.domain.joinlinks.model import BodyFormat


def fastest(location: str, body: str, body_format: BodyFormat, runs: int = 3) -> float:
    """Seconds ``detect_join`` takes on this invite, the fastest of ``runs``."""
    best = float("inf")
    for _ in range(runs):
        began = time.perf_counter()
        detect_join(location, body, body_format)
        best = min(best, time.perf_counter() - began)
    return best
