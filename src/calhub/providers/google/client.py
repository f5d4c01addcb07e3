"""``GoogleClient``: Calendar v3 and the Admin SDK Directory over httpx, within Google's limits
(google.md §8.2, §9).

Every request acts as one user (domain-wide delegation): it carries that user's bearer token from
the ``ServiceAccountTokens`` (or any ``UserTokens``). Limits and retries:

- at most ``max_in_flight_per_user`` (4) requests in flight per user: one semaphore per
  lower-cased user, since Google counts quota per impersonated user (§9.3);
- a calendar read or written as someone else (a room's, as the admin) is named as the request's
  ``quotaUser`` (§9.3: "use quotaUser with DWD"), so every room has its own per-user quota
  instead of all of them sharing the admin's 600 requests a minute;
- the connection's ``RequestBudget`` (token bucket) taken before every attempt;
- 403/429 ``rateLimitExceeded``, ``userRateLimitExceeded`` and ``quotaExceeded`` (§9.2, §7.5),
  5xx, timeouts and dropped connections back off with full jitter (``random() * min(cap, base *
  2**(attempt-1))``, the shape of §9.4) and are tried again; out of attempts → ``RateLimited``
  or ``Transient``;
- 401: the user's token is forgotten and the request tried once more with a new one; refused
  again → ``AuthExpired``. A token the token endpoint refuses raises what ``auth`` says
  (``ConsentRevoked``, ``MailboxOutOfScope``, ``CredentialsRejected``).

Other error answers are translated by ``errors.translate``. Waiting happens outside the user's
semaphore, so a throttled request does not hold a slot. ``sleep`` and ``random`` are injectable.
"""

from __future__ import annotations

import asyncio
import hashlib
import random as random_module
import re
import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final, Protocol
from urllib.parse import quote, unquote

import httpx

from calhub.providers.base import AuthExpired, RateLimited, Transient
from calhub.providers.budget import RequestBudget
from calhub.providers.google.errors import describe, read_error, translate
from calhub.providers.http import LimitPerKey, Retries, json_object

CALENDAR_BASE_URL: Final = "https://www.googleapis.com/calendar/v3"
DIRECTORY_BASE_URL: Final = "https://admin.googleapis.com/admin/directory/v1"

Params = Mapping[str, str]
QUOTA_USER_LENGTH: Final = 32
_CALENDAR_PATH: Final = re.compile(r"/calendars/([^/?]+)")


class UserTokens(Protocol):
    """Access tokens per impersonated user (``auth.ServiceAccountTokens``)."""

    async def token(self, user: str) -> str: ...

    def forget(self, user: str) -> None: ...


class GoogleClient:
    """One connection's (one Workspace customer's) Google traffic."""

    def __init__(
        self,
        tokens: UserTokens,
        *,
        calendar_base_url: str = CALENDAR_BASE_URL,
        directory_base_url: str = DIRECTORY_BASE_URL,
        ca_bundle: str | None = None,
        budget: RequestBudget | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_in_flight_per_user: int = 4,
        max_attempts: int = 5,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        timeout: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        random: Callable[[], float] = random_module.random,
    ) -> None:
        self.tokens = tokens
        self.calendar_base_url = calendar_base_url.rstrip("/")
        self.directory_base_url = directory_base_url.rstrip("/")
        verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=ca_bundle) if ca_bundle is not None else True
        )
        # trust_env=False: proxies and CA variables from the environment never see the tokens.
        self._http = httpx.AsyncClient(
            transport=transport, verify=verify, timeout=timeout, trust_env=False
        )
        self._in_flight = LimitPerKey(max_in_flight_per_user)
        # Google's per-project quota is 10,000 requests a minute (§9.3); each customer's
        # service account is its own project.
        self._budget = budget or RequestBudget(rate=150.0, burst=300, sleep=sleep)
        self._retries = Retries(
            max_attempts=max_attempts,
            base=backoff_base,
            cap=backoff_cap,
            sleep=sleep,
            random=random,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def calendar_url(self, *segments: str) -> str:
        """A Calendar URL from path segments, each percent-encoded (``@`` kept, §2)."""
        return f"{self.calendar_base_url}/{_joined(segments)}"

    def directory_url(self, *segments: str) -> str:
        return f"{self.directory_base_url}/{_joined(segments)}"

    async def get_json(
        self, url: str, *, user: str, params: Params | None = None
    ) -> dict[str, Any]:
        response = await self.request("GET", url, user=user, params=params)
        return json_object(response.content, f"GET {self._path(url)}")

    async def request(
        self,
        method: str,
        url: str,
        *,
        user: str,
        params: Params | None = None,
        json: Any = None,
        if_match: str | None = None,
    ) -> httpx.Response:
        """A successful (2xx) answer to ``method url`` made as ``user``, or the provider error
        the failure means. ``if_match``: an etag the item must still have (``EditConflict``
        otherwise)."""
        what = f"{method} {self._path(url)}"
        semaphore = self._in_flight(user)
        params = _with_quota_user(url, user, params)
        headers: dict[str, str] = {}
        if if_match is not None:
            headers["If-Match"] = if_match
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            try:
                token = await self.tokens.token(user)
            except Transient as exc:  # the token endpoint failed: as any other transient failure
                await self._retries.wait_or_raise(attempt, exc)
                continue
            headers["Authorization"] = f"Bearer {token}"
            await self._budget.acquire()
            try:
                async with semaphore:
                    response = await self._http.request(
                        method, url, params=params, json=json, headers=headers
                    )
            except httpx.TransportError as exc:  # timeouts, refused and dropped connections
                failure = Transient(f"{what}: {type(exc).__name__}")
                await self._retries.wait_or_raise(attempt, failure, cause=exc)
                continue
            if response.is_success:
                return response
            answer = read_error(response.status_code, _json_or_none(response), response.headers)
            error = translate(answer, user=user, what=what)
            if isinstance(error, AuthExpired):
                if refreshed:
                    raise error
                refreshed = True
                self.tokens.forget(user)
                continue
            if isinstance(error, RateLimited):
                if answer.retry_after is None:  # Google's usual: back off on our own (§9.4)
                    error = RateLimited(self._retries.step(attempt), describe(answer, what))
                await self._retries.wait_or_raise(attempt, error, wait=answer.retry_after)
                continue
            if isinstance(error, Transient):
                await self._retries.wait_or_raise(attempt, error)
                continue
            raise error

    def _path(self, url: str) -> str:
        path = url.split("?", 1)[0]
        for base in (self.calendar_base_url, self.directory_base_url):
            if path.startswith(base):
                return path[len(base) :]
        return path


def _with_quota_user(url: str, user: str, params: Params | None) -> Params | None:
    """``params`` plus ``quotaUser`` when ``url`` names another's calendar than ``user``'s: a
    digest of the calendar id (Google takes at most 40 characters; room ids are longer)."""
    match = _CALENDAR_PATH.search(url)
    if match is None:
        return params
    calendar_id = unquote(match.group(1)).lower()
    if calendar_id in (user.lower(), "primary"):
        return params
    digest = hashlib.sha256(calendar_id.encode()).hexdigest()[:QUOTA_USER_LENGTH]
    return {**(params or {}), "quotaUser": digest}


def _joined(segments: Sequence[str]) -> str:
    return "/".join(quote(segment, safe="@") for segment in segments)


def _json_or_none(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None
