"""``GoogleClient`` against the emulator and scripted transports: tokens per user, retries and
back-off, the limits, and Google's error answers as the provider error tree."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from calhub.emulators.google.state import Faults, GoogleState
from calhub.providers.base import (
    AuthExpired,
    CursorInvalid,
    EditConflict,
    InvalidResponse,
    MailboxOutOfScope,
    NotFound,
    ProviderError,
    RateLimited,
    Transient,
)
from calhub.providers.budget import RequestBudget
from calhub.providers.google.client import GoogleClient
from calhub.providers.google.errors import read_error, translate
from tests.emulators.google.seeds import ADA, BEN, ROOM_ATLAS, ROOM_BOREAS, ROOM_CAIRO
from tests.providers.google.conftest import CALENDAR_URL, EmulatorTokens

BEN_EVENTS = f"{CALENDAR_URL}/calendars/{BEN}/events"


async def test_acts_as_the_user_and_reads_json(
    client: GoogleClient, tokens: EmulatorTokens
) -> None:
    page = await client.get_json(BEN_EVENTS, user=BEN, params={"maxResults": "1"})
    assert page["kind"] == "calendar#events"
    assert tokens.asked == [BEN]


async def test_a_refused_token_is_renewed_once(
    client: GoogleClient, tokens: EmulatorTokens
) -> None:
    tokens.stale[BEN] = 1
    page = await client.get_json(BEN_EVENTS, user=BEN)
    assert page["kind"] == "calendar#events"
    assert tokens.forgotten == [BEN]


async def test_a_token_refused_twice_is_auth_expired(
    client: GoogleClient, tokens: EmulatorTokens
) -> None:
    tokens.stale[BEN] = 5
    with pytest.raises(AuthExpired, match="401 authError") as raised:
        await client.get_json(BEN_EVENTS, user=BEN)
    assert tokens.forgotten == [BEN]
    assert "ya29" not in str(raised.value)


async def test_rate_limits_are_waited_out(
    make_client: Callable[..., GoogleClient], google_state: GoogleState, sleeps: list[float]
) -> None:
    google_state.faults = Faults(requests_per_minute_per_user=2)
    client = make_client(max_attempts=8, backoff_base=16.0)
    try:
        for _ in range(3):  # the third is over the per-user quota until the minute has passed
            await client.get_json(BEN_EVENTS, user=BEN)
    finally:
        await client.aclose()
    assert sleeps, "the third request waited"
    assert sum(sleeps) >= 30  # random() is 0.5: half of 16, then of 32, ... until admitted


async def test_rooms_read_as_the_admin_each_have_their_own_quota(
    make_client: Callable[..., GoogleClient], google_state: GoogleState, sleeps: list[float]
) -> None:
    """Every room is read as the admin; naming the room as ``quotaUser`` keeps one room's
    traffic from using up the admin's quota for all the others (google.md §9.3)."""
    google_state.faults = Faults(requests_per_minute_per_user=2)
    client = make_client(max_attempts=1)
    rooms = [ROOM_ATLAS, ROOM_BOREAS, ROOM_CAIRO]
    try:
        for room in rooms:
            for _ in range(2):
                await client.get_json(f"{CALENDAR_URL}/calendars/{room}/events", user=ADA)
        with pytest.raises(RateLimited):  # the third read of one room is over its quota
            await client.get_json(f"{CALENDAR_URL}/calendars/{ROOM_ATLAS}/events", user=ADA)
        await client.get_json(f"{CALENDAR_URL}/calendars/{ADA}/events", user=ADA)  # her own
    finally:
        await client.aclose()
    assert sleeps == []


async def test_rate_limits_out_of_attempts_are_rate_limited(
    make_client: Callable[..., GoogleClient], google_state: GoogleState, sleeps: list[float]
) -> None:
    google_state.faults = Faults(throttle_rate=1.0)  # 403 and 429 rateLimitExceeded, at random
    client = make_client(max_attempts=4)
    try:
        with pytest.raises(RateLimited, match="rateLimitExceeded") as raised:
            await client.get_json(BEN_EVENTS, user=BEN)
    finally:
        await client.aclose()
    assert sleeps == [0.25, 0.5, 1.0]  # full jitter with random() = 0.5, base 0.5
    assert raised.value.retry_after == 4.0  # the next capped step


async def test_backend_errors_are_retried(
    make_client: Callable[..., GoogleClient], google_state: GoogleState, sleeps: list[float]
) -> None:
    google_state.faults = Faults(error_rate=1.0)

    async def heal(seconds: float) -> None:
        sleeps.append(seconds)
        google_state.faults = Faults()

    client = make_client(sleep=heal)
    try:
        page = await client.get_json(BEN_EVENTS, user=BEN)
    finally:
        await client.aclose()
    assert page["kind"] == "calendar#events"
    assert len(sleeps) == 1


async def test_backend_errors_out_of_attempts_are_transient(
    make_client: Callable[..., GoogleClient], google_state: GoogleState, sleeps: list[float]
) -> None:
    google_state.faults = Faults(error_rate=1.0)
    client = make_client(max_attempts=3)
    try:
        with pytest.raises(Transient, match="backendError"):
            await client.get_json(BEN_EVENTS, user=BEN)
    finally:
        await client.aclose()
    assert len(sleeps) == 2


def scripted(handler: Callable[[httpx.Request], Any]) -> httpx.MockTransport:
    return httpx.MockTransport(handler)


async def test_dropped_connections_are_transient_after_the_attempts(
    make_client: Callable[..., GoogleClient], sleeps: list[float]
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = make_client(transport=scripted(refuse), max_attempts=3)
    try:
        with pytest.raises(Transient, match="ConnectError") as raised:
            await client.get_json(BEN_EVENTS, user=BEN)
    finally:
        await client.aclose()
    assert isinstance(raised.value.__cause__, httpx.ConnectError)
    assert len(sleeps) == 2


async def test_an_unreadable_answer_is_an_invalid_response(
    make_client: Callable[..., GoogleClient],
) -> None:
    client = make_client(transport=scripted(lambda _: httpx.Response(200, text="<html>")))
    try:
        with pytest.raises(InvalidResponse, match="not JSON"):
            await client.get_json(BEN_EVENTS, user=BEN)
    finally:
        await client.aclose()
    client = make_client(transport=scripted(lambda _: httpx.Response(200, json=[1, 2])))
    try:
        with pytest.raises(InvalidResponse, match="not a JSON object"):
            await client.get_json(BEN_EVENTS, user=BEN)
    finally:
        await client.aclose()


async def test_a_proxy_error_page_is_still_judged_by_its_status(
    make_client: Callable[..., GoogleClient], sleeps: list[float]
) -> None:
    client = make_client(
        transport=scripted(lambda _: httpx.Response(502, text="<html>Bad gateway</html>")),
        max_attempts=2,
    )
    try:
        with pytest.raises(Transient, match="502"):
            await client.get_json(BEN_EVENTS, user=BEN)
    finally:
        await client.aclose()


async def test_a_request_google_refuses_is_an_invalid_response(client: GoogleClient) -> None:
    with pytest.raises(InvalidResponse, match=r"refused calhub's request.*maxResults"):
        await client.get_json(BEN_EVENTS, user=BEN, params={"maxResults": "0"})


async def test_a_missing_event_is_not_found(client: GoogleClient) -> None:
    with pytest.raises(NotFound, match="404 notFound"):
        await client.get_json(f"{BEN_EVENTS}/nope", user=BEN)


async def test_the_directory_as_a_non_admin_is_refused_in_words(client: GoogleClient) -> None:
    directory = "http://google.emu.test/admin/directory/v1/users"
    with pytest.raises(MailboxOutOfScope, match="may not read the Directory") as raised:
        await client.get_json(directory, user=BEN, params={"customer": "my_customer"})
    assert raised.value.mailbox == BEN


async def test_at_most_four_requests_in_flight_per_user(
    make_client: Callable[..., GoogleClient],
) -> None:
    in_flight: dict[str, int] = {}
    most: dict[str, int] = {}
    release = asyncio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        user = request.url.path.split("/")[-2]
        in_flight[user] = in_flight.get(user, 0) + 1
        most[user] = max(most.get(user, 0), in_flight[user])
        await release.wait()
        in_flight[user] -= 1
        return httpx.Response(200, json={})

    client = make_client(transport=scripted(slow))
    try:
        calls = [
            asyncio.create_task(
                client.get_json(f"{CALENDAR_URL}/calendars/{user}/events", user=user)
            )
            for user in (BEN,) * 6 + (ADA,) * 6
        ]
        for _ in range(20):
            await asyncio.sleep(0)
        assert most == {BEN: 4, ADA: 4}
        release.set()
        await asyncio.gather(*calls)
    finally:
        await client.aclose()


async def test_every_attempt_takes_from_the_budget(
    make_client: Callable[..., GoogleClient], google_state: GoogleState
) -> None:
    taken = []

    class CountingBudget(RequestBudget):
        async def acquire(self) -> None:
            taken.append(1)
            await super().acquire()

    google_state.faults = Faults(error_rate=1.0)
    client = make_client(budget=CountingBudget(rate=1000, burst=1000), max_attempts=3)
    try:
        with pytest.raises(Transient):
            await client.get_json(BEN_EVENTS, user=BEN)
    finally:
        await client.aclose()
    assert len(taken) == 3


def error(status: int, reason: str, message: str = "m", domain: str = "global") -> Any:
    body = {"error": {"code": status, "message": message, "errors": [
        {"domain": domain, "reason": reason, "message": message}]}}  # fmt: skip
    return read_error(status, body)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (error(404, "notFound"), NotFound),
        (error(410, "deleted", "Resource has been deleted"), NotFound),
        (error(410, "fullSyncRequired", domain="calendar"), CursorInvalid),
        (error(410, "updatedMinTooLongAgo", domain="calendar"), CursorInvalid),
        (error(412, "conditionNotMet", "Precondition Failed"), EditConflict),
        (error(403, "rateLimitExceeded", domain="usageLimits"), RateLimited),
        (error(403, "userRateLimitExceeded", domain="usageLimits"), RateLimited),
        (error(403, "quotaExceeded", domain="usageLimits"), RateLimited),
        (error(429, "rateLimitExceeded", domain="usageLimits"), RateLimited),
        (error(403, "insufficientPermissions"), MailboxOutOfScope),
        (error(403, "forbidden", "Not Authorized to access this resource/api"), MailboxOutOfScope),
        (error(403, "forbiddenForNonOrganizer", domain="calendar"), ProviderError),
        (error(401, "authError", "Invalid Credentials"), AuthExpired),
        (error(400, "timeRangeEmpty", domain="calendar"), InvalidResponse),
        (error(500, "backendError"), Transient),
        (error(503, "backendError"), Transient),
        (read_error(404, None), NotFound),
        (read_error(418, "teapot"), ProviderError),
    ],
)
def test_google_errors_become_the_provider_tree(answer: Any, expected: type) -> None:
    translated = translate(answer, user=BEN, what="GET /calendars/x/events")
    assert type(translated) is expected
    assert "GET /calendars/x/events" in str(translated) or isinstance(translated, MailboxOutOfScope)


def test_scopes_missing_from_the_delegation_are_explained() -> None:
    translated = translate(error(403, "insufficientPermissions"), user=BEN, what="GET /x")
    assert isinstance(translated, MailboxOutOfScope)
    assert "Admin console" in translated.reason
