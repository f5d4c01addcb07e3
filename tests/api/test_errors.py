"""Bad input gets RFC 9457 problem+json with a stable type, never a 500."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from calhub.storage import database

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, object] = response.json()
    assert body["type"] == f"/problems/{slug}"
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body


async def test_unknown_route_is_a_404_problem(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/no/such/thing"), 404, "not-found")
    assert body["instance"] == "/no/such/thing"


async def test_wrong_method_is_a_405_problem(client: httpx.AsyncClient) -> None:
    assert_problem(await client.delete("/healthz"), 405, "method-not-allowed")


async def test_missing_key_is_401(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/tenant"), 401, "unauthorized")


@pytest.mark.parametrize(
    "token",
    ["nonsense", "chk_zz_secret", "chk_0190b9c2a1f07000800000000000000a_wrong", "chk__"],
)
async def test_bad_keys_are_401(client: httpx.AsyncClient, token: str) -> None:
    response = await client.get("/api/v1/tenant", headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401, "unauthorized")


async def test_malformed_json_is_a_400_problem(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/pings",
        content=b'{"note": ',
        headers={**auth, "content-type": "application/json"},
    )
    assert_problem(response, 400, "malformed-json")


async def test_wrong_types_are_a_422_problem_naming_the_field(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    response = await client.post("/api/v1/pings", json={"note": {"nested": 1}}, headers=auth)
    body = assert_problem(response, 422, "validation-failed")
    errors = body["errors"]
    assert isinstance(errors, list)
    assert errors
    assert errors[0]["location"] == ["body", "note"]


async def test_bad_path_parameter_is_a_422_problem(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    assert_problem(
        await client.get("/api/v1/pings/not-a-uuid", headers=auth), 422, "validation-failed"
    )


async def test_oversize_body_by_content_length_is_413(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    response = await client.post("/api/v1/pings", json={"note": "x" * 10_000}, headers=auth)
    assert_problem(response, 413, "payload-too-large")


async def test_oversize_streamed_body_is_413(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        yield b'{"note": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}'

    response = await client.post(
        "/api/v1/pings", content=chunks(), headers={**auth, "content-type": "application/json"}
    )
    assert_problem(response, 413, "payload-too-large")


async def test_every_problem_type_is_explained(client: httpx.AsyncClient) -> None:
    response = await client.get("/problems/payload-too-large")
    assert response.status_code == 200
    assert response.json()["status"] == 413
    assert_problem(await client.get("/problems/nope"), 404, "not-found")


async def test_a_lost_database_connection_is_a_503_to_retry(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A pooled connection used a moment ago goes out unpinged (``storage.database``): when the
    server dropped it meanwhile, the request gets a 503 to retry, and the retry succeeds."""
    monkeypatch.setattr(database, "PING_AFTER_IDLE_S", 3600.0)
    assert (await client.get("/api/v1/tenant", headers=auth)).status_code == 200
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )

    lost = await client.get("/api/v1/tenant", headers=auth)

    assert_problem(lost, 503, "not-ready")
    assert lost.headers["retry-after"] == "1"
    assert (await client.get("/api/v1/tenant", headers=auth)).status_code == 200
