"""The machine's part of every benchmark's result: how fast a core ran while it ran."""

from __future__ import annotations

import time

from calhub.cli.bench.machine import ReferenceSampler


def test_the_sampler_measures_the_reference_all_through_the_block() -> None:
    with ReferenceSampler(every_s=0.05) as machine:
        time.sleep(2.0)
    reference = machine.facts()["reference_ms"]

    assert reference["samples"] >= 3  # one at the start, then every 0.05 s after each sample
    assert 0 < reference["p10"] <= reference["median"] <= reference["p90"]


def test_a_block_too_short_for_a_sample_reports_none() -> None:
    with ReferenceSampler(every_s=60) as machine:
        pass  # ended before the sampler's interpreter started
    assert machine.facts()["reference_ms"] is None
