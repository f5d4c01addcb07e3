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
import json
import math
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request

from calhub.emulators.graph.access import StateDep
from calhub.emulators.graph.errors import GraphError, SeedInvalid
from calhub.emulators.graph.faults import mailbox_usage
from calhub.emulators.graph.seed import CONSENTS, load_seed
from calhub.emulators.graph.state import Faults

router = APIRouter(prefix="/_emulator", tags=["emulator control"])


@router.post("/reset")
async def reset(request: Request, state: StateDep) -> dict[str, Any]:
    """Replace everything with the seed in the body."""
    seed = await _json_body(request)
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
    body = _object(await _json_body(request), "the body")
    changes: dict[str, Any] = {}
    for name, value in body.items():
        parse = _KNOBS.get(name)
        if parse is None:
            known = ", ".join(_KNOBS)
            raise _bad_request(f"Unknown fault knob '{name}'; the knobs are: {known}.")
        changes[name] = parse(name, value)
    state.faults = dataclasses.replace(state.faults, **changes)
    return _faults_json(state.faults)


@router.post("/tenants/{tenant_id}/consent")
async def set_consent(tenant_id: str, request: Request, state: StateDep) -> dict[str, Any]:
    """Grant, revoke or delete the consent of the tenant's apps (or of ``client_id``'s)."""
    body = _object(await _json_body(request), "the body")
    consent = body.get("state")
    if consent not in CONSENTS:
        raise _bad_request(f"'state' must be one of: {', '.join(CONSENTS)}.")
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
async def move_clock(request: Request, state: StateDep) -> dict[str, str]:
    """Advance the emulator clock, or set it to an instant."""
    body = _object(await _json_body(request), "the body")
    if set(body) == {"advance_seconds"}:
        seconds = body["advance_seconds"]
        if not _is_number(seconds) or not math.isfinite(seconds) or seconds < 0:
            raise _bad_request("'advance_seconds' must be a non-negative number.")
        now = state.clock.advance(seconds)
    elif set(body) == {"now"}:
        now = state.clock.set(_instant(body["now"]))
    else:
        raise _bad_request('Give either {"advance_seconds": n} or {"now": iso-8601}.')
    await state.subscriptions.tick()  # expiries and reauthorization notices due at the new time
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
    "mailbox_concurrency": _positive,
    "requests_per_10min": _positive,
}


def _faults_json(faults: Faults) -> dict[str, Any]:
    return {
        name: list(value) if isinstance(value, tuple) else value
        for name, value in dataclasses.asdict(faults).items()
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


def _object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _bad_request(f"{what.capitalize()} must be a JSON object.")
    return value


def _bad_request(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)
