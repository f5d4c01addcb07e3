"""Google's watch channels as calhub's subscriptions, and their push messages, against the live
Google emulator and PostgreSQL: a channel per calendar pointing at ``/hooks/google``, push
messages authenticated by the channel token and stored once, renewal by replacement."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
import structlog
from sqlalchemy import select

from calhub.domain.calendars import Calendar, Subscription
from calhub.domain.ids import TenantId
from calhub.emulators.google.channels.store import Channel
from calhub.emulators.graph.clock import EmulatorClock
from calhub.providers.google.push import MalformedPush, PushMessage, channel_of
from calhub.services import google_connections, google_intake
from calhub.services.calendar_sync import sync_calendar_job, sync_quiet_calendars
from calhub.services.context import HubContext
from calhub.services.discovery import discover_calendars
from calhub.services.google_intake import (
    PUSH_PATH,
    IntakeUnavailable,
    PushIntake,
    PushOutcome,
    store_pushes,
)
from calhub.services.jobs import ENSURE_SUBSCRIPTION_TASK, SYNC_CALENDAR_TASK, JobRequest
from calhub.services.subscriptions import ensure_subscription, renew_due_subscriptions
from calhub.services.tenants import create_tenant
from calhub.storage.tables import notification_inbox
from calhub.storage.unit_of_work import UnitOfWork
from tests.emulators.google.seeds import BEN, CHLOE
from tests.hub_fixtures import RecordingJobQueue
from tests.services.google_world import LiveGoogle, northwind_credentials


async def _ben(hub: HubContext) -> Calendar:
    """Northwind connected and discovered; Ben's calendar."""
    tenant_id = (await create_tenant(hub.uow, hub.clock, "Northwind")).id
    outcome = await google_connections.create_google_connection(
        hub, tenant_id, northwind_credentials()
    )
    assert await discover_calendars(hub, tenant_id, outcome.connection.id) is not None
    async with hub.uow() as uow:
        found = await uow.calendars.list(tenant_id, connection_id=outcome.connection.id)
    _jobs(hub).take()
    return next(c for c in found if c.provider_calendar_id == BEN)


async def _subscribed(hub: HubContext, calendar: Calendar) -> Subscription:
    subscription = await ensure_subscription(hub, calendar.tenant_id, calendar.id)
    assert subscription is not None
    return subscription


def _jobs(hub: HubContext) -> RecordingJobQueue:
    assert isinstance(hub.jobs, RecordingJobQueue)
    return hub.jobs


def _channels(live_google: LiveGoogle, calendar: Calendar) -> list[Channel]:
    return [c for c in live_google.state.channels.live() if c.calendar_id == BEN]


def _push(subscription: Subscription, state: str, number: int, **changes: str) -> dict[str, str]:
    channel_id, resource_id = channel_of(subscription.provider_subscription_id)
    headers = {
        "X-Goog-Channel-ID": channel_id,
        "X-Goog-Resource-ID": resource_id,
        "X-Goog-Resource-State": state,
        "X-Goog-Message-Number": str(number),
        "X-Goog-Channel-Token": subscription.client_state.reveal(),
        "X-Goog-Resource-URI": "https://www.googleapis.com/calendar/v3/calendars/x/events",
    }
    return headers | changes


async def _inbox(hub: HubContext, tenant_id: TenantId) -> list[tuple[str, str]]:
    query = select(notification_inbox.c.change_type, notification_inbox.c.resource_id).where(
        notification_inbox.c.tenant_id == tenant_id
    )
    async with hub.uow() as uow:
        rows = await uow.connection.execute(query)
        return [(row.change_type, row.resource_id) for row in rows]


async def test_a_calendar_gets_a_watch_channel_to_the_google_hook(
    google_hub: HubContext, live_google: LiveGoogle
) -> None:
    calendar = await _ben(google_hub)

    subscription = await ensure_subscription(google_hub, calendar.tenant_id, calendar.id)

    assert subscription is not None
    [channel] = _channels(live_google, calendar)
    assert channel.address == f"https://calhub.test{PUSH_PATH}"
    assert channel.token == subscription.client_state.reveal()
    assert channel_of(subscription.provider_subscription_id) == (channel.id, channel.resource_id)
    assert subscription.expires_at == channel.expiration
    assert [task for task, _ in _jobs(google_hub).take()] == [SYNC_CALENDAR_TASK]


async def test_push_messages_are_authenticated_stored_once_and_queue_a_sync(
    google_hub: HubContext,
) -> None:
    calendar = await _ben(google_hub)
    subscription = await _subscribed(google_hub, calendar)
    _jobs(google_hub).take()
    resource_id = channel_of(subscription.provider_subscription_id)[1]

    confirmed = await PushIntake(google_hub).receive(_push(subscription, "sync", 1))
    assert confirmed is PushOutcome.CONFIRMED
    assert _jobs(google_hub).take() == []

    first = await PushIntake(google_hub).receive(_push(subscription, "exists", 7))
    again = await PushIntake(google_hub).receive(_push(subscription, "exists", 7))  # a retry
    later = await PushIntake(google_hub).receive(_push(subscription, "exists", 9))

    assert (first, again, later) == (
        PushOutcome.STORED,
        PushOutcome.DUPLICATE,
        PushOutcome.STORED,
    )
    assert await _inbox(google_hub, calendar.tenant_id) == [
        ("exists", resource_id),
        ("exists", resource_id),
    ]
    sync = {"tenant_id": str(calendar.tenant_id), "calendar_id": str(calendar.id), "full": False}
    assert _jobs(google_hub).take() == [(SYNC_CALENDAR_TASK, sync)]  # one waiting sync reads all


async def test_messages_arriving_together_are_stored_together_each_with_its_outcome(
    google_hub: HubContext,
) -> None:
    ben = await _ben(google_hub)
    async with google_hub.uow() as uow:
        found = await uow.calendars.list(ben.tenant_id, connection_id=ben.connection_id)
    chloe = next(c for c in found if c.provider_calendar_id == CHLOE)
    bens, chloes = [await _subscribed(google_hub, calendar) for calendar in (ben, chloe)]
    _jobs(google_hub).take()
    intake = PushIntake(google_hub)
    arriving = [
        *(_push(bens, "exists", n) for n in (5, 6, 6, 7)),  # 6 twice: Google's redelivery
        _push(chloes, "exists", 2),
        _push(chloes, "exists", 3, **{"X-Goog-Channel-Token": "guessed"}),
        _push(chloes, "sync", 1),
    ]

    outcomes = await asyncio.gather(*(intake.receive(headers) for headers in arriving))

    stored, duplicate = PushOutcome.STORED, PushOutcome.DUPLICATE
    assert outcomes == [
        stored,
        stored,
        duplicate,
        stored,
        stored,
        PushOutcome.FORGED,
        PushOutcome.CONFIRMED,
    ]
    assert len(await _inbox(google_hub, ben.tenant_id)) == 4
    synced = {arguments["calendar_id"] for task, arguments in _jobs(google_hub).take()}
    assert synced == {str(ben.id), str(chloe.id)}


class _CountingGroups:
    """Stands in for ``store_pushes``, noting each group's size."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    async def __call__(self, ctx: HubContext, messages: Sequence[PushMessage]) -> list[PushOutcome]:
        self.sizes.append(len(messages))
        return await store_pushes(ctx, messages)


@pytest.fixture
def groups(monkeypatch: pytest.MonkeyPatch) -> _CountingGroups:
    counting = _CountingGroups()
    monkeypatch.setattr(google_intake, "store_pushes", counting)
    return counting


async def test_a_message_arriving_within_the_gathering_window_joins_the_group(
    google_hub: HubContext, groups: _CountingGroups
) -> None:
    bens = await _subscribed(google_hub, await _ben(google_hub))
    intake = PushIntake(google_hub, gather_s=2.0)

    first = asyncio.create_task(intake.receive(_push(bens, "exists", 21)))
    await asyncio.sleep(0.1)  # the first waits for company
    second = intake.receive(_push(bens, "exists", 22))

    assert await asyncio.gather(first, second) == [PushOutcome.STORED, PushOutcome.STORED]
    assert groups.sizes == [2]


async def test_a_full_enough_group_goes_without_waiting_out_the_window(
    google_hub: HubContext, groups: _CountingGroups
) -> None:
    bens = await _subscribed(google_hub, await _ben(google_hub))
    intake = PushIntake(google_hub, gather_up_to=2, gather_s=600.0)

    async with asyncio.timeout(30):  # far less than the window
        outcomes = await asyncio.gather(
            *(intake.receive(_push(bens, "exists", number)) for number in (31, 32))
        )

    assert outcomes == [PushOutcome.STORED, PushOutcome.STORED]
    assert groups.sizes == [2]


@pytest.mark.parametrize(
    ("changes", "outcome"),
    [
        ({"X-Goog-Channel-Token": "guessed"}, PushOutcome.FORGED),
        ({"X-Goog-Channel-Token": ""}, PushOutcome.FORGED),
        ({"X-Goog-Channel-ID": "not-a-channel-of-calhub"}, PushOutcome.UNKNOWN),
        ({"X-Goog-Resource-ID": "someone-elses"}, PushOutcome.UNKNOWN),
    ],
)
async def test_unknown_channels_and_wrong_tokens_are_refused(
    google_hub: HubContext, changes: dict[str, str], outcome: PushOutcome
) -> None:
    calendar = await _ben(google_hub)
    subscription = await _subscribed(google_hub, calendar)
    _jobs(google_hub).take()

    result = await PushIntake(google_hub).receive(_push(subscription, "exists", 3, **changes))

    assert (result, result.accepted) == (outcome, False)
    assert await _inbox(google_hub, calendar.tenant_id) == []
    assert _jobs(google_hub).take() == []


async def test_a_new_channels_sync_message_before_it_is_stored_is_no_warning(
    google_hub: HubContext,
) -> None:
    """Google sends a channel's sync message as the channel is opened, often before calhub has
    stored it: refused like any unknown channel, but no warning at every new channel."""
    calendar = await _ben(google_hub)
    subscription = await _subscribed(google_hub, calendar)
    unstored = _push(subscription, "sync", 1, **{"X-Goog-Channel-ID": "not-stored-yet"})
    a_change = _push(subscription, "exists", 2, **{"X-Goog-Channel-ID": "not-stored-yet"})

    with structlog.testing.capture_logs() as logs:
        first = await PushIntake(google_hub).receive(unstored)
        second = await PushIntake(google_hub).receive(a_change)

    assert (first, second) == (PushOutcome.UNKNOWN, PushOutcome.UNKNOWN)
    assert [(entry["event"], entry["log_level"]) for entry in logs] == [
        ("push_sync_before_channel_stored", "info"),
        ("push_rejected", "warning"),
    ]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Goog-Channel-ID": "a", "X-Goog-Resource-ID": "b", "X-Goog-Resource-State": "exists"},
        {
            "X-Goog-Channel-ID": "a",
            "X-Goog-Resource-ID": "b",
            "X-Goog-Resource-State": "gone",
            "X-Goog-Message-Number": "1",
        },
    ],
)
async def test_a_request_that_is_not_a_push_message_is_malformed(
    google_hub: HubContext, headers: dict[str, str]
) -> None:
    with pytest.raises(MalformedPush):
        await PushIntake(google_hub).receive(headers)


class _RefusingQueue(RecordingJobQueue):
    async def defer_many(
        self, jobs: Sequence[JobRequest], *, within: UnitOfWork | None = None
    ) -> int:
        raise ConnectionError("the queue's database is unreachable")

    async def defer(self, task_name: str, **arguments: Any) -> int | None:
        raise ConnectionError("the queue's database is unreachable")


async def test_when_the_sync_cannot_be_queued_nothing_is_kept(google_hub: HubContext) -> None:
    calendar = await _ben(google_hub)
    subscription = await _subscribed(google_hub, calendar)
    refusing = HubContext(
        uow=google_hub.uow,
        jobs=_RefusingQueue(),
        clock=google_hub.clock,
        providers=google_hub.providers,
        public_base_url=google_hub.public_base_url,
    )

    with pytest.raises(IntakeUnavailable):
        await PushIntake(refusing).receive(_push(subscription, "exists", 4))

    assert await _inbox(google_hub, calendar.tenant_id) == []
    retried = await PushIntake(google_hub).receive(
        _push(subscription, "exists", 4)
    )  # Google retries
    assert retried is PushOutcome.STORED


async def test_renewing_a_channel_replaces_it_new_one_first(
    google_hub: HubContext, live_google: LiveGoogle
) -> None:
    calendar = await _ben(google_hub)
    old = await ensure_subscription(google_hub, calendar.tenant_id, calendar.id)
    assert old is not None
    _jobs(google_hub).take()
    assert isinstance(google_hub.clock, EmulatorClock)
    google_hub.clock.advance(timedelta(days=2, hours=12).total_seconds())

    due = await renew_due_subscriptions(google_hub)  # the module's other tests' ones too

    jobs = _jobs(google_hub).take()
    assert len(jobs) == due
    assert {task for task, _ in jobs} == {ENSURE_SUBSCRIPTION_TASK}
    assert {"tenant_id": str(calendar.tenant_id), "calendar_id": str(calendar.id)} in [
        arguments for _, arguments in jobs
    ]
    assert [c.id for c in _channels(live_google, calendar)] == [
        channel_of(old.provider_subscription_id)[0]
    ]  # renewing did not touch Google: the job replaces it

    new = await ensure_subscription(google_hub, calendar.tenant_id, calendar.id)

    assert new is not None
    assert new.provider_subscription_id != old.provider_subscription_id
    [channel] = _channels(live_google, calendar)  # the old channel was stopped
    assert channel.id == channel_of(new.provider_subscription_id)[0]
    refused = await PushIntake(google_hub).receive(_push(old, "exists", 12))
    assert refused is PushOutcome.UNKNOWN
    assert (await PushIntake(google_hub).receive(_push(new, "exists", 2))).accepted


async def test_a_pushed_calendar_is_checked_again_soon_in_case_a_later_push_was_lost(
    google_hub: HubContext,
) -> None:
    calendar = await _ben(google_hub)
    subscription = await _subscribed(google_hub, calendar)
    await PushIntake(google_hub).receive(_push(subscription, "exists", 2))
    assert isinstance(google_hub.clock, EmulatorClock)
    sync = {"tenant_id": str(calendar.tenant_id), "calendar_id": str(calendar.id), "full": False}

    async def checks_after(seconds: float) -> list[tuple[str, dict[str, Any]]]:
        google_hub.clock.advance(seconds)
        await sync_quiet_calendars(google_hub)
        # The quiet pass also finds never-synced calendars of this database's other tests.
        queued = [job for job in _jobs(google_hub).take() if job[1] == sync]
        for _ in queued:
            await sync_calendar_job(google_hub, calendar.tenant_id, calendar.id)
        return queued

    await sync_calendar_job(google_hub, calendar.tenant_id, calendar.id)  # the push's sync
    _jobs(google_hub).take()
    # Google may drop pushes without a word: 1, 2, 4... minutes after the push calhub looks.
    assert await checks_after(30) == []
    assert await checks_after(31) == [(SYNC_CALENDAR_TASK, sync)]
    assert await checks_after(61) == []
    assert await checks_after(62) == [(SYNC_CALENDAR_TASK, sync)]
