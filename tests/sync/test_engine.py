"""The sync engine against the Graph emulator and PostgreSQL: after each pass the mirror holds
exactly what Graph's calendarView shows, occurrence by occurrence — first sync, incremental
changes (edit, move, exception, cancelled instance, delete) and a full resync after the delta
token expired."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event as sqlalchemy_event

from calhub.domain.calendars import Calendar
from calhub.domain.clock import FixedClock
from calhub.domain.ids import DeviceId, new_id
from calhub.emulators.graph.access import mint_token
from calhub.emulators.graph.state import GraphState
from calhub.providers.budget import RequestBudget
from calhub.providers.msgraph.client import GraphClient
from calhub.providers.msgraph.provider import MicrosoftGraphProvider
from calhub.storage.unit_of_work import UnitOfWork, UnitOfWorkFactory
from calhub.sync.engine import MirrorWindow, SyncApplier, sync_calendar
from tests.emulators.graph.fixtures import START
from tests.emulators.graph.seeds import ADELE, ALEX, APP_ID, CONTOSO, ROOM_100
from tests.providers.msgraph.tokens import EmulatorTokens
from tests.storage.factories import add_calendar, add_tenant

ORIGIN = "http://graph.emu.test"
WINDOW = MirrorWindow(days_back=1, days_ahead=30)


@pytest.fixture
async def provider(
    graph_app: FastAPI, graph_state: GraphState
) -> AsyncIterator[MicrosoftGraphProvider]:
    client = GraphClient(
        EmulatorTokens(graph_state),
        base_url=f"{ORIGIN}/v1.0",
        transport=httpx.ASGITransport(app=graph_app),
        budget=RequestBudget(rate=1000, burst=1000),
    )
    provider = MicrosoftGraphProvider(client, page_size=3)
    yield provider
    await provider.close()


@pytest.fixture
async def outlook(graph_app: FastAPI, graph_state: GraphState) -> AsyncIterator[httpx.AsyncClient]:
    """Adele's calendar as Outlook would change it, plus the emulator's control API."""
    tenant = graph_state.tenants[CONTOSO]
    headers = {"Authorization": f"Bearer {mint_token(graph_state, tenant, tenant.apps[APP_ID])}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=graph_app), base_url=ORIGIN, headers=headers
    ) as client:
        yield client


@pytest.fixture
async def calendar(uow_factory: UnitOfWorkFactory) -> Calendar:
    tenant = await add_tenant(uow_factory)
    return await add_calendar(
        uow_factory, tenant.id, owner="adele@contoso.test", provider_calendar_id=ADELE
    )


def _slot(day: int, hour: int, minutes: int = 60) -> dict[str, Any]:
    end_hour, end_minute = divmod(hour * 60 + minutes, 60)
    return {
        "start": {"dateTime": f"2026-03-{day:02d}T{hour:02d}:00:00", "timeZone": "UTC"},
        "end": {
            "dateTime": f"2026-03-{day:02d}T{end_hour:02d}:{end_minute:02d}:00",
            "timeZone": "UTC",
        },
    }


async def _create(
    outlook: httpx.AsyncClient, body: dict[str, Any], mailbox: str = "adele@contoso.test"
) -> dict[str, Any]:
    response = await outlook.post(f"/v1.0/users/{mailbox}/events", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _graph_view(
    outlook: httpx.AsyncClient, mailbox: str = "adele@contoso.test"
) -> set[tuple[str, datetime, datetime]]:
    """What Graph shows in the mirror window: (subject, start, end) of every instance."""
    span = WINDOW.around(START)
    params: dict[str, str] | None = {
        "startDateTime": span.start.isoformat(),
        "endDateTime": span.end.isoformat(),
        "$top": "50",
    }
    url: str | None = f"/v1.0/users/{mailbox}/calendarView"
    seen: set[tuple[str, datetime, datetime]] = set()
    while url:
        answer = await outlook.get(url, params=params, headers={"Prefer": 'outlook.timezone="UTC"'})
        page = answer.json()
        for item in page["value"]:
            seen.add((item["subject"], _utc(item["start"]), _utc(item["end"])))
        url, params = page.get("@odata.nextLink"), None
    return seen


def _utc(value: dict[str, str]) -> datetime:
    return datetime.fromisoformat(value["dateTime"][:19]).replace(tzinfo=UTC)


async def _mirror_view(
    uow_factory: UnitOfWorkFactory, calendar: Calendar
) -> set[tuple[str, datetime, datetime]]:
    async with uow_factory() as uow:
        snapshot = await uow.mirror.mirror_snapshot(calendar.tenant_id, calendar.id)
    seen: set[tuple[str, datetime, datetime]] = set()
    for provider_id, event in snapshot.events.items():
        for occurrence in snapshot.occurrences[provider_id]:
            assert isinstance(occurrence.start, datetime)
            assert isinstance(occurrence.end, datetime)
            seen.add(
                (event.subject, occurrence.start.astimezone(UTC), occurrence.end.astimezone(UTC))
            )
    return seen


async def _sync(
    uow_factory: UnitOfWorkFactory,
    provider: MicrosoftGraphProvider,
    calendar: Calendar,
    applier: SyncApplier | None = None,
    device_ids: Sequence[DeviceId] | None = None,
) -> bool:
    async with uow_factory.reading() as uow:
        current = await uow.calendars.get(calendar.tenant_id, calendar.id)
    assert current is not None
    outcome = await sync_calendar(
        uow_factory,
        provider,
        current,
        clock=FixedClock(START),
        window=WINDOW,
        occurrence_limit=500,
        device_ids=device_ids,
        applier=applier,
    )
    assert outcome.problems == ()
    return outcome.full


async def test_the_mirror_follows_graph_through_changes_and_a_resync(
    uow_factory: UnitOfWorkFactory,
    provider: MicrosoftGraphProvider,
    outlook: httpx.AsyncClient,
    calendar: Calendar,
) -> None:
    single = await _create(outlook, {"subject": "Design review", **_slot(3, 10)})
    doomed = await _create(outlook, {"subject": "Doomed", **_slot(4, 9)})
    series = await _create(
        outlook,
        {
            "subject": "Standup",
            **_slot(2, 9, 15),
            "recurrence": {
                "pattern": {"type": "daily", "interval": 1},
                "range": {"type": "numbered", "startDate": "2026-03-02", "numberOfOccurrences": 10},
            },
        },
    )
    assert await _sync(uow_factory, provider, calendar) is True
    assert await _mirror_view(uow_factory, calendar) == await _graph_view(outlook)

    instances = (
        await outlook.get(
            f"/v1.0/users/adele@contoso.test/events/{series['id']}/instances"
            "?startDateTime=2026-03-04T00:00:00Z&endDateTime=2026-03-06T00:00:00Z"
        )
    ).json()["value"]
    moved, cancelled = instances[0], instances[1]
    patch = await outlook.patch(
        f"/v1.0/users/adele@contoso.test/events/{moved['id']}",
        json={"subject": "Standup (late)", **_slot(4, 11, 15)},
    )
    assert patch.status_code == 200, patch.text
    delete = await outlook.delete(f"/v1.0/users/adele@contoso.test/events/{cancelled['id']}")
    assert delete.status_code == 204
    await outlook.patch(f"/v1.0/users/adele@contoso.test/events/{single['id']}", json=_slot(3, 14))
    await outlook.delete(f"/v1.0/users/adele@contoso.test/events/{doomed['id']}")

    assert await _sync(uow_factory, provider, calendar) is False
    mirrored = await _mirror_view(uow_factory, calendar)
    assert mirrored == await _graph_view(outlook)
    assert (
        "Standup (late)",
        datetime(2026, 3, 4, 11, tzinfo=UTC),
        datetime(2026, 3, 4, 11, 15, tzinfo=UTC),
    ) in mirrored
    assert not any(subject == "Doomed" for subject, _, _ in mirrored)

    await outlook.post("/_emulator/mailboxes/adele@contoso.test/expire-delta")
    await outlook.delete(f"/v1.0/users/adele@contoso.test/events/{single['id']}")
    await _create(outlook, {"subject": "Born during the outage", **_slot(5, 16)})
    assert await _sync(uow_factory, provider, calendar) is True
    assert await _mirror_view(uow_factory, calendar) == await _graph_view(outlook)


class _CountingFactory(UnitOfWorkFactory):
    """Counts the transactions begun (units of work made for writing)."""

    transactions = 0

    def __call__(self) -> UnitOfWork:
        self.transactions += 1
        return super().__call__()


def _counting_applier(uow_factory: UnitOfWorkFactory) -> tuple[_CountingFactory, SyncApplier]:
    counting = _CountingFactory(uow_factory.engine, uow_factory.keyring)
    # Every test hands over at most three rounds, all within half a second: one group (of a
    # tenant) takes them all, whatever order the reads finish in.
    applier = SyncApplier(counting, FixedClock(START), 500, gather_s=0.5, gather_up_to=3)
    return counting, applier


MAILBOXES = {"adele@contoso.test": ADELE, "alex@contoso.test": ALEX, "cf100@contoso.test": ROOM_100}


async def _three_calendars(
    uow_factory: UnitOfWorkFactory, outlook: httpx.AsyncClient
) -> dict[str, Calendar]:
    tenant = await add_tenant(uow_factory)
    calendars = {}
    for day, (mailbox, graph_id) in enumerate(MAILBOXES.items(), start=2):
        calendars[mailbox] = await add_calendar(
            uow_factory, tenant.id, owner=mailbox, provider_calendar_id=graph_id
        )
        await _create(outlook, {"subject": f"Planning {mailbox}", **_slot(day, 10)}, mailbox)
    return calendars


async def test_concurrent_passes_share_one_transaction_and_each_mirror_follows_graph(
    uow_factory: UnitOfWorkFactory, provider: MicrosoftGraphProvider, outlook: httpx.AsyncClient
) -> None:
    calendars = await _three_calendars(uow_factory, outlook)
    counting, applier = _counting_applier(uow_factory)

    fulls = await asyncio.gather(
        *(_sync(counting, provider, c, applier) for c in calendars.values())
    )

    assert fulls == [True, True, True]
    assert counting.transactions == 1
    for mailbox, calendar in calendars.items():
        mirrored = await _mirror_view(uow_factory, calendar)
        assert mirrored == await _graph_view(outlook, mailbox)
        assert len(mirrored) == 1


async def test_when_the_shared_transaction_fails_each_pass_is_applied_alone(
    uow_factory: UnitOfWorkFactory, provider: MicrosoftGraphProvider, outlook: httpx.AsyncClient
) -> None:
    calendars = await _three_calendars(uow_factory, outlook)
    counting, applier = _counting_applier(uow_factory)
    # Alex's pass believes the calendar has a device it does not have: its status update finds
    # the plan stale, which fails the shared transaction.
    ghost_device = [DeviceId(new_id(START))]

    await asyncio.gather(
        *(
            _sync(
                counting, provider, calendar, applier, ghost_device if "alex" in mailbox else None
            )
            for mailbox, calendar in calendars.items()
        )
    )

    # The shared one (rolled back), one each alone, and Alex's again with its devices re-read.
    assert counting.transactions == 5
    for mailbox, calendar in calendars.items():
        assert await _mirror_view(uow_factory, calendar) == await _graph_view(outlook, mailbox)
        async with uow_factory() as uow:
            stored = await uow.calendars.get(calendar.tenant_id, calendar.id)
        assert stored is not None
        assert stored.sync_cursor is not None


async def test_passes_of_different_tenants_never_share_a_transaction(
    uow_factory: UnitOfWorkFactory, provider: MicrosoftGraphProvider, outlook: httpx.AsyncClient
) -> None:
    calendars = {}
    for day, mailbox in enumerate(["adele@contoso.test", "alex@contoso.test"], start=2):
        tenant = await add_tenant(uow_factory, name=mailbox)
        calendars[mailbox] = await add_calendar(
            uow_factory, tenant.id, owner=mailbox, provider_calendar_id=MAILBOXES[mailbox]
        )
        await _create(outlook, {"subject": f"Planning {mailbox}", **_slot(day, 10)}, mailbox)
    counting, applier = _counting_applier(uow_factory)

    await asyncio.gather(*(_sync(counting, provider, c, applier) for c in calendars.values()))

    assert counting.transactions == 2
    for mailbox, calendar in calendars.items():
        assert await _mirror_view(uow_factory, calendar) == await _graph_view(outlook, mailbox)


async def test_a_pass_that_brings_no_change_only_records_the_sync(
    uow_factory: UnitOfWorkFactory,
    provider: MicrosoftGraphProvider,
    outlook: httpx.AsyncClient,
    calendar: Calendar,
) -> None:
    """Most push messages answer to nothing new (Google says only that something changed): such
    a pass reads no events and writes only the calendar's sync status."""
    await _create(outlook, {"subject": "Standup", **_slot(2, 9)})
    await _sync(uow_factory, provider, calendar, device_ids=[])
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    async with uow_factory.reading() as uow:
        current = await uow.calendars.get(calendar.tenant_id, calendar.id)
    assert current is not None
    sqlalchemy_event.listen(uow_factory.engine.sync_engine, "before_cursor_execute", record)
    try:
        outcome = await sync_calendar(
            uow_factory, provider, current, clock=FixedClock(START), window=WINDOW,
            occurrence_limit=500, device_ids=[],
        )  # fmt: skip
    finally:
        sqlalchemy_event.remove(uow_factory.engine.sync_engine, "before_cursor_execute", record)

    assert (outcome.changes, outcome.upserted, outcome.deleted) == (0, 0, 0)
    assert len(statements) == 1, statements
    assert "UPDATE calendars" in statements[0]
    assert await _mirror_view(uow_factory, calendar) == await _graph_view(outlook)
