"""``GraphClient`` against the emulator: limits, retries and the error tree (graph.md §10–12)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from calhub.providers.base import (
    AuthExpired,
    ConsentRevoked,
    CursorInvalid,
    MailboxOutOfScope,
    NotFound,
    RateLimited,
    Transient,
)
from calhub.providers.budget import RequestBudget
from calhub.providers.msgraph.client import BatchRequest, GraphClient
from tests.emulators.graph.seeds import CONTOSO
from tests.providers.msgraph.conftest import EmulatorTokens

SETTINGS = "users/adele@contoso.test/mailboxSettings"


async def test_sends_immutable_ids_and_utc_preferences(client: GraphClient) -> None:
    response = await client.request(
        "GET",
        "users/adele@contoso.test/calendarView",
        params={"startDateTime": "2026-03-02T00:00:00Z", "endDateTime": "2026-03-03T00:00:00Z"},
    )
    applied = response.headers["preference-applied"]
    assert 'outlook.timezone="UTC"' in applied


async def test_retry_after_on_the_request_budget_429(
    client: GraphClient, emulator: httpx.AsyncClient, sleeps: list[float]
) -> None:
    await emulator.post("/_emulator/faults", json={"requests_per_10min": 2})
    for _ in range(3):
        await client.get_json(SETTINGS)
    assert len(sleeps) == 1
    assert 0 < sleeps[0] <= 600  # the emulator's Retry-After: until the oldest request ages out


async def test_out_of_attempts_raises_rate_limited(
    make_client: Callable[..., GraphClient], emulator: httpx.AsyncClient
) -> None:
    await emulator.post("/_emulator/faults", json={"requests_per_10min": 1})
    graph = make_client(max_attempts=1)
    await graph.get_json(SETTINGS)
    with pytest.raises(RateLimited) as caught:
        await graph.get_json(SETTINGS)
    assert caught.value.retry_after > 0
    await graph.aclose()


async def test_mailbox_concurrency_429_is_retried_and_the_semaphore_avoids_it(
    make_client: Callable[..., GraphClient], emulator: httpx.AsyncClient
) -> None:
    await emulator.post(
        "/_emulator/faults", json={"mailbox_concurrency": 1, "latency_ms": [20, 20]}
    )
    waits: list[float] = []

    async def sleep(seconds: float) -> None:  # lets the emulator's slow requests finish
        waits.append(seconds)
        await asyncio.sleep(0.05)

    eager = make_client(max_in_flight_per_mailbox=4, sleep=sleep, max_attempts=10)
    await asyncio.gather(*(eager.get_json(SETTINGS) for _ in range(3)))
    assert waits
    assert set(waits) == {1.0}  # ApplicationThrottled's Retry-After, honoured
    waits.clear()
    polite = make_client(max_in_flight_per_mailbox=1, sleep=sleep)
    spellings = [SETTINGS, "users/ADELE%40contoso.test/mailboxSettings", SETTINGS]
    await asyncio.gather(*(polite.get_json(path) for path in spellings))
    assert waits == []
    await eager.aclose()
    await polite.aclose()


async def test_503s_from_the_error_rate_are_retried(
    client: GraphClient, emulator: httpx.AsyncClient, sleeps: list[float]
) -> None:
    await emulator.post("/_emulator/faults", json={"error_rate": 0.3})
    for _ in range(5):
        await client.get_json(SETTINGS)
    assert sleeps


async def test_5xx_backs_off_exponentially_with_full_jitter(tokens: EmulatorTokens) -> None:
    answers = iter([500, 502, 200])
    transport = httpx.MockTransport(lambda request: httpx.Response(next(answers), json={}))
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    graph = GraphClient(
        tokens,
        transport=transport,
        sleep=sleep,
        random=lambda: 0.5,
        backoff_base=1.0,
        budget=RequestBudget(100, 100),
    )
    assert await graph.get_json("users/x/mailboxSettings") == {}
    assert waited == [0.5, 1.0]  # random() * 1, random() * 2
    failing = GraphClient(
        tokens,
        transport=httpx.MockTransport(
            lambda request: httpx.Response(500, json={"error": {"code": "generalException"}})
        ),
        sleep=sleep,
        max_attempts=2,
        budget=RequestBudget(100, 100),
    )
    with pytest.raises(Transient):
        await failing.get_json("users/x/mailboxSettings")
    await graph.aclose()
    await failing.aclose()


async def test_401_drops_the_token_and_retries_once(
    make_client: Callable[..., GraphClient], tokens: EmulatorTokens
) -> None:
    tokens.stale = 1
    graph = make_client()
    assert (await graph.get_json(SETTINGS))["timeZone"] == "W. Europe Standard Time"
    assert tokens.invalidations == 1
    tokens.stale = 5
    with pytest.raises(AuthExpired):
        await graph.get_json(SETTINGS)
    assert tokens.invalidations == 2  # one fresh token per request, then AuthExpired
    await graph.aclose()


async def test_revoked_consent_is_consent_revoked(
    client: GraphClient, emulator: httpx.AsyncClient
) -> None:
    await emulator.post(f"/_emulator/tenants/{CONTOSO}/consent", json={"state": "revoked"})
    with pytest.raises(ConsentRevoked):
        await client.get_json(SETTINGS)


async def test_access_policy_and_missing_mailboxes_are_out_of_scope(client: GraphClient) -> None:
    with pytest.raises(MailboxOutOfScope) as blocked:
        await client.get_json("users/megan@contoso.test/mailboxSettings")
    assert blocked.value.mailbox == "megan@contoso.test"
    assert "access policy" in blocked.value.reason
    with pytest.raises(MailboxOutOfScope, match="no Exchange Online mailbox"):
        await client.get_json("users/onprem@contoso.test/mailboxSettings")
    with pytest.raises(MailboxOutOfScope, match="not a user"):
        await client.get_json("users/nobody@contoso.test/mailboxSettings")
    created = await client.request(
        "POST",
        "users/adele@contoso.test/events",
        json={
            "subject": "Gone soon",
            "start": {"dateTime": "2026-03-03T10:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-03-03T11:00:00", "timeZone": "UTC"},
        },
    )
    event = f"users/adele@contoso.test/events/{created.json()['id']}"
    await client.request("DELETE", event)
    with pytest.raises(NotFound):
        await client.get_json(event)


async def test_expired_delta_token_is_cursor_invalid(
    client: GraphClient, emulator: httpx.AsyncClient
) -> None:
    first = await client.get_json(
        "users/adele@contoso.test/calendarView/delta"
        "?startDateTime=2026-03-02T00:00:00Z&endDateTime=2026-03-09T00:00:00Z"
    )
    await emulator.post("/_emulator/mailboxes/adele@contoso.test/expire-delta")
    with pytest.raises(CursorInvalid):
        await client.get_json(first["@odata.deltaLink"])


async def test_batch_splits_by_twenty_and_translates_items(client: GraphClient) -> None:
    requests = [
        BatchRequest(str(i), "GET", "/users/adele@contoso.test/mailboxSettings/timeZone")
        for i in range(21)
    ]
    requests.append(
        BatchRequest(
            "megan",
            "GET",
            "/users/megan@contoso.test/mailboxSettings",
            mailbox="megan@contoso.test",
        )
    )
    results = await client.batch(requests)
    assert len(results) == 22
    assert all(results[str(i)].status == 200 for i in range(21))
    assert results["0"].body["value"] == "W. Europe Standard Time"
    assert isinstance(results["megan"].error, MailboxOutOfScope)


async def test_batch_retries_throttled_items(
    client: GraphClient, emulator: httpx.AsyncClient, sleeps: list[float]
) -> None:
    await emulator.post("/_emulator/faults", json={"requests_per_10min": 2})
    requests = [BatchRequest(str(i), "GET", f"/{SETTINGS}") for i in range(3)]
    results = await client.batch(requests)
    assert {r.status for r in results.values()} == {200}
    assert len(sleeps) == 1
