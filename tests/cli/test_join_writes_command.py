"""``calhub join-writes list`` against a real database: an admin sees the tenant's join-block
writes newest first as a table with why a write failed, filters by state and pages with
``--after``; another tenant's writes never show; every mistake is named and exits 2."""

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
from calhub.domain.ids import EventId, TenantId, new_id
from calhub.settings import Settings
from calhub.storage.repositories.join_writes import JoinWriteState
from tests.storage.factories import NOW, add_calendar

NOT_CONFIGURED = (
    "@webex asks for webex_personal_room meetings: the backend is not configured in the "
    "tenant's join settings"
)


@pytest.fixture
def env(fresh_database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "CALHUB_DATABASE_URL": fresh_database_url,
        "CALHUB_DATA_DIR": str(tmp_path),
        "CALHUB_LOG_LEVEL": "warning",
        "COLUMNS": "200",  # the table's outcome column on one line
    }


def _run(env: dict[str, str], *args: str, code: int = 0) -> tuple[str, str]:
    """What the command printed to stdout and to stderr."""
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == code, result.output
    return result.stdout, result.stderr


def _tenant(env: dict[str, str], name: str) -> str:
    return _run(env, "tenant", "create", name)[0].strip().splitlines()[-1]


def _queue_writes(env: dict[str, str], tenant: str) -> list[int]:
    """Five writes of one calendar, oldest first: done, failed, retrying, failed, pending."""
    settings = Settings(
        database_url=SecretStr(env["CALHUB_DATABASE_URL"]), data_dir=Path(env["CALHUB_DATA_DIR"])
    )
    tenant_id = TenantId(uuid.UUID(tenant))
    later = NOW + timedelta(minutes=1)

    async def queue() -> list[int]:
        async with bootstrap(settings) as runtime:
            calendar = await add_calendar(runtime.uow, tenant_id)
            async with runtime.uow() as uow:
                writes = uow.join_writes
                events = [(EventId(new_id(NOW)), f"AAMk-{n}") for n in range(5)]
                for event in events:
                    await writes.add(tenant_id, calendar.id, [event], NOW)
                ids = [(await writes.for_event(tenant_id, e))[0].id for e, _ in events]
                await writes.finish(ids[0], JoinWriteState.DONE, "wrote the @webex block", later)
                await writes.finish(ids[1], JoinWriteState.FAILED, NOT_CONFIGURED, later)
                retry_at = later + timedelta(seconds=30)
                await writes.retry_later(ids[2], "throttled by the provider", retry_at, later)
                await writes.finish(ids[3], JoinWriteState.FAILED, "the mailbox is blocked", later)
                await uow.commit()
            return ids

    return asyncio.run(queue())


def _rows(table: str) -> list[list[str]]:
    """The table's body rows, each as its cells."""
    return [
        [cell.strip() for cell in line.strip("│ ").split("│")]
        for line in table.splitlines()
        if line.startswith("│") and not line.startswith("│ id ")
    ]


def test_list_shows_every_write_newest_first_with_why_it_failed(env: dict[str, str]) -> None:
    tenant = _tenant(env, "Acme")
    ids = _queue_writes(env, tenant)

    table, _ = _run(env, "join-writes", "list")

    assert _rows(table) == [
        [str(ids[4]), "pending", "0", "2026-01-05 09:00:00 UTC", "-"],
        [str(ids[3]), "failed", "1", "2026-01-05 09:01:00 UTC", "the mailbox is blocked"],
        [str(ids[2]), "pending", "1", "2026-01-05 09:01:00 UTC", "throttled by the provider"],
        [str(ids[1]), "failed", "1", "2026-01-05 09:01:00 UTC", NOT_CONFIGURED],
        [str(ids[0]), "done", "1", "2026-01-05 09:01:00 UTC", "wrote the @webex block"],
    ]
    header = [cell.strip() for cell in table.splitlines()[1].strip("┃ ").split("┃")]
    assert header == ["id", "state", "attempts", "updated", "outcome"]


def test_state_filter_and_paging_with_after(env: dict[str, str]) -> None:
    tenant = _tenant(env, "Acme")
    ids = _queue_writes(env, tenant)

    failed, _ = _run(env, "join-writes", "list", "--state", "failed")
    first, hint = _run(env, "join-writes", "list", "--limit", "2")
    second, last_hint = _run(env, "join-writes", "list", "--limit", "2", "--after", str(ids[3]))

    assert [row[0] for row in _rows(failed)] == [str(ids[3]), str(ids[1])]
    assert [row[0] for row in _rows(first)] == [str(ids[4]), str(ids[3])]
    assert f"more: add --after {ids[3]}" in hint
    assert [row[0] for row in _rows(second)] == [str(ids[2]), str(ids[1])]
    assert f"more: add --after {ids[1]}" in last_hint


def test_another_tenant_sees_none_of_them(env: dict[str, str]) -> None:
    _queue_writes(env, _tenant(env, "Acme"))
    other = _tenant(env, "Umbrella")

    table, message = _run(env, "join-writes", "list", "--tenant", other)

    assert table == ""
    assert "no join writes" in message
    _, failed = _run(env, "join-writes", "list", "--tenant", other, "--state", "failed")
    assert "no join writes in state failed" in failed


def test_the_tenant_must_be_clear_and_exist(env: dict[str, str]) -> None:
    assert "no tenant yet" in _run(env, "join-writes", "list", code=2)[1]
    _tenant(env, "Acme")
    _tenant(env, "Umbrella")

    assert "2 tenants; pick one with --tenant" in _run(env, "join-writes", "list", code=2)[1]
    not_an_id = _run(env, "join-writes", "list", "--tenant", "acme", code=2)[1]
    assert "must be a tenant id" in not_an_id
    unknown = "00000000-0000-0000-0000-000000000001"
    assert (
        f"no tenant {unknown}" in _run(env, "join-writes", "list", "--tenant", unknown, code=2)[1]
    )


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--state", "bogus"], "--state"),
        (["--limit", "0"], "--limit"),
        (["--limit", "501"], "--limit"),
        (["--after", "0"], "--after"),
    ],
)
def test_bad_option_values_are_named(env: dict[str, str], args: list[str], named: str) -> None:
    _tenant(env, "Acme")

    _, message = _run(env, "join-writes", "list", *args, code=2)

    assert named in message
