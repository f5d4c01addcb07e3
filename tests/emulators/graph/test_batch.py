"""JSON batching: the envelope, per-item statuses, dependsOn and per-item throttling."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.emulators.graph.seeds import ADELE, ALEX

JSON = {"Content-Type": "application/json"}


def get(item_id: str, url: str, **extra: Any) -> dict[str, Any]:
    return {"id": item_id, "method": "GET", "url": url, **extra}


async def run(graph: httpx.AsyncClient, *items: dict[str, Any]) -> dict[str, dict[str, Any]]:
    response = await graph.post("/$batch", json={"requests": list(items)})
    assert response.status_code == 200, response.text
    answers = response.json()["responses"]
    assert sorted(a["id"] for a in answers) == sorted(i["id"] for i in items)
    return {answer["id"]: answer for answer in answers}


async def test_items_answer_with_their_own_status(graph: httpx.AsyncClient) -> None:
    answers = await run(
        graph,
        get("1", "/users/adele@contoso.test/mailboxSettings/timeZone"),
        get("2", f"users/{ALEX}/mailboxSettings"),
        get("3", "/users/nobody@contoso.test/mailboxSettings"),
        {
            "id": "4",
            "method": "PATCH",
            "url": f"/users/{ALEX}/mailboxSettings",
            "headers": JSON,
            "body": {"timeZone": "Pacific Standard Time"},
        },
    )
    assert answers["1"]["status"] == 200
    assert answers["1"]["body"]["value"] == "W. Europe Standard Time"
    assert answers["1"]["headers"]["Content-Type"].startswith("application/json")
    assert answers["2"]["status"] == 200
    assert answers["3"]["status"] == 404
    assert answers["3"]["body"]["error"]["code"] == "ErrorInvalidUser"
    assert answers["4"]["status"] == 200
    zone = await graph.get(f"/users/{ALEX}/mailboxSettings/timeZone")
    assert zone.json()["value"] == "Pacific Standard Time"


async def test_depends_on_runs_in_order_and_fails_dependants(graph: httpx.AsyncClient) -> None:
    answers = await run(
        graph,
        {
            "id": "patch",
            "method": "PATCH",
            "url": f"/users/{ADELE}/mailboxSettings",
            "headers": JSON,
            "body": {"timeZone": "Tokyo Standard Time"},
        },
        get("read", f"/users/{ADELE}/mailboxSettings/timeZone", dependsOn=["patch"]),
        get("broken", "/users/nobody@contoso.test/mailboxSettings"),
        get("after-broken", f"/users/{ADELE}/mailboxSettings", dependsOn=["broken"]),
        get("chain", f"/users/{ADELE}/mailboxSettings", dependsOn=["after-broken", "read"]),
    )
    assert answers["read"]["status"] == 200
    assert answers["read"]["body"]["value"] == "Tokyo Standard Time"
    assert answers["broken"]["status"] == 404
    assert answers["after-broken"]["status"] == 424
    assert answers["after-broken"]["body"]["error"]["code"] == "FailedDependency"
    assert answers["chain"]["status"] == 424


async def test_twenty_requests_at_most(graph: httpx.AsyncClient) -> None:
    items = [get(str(i), f"/users/{ADELE}/mailboxSettings/timeZone") for i in range(21)]
    too_many = await graph.post("/$batch", json={"requests": items})
    assert too_many.status_code == 400
    assert "20" in too_many.json()["error"]["message"]
    answers = await run(graph, *items[:20])
    assert {a["status"] for a in answers.values()} == {200}


@pytest.mark.parametrize(
    "payload",
    [
        {"requests": [get("1", "/me"), get("1", "/me")]},
        {"requests": [{"id": "1", "url": "/me"}]},
        {"requests": [{"id": "1", "method": "GET"}]},
        {"requests": [{"method": "GET", "url": "/me"}]},
        {"requests": [{"id": "1", "method": "TRACE", "url": "/me"}]},
        {"requests": [get("1", "https://graph.microsoft.com/v1.0/me")]},
        {"requests": [{"id": "1", "method": "POST", "url": "/me/events", "body": {"a": 1}}]},
        {"requests": [get("1", "/me", dependsOn=["9"])]},
        {"requests": [get("1", "/me", dependsOn=["2"]), get("2", "/me", dependsOn=["1"])]},
        {"requests": [get("1", "/$batch")]},
        {"requests": [get("1", "/me", headers={"Prefer": 1})]},
        {"requests": "all of them"},
        ["not", "an", "object"],
    ],
)
async def test_malformed_batches_fail_as_a_whole(graph: httpx.AsyncClient, payload: Any) -> None:
    response = await graph.post("/$batch", json=payload)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadRequest"


async def test_malformed_json_and_missing_token(
    graph: httpx.AsyncClient, emulator: httpx.AsyncClient
) -> None:
    response = await graph.post("/$batch", content=b"{", headers=JSON)
    assert response.status_code == 400
    anonymous = await emulator.post("/v1.0/$batch", json={"requests": []})
    assert anonymous.status_code == 401


async def test_parallel_items_are_throttled_one_by_one(
    graph: httpx.AsyncClient, emulator: httpx.AsyncClient
) -> None:
    await emulator.post(
        "/_emulator/faults", json={"mailbox_concurrency": 2, "latency_ms": [80, 80]}
    )
    items = [get(str(i), f"/users/{ADELE}/mailboxSettings/timeZone") for i in range(5)]
    answers = await run(graph, *items, get("alex", f"/users/{ALEX}/mailboxSettings"))
    statuses = sorted(answers[str(i)]["status"] for i in range(5))
    assert statuses == [200, 200, 429, 429, 429]
    throttled = next(a for a in answers.values() if a["status"] == 429)
    assert throttled["body"]["error"]["code"] == "ApplicationThrottled"
    assert int(throttled["headers"]["Retry-After"]) >= 1
    assert answers["alex"]["status"] == 200


async def test_sequential_items_are_not_over_concurrency(
    graph: httpx.AsyncClient, emulator: httpx.AsyncClient
) -> None:
    await emulator.post("/_emulator/faults", json={"mailbox_concurrency": 1, "latency_ms": [5, 5]})
    items = [get("0", f"/users/{ADELE}/mailboxSettings")]
    items += [
        get(str(i), f"/users/{ADELE}/mailboxSettings", dependsOn=[str(i - 1)]) for i in range(1, 4)
    ]
    answers = await run(graph, *items)
    assert {a["status"] for a in answers.values()} == {200}


async def test_faults_reach_items_not_the_envelope(
    graph: httpx.AsyncClient, emulator: httpx.AsyncClient
) -> None:
    await emulator.post("/_emulator/faults", json={"error_rate": 1})
    answers = await run(graph, get("1", f"/users/{ADELE}/mailboxSettings"))
    assert answers["1"]["status"] == 503
    assert answers["1"]["body"]["error"]["code"] == "ServiceNotAvailable"
