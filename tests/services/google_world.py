"""calhub's services wired to a live Google emulator: Northwind served on a loopback port, on
the wall clock (google-auth signs its grants with wall time), and a ``HubContext`` whose provider
registry points at it. ``northwind_credentials`` is Northwind's service-account key with Ada, the
domain's administrator; ``set_delegation`` grants or revokes its domain-wide delegation as the
Workspace admin would in the Admin console.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from calhub.emulators.google.app import create_app
from calhub.emulators.google.channels.delivery import DeliveryPolicy
from calhub.emulators.google.seed import load_seed
from calhub.emulators.google.state import GoogleState
from calhub.emulators.graph.clock import EmulatorClock
from calhub.services.context import HubContext
from calhub.services.providers import GoogleCredentials, ProviderEndpoints, ProviderRegistry
from calhub.storage.unit_of_work import UnitOfWorkFactory
from tests.emulators.google.seeds import ADA, SERVICE_ACCOUNT, key_file, northwind_seed
from tests.emulators.graph.servers import serve_in_thread
from tests.hub_fixtures import RecordingJobQueue

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"


@dataclass(frozen=True, slots=True)
class LiveGoogle:
    origin: str  # http://127.0.0.1:PORT
    state: GoogleState

    def endpoints(self) -> ProviderEndpoints:
        return ProviderEndpoints(
            google_calendar_url=f"{self.origin}/calendar/v3",
            google_directory_url=f"{self.origin}/admin/directory/v1",
            google_token_url=f"{self.origin}/token",
            requests_per_second=1000.0,
            request_burst=1000,
        )

    def settings(self) -> dict[str, Any]:
        """``Settings`` fields that point calhub at this emulator."""
        return {
            "google_calendar_url": f"{self.origin}/calendar/v3",
            "google_directory_url": f"{self.origin}/admin/directory/v1",
            "google_token_url": f"{self.origin}/token",
        }

    def set_delegation(self, state: str) -> None:
        answer = httpx.post(
            f"{self.origin}/_emulator/service-accounts/{SERVICE_ACCOUNT}/consent",
            json={"state": state},
        )
        assert answer.status_code == 200, answer.text


def northwind_key() -> dict[str, str]:
    return key_file(GOOGLE_TOKEN_URI)


def northwind_credentials(admin: str = ADA) -> GoogleCredentials:
    return GoogleCredentials(northwind_key(), admin)


@pytest.fixture
def live_google() -> Iterator[LiveGoogle]:
    state = GoogleState(EmulatorClock(), seed=7)
    load_seed(state, northwind_seed())
    # One quick attempt per push: most tests' hook address is not served.
    state.channels.policy = DeliveryPolicy(answer_timeout=2.0, max_attempts=1)
    with serve_in_thread(create_app(state)) as origin:
        yield LiveGoogle(origin, state)


@pytest.fixture
async def google_hub(
    uow_factory: UnitOfWorkFactory, live_google: LiveGoogle
) -> AsyncIterator[HubContext]:
    clock = EmulatorClock()
    providers = ProviderRegistry(live_google.endpoints(), clock)
    yield HubContext(
        uow=uow_factory,
        jobs=RecordingJobQueue(),
        clock=clock,
        providers=providers,
        public_base_url="https://calhub.test",
    )
    await providers.close()
