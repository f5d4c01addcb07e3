"""``HubContext``: what the connection, intake and sync use cases need, in one value.

Built once per process by ``calhub.bootstrap`` (and by tests around their own database and
emulator); services take it instead of a long list of collaborators.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from calhub.domain.clock import Clock
from calhub.services.jobs import JobQueue
from calhub.services.providers import ProviderRegistry
from calhub.storage.unit_of_work import UnitOfWorkFactory
from calhub.sync.engine import MirrorWindow


@dataclass(frozen=True, slots=True)
class HubContext:
    uow: UnitOfWorkFactory
    jobs: JobQueue
    clock: Clock
    providers: ProviderRegistry
    public_base_url: str  # where providers and browsers reach this hub, without a trailing /
    window: MirrorWindow = field(default_factory=MirrorWindow)
    occurrence_limit: int = 5000

    def public_url(self, path: str) -> str:
        return f"{self.public_base_url.rstrip('/')}/{path.lstrip('/')}"
