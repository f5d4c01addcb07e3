"""calhub's services wired to a live Graph emulator: the fixtures service, API and worker tests
share.

``live_graph`` serves the in-process emulator (``graph_state``, Contoso on the frozen ``clock``)
over HTTPS on a loopback port, because calhub reaches Microsoft only through msal, and msal only
accepts https authorities (client-recipes.md §2). ``hub`` is a ``HubContext`` on the module's
database whose provider registry points at that emulator; its job queue records what services
defer instead of running it (``RecordingJobQueue``), so a test sees exactly which jobs a use case
asked for. ``connect_contoso`` makes a consented Contoso connection the way an admin would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from calhub.domain.calendars import Connection
from calhub.domain.ids import TenantId
from calhub.emulators.graph.clock import EmulatorClock
from calhub.emulators.graph.state import GraphState
from calhub.emulators.graph.tls import TlsFiles, ensure_certificates
from calhub.providers.msgraph.auth import ClientSecret
from calhub.services.connections import create_microsoft_connection
from calhub.services.context import HubContext
from calhub.services.jobs import JobRequest
from calhub.services.providers import MicrosoftCredentials, ProviderEndpoints, ProviderRegistry
from calhub.storage.unit_of_work import UnitOfWork, UnitOfWorkFactory
from tests.emulators.graph.seeds import APP_ID, APP_SECRET, CONTOSO
from tests.emulators.graph.servers import serve_in_thread


@dataclass(frozen=True, slots=True)
class LiveGraph:
    origin: str  # https://127.0.0.1:PORT
    ca_bundle: Path
    state: GraphState

    def endpoints(self) -> ProviderEndpoints:
        return ProviderEndpoints(
            graph_base_url=f"{self.origin}/v1.0",
            microsoft_login_url=self.origin,
            ca_bundle=str(self.ca_bundle),
            requests_per_second=1000.0,
            request_burst=1000,
        )


@dataclass
class RecordingJobQueue:
    """``JobQueue`` that records deferred jobs; ``queueing_lock`` collapses like Procrastinate's
    (a second job with a waiting job's queueing lock is refused) until ``take`` empties it."""

    jobs: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _waiting_locks: set[str] = field(default_factory=set)

    async def defer(
        self,
        task_name: str,
        *,
        lock: str | None = None,
        queueing_lock: str | None = None,
        schedule_in_seconds: float | None = None,
        **arguments: Any,
    ) -> int | None:
        if queueing_lock is not None:
            if queueing_lock in self._waiting_locks:
                return None
            self._waiting_locks.add(queueing_lock)
        self.jobs.append((task_name, arguments))
        return len(self.jobs)

    async def defer_many(
        self, jobs: Sequence[JobRequest], *, within: UnitOfWork | None = None
    ) -> int:
        queued = [
            await self.defer(
                job.task_name, lock=job.lock, queueing_lock=job.queueing_lock, **job.arguments
            )
            for job in jobs
        ]
        return sum(job_id is not None for job_id in queued)

    async def is_reachable(self) -> bool:
        return True

    def take(self) -> list[tuple[str, dict[str, Any]]]:
        taken, self.jobs = self.jobs, []
        self._waiting_locks.clear()
        return taken


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return ensure_certificates(tmp_path_factory.mktemp("graph-tls"))


@pytest.fixture
def live_graph(
    graph_app: FastAPI, graph_state: GraphState, tls_files: TlsFiles
) -> Iterator[LiveGraph]:
    with serve_in_thread(
        graph_app,
        ssl_certfile=str(tls_files.server_certificate),
        ssl_keyfile=str(tls_files.server_key),
    ) as origin:
        yield LiveGraph(origin, tls_files.ca_certificate, graph_state)


@pytest.fixture
async def hub(
    uow_factory: UnitOfWorkFactory, live_graph: LiveGraph, clock: EmulatorClock
) -> AsyncIterator[HubContext]:
    providers = ProviderRegistry(live_graph.endpoints(), clock)
    yield HubContext(
        uow=uow_factory,
        jobs=RecordingJobQueue(),
        clock=clock,
        providers=providers,
        public_base_url="https://calhub.test",
    )
    await providers.close()


def contoso_credentials(secret: str = APP_SECRET) -> MicrosoftCredentials:
    return MicrosoftCredentials(APP_ID, ClientSecret(secret))


async def connect_contoso(hub: HubContext, tenant_id: TenantId) -> Connection:
    """A Contoso connection whose admin has consented (what ``complete_consent`` records)."""
    connection = await create_microsoft_connection(
        hub, tenant_id, contoso_credentials(), tenant_hint="contoso.onmicrosoft.com"
    )
    async with hub.uow() as uow:
        await uow.connections.record_consent(tenant_id, connection.id, CONTOSO, hub.clock.now())
        await uow.commit()
        stored = await uow.connections.get(tenant_id, connection.id)
    assert stored is not None
    return stored
