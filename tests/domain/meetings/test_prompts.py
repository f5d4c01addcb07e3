"""Join-prompt planning: against an in-memory ledger that applies plans the way storage does
(new versions numbered after the target's last) and a dispatcher that fires due prompts."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from calhub.domain.events import Attendee, Event, Occurrence
from calhub.domain.ids import CalendarId, DeviceId, EventId, TenantId
from calhub.domain.joinlinks.model import JoinDetails
from calhub.domain.meetings.model import SINGLE_EVENT_SLOT, booking_id, meeting_for_device
from calhub.domain.meetings.prompts import (
    LivePrompt,
    PromptState,
    PromptTarget,
    WantedPrompt,
    join_fingerprint,
    plan_prompts,
    prompt_payload,
    wanted_prompt,
)

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
LEAD = timedelta(minutes=5)
MEETING = EventId(uuid.UUID(int=1))
ROOM = DeviceId(uuid.UUID(int=10))
CLIENT = DeviceId(uuid.UUID(int=11))
SLOT = T0 + timedelta(hours=1)  # the occurrence's original start


@dataclass
class Row:
    id: int
    target: PromptTarget
    version: int
    state: PromptState
    start: datetime
    end: datetime
    fire_at: datetime
    digest: bytes
    content: dict[str, object]


@dataclass
class Ledger:
    """The join_prompts table and a dispatcher, in memory."""

    rows: list[Row] = field(default_factory=list)
    sent: list[tuple[PromptTarget, int]] = field(default_factory=list)
    withdrawn: list[tuple[PromptTarget, int]] = field(default_factory=list)

    def live(self, now: datetime) -> list[LivePrompt]:
        return [
            LivePrompt(
                r.id,
                r.target,
                r.version,
                r.state,
                r.start,
                r.end,
                r.fire_at,
                r.digest,
                r.content if r.state is PromptState.SCHEDULED else None,
            )
            for r in self.rows
            if r.state is PromptState.SCHEDULED or (r.state is PromptState.SENT and r.end > now)
        ]

    def reconcile(self, wanted: Sequence[WantedPrompt], now: datetime) -> None:
        plan = plan_prompts(wanted, self.live(now), now)
        for prompt in plan.withdraw:
            row = next(r for r in self.rows if r.id == prompt.id)
            assert row.state is PromptState.SENT
            row.state = PromptState.WITHDRAWN
            self.withdrawn.append((row.target, row.version))
        self.rows = [r for r in self.rows if r.id not in plan.delete]
        for want in plan.create:
            version = 1 + max((r.version for r in self.rows if r.target == want.target), default=0)
            next_id = 1 + max((r.id for r in self.rows), default=0)
            self.rows.append(
                Row(
                    next_id,
                    want.target,
                    version,
                    PromptState.SCHEDULED,
                    want.start,
                    want.end,
                    want.fire_at,
                    want.join_digest,
                    dict(want.content),
                )
            )

    def fire(self, now: datetime) -> None:
        for row in sorted(self.rows, key=lambda r: (r.fire_at, r.id)):
            if row.state is PromptState.SCHEDULED and row.fire_at <= now:
                row.state = PromptState.DROPPED if row.end <= now else PromptState.SENT
                if row.state is PromptState.SENT:
                    self.sent.append((row.target, row.version))

    def live_for(self, target: PromptTarget, now: datetime) -> list[LivePrompt]:
        return [p for p in self.live(now) if p.target == target]


def want(
    device: DeviceId,
    start: datetime,
    *,
    minutes: int = 30,
    join: str = "a",
    title: str = "Planning",
    lead: timedelta = LEAD,
) -> WantedPrompt:
    return WantedPrompt(
        target=PromptTarget(device, MEETING, SLOT),
        start=start,
        end=start + timedelta(minutes=minutes),
        fire_at=start - lead,
        join_digest=f"{join}|{start.isoformat()}|{minutes}".encode(),  # as join_fingerprint
        content={"Title": title, "StartTimeBuffer": int(lead.total_seconds())},
    )


def test_a_new_meeting_is_scheduled_at_start_minus_lead_and_sent_once() -> None:
    ledger = Ledger()
    ledger.reconcile([want(ROOM, SLOT)], T0)
    assert [(r.fire_at, r.version) for r in ledger.rows] == [(SLOT - LEAD, 1)]
    for minutes in (54, 55, 56, 70):
        now = T0 + timedelta(minutes=minutes)
        ledger.reconcile([want(ROOM, SLOT)], now)
        ledger.fire(now)
    assert ledger.sent == [(PromptTarget(ROOM, MEETING, SLOT), 1)]


def test_created_inside_the_lead_time_fires_at_once() -> None:
    now = SLOT - timedelta(minutes=2)
    ledger = Ledger()
    ledger.reconcile([want(ROOM, SLOT)], now)
    assert [r.fire_at for r in ledger.rows] == [now]


def test_a_meeting_already_over_gets_nothing() -> None:
    now = SLOT + timedelta(hours=1)
    ledger = Ledger()
    ledger.reconcile([want(ROOM, SLOT)], now)
    assert ledger.rows == []


def test_a_move_inside_the_lead_time_withdraws_and_sends_again() -> None:
    ledger = Ledger()
    target = PromptTarget(ROOM, MEETING, SLOT)
    ledger.reconcile([want(ROOM, SLOT)], T0)
    now = SLOT - timedelta(minutes=4)
    ledger.fire(now)
    moved = SLOT - timedelta(minutes=1)  # its new fire time has passed too
    ledger.reconcile([want(ROOM, moved)], now)
    ledger.fire(now)
    assert ledger.withdrawn == [(target, 1)]
    assert ledger.sent == [(target, 1), (target, 2)]
    assert [(p.version, p.start) for p in ledger.live_for(target, now)] == [(2, moved)]


def test_a_move_back_after_a_withdrawal_sends_again_with_a_new_version() -> None:
    ledger = Ledger()
    target = PromptTarget(ROOM, MEETING, SLOT)
    now = SLOT - timedelta(minutes=3)
    ledger.reconcile([want(ROOM, SLOT)], now)
    ledger.fire(now)
    ledger.reconcile([want(ROOM, SLOT + timedelta(hours=2))], now)  # moved away: withdrawn
    ledger.fire(now)
    ledger.reconcile([want(ROOM, SLOT)], now)  # and back
    ledger.fire(now)
    # Version 2 was first scheduled for the new time, never sent, and deleted; its number is
    # free again: what counts is that no version goes out twice.
    assert ledger.sent == [(target, 1), (target, 2)]
    assert ledger.withdrawn == [(target, 1)]
    assert [(p.version, p.start) for p in ledger.live_for(target, now)] == [(2, SLOT)]


def test_cancelling_before_the_fire_time_sends_nothing() -> None:
    ledger = Ledger()
    ledger.reconcile([want(ROOM, SLOT)], T0)
    ledger.reconcile([], T0 + timedelta(minutes=10))
    ledger.fire(SLOT)
    assert ledger.rows == []
    assert ledger.sent == []


def test_a_title_change_reschedules_quietly_but_does_not_resend() -> None:
    ledger = Ledger()
    target = PromptTarget(ROOM, MEETING, SLOT)
    ledger.reconcile([want(ROOM, SLOT)], T0)
    ledger.reconcile([want(ROOM, SLOT, title="Review")], T0)
    assert [r.content["Title"] for r in ledger.rows] == ["Review"]
    now = SLOT - timedelta(minutes=1)
    ledger.fire(now)
    ledger.reconcile([want(ROOM, SLOT, title="Retro")], now)
    ledger.fire(now)
    assert ledger.sent == [(target, ledger.rows[0].version)]
    assert ledger.withdrawn == []


def test_a_longer_lead_after_sending_does_not_resend() -> None:
    ledger = Ledger()
    now = SLOT - timedelta(minutes=4)
    ledger.reconcile([want(ROOM, SLOT)], now)
    ledger.fire(now)
    longer = [want(ROOM, SLOT, lead=timedelta(minutes=10))]
    assert not plan_prompts(longer, ledger.live(now), now)
    assert len(ledger.sent) == 1


# -- properties ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    advance_min: int
    start_offset_min: int | None  # None: the meeting is gone (deleted, cancelled, no join info)
    join: str
    title: str
    lead_min: int
    devices: tuple[DeviceId, ...]


steps = st.lists(
    st.builds(
        Step,
        advance_min=st.integers(0, 40),
        start_offset_min=st.one_of(st.none(), st.integers(-30, 120)),
        join=st.sampled_from(["a", "b"]),
        title=st.sampled_from(["Planning", "Review"]),
        lead_min=st.sampled_from([0, 5, 15]),
        devices=st.sampled_from([(ROOM,), (ROOM, CLIENT), (CLIENT,), ()]),
    ),
    min_size=1,
    max_size=12,
)


def wanted_at(step: Step) -> list[WantedPrompt]:
    if step.start_offset_min is None:
        return []
    start = SLOT + timedelta(minutes=step.start_offset_min)
    lead = timedelta(minutes=step.lead_min)
    return [
        want(device, start, join=step.join, title=step.title, lead=lead) for device in step.devices
    ]


@settings(max_examples=300, deadline=None)
@given(steps)
def test_the_ledger_always_matches_the_mirror(history: list[Step]) -> None:
    ledger = Ledger()
    now = T0
    for step in history:
        now += timedelta(minutes=step.advance_min)
        wanted = wanted_at(step)
        ledger.reconcile(wanted, now)
        # Level-triggered: a second look at the same mirror changes nothing.
        assert not plan_prompts(wanted, ledger.live(now), now)
        for device in (ROOM, CLIENT):
            target = PromptTarget(device, MEETING, SLOT)
            live = ledger.live_for(target, now)
            assert len(live) <= 1, "never two live prompts for one occurrence and device"
            wish = next((w for w in wanted if w.target == target and w.end > now), None)
            if wish is None:
                assert live == []
            else:
                assert [p.join_digest for p in live] == [wish.join_digest]
                assert live[0].start == wish.start
        ledger.fire(now)
        versions = [(r.target, r.version) for r in ledger.rows]
        assert len(versions) == len(set(versions))
        assert len(ledger.sent) == len(set(ledger.sent)), "each version is sent at most once"
        assert set(ledger.withdrawn) <= set(ledger.sent)


# -- building a prompt from a meeting ------------------------------------------------------------


def test_a_meeting_becomes_a_prompt_with_its_booking_snapshot() -> None:
    webex = JoinDetails(provider="webex", source="location", join_url="https://acme.webex.com/m/1")
    event = Event(
        id=MEETING,
        tenant_id=TenantId(uuid.UUID(int=2)),
        calendar_id=CalendarId(uuid.UUID(int=3)),
        provider_event_id="p1",
        start=SLOT,
        end=SLOT + timedelta(minutes=30),
        subject="Planning",
        organizer=Attendee("olga@example.com", "Olga"),
        join=webex,
    )
    occurrence = Occurrence(MEETING, SLOT, SLOT + timedelta(minutes=30), SLOT)
    meeting = meeting_for_device(event, occurrence)
    prompt = wanted_prompt(meeting, ROOM, LEAD, b"digest")
    # A single event has one occurrence whatever its time: moving it keeps its target and Id.
    assert prompt.target == PromptTarget(ROOM, MEETING, SINGLE_EVENT_SLOT)
    assert prompt.fire_at == SLOT - LEAD
    assert prompt.content["Id"] == booking_id(MEETING, SINGLE_EVENT_SLOT)
    assert prompt.content["Time"]["StartTimeBuffer"] == 300
    assert prompt.content["DialInfo"]["ConnectMode"] == "OBTP"
    assert "Planning" not in repr(prompt)


def test_the_fingerprint_changes_with_join_details_and_times_only() -> None:
    a = JoinDetails(provider="zoom", source="body", join_url="https://zoom.us/j/1", passcode="9")
    end = SLOT + timedelta(hours=1)
    same = join_fingerprint(dataclasses.replace(a), SLOT.astimezone(), end)
    assert join_fingerprint(a, SLOT, end) == same
    assert join_fingerprint(a, SLOT, end + timedelta(minutes=1)) != same
    assert join_fingerprint(dataclasses.replace(a, passcode="8"), SLOT, end) != same


def test_the_payload_carries_ids_and_times_only() -> None:
    target = PromptTarget(ROOM, MEETING, SLOT)
    payload = prompt_payload(7, target, 2, fire_at=SLOT - LEAD, start=SLOT, end=SLOT + LEAD)
    assert payload == {
        "prompt_id": 7,
        "device_id": str(ROOM),
        "event_id": str(MEETING),
        "booking_id": booking_id(MEETING, SLOT),
        "version": 2,
        "fire_at": "2026-03-02T09:55:00+00:00",
        "start": "2026-03-02T10:00:00+00:00",
        "end": "2026-03-02T10:05:00+00:00",
    }
