"""The control API under ``/_emulator``: what tests and scripts use to steer the emulator.

Not part of Graph, and never throttled or faulted. Errors use Graph's error shape with plain
messages naming the offending field.

- ``POST reset``: replace the world with the seed in the body (``seed.py``'s format); the fault
  knobs return to their defaults and throttling budgets start afresh. A bad seed answers 400
  ``SeedInvalid`` and leaves everything as it was.
- ``GET faults`` / ``POST faults``: the fault knobs of ``state.Faults``; a POST may give any subset.
- ``POST tenants/{id}/consent``: ``{"state": "granted" | "revoked" | "deleted"}`` (or any other
  seed consent) for every app of the tenant (id or domain), or ``"client_id"`` for one of them.
- ``POST clock``: ``{"advance_seconds": n}`` or ``{"now": iso-8601 with offset}``.
- ``GET state``: ``state.dump()``, for assertions.

Other parts add their own routes under ``/_emulator`` (delta-token expiry, subscription removal).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Final

from fastapi import APIRouter, Request

from calhub.emulators.control_bodies import (
    SHARED_KNOBS,
    BadControlBody,
    KnobReader,
    fault_changes,
    json_body,
    json_object,
    move_clock,
    positive,
)
from calhub.emulators.graph.access import StateDep
from calhub.emulators.graph.errors import GraphError, SeedInvalid
from calhub.emulators.graph.faults import mailbox_usage
from calhub.emulators.graph.seed import CONSENTS, load_seed
from calhub.emulators.graph.state import Faults

router = APIRouter(prefix="/_emulator", tags=["emulator control"])


@router.post("/reset")
async def reset(request: Request, state: StateDep) -> dict[str, Any]:
    """Replace everything with the seed in the body."""
    seed = json_body(await request.body())
    try:
        load_seed(state, seed)
    except SeedInvalid as exc:
        raise GraphError(400, "SeedInvalid", f"Invalid seed: {exc}") from None
    mailbox_usage(request.app).forget_history()
    return {
        "tenants": [
            {"id": t.id, "domain": t.domain, "mailboxes": len(t.mailboxes)}
            for t in state.tenants.values()
        ]
    }


@router.get("/faults")
async def get_faults(state: StateDep) -> dict[str, Any]:
    return _faults_json(state.faults)


@router.post("/faults")
async def set_faults(request: Request, state: StateDep) -> dict[str, Any]:
    """Change any of the knobs; the others keep their values."""
    body = json_object(await request.body())
    state.faults = dataclasses.replace(state.faults, **fault_changes(body, _KNOBS))
    return _faults_json(state.faults)


@router.post("/tenants/{tenant_id}/consent")
async def set_consent(tenant_id: str, request: Request, state: StateDep) -> dict[str, Any]:
    """Grant, revoke or delete the consent of the tenant's apps (or of ``client_id``'s)."""
    body = json_object(await request.body())
    consent = body.get("state")
    if consent not in CONSENTS:
        raise BadControlBody(f"'state' must be one of: {', '.join(CONSENTS)}.")
    tenant = state.tenant(tenant_id)
    if tenant is None:
        raise GraphError(404, "ResourceNotFound", f"No tenant '{tenant_id}'.")
    client_id = body.get("client_id")
    if client_id is None:
        apps = list(tenant.apps.values())
    elif isinstance(client_id, str) and client_id in tenant.apps:
        apps = [tenant.apps[client_id]]
    else:
        raise GraphError(404, "ResourceNotFound", f"No app '{client_id}' in tenant {tenant.id}.")
    for app in apps:
        app.consent = consent
    return {
        "tenant": tenant.id,
        "apps": [{"client_id": app.client_id, "consent": app.consent} for app in apps],
    }


@router.post("/clock")
async def clock(request: Request, state: StateDep) -> dict[str, str]:
    """Advance the emulator clock, or set it to an instant."""
    now = move_clock(state.clock, json_object(await request.body()))
    await state.subscriptions.tick()  # expiries and reauthorization notices due at the new time
    return {"now": now.isoformat()}


@router.get("/state")
async def dump_state(state: StateDep) -> dict[str, Any]:
    return state.dump()


# --- knobs ---------------------------------------------------------------------------------


_KNOBS: Final[Mapping[str, KnobReader]] = {
    **SHARED_KNOBS,
    "mailbox_concurrency": positive,
    "requests_per_10min": positive,
}


def _faults_json(faults: Faults) -> dict[str, Any]:
    return {
        name: list(value) if isinstance(value, tuple) else value
        for name, value in dataclasses.asdict(faults).items()
    }
