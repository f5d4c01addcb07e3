"""What every benchmark reports about the machine it ran on, so that two results can be compared.

Besides the core count and the Python version, ``reference_ms``: how many milliseconds of CPU a
fixed piece of pure-Python work took, sampled every ``SAMPLE_EVERY_S`` seconds by a process of
its own while the benchmark ran (median, 10th and 90th percentile). The work is the kind the
hub's processes do all day: small dicts and strings and a JSON round trip of an event-sized
document, 2,000 times. CPU time rather than the clock, so the benchmark's own load, which makes
the sampler wait for a core, does not count; what counts is how fast a core runs when it runs.

Why: the machines the targets are measured on are shared, and a core's speed changes from one
second to the next. On 2026-11-22 this work took 32 to 56 ms of CPU on an idle machine within
half a minute, and the same code's full ``bench sync --provider google`` gave a p99 lag from
6.8 s to 21 s in one hour (docs/sync.md, "A machine that changes speed"). Two results compare
fairly only when their references are close. The sampler costs about 2% of one core.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from types import TracebackType
from typing import Any, Final

SAMPLE_EVERY_S: Final = 2.0
_EVENTS: Final = 2_000


class ReferenceSampler:
    """A process sampling the reference while the ``with`` block runs; ``facts()`` after it."""

    def __init__(self, every_s: float = SAMPLE_EVERY_S) -> None:
        self._every_s = every_s
        self._process: subprocess.Popen[str] | None = None
        self._samples: list[float] = []

    def __enter__(self) -> ReferenceSampler:
        command = [sys.executable, "-m", __name__, str(self._every_s)]
        # This interpreter running this module: no outside input reaches the command.
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)  # noqa: S603
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._process is not None
        self._process.terminate()
        output, _ = self._process.communicate()
        self._samples = [float(line) for line in output.split()]

    def facts(self) -> dict[str, Any]:
        """The machine's part of a benchmark's result."""
        samples = self._samples
        reference = None
        if len(samples) == 1:
            reference = {"median": samples[0], "p10": samples[0], "p90": samples[0], "samples": 1}
        elif samples:
            deciles = statistics.quantiles(samples, n=10)
            reference = {
                "median": statistics.median(samples),
                "p10": deciles[0],
                "p90": deciles[-1],
                "samples": len(samples),
            }
        return {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "reference_ms": reference,
        }


def _reference_cpu_ms() -> float:
    """Milliseconds of this thread's CPU the reference work takes now."""
    began = time.thread_time()
    _reference_work()
    return (time.thread_time() - began) * 1000


def _reference_work() -> int:
    attendees = 0
    for number in range(_EVENTS):
        event = {
            "id": f"evt{number}",
            "subject": "Review " + str(number),
            "attendees": [{"email": f"user{n}@example.test", "status": "yes"} for n in range(4)],
        }
        attendees += len(json.loads(json.dumps(event))["attendees"])
    return attendees


def _sample_forever(every_s: float) -> None:
    while True:
        print(f"{_reference_cpu_ms():.3f}", flush=True)
        time.sleep(every_s)


if __name__ == "__main__":
    _sample_forever(float(sys.argv[1]))
