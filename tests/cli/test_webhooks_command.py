"""``calhub webhooks`` against a real database: an admin adds an endpoint (its secret printed
once), lists endpoints with their state, reads an endpoint's deliveries with why they failed,
re-enables and removes it; every mistake is named in red and exits 2."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from calhub.bootstrap import bootstrap
from calhub.cli.main import app
from calhub.domain.ids import TenantId, WebhookEndpointId
from calhub.settings import Settings
from calhub.storage.repositories.webhooks import AttemptRecord, DeliveryState
from tests.storage.factories import NOW


@pytest.fixture
def env(fresh_database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "CALHUB_DATABASE_URL": fresh_database_url,
        "CALHUB_DATA_DIR": str(tmp_path),
        "CALHUB_LOG_LEVEL": "warning",
        "COLUMNS": "250",
    }


def _run(env: dict[str, str], *args: str, code: int = 0) -> tuple[str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == code, result.output
    return result.stdout, result.stderr


def _rows(table: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip("│ ").split("│")]
        for line in table.splitlines()
        if line.startswith("│") and not line.startswith("│ id ")
    ]


def _fail_one_delivery(env: dict[str, str], tenant: str, endpoint: str) -> None:
    settings = Settings(
        database_url=SecretStr(env["CALHUB_DATABASE_URL"]), data_dir=Path(env["CALHUB_DATA_DIR"])
    )
    tenant_id = TenantId(uuid.UUID(tenant))
    endpoint_id = WebhookEndpointId(uuid.UUID(endpoint))

    async def fail() -> None:
        async with bootstrap(settings) as runtime, runtime.uow() as uow:
            (event,) = await uow.outbox.add_many(tenant_id, [("obtp.join", {}, None)], NOW)
            await uow.webhooks.add_deliveries([(tenant_id, endpoint_id, event)], NOW)
            (delivery,) = await uow.webhooks.list_deliveries(tenant_id, endpoint_id, limit=1)
            retry_at = NOW + timedelta(seconds=5)
            record = AttemptRecord(delivery.id, DeliveryState.PENDING, 503, "HTTP 503", retry_at)
            await uow.webhooks.record_attempts([record], NOW)
            await uow.webhooks.disable_if_failing_since(
                tenant_id, endpoint_id, NOW, "every delivery attempt for 24 h failed", NOW
            )
            await uow.commit()

    asyncio.run(fail())


def test_add_list_deliveries_enable_remove(env: dict[str, str]) -> None:
    tenant = _run(env, "tenant", "create", "Acme")[0].strip().splitlines()[-1]

    added, note = _run(
        env,
        "webhooks",
        "add",
        "https://hooks.example/in",
        "--type",
        "obtp.join",
        "--type",
        "meeting.*",
    )
    endpoint, secret = added.strip().splitlines()
    _fail_one_delivery(env, tenant, endpoint)
    listed, _ = _run(env, "webhooks", "list")
    deliveries, _ = _run(env, "webhooks", "deliveries", endpoint)
    _, enabled = _run(env, "webhooks", "enable", endpoint)
    relisted, _ = _run(env, "webhooks", "list")
    _, removed = _run(env, "webhooks", "remove", endpoint)
    _, empty = _run(env, "webhooks", "list")

    assert "shown once" in note
    assert secret.startswith("whsec_")
    assert _rows(listed) == [
        [
            endpoint,
            "disabled",
            "0",
            "-",
            "obtp.join, meeting.*",
            "https://hooks.example/in",
            "every delivery attempt for 24 h failed",
        ]
    ]
    assert secret not in listed
    (row,) = _rows(deliveries)
    assert row[2:] == ["obtp.join", "pending", "1", "503", "HTTP 503", "2026-01-05 09:00:05 UTC"]
    assert f"{endpoint} is active" in enabled
    assert _rows(relisted)[0][1] == "active"
    assert f"{endpoint} removed" in removed
    assert "no webhook endpoints" in empty


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "ftp://x.example/hook"], "url: must start with http:// or https://"),
        (["add", "https://x.example", "--type", "Bad"], "is not an event type"),
        (["remove", "not-a-uuid"], "a webhook endpoint id is a UUID"),
        (["enable", str(uuid.UUID(int=1))], "no webhook endpoint"),
        (["deliveries", str(uuid.UUID(int=1))], "no webhook endpoint"),
        (["list", "--tenant", str(uuid.UUID(int=2))], "no tenant"),
    ],
)
def test_mistakes_are_named_and_exit_2(env: dict[str, str], args: list[str], message: str) -> None:
    _run(env, "tenant", "create", "Acme")

    _, error = _run(env, "webhooks", *args, code=2)

    assert message in error


def test_without_a_tenant_it_says_how_to_make_one(env: dict[str, str]) -> None:
    _, error = _run(env, "webhooks", "list", code=2)

    assert "calhub tenant create" in error
