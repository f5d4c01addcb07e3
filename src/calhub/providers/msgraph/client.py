"""``GraphClient``: Graph v1.0 over httpx, within Graph's limits (graph.md §1.6, §10).

Every request carries a bearer token from a ``TokenSource`` and ``Prefer: IdType="ImmutableId",
outlook.timezone="UTC"`` (ids that survive moves, times in UTC), plus any extra preferences.

Limits, per graph.md §10.1–10.2 and limits-and-scale.md §1:

- at most ``max_in_flight_per_mailbox`` (4) requests in flight per mailbox: one semaphore per
  mailbox key (lower-cased, taken from ``/users/{key}/`` unless given);
- a per-tenant ``RequestBudget`` (token bucket) taken before every attempt;
- 429 and 503 wait ``Retry-After`` (or back off when absent) and retry; out of attempts →
  ``RateLimited``; other 5xx, timeouts and dropped connections back off exponentially with full
  jitter (``random() * min(cap, base * 2**attempt)``); out of attempts → ``Transient``;
- 401 ``InvalidAuthenticationToken``: the token source drops its token and the request is tried
  once more with a new one; refused again → ``AuthExpired``. The same for a 403
  ``ErrorAccessDenied`` made with a token that carries roles: consent may have been withdrawn
  since the token was issued, and only a fresh token (without roles then) tells a revoked
  consent (``ConsentRevoked``) from a mailbox outside the access policy (``MailboxOutOfScope``).

Other error answers are translated by ``errors.translate``. Waiting happens outside the mailbox
semaphore, so a throttled request does not hold a slot. ``sleep`` and ``random`` are injectable.
"""

from __future__ import annotations

import asyncio
import random as random_module
import re
import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import unquote

import httpx

from calhub.providers.base import (
    AuthExpired,
    InvalidResponse,
    MailboxOutOfScope,
    ProviderError,
    Transient,
)
from calhub.providers.budget import RequestBudget
from calhub.providers.http import LimitPerKey, Retries, json_object
from calhub.providers.msgraph.auth import TokenSource
from calhub.providers.msgraph.errors import read_error, translate

GRAPH_BASE_URL: Final = "https://graph.microsoft.com/v1.0"
BASE_PREFERENCES: Final = ('IdType="ImmutableId"', 'outlook.timezone="UTC"')
_USER_PATH = re.compile(r"/users/([^/?]+)", re.IGNORECASE)
_RATE_LIMITED: Final = frozenset({429, 503})
MAX_BATCH: Final = 20


@dataclass(frozen=True, slots=True)
class BatchRequest:
    """One request of a ``$batch``; ``url`` is relative to the version root (``/users/..``)."""

    id: str
    method: str
    url: str
    body: Any = None
    mailbox: str | None = None


@dataclass(frozen=True, slots=True)
class BatchResult:
    """One answer of a ``$batch``: ``error`` is set (translated) when ``status`` is not 2xx."""

    id: str
    status: int
    body: Any
    error: ProviderError | None = None


class GraphClient:
    """One connection's (one tenant's) Graph traffic."""

    def __init__(
        self,
        tokens: TokenSource,
        *,
        base_url: str = GRAPH_BASE_URL,
        transport: httpx.AsyncBaseTransport | None = None,
        ca_bundle: str | None = None,
        max_in_flight_per_mailbox: int = 4,
        budget: RequestBudget | None = None,
        max_attempts: int = 5,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        timeout: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        random: Callable[[], float] = random_module.random,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._tokens = tokens
        verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=ca_bundle) if ca_bundle is not None else True
        )
        self._http = httpx.AsyncClient(
            transport=transport, verify=verify, timeout=timeout, trust_env=ca_bundle is None
        )
        # Requests without a mailbox (places, subscriptions, $batch) share the "" slot group.
        self._in_flight = LimitPerKey(max_in_flight_per_mailbox)
        self._budget = budget or RequestBudget(rate=50.0, burst=100, sleep=sleep)
        self._retries = Retries(
            max_attempts=max_attempts,
            base=backoff_base,
            cap=backoff_cap,
            sleep=sleep,
            random=random,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def url(self, path_or_url: str) -> str:
        """A full URL: links Graph gave (nextLink, deltaLink) stay as they are."""
        if "://" in path_or_url:
            return path_or_url
        return f"{self.base_url}/{path_or_url.lstrip('/')}"

    async def get_json(
        self,
        path_or_url: str,
        *,
        params: Mapping[str, str] | None = None,
        mailbox: str | None = None,
        prefer: Sequence[str] = (),
    ) -> dict[str, Any]:
        response = await self.request(
            "GET", path_or_url, params=params, mailbox=mailbox, prefer=prefer
        )
        return json_object(response.content, f"GET {_path(path_or_url)}")

    async def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        mailbox: str | None = None,
        prefer: Sequence[str] = (),
        if_match: str | None = None,
    ) -> httpx.Response:
        """A successful (2xx) answer, or the provider error the failure means. ``if_match``:
        a change key the item must still have (``EditConflict`` otherwise)."""
        url = self.url(path_or_url)
        mailbox = mailbox or _mailbox_in(url)
        semaphore = self._in_flight(mailbox or "")
        headers = {"Prefer": ", ".join((*BASE_PREFERENCES, *prefer))}
        if if_match is not None:
            headers["If-Match"] = f'W/"{if_match}"'

        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            token = await self._tokens.token()
            headers["Authorization"] = f"Bearer {token}"
            await self._budget.acquire()
            try:
                async with semaphore:
                    response = await self._http.request(
                        method, url, params=params, json=json, headers=headers
                    )
            except httpx.TransportError as exc:  # timeouts, refused and dropped connections
                failure: ProviderError = Transient(f"{method} {_path(url)}: {type(exc).__name__}")
                await self._retries.wait_or_raise(attempt, failure, cause=exc)
                continue
            if response.is_success:
                return response
            answer = read_error(response.status_code, _json_or_none(response), response.headers)
            failure = translate(answer, mailbox=mailbox, token=token)
            # A refused token, or a 403 judged by a token issued before consent was withdrawn
            # (it still carries roles): ask the identity platform once more, then judge again.
            if isinstance(failure, AuthExpired | MailboxOutOfScope) and response.status_code in (
                401,
                403,
            ):
                if refreshed:
                    raise failure
                refreshed = True
                self._tokens.invalidate()
                continue
            if response.status_code in _RATE_LIMITED or response.status_code >= 500:
                await self._retries.wait_or_raise(attempt, failure, wait=answer.retry_after)
                continue
            raise failure

    async def batch(self, requests: Sequence[BatchRequest]) -> dict[str, BatchResult]:
        """Run ``requests`` through ``POST /$batch``, at most 20 per envelope (graph.md §10.3).

        Items Graph throttled (429/503, own ``Retry-After``) or failed with 5xx are sent again,
        after the longest wait any of them asked for, up to ``max_attempts`` rounds; what still
        fails comes back with its translated error, as do all other failed items."""
        results: dict[str, BatchResult] = {}
        pending = list(requests)
        for attempt in range(1, self._retries.max_attempts + 1):
            retry: list[BatchRequest] = []
            waits: list[float] = []
            for first in range(0, len(pending), MAX_BATCH):
                chunk = pending[first : first + MAX_BATCH]
                for item, result, wait in await self._batch_round(chunk):
                    results[item.id] = result
                    if wait is not None and attempt < self._retries.max_attempts:
                        retry.append(item)
                        waits.append(wait)
            if not retry:
                break
            await self._retries.sleep(max(waits) if any(waits) else self._retries.backoff(attempt))
            pending = retry
        return results

    async def _batch_round(
        self, chunk: Sequence[BatchRequest]
    ) -> list[tuple[BatchRequest, BatchResult, float | None]]:
        envelope = {"requests": [_batch_item(item) for item in chunk]}
        response = await self.request("POST", "$batch", json=envelope)
        answers = json_object(response.content, "POST /$batch").get("responses")
        if not isinstance(answers, list):
            raise InvalidResponse("POST /$batch: the answer has no responses list")
        by_id = {str(a.get("id")): a for a in answers if isinstance(a, dict)}
        token = await self._tokens.token()
        outcome: list[tuple[BatchRequest, BatchResult, float | None]] = []
        for item in chunk:
            answer = by_id.get(item.id)
            if answer is None:
                raise InvalidResponse(f"POST /$batch: no answer for request {item.id}")
            status = int(answer.get("status") or 0)
            body = answer.get("body")
            if 200 <= status < 300:
                outcome.append((item, BatchResult(item.id, status, body), None))
                continue
            headers = answer.get("headers") or {}
            error = read_error(status, body, headers if isinstance(headers, dict) else {})
            result = BatchResult(
                item.id, status, body, translate(error, mailbox=item.mailbox, token=token)
            )
            retryable = status in _RATE_LIMITED or status >= 500
            outcome.append((item, result, (error.retry_after or 0.0) if retryable else None))
        return outcome


def _batch_item(item: BatchRequest) -> dict[str, Any]:
    raw: dict[str, Any] = {"id": item.id, "method": item.method, "url": item.url}
    raw["headers"] = {"Prefer": ", ".join(BASE_PREFERENCES)}
    if item.body is not None:
        raw["headers"]["Content-Type"] = "application/json"
        raw["body"] = item.body
    return raw


def _mailbox_in(url: str) -> str | None:
    match = _USER_PATH.search(url.split("?", 1)[0])
    return unquote(match.group(1)) if match else None


def _path(url: str) -> str:
    return url.split("?", 1)[0].removeprefix(GRAPH_BASE_URL)


def _json_or_none(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None
