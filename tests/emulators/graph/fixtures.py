"""The in-process Graph emulator as pytest fixtures: Contoso seeded on a frozen clock.

Shared by the emulator's own tests and the Graph provider's tests; a ``conftest.py`` imports
the fixtures it wants.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI

from calhub.emulators.graph.app import create_app
from calhub.emulators.graph.clock import EmulatorClock
from calhub.emulators.graph.seed import load_seed
from calhub.emulators.graph.state import GraphState
from tests.emulators.graph.seeds import contoso_seed

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def clock() -> EmulatorClock:
    return EmulatorClock(START, frozen=True)


@pytest.fixture
def graph_state(clock: EmulatorClock) -> GraphState:
    state = GraphState(clock, seed=1234)
    load_seed(state, contoso_seed())
    return state


@pytest.fixture
async def graph_app(graph_state: GraphState) -> AsyncIterator[FastAPI]:
    yield create_app(graph_state)
    await graph_state.subscriptions.close()  # stops delivery tasks the test may have started
