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
import json
import math
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request

from calhub.emulators.google.errors import GoogleError, SeedInvalid
from calhub.emulators.google.seed import load_seed
from calhub.emulators.google.state import StateDep

router = APIRouter(prefix="/_emulator", tags=["emulator control"])


@router.post("/reset")
async def reset(request: Request, state: StateDep) -> dict[str, Any]:
    """Replace everything with the seed in the body."""
    seed = await _json_body(request)
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
    body = _object(await _json_body(request))
    changes: dict[str, Any] = {}
    for name, value in body.items():
        parse = _KNOBS.get(name)
        if parse is None:
            known = ", ".join(_KNOBS)
            raise _bad_request(f"Unknown fault knob '{name}'; the knobs are: {known}.")
        changes[name] = parse(name, value)
    state.faults = dataclasses.replace(state.faults, **changes)
    return state.faults.dump()


@router.post("/service-accounts/{client_email}/consent")
async def set_consent(client_email: str, request: Request, state: StateDep) -> dict[str, Any]:
    """Grant or revoke a service account's domain-wide delegation (and change its scopes)."""
    body = _object(await _json_body(request))
    unknown = set(body) - {"state", "scopes"}
    if unknown:
        raise _bad_request(f"Unknown field '{sorted(unknown)[0]}'; give 'state' and 'scopes'.")
    consent = body.get("state")
    if consent not in ("granted", "revoked"):
        raise _bad_request("'state' must be one of: granted, revoked.")
    scopes = body.get("scopes")
    if scopes is not None and (
        not isinstance(scopes, list) or not all(isinstance(s, str) and s for s in scopes)
    ):
        raise _bad_request("'scopes' must be a list of scope URLs.")
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
async def move_clock(request: Request, state: StateDep) -> dict[str, str]:
    """Advance the emulator clock, or set it to an instant."""
    body = _object(await _json_body(request))
    if set(body) == {"advance_seconds"}:
        seconds = body["advance_seconds"]
        if not _is_number(seconds) or not math.isfinite(seconds) or seconds < 0:
            raise _bad_request("'advance_seconds' must be a non-negative number.")
        now = state.clock.advance(seconds)
    elif set(body) == {"now"}:
        now = state.clock.set(_instant(body["now"]))
    else:
        raise _bad_request('Give either {"advance_seconds": n} or {"now": iso-8601}.')
    return {"now": now.isoformat()}


@router.get("/state")
async def dump_state(state: StateDep) -> dict[str, Any]:
    return state.dump()


# --- validation -----------------------------------------------------------------------------


def _rate(name: str, value: Any) -> float:
    if not _is_number(value) or not 0 <= value <= 1:
        raise _bad_request(f"'{name}' must be a number from 0 to 1.")
    return float(value)


def _range_ms(name: str, value: Any) -> tuple[int, int]:
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(_is_integer(v) and v >= 0 for v in value)
        or value[0] > value[1]
    ):
        raise _bad_request(f"'{name}' must be [min, max]: whole milliseconds, 0 <= min <= max.")
    return int(value[0]), int(value[1])


def _positive(name: str, value: Any) -> int:
    if not _is_integer(value) or value < 1:
        raise _bad_request(f"'{name}' must be a positive integer.")
    return int(value)


_KNOBS: dict[str, Callable[[str, Any], Any]] = {
    "error_rate": _rate,
    "throttle_rate": _rate,
    "latency_ms": _range_ms,
    "duplicate_notifications": _rate,
    "drop_notifications": _rate,
    "notification_delay_ms": _range_ms,
    "requests_per_minute_per_user": _positive,
}


def _instant(value: Any) -> datetime:
    try:
        instant = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        instant = None
    if instant is None or instant.utcoffset() is None:
        raise _bad_request(
            "'now' must be an ISO 8601 instant with an offset, e.g. 2026-03-02T08:00Z."
        )
    return instant


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


async def _json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise _bad_request("The body is not valid JSON.") from None


def _object(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _bad_request("The body must be a JSON object.")
    return value


def _bad_request(message: str) -> GoogleError:
    return GoogleError(400, "badRequest", message)
