"""Health, readiness, metrics and the OpenAPI document."""

from __future__ import annotations

import httpx


async def test_healthz_answers_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_database_and_queue(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": True, "queue": True}


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    await client.get("/problems/not-found")
    body = (await client.get("/metrics")).text
    assert 'calhub_http_requests_total{method="GET",route="/healthz",status="200"}' in body
    assert 'route="/problems/{slug}"' in body
    assert "calhub_http_request_duration_seconds_bucket" in body


async def test_openapi_documents_the_api(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    assert document["info"]["title"] == "calhub"
    for path in ("/healthz", "/readyz", "/metrics", "/api/v1/tenant", "/api/v1/pings"):
        assert path in document["paths"], path
    assert "HTTPBearer" in document["components"]["securitySchemes"]
