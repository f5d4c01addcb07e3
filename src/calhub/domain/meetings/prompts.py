"""Join prompts (One Button To Push): which prompts should exist and what to do about the ones
that do (issue 6, "OBTP"; docs/obtp.md, "Reconciling").

A prompt is one join notification for one occurrence on one device. Its ``PromptTarget`` is
(device, meeting, original start), where the meeting is the series a recurring occurrence
belongs to (or the single event), so an occurrence keeps its target when it is moved and becomes
an exception, exactly like its RoomOS ``booking_id``. Every target has a ledger of versions;
at most one of them is *live*: ``scheduled`` (not sent yet) or ``sent`` for a meeting that has
not ended. ``withdrawn`` and ``dropped`` rows are history.

``plan_prompts(wanted, live, now)`` compares the prompts the mirror calls for with the live ones
and decides, per target:

- wanted, and a live prompt already says the same → keep it (a sent one is never sent again);
- a scheduled prompt that is no longer wanted, or no longer says the same (join details, times,
  lead or booking content changed) → delete it: it was never sent;
- a sent prompt whose meeting is gone, cancelled, lost its join details or moved (another
  ``join_digest``), and has not ended → withdraw it (the device is told);
- wanted and nothing live says it → a new version, fired at start − lead, or at once when that
  is already past (created or moved inside the lead time); a meeting that has ended gets none.

It is level-triggered: run on any subset of targets (some events, a calendar, the horizon), any
number of times, it converges on the same ledger.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from calhub.domain.ids import DeviceId, EventId
from calhub.domain.joinlinks.model import JoinDetails
from calhub.domain.meetings.model import Meeting, booking_id
from calhub.domain.meetings.roomos import roomos_booking

__all__ = [
    "JOIN_EVENT",
    "PROMPT_HORIZON",
    "WITHDRAWN_EVENT",
    "LivePrompt",
    "PromptPlan",
    "PromptState",
    "PromptTarget",
    "WantedPrompt",
    "join_fingerprint",
    "plan_prompts",
    "prompt_event_fields",
    "prompt_payload",
    "wanted_prompt",
]

PROMPT_HORIZON = timedelta(hours=48)
"""How far ahead prompts are scheduled; a periodic pass extends it (docs/obtp.md)."""


class PromptState(enum.StrEnum):
    SCHEDULED = "scheduled"  # waiting for its fire time
    SENT = "sent"  # an ``obtp.join`` event went out
    WITHDRAWN = "withdrawn"  # sent, then the meeting went away or changed: ``obtp.withdrawn``
    DROPPED = "dropped"  # its meeting ended before it could fire (the dispatchers were down)


@dataclass(frozen=True, slots=True)
class PromptTarget:
    """One occurrence on one device: ``meeting_id`` is the series (or single event), ``slot``
    which occurrence of it (``calhub.domain.meetings.model.occurrence_slot``)."""

    device_id: DeviceId
    meeting_id: EventId
    slot: datetime


@dataclass(frozen=True, slots=True)
class WantedPrompt:
    """A prompt the mirror calls for. ``join_digest`` is a keyed digest of the join details
    and the times (``join_fingerprint``); ``content`` the RoomOS booking to snapshot."""

    target: PromptTarget
    start: datetime
    end: datetime
    fire_at: datetime
    join_digest: bytes
    content: Mapping[str, Any]

    def __repr__(self) -> str:  # the content holds the title and join details
        return f"WantedPrompt({self.target}, fire_at={self.fire_at.isoformat()})"


@dataclass(frozen=True, slots=True)
class LivePrompt:
    """A stored prompt that is scheduled, or sent for a meeting that has not ended.
    ``content`` is the snapshot of a scheduled one (None for a sent one: it is not compared)."""

    id: int
    target: PromptTarget
    version: int
    state: PromptState
    start: datetime
    end: datetime
    fire_at: datetime
    join_digest: bytes
    content: Mapping[str, Any] | None = None

    def __repr__(self) -> str:
        return f"LivePrompt(id={self.id}, version={self.version}, state={self.state.value})"


@dataclass(frozen=True, slots=True)
class PromptPlan:
    """What to do: ``create`` new versions (fire times already moved to ``now`` when past),
    ``delete`` scheduled prompts by id, ``withdraw`` sent ones."""

    create: tuple[WantedPrompt, ...] = ()
    delete: tuple[int, ...] = ()
    withdraw: tuple[LivePrompt, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.create or self.delete or self.withdraw)


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def join_fingerprint(join: JoinDetails | None, start: datetime, end: datetime) -> str:
    """The text a prompt's ``join_digest`` is computed over: the join details and the times.
    It holds join URLs and passcodes, so it is only ever stored as a keyed digest."""
    details = {} if join is None else {k: v for k, v in asdict(join).items() if v is not None}
    document = {"join": details, "start": _instant(start), "end": _instant(end)}
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def wanted_prompt(
    meeting: Meeting, device_id: DeviceId, lead: timedelta, join_digest: bytes
) -> WantedPrompt:
    """The prompt ``meeting`` (a timed occurrence with a join button) calls for on a device."""
    if not isinstance(meeting.start, datetime) or not isinstance(meeting.end, datetime):
        raise ValueError("all-day meetings get no join prompt")
    slot = meeting.slot
    if not isinstance(slot, datetime):
        raise ValueError("a timed occurrence has a timed original start")
    target = PromptTarget(device_id, meeting.series_id or meeting.event_id, slot)
    lead_s = int(lead.total_seconds())
    return WantedPrompt(
        target=target,
        start=meeting.start,
        end=meeting.end,
        fire_at=meeting.start - lead,
        join_digest=join_digest,
        content=roomos_booking(meeting, start_buffer_s=lead_s),
    )


def _says_the_same(live: LivePrompt, wanted: WantedPrompt, now: datetime) -> bool:
    if live.join_digest != wanted.join_digest:
        return False
    if live.state is PromptState.SENT:
        return True  # already out: a new lead or title is no reason to prompt again
    same_time = live.fire_at == wanted.fire_at or (live.fire_at <= now and wanted.fire_at <= now)
    return same_time and live.content == wanted.content


def plan_prompts(
    wanted: Iterable[WantedPrompt], live: Iterable[LivePrompt], now: datetime
) -> PromptPlan:
    """The plan that makes the live prompts of the targets in scope what ``wanted`` calls for
    (module docstring). Targets in neither input are untouched."""
    wanted_by_target = {prompt.target: prompt for prompt in wanted}
    live_by_target: dict[PromptTarget, list[LivePrompt]] = {}
    for prompt in live:
        live_by_target.setdefault(prompt.target, []).append(prompt)
    create: list[WantedPrompt] = []
    delete: list[int] = []
    withdraw: list[LivePrompt] = []
    for target in [*wanted_by_target, *(t for t in live_by_target if t not in wanted_by_target)]:
        want = wanted_by_target.get(target)
        if want is not None and want.end <= now:
            want = None  # over: nothing to prompt for
        stored: Sequence[LivePrompt] = live_by_target.get(target, ())
        kept = next((p for p in stored if want is not None and _says_the_same(p, want, now)), None)
        for prompt in stored:
            if prompt is kept:
                continue
            if prompt.state is PromptState.SCHEDULED:
                delete.append(prompt.id)
            elif prompt.end > now:
                withdraw.append(prompt)
        if want is not None and kept is None:
            create.append(replace(want, fire_at=max(want.fire_at, now)))
    return PromptPlan(tuple(create), tuple(delete), tuple(withdraw))


JOIN_EVENT = "obtp.join"
WITHDRAWN_EVENT = "obtp.withdrawn"


def prompt_payload(
    prompt_id: int,
    target: PromptTarget,
    version: int,
    *,
    fire_at: datetime,
    start: datetime,
    end: datetime,
) -> dict[str, Any]:
    """The outbox payload of an ``obtp.join`` or ``obtp.withdrawn`` event: ids, version and
    times only (the booking travels sealed in the prompt and is added when rendered)."""
    fields = prompt_event_fields(target, version, fire_at=fire_at, start=start, end=end)
    return {"prompt_id": prompt_id, **fields}


def prompt_event_fields(
    target: PromptTarget, version: int, *, fire_at: datetime, start: datetime, end: datetime
) -> dict[str, Any]:
    """``prompt_payload`` without the prompt's id: what is known before the prompt is stored.
    Stored with it, so firing builds the ``obtp.join`` payload in the database."""
    return {
        "device_id": str(target.device_id),
        "event_id": str(target.meeting_id),
        "booking_id": booking_id(target.meeting_id, target.slot),
        "version": version,
        "fire_at": _instant(fire_at),
        "start": _instant(start),
        "end": _instant(end),
    }
