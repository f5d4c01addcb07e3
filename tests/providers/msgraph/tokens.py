"""A token source for ``GraphClient`` that mints Contoso app tokens straight from an emulator
state (msal itself is tested in ``test_auth.py``)."""

from __future__ import annotations

from calhub.emulators.graph.access import mint_token
from calhub.emulators.graph.state import GraphState
from tests.emulators.graph.seeds import APP_ID, CONTOSO


class EmulatorTokens:
    """Contoso app tokens; ``stale`` tokens first (refused with 401) until invalidated."""

    def __init__(self, state: GraphState, *, stale: int = 0) -> None:
        self.state = state
        self.stale = stale
        self.invalidations = 0

    async def token(self) -> str:
        if self.stale:
            return "stale"
        tenant = self.state.tenants[CONTOSO]
        return mint_token(self.state, tenant, tenant.apps[APP_ID])

    def invalidate(self) -> None:
        self.invalidations += 1
        self.stale = max(0, self.stale - 1)
