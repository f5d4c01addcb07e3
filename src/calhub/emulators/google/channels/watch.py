"""Reading the ``Channel`` body of ``events.watch`` (google.md §4.1).

``read_watch`` checks the fields and settles the expiry: the earliest of ``expiration`` (Unix
ms) and ``params.ttl`` (seconds, a string), else the default lifetime, and never beyond the
maximum (Google's documented default is 7 days; its maximum is unverified, so both are the
store's settings). Addresses follow the Graph emulator's rule (``graph/subscriptions/handshake``):
Google wants HTTPS; the emulator also takes plain HTTP on loopback, and it contacts only loopback
hosts and the reserved test names ``*.test``, ``*.localhost`` and ``*.example``, so a mistyped
production URL never receives emulated traffic. Error reasons are Google's where known
(``push.webhookUrlNotHttps``, ``push.webhookUrlUnauthorized``); the others are ``required`` and
``invalid`` as for any parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from calhub.emulators.google.errors import GoogleError
from calhub.emulators.graph.subscriptions.handshake import TEST_DOMAINS, is_loopback

MAX_ID = 64
MAX_TOKEN = 256
CHANNEL_TYPES = ("web_hook", "webhook")
ID_PATTERN = re.compile(r"[A-Za-z0-9\-_+/=]+")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class WatchRequest:
    """A valid watch request; nothing has been contacted yet."""

    id: str
    address: str
    token: str | None
    expiration: datetime


def read_watch(
    body: Mapping[str, Any], now: datetime, default_lifetime: timedelta, max_lifetime: timedelta
) -> WatchRequest:
    channel_id = _required_str(body, "id")
    if len(channel_id) > MAX_ID:
        raise GoogleError(
            400, "channelIdInvalid", f"Channel id must be {MAX_ID} characters or less"
        )
    if not ID_PATTERN.fullmatch(channel_id):
        raise GoogleError(400, "channelIdInvalid", "Channel id must match [A-Za-z0-9\\-_\\+/=]+")
    kind = _required_str(body, "type")
    if kind.lower() not in CHANNEL_TYPES:
        raise _invalid("type", f"Invalid value for \"type\": unknown channel type '{kind}'")
    address = check_address(_required_str(body, "address"))
    token = body.get("token")
    if token is not None and not isinstance(token, str):
        raise _invalid("token", 'Invalid value for "token": a string is expected')
    if token is not None and len(token) > MAX_TOKEN:
        raise _invalid("token", f"Channel token must be {MAX_TOKEN} characters or less")
    lifetime = min(default_lifetime, max_lifetime)
    expiration = now + lifetime
    requested = [
        limit
        for limit in (_expiration(body.get("expiration"), now), _ttl(body.get("params"), now))
        if limit is not None
    ]
    if requested:
        expiration = min(*requested, now + max_lifetime)
    whole_ms = expiration.replace(microsecond=expiration.microsecond // 1000 * 1000)
    return WatchRequest(id=channel_id, address=address, token=token, expiration=whole_ms)


def check_address(address: str) -> str:
    """``address`` if the emulator may POST to it, else Google's 400."""
    try:
        parts = urlsplit(address)
        host = parts.hostname
        parts.port  # noqa: B018 - reading the port is what validates it
    except ValueError:
        host = None
    if any(character.isspace() for character in address) or host is None:
        raise _invalid("address", f'Invalid value for "address": {address}')
    loopback = is_loopback(host)
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise GoogleError(
            400, "push.webhookUrlNotHttps", f"WebHook callback must be HTTPS: {address}"
        )
    if not loopback and not host.lower().endswith(TEST_DOMAINS):
        raise GoogleError(
            400,
            "push.webhookUrlUnauthorized",
            f"Unauthorized WebHook callback channel: {address} (the emulator contacts only "
            "loopback addresses and *.test, *.localhost and *.example hosts)",
        )
    return address


def _expiration(raw: object, now: datetime) -> datetime | None:
    if raw is None:
        return None
    milliseconds = _integer(raw, "expiration")
    expiration = EPOCH + timedelta(milliseconds=milliseconds)
    if expiration <= now:
        raise _invalid("expiration", 'Invalid value for "expiration": it is in the past')
    return expiration


def _ttl(params: object, now: datetime) -> datetime | None:
    if params is None:
        return None
    if not isinstance(params, Mapping):
        raise _invalid("params", 'Invalid value for "params": an object is expected')
    raw = params.get("ttl")
    if raw is None:
        return None
    seconds = _integer(raw, "params.ttl")
    if seconds <= 0:
        raise _invalid("params.ttl", 'Invalid value for "params.ttl": it must be positive')
    return now + timedelta(seconds=seconds)


def _integer(raw: object, name: str) -> int:
    """An int64 as Google's JSON carries it: a number or a string of digits."""
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise _invalid(name, f'Invalid value for "{name}": {raw!r}')
    try:
        return int(raw)
    except ValueError:
        raise _invalid(name, f'Invalid value for "{name}": {raw!r}') from None


def _required_str(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None or value == "":
        raise GoogleError(400, "required", f"Required: {name}", location=name)
    if not isinstance(value, str):
        raise _invalid(name, f'Invalid value for "{name}": a string is expected')
    return value


def _invalid(name: str, message: str) -> GoogleError:
    return GoogleError(400, "invalid", message, location=name)
