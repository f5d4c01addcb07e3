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
from calhub.sync.engine import MirrorWindow, SyncApplier


@dataclass(frozen=True, slots=True)
class HubContext:
    uow: UnitOfWorkFactory
    jobs: JobQueue
    clock: Clock
    providers: ProviderRegistry
    public_base_url: str  # where providers and browsers reach this hub, without a trailing /
    window: MirrorWindow = field(default_factory=MirrorWindow)
    occurrence_limit: int = 5000
    # The process's passes share transactions through it (``calhub.sync.engine``).
    applier: SyncApplier = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        applier = SyncApplier(self.uow, self.clock, self.occurrence_limit)
        object.__setattr__(self, "applier", applier)  # frozen: set once, here

    def public_url(self, path: str) -> str:
        return f"{self.public_base_url.rstrip('/')}/{path.lstrip('/')}"
