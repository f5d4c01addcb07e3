"""Automatic replies through ``MicrosoftGraphProvider``: set in Outlook (the emulator), read back
as instants, in whatever zone the window or the mailbox names."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from calhub.domain.clock import FixedClock
from calhub.domain.presence import AutomaticReplies, ReplyStatus
from calhub.providers.base import CalendarRef, InvalidResponse, MailboxOutOfScope
from calhub.providers.msgraph.client import GraphClient
from calhub.providers.msgraph.presence import automatic_replies_from
from calhub.providers.msgraph.provider import MicrosoftGraphProvider
from tests.emulators.graph.fixtures import START

ADELE = CalendarRef("adele@contoso.test")  # her mailbox is in W. Europe Standard Time


@pytest.fixture
async def provider(client: GraphClient) -> AsyncIterator[MicrosoftGraphProvider]:
    graph = MicrosoftGraphProvider(client, clock=FixedClock(START))
    yield graph
    await graph.close()


async def set_replies(emulator: httpx.AsyncClient, **replies: Any) -> None:
    response = await emulator.patch(
        "/v1.0/users/adele@contoso.test/mailboxSettings",
        json={"automaticRepliesSetting": replies},
    )
    assert response.status_code == 200, response.text


async def test_graph_says_it_reads_presence(provider: MicrosoftGraphProvider) -> None:
    assert provider.capabilities.presence


async def test_a_fresh_mailbox_has_replies_disabled(provider: MicrosoftGraphProvider) -> None:
    assert await provider.automatic_replies(ADELE) == AutomaticReplies(ReplyStatus.DISABLED)


async def test_always_enabled_needs_no_window(
    provider: MicrosoftGraphProvider, emulator: httpx.AsyncClient
) -> None:
    await set_replies(emulator, status="AlwaysEnabled")
    assert await provider.automatic_replies(ADELE) == AutomaticReplies(ReplyStatus.ALWAYS_ENABLED)


@pytest.mark.parametrize(
    ("zone", "start_utc"),
    [
        ("UTC", datetime(2026, 3, 9, 8, 0, tzinfo=UTC)),
        ("Pacific Standard Time", datetime(2026, 3, 9, 15, 0, tzinfo=UTC)),  # Windows, PDT
        ("Asia/Tokyo", datetime(2026, 3, 8, 23, 0, tzinfo=UTC)),  # IANA
    ],
)
async def test_a_scheduled_window_is_read_in_its_own_zone(
    provider: MicrosoftGraphProvider,
    emulator: httpx.AsyncClient,
    zone: str,
    start_utc: datetime,
) -> None:
    await set_replies(
        emulator,
        status="scheduled",
        scheduledStartDateTime={"dateTime": "2026-03-09T08:00:00", "timeZone": zone},
        scheduledEndDateTime={"dateTime": "2026-03-13T17:00:00.0000000", "timeZone": zone},
    )
    replies = await provider.automatic_replies(ADELE)
    assert replies.status is ReplyStatus.SCHEDULED
    assert replies.start == start_utc
    assert replies.end is not None
    assert replies.end - replies.start == (datetime(2026, 3, 13, 17) - datetime(2026, 3, 9, 8))


async def test_a_mailbox_outside_the_access_policy_is_out_of_scope(
    provider: MicrosoftGraphProvider,
) -> None:
    with pytest.raises(MailboxOutOfScope):
        await provider.automatic_replies(CalendarRef("megan@contoso.test"))


def settings(replies: dict[str, Any], time_zone: str | None = "UTC") -> dict[str, Any]:
    return {"automaticRepliesSetting": replies, "timeZone": time_zone}


def window(start_zone: str | None, end_zone: str | None = None) -> dict[str, Any]:
    return {
        "status": "Scheduled",
        "scheduledStartDateTime": {"dateTime": "2026-07-01T09:00:00.0000000"}
        | ({"timeZone": start_zone} if start_zone is not None else {}),
        "scheduledEndDateTime": {"dateTime": "2026-07-02T09:00:00.0000000"}
        | ({"timeZone": end_zone} if end_zone is not None else {}),
    }


def test_a_window_without_a_zone_is_in_the_mailboxs_zone() -> None:
    replies = automatic_replies_from(settings(window(None), "W. Europe Standard Time"))
    assert replies.start == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)  # CEST


def test_an_unknown_zone_falls_back_to_the_mailboxs_then_to_utc() -> None:
    in_mailbox_zone = automatic_replies_from(settings(window("Mars Standard Time"), "Asia/Tokyo"))
    assert in_mailbox_zone.start == datetime(2026, 7, 1, 0, 0, tzinfo=UTC)
    nothing_known = automatic_replies_from(settings(window("tzone://Microsoft/Custom"), "Nowhere"))
    assert nothing_known.start == datetime(2026, 7, 1, 9, 0, tzinfo=UTC)


def test_a_window_end_missing_is_kept_as_missing() -> None:
    raw = window("UTC")
    del raw["scheduledEndDateTime"]
    replies = automatic_replies_from(settings(raw))
    assert (replies.start, replies.end) == (datetime(2026, 7, 1, 9, tzinfo=UTC), None)


def test_the_window_of_replies_that_are_not_scheduled_is_ignored() -> None:
    raw = {"status": "disabled", "scheduledStartDateTime": {"dateTime": "garbage"}}
    assert automatic_replies_from(settings(raw)) == AutomaticReplies(ReplyStatus.DISABLED)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"automaticRepliesSetting": "on"},
        settings({"status": "sometimes"}),
        settings({"status": None}),
        settings({"status": "scheduled", "scheduledStartDateTime": {"dateTime": "next week"}}),
        settings({"status": "scheduled", "scheduledStartDateTime": "2026-07-01"}),
    ],
)
def test_unreadable_settings_are_invalid_responses(body: dict[str, Any]) -> None:
    with pytest.raises(InvalidResponse):
        automatic_replies_from(body)
