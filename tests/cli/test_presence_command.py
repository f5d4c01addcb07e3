"""``calhub presence show`` against a real database: an admin sees whether a user is out of
office, as words or as the API's JSON; mistakes are named in red and exit 2."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from calhub.bootstrap import bootstrap
from calhub.cli.main import app
from calhub.domain.calendars import CalendarKind
from calhub.domain.ids import TenantId
from calhub.domain.presence import AutomaticReplies, ReplyStatus, after_reading
from calhub.settings import Settings
from calhub.storage.unit_of_work import UnitOfWorkFactory
from tests.storage.factories import add_calendar


@pytest.fixture
def env(fresh_database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "CALHUB_DATABASE_URL": fresh_database_url,
        "CALHUB_DATA_DIR": str(tmp_path),
        "CALHUB_LOG_LEVEL": "warning",
        "COLUMNS": "200",
    }


def _run(env: dict[str, str], *args: str, code: int = 0) -> tuple[str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == code, result.output
    return result.stdout, result.stderr


def _mailboxes(env: dict[str, str]) -> None:
    """A tenant with Adele (away all week, as last polled) and a room."""
    tenant = _run(env, "tenant", "create", "Contoso")[0].strip().splitlines()[-1]
    tenant_id = TenantId(uuid.UUID(tenant))
    settings = Settings(
        database_url=SecretStr(env["CALHUB_DATABASE_URL"]), data_dir=Path(env["CALHUB_DATA_DIR"])
    )

    async def seed() -> None:
        async with bootstrap(settings) as runtime:
            uow: UnitOfWorkFactory = runtime.uow
            adele = await add_calendar(uow, tenant_id, owner="adele@contoso.test")
            await add_calendar(uow, tenant_id, owner="room1@contoso.test", kind=CalendarKind.ROOM)
            now = runtime.clock.now()
            week = AutomaticReplies(
                ReplyStatus.SCHEDULED, now - timedelta(days=1), now + timedelta(days=6)
            )
            async with uow() as work:
                state = after_reading(None, week, now, calendar_id=adele.id, tenant_id=tenant_id)
                await work.presence.insert(state)
                await work.commit()

    asyncio.run(seed())


def test_shows_a_user_out_of_office_with_the_window(env: dict[str, str]) -> None:
    _mailboxes(env)
    out, _ = _run(env, "presence", "show", "Adele@contoso.test")
    assert "adele@contoso.test: out of office" in out
    assert "automatic replies: scheduled" in out
    assert "until: " in out


def test_json_is_the_apis_object(env: dict[str, str]) -> None:
    _mailboxes(env)
    out, _ = _run(env, "presence", "show", "adele@contoso.test", "--json")
    body = json.loads(out.strip().splitlines()[-1])
    assert (body["out_of_office"], body["reply_status"]) == (True, "scheduled")
    assert body["scheduled"]["problem"] is None
    assert body["until"] == body["scheduled"]["end"]


def test_a_refresh_that_cannot_read_keeps_the_state_and_says_why(env: dict[str, str]) -> None:
    _mailboxes(env)  # Adele's connection is the in-memory fake: calhub cannot read it
    out, _ = _run(env, "presence", "show", "adele@contoso.test", "--refresh", "--json")
    body = json.loads(out.strip().splitlines()[-1])
    assert body["out_of_office"] is True
    assert body["last_error"]


@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("nobody@contoso.test", "no user nobody@contoso.test"),
        ("room1@contoso.test", "is a room"),
        ("not-an-address", "not an e-mail address"),
    ],
)
def test_mistakes_are_named_and_exit_2(env: dict[str, str], address: str, words: str) -> None:
    _mailboxes(env)
    _, err = _run(env, "presence", "show", address, code=2)
    assert words in err
