"""Out-of-office presence from a mailbox's automatic replies (docs/presence.md; graph.md §8).

A mailbox is out of office when its automatic replies are ``alwaysEnabled``, or ``scheduled``
and the instant lies in ``[start, end)``. A scheduled window that is incomplete or ends before
(or when) it starts is never in force; ``window_problem`` says why in words.

``PresenceState`` is what calhub remembers per user calendar: the replies as last read, the
state last announced (``out_of_office``) and when it next flips without a new read
(``next_flip_at``). Its transitions are pure:

- ``after_reading(previous, replies, now)``: a poll read the replies; ``previous`` None means
  the mailbox was never read. The state announced before the first read counts as "not out of
  office", so a user who is already away when first seen is announced as away;
- ``after_failure(previous, reason, now)``: a poll failed; the last known state stays;
- ``at_flip(state, now)``: the scheduled window started or ended with no new poll.

``announces_change(before, after)`` is whether a transition is a ``presence.changed`` event.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from datetime import datetime

from calhub.domain.ids import CalendarId, TenantId
from calhub.domain.timezones import require_aware, to_utc


class ReplyStatus(enum.StrEnum):
    DISABLED = "disabled"
    ALWAYS_ENABLED = "alwaysEnabled"
    SCHEDULED = "scheduled"


@dataclass(frozen=True, slots=True)
class AutomaticReplies:
    """A mailbox's automatic-replies setting; ``start``/``end`` matter only when scheduled."""

    status: ReplyStatus
    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        # Kept in UTC: Python compares two datetimes of one zone by wall time, which misorders
        # instants in the hour clocks fall back.
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, to_utc(require_aware(value, f"replies {name}")))


def window_problem(replies: AutomaticReplies) -> str | None:
    """Why a scheduled window can never be in force, in words; None when it can (or when the
    replies are not scheduled)."""
    if replies.status is not ReplyStatus.SCHEDULED:
        return None
    if replies.start is None or replies.end is None:
        return "the automatic replies are scheduled without a start or an end"
    if replies.end <= replies.start:
        return "the scheduled automatic replies end before they start, so they never apply"
    return None


def _window(replies: AutomaticReplies) -> tuple[datetime, datetime] | None:
    """The scheduled window when one is in force at some time, else None."""
    if replies.status is not ReplyStatus.SCHEDULED or replies.start is None or replies.end is None:
        return None
    return (replies.start, replies.end) if replies.start < replies.end else None


def is_out_of_office(replies: AutomaticReplies, now: datetime) -> bool:
    now = to_utc(now)
    if replies.status is ReplyStatus.ALWAYS_ENABLED:
        return True
    window = _window(replies)
    return window is not None and window[0] <= now < window[1]


def next_flip(replies: AutomaticReplies, now: datetime) -> datetime | None:
    """When ``is_out_of_office`` next changes on its own (a window's start or end after
    ``now``), or None when it never does."""
    now = to_utc(now)
    window = _window(replies)
    if window is None:
        return None
    start, end = window
    if now < start:
        return start
    return end if now < end else None


@dataclass(frozen=True, slots=True)
class PresenceState:
    """One user calendar's presence. ``replies`` is None until a read succeeded;
    ``changed_at`` is when ``out_of_office`` last changed (or was first recorded),
    ``checked_at`` the last attempt to read, ``last_error`` why that failed (in words)."""

    calendar_id: CalendarId
    tenant_id: TenantId
    replies: AutomaticReplies | None
    out_of_office: bool
    changed_at: datetime
    checked_at: datetime
    next_flip_at: datetime | None = None
    last_error: str | None = None


def after_reading(
    previous: PresenceState | None,
    replies: AutomaticReplies,
    now: datetime,
    *,
    calendar_id: CalendarId,
    tenant_id: TenantId,
) -> PresenceState:
    away = is_out_of_office(replies, now)
    changed_at = now  # a change, or the first state known
    if previous is not None and previous.replies is not None and previous.out_of_office == away:
        changed_at = previous.changed_at
    return PresenceState(
        calendar_id=calendar_id,
        tenant_id=tenant_id,
        replies=replies,
        out_of_office=away,
        changed_at=changed_at,
        checked_at=now,
        next_flip_at=next_flip(replies, now),
        last_error=None,
    )


def after_failure(
    previous: PresenceState | None,
    reason: str,
    now: datetime,
    *,
    calendar_id: CalendarId,
    tenant_id: TenantId,
) -> PresenceState:
    if previous is None:
        return PresenceState(calendar_id, tenant_id, None, False, now, now, None, reason)
    return dataclasses.replace(previous, checked_at=now, last_error=reason)


def at_flip(state: PresenceState, now: datetime) -> PresenceState:
    """``state`` once its scheduled flip (due at or before ``now``) took effect; a change is
    dated at the flip itself, not at whenever it was noticed."""
    if state.next_flip_at is None or state.next_flip_at > now:
        return state
    if state.replies is None:  # nothing to flip by: never due again
        return dataclasses.replace(state, next_flip_at=None)
    away = is_out_of_office(state.replies, now)
    changed = away != state.out_of_office
    return dataclasses.replace(
        state,
        out_of_office=away,
        changed_at=state.next_flip_at if changed else state.changed_at,
        next_flip_at=next_flip(state.replies, now),
    )


def announces_change(before: PresenceState | None, after: PresenceState) -> bool:
    """Whether going from ``before`` to ``after`` is a ``presence.changed`` event: the
    out-of-office state differs from the one last announced ("not away" before any read)."""
    announced = before is not None and before.out_of_office
    return after.out_of_office != announced
