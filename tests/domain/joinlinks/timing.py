"""Timing join-link work in tests: the CPU time of this thread, the least of a few runs.

CPU time rather than the clock: on a shared machine another process may hold the core for tens of
milliseconds while the parser waits, which the clock counts and the parser did not cause (a 1 ms
parse measured 22 ms by the clock in a loaded CI run, 2026-11-22).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from calhub.domain.joinlinks import detect_join
from calhub.domain.joinlinks.model import BodyFormat


def least_cpu_seconds(work: Callable[[], object], runs: int = 3) -> float:
    """CPU seconds ``work`` takes, the least of ``runs``."""
    best = float("inf")
    for _ in range(runs):
        began = time.thread_time()
        work()
        best = min(best, time.thread_time() - began)
    return best


def least_cpu_seconds_each(
    first: Callable[[], object], second: Callable[[], object], runs: int = 3
) -> tuple[float, float]:
    """CPU seconds each of two pieces of work takes, the least of ``runs``, taking turns so a
    slow spell of the machine falls on both rather than on one."""
    best_first = best_second = float("inf")
    for _ in range(runs):
        best_first = min(best_first, least_cpu_seconds(first, runs=1))
        best_second = min(best_second, least_cpu_seconds(second, runs=1))
    return best_first, best_second


def fastest(location: str, body: str, body_format: BodyFormat, runs: int = 3) -> float:
    """CPU seconds ``detect_join`` takes on this invite, the least of ``runs``."""
    return least_cpu_seconds(lambda: detect_join(location, body, body_format), runs)
