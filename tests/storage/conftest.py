"""Fixtures for storage tests: the engine, keyring and unit of work come from
``tests/storage/fixtures.py`` (registered in the root conftest); the clock stands still."""

from __future__ import annotations

import pytest

from calhub.domain.clock import FixedClock

from .factories import NOW


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)
