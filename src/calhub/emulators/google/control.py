"""The control API under ``/_emulator``: what tests and scripts use to steer the emulator.

Not part of Google's API, and never throttled or faulted. Errors use Google's error shape with
plain messages naming the offending field.

- ``POST reset``: replace the world with the seed in the body (``seed.py``'s format); the fault
  knobs return to their defaults, access tokens die and quotas start afresh. A bad seed answers
  400 ``seedInvalid`` and leaves everything as it was.
- ``GET faults`` / ``POST faults``: the fault knobs of ``state.Faults``; a POST may give any subset.
- ``POST service-accounts/{client_email}/consent``: ``{"state": "granted" | "revoked"}``, and
  optionally ``"scopes": [...]`` to change what the admin granted. Revoking kills the account's
  access tokens (their next call is 401 ``authError``) and refuses new ones.
- ``POST calendars/{calendarId}/expire-sync-tokens``: every sync token issued for that calendar
  answers 410 ``fullSyncRequired`` from now on.
- ``POST clock``: ``{"advance_seconds": n}`` or ``{"now": iso-8601 with offset}``.
- ``GET state``: ``state.dump()``, for assertions.
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
from calhub.emulators.google.errors import GoogleError, SeedInvalid
from calhub.emulators.google.seed import load_seed
from calhub.emulators.google.state import StateDep

router = APIRouter(prefix="/_emulator", tags=["emulator control"])


@router.post("/reset")
async def reset(request: Request, state: StateDep) -> dict[str, Any]:
    """Replace everything with the seed in the body."""
    seed = json_body(await request.body())
    try:
        load_seed(state, seed)
    except SeedInvalid as exc:
        raise GoogleError(400, "seedInvalid", f"Invalid seed: {exc}") from None
    return {
        "customers": [
            {
                "id": c.id,
                "domain": c.domain,
                "users": len(c.users),
                "resources": len(c.resources),
            }
            for c in state.customers.values()
        ]
    }


@router.get("/faults")
async def get_faults(state: StateDep) -> dict[str, Any]:
    return state.faults.dump()


@router.post("/faults")
async def set_faults(request: Request, state: StateDep) -> dict[str, Any]:
    """Change any of the knobs; the others keep their values."""
    body = json_object(await request.body())
    state.faults = dataclasses.replace(state.faults, **fault_changes(body, _KNOBS))
    return state.faults.dump()


@router.post("/service-accounts/{client_email}/consent")
async def set_consent(client_email: str, request: Request, state: StateDep) -> dict[str, Any]:
    """Grant or revoke a service account's domain-wide delegation (and change its scopes)."""
    body = json_object(await request.body())
    unknown = set(body) - {"state", "scopes"}
    if unknown:
        raise BadControlBody(f"Unknown field '{sorted(unknown)[0]}'; give 'state' and 'scopes'.")
    consent = body.get("state")
    if consent not in ("granted", "revoked"):
        raise BadControlBody("'state' must be one of: granted, revoked.")
    scopes = body.get("scopes")
    if scopes is not None and (
        not isinstance(scopes, list) or not all(isinstance(s, str) and s for s in scopes)
    ):
        raise BadControlBody("'scopes' must be a list of scope URLs.")
    for customer in state.customers.values():
        account = customer.service_account(client_email)
        if account is not None:
            account.state = consent
            if scopes is not None:
                account.scopes = frozenset(scopes)
            if consent == "revoked":
                state.tokens = {
                    value: token
                    for value, token in state.tokens.items()
                    if token.client_email != account.client_email
                }
            return {
                "customer": customer.id,
                "client_email": account.client_email,
                "state": account.state,
                "scopes": sorted(account.scopes),
            }
    raise GoogleError(404, "notFound", f"No service account '{client_email}'.")


@router.post("/calendars/{calendar_id}/expire-sync-tokens")
async def expire_sync_tokens(calendar_id: str, state: StateDep) -> dict[str, Any]:
    info = state.calendar_info(calendar_id)
    if info is None:
        raise GoogleError(404, "notFound", f"No calendar '{calendar_id}'.")
    state.calendar.expire_sync_tokens(info.id)
    return {"calendarId": info.id, "expired": True}


@router.post("/clock")
async def clock(request: Request, state: StateDep) -> dict[str, str]:
    """Advance the emulator clock, or set it to an instant."""
    now = move_clock(state.clock, json_object(await request.body()))
    return {"now": now.isoformat()}


@router.get("/state")
async def dump_state(state: StateDep) -> dict[str, Any]:
    return state.dump()


# --- knobs ---------------------------------------------------------------------------------


_KNOBS: Final[Mapping[str, KnobReader]] = {
    **SHARED_KNOBS,
    "requests_per_minute_per_user": positive,
}
