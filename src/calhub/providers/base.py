"""What the sync engine needs from any calendar provider, and the one error tree they all raise.

Error tree (every provider translates its foreign errors into these, ``raise ... from exc``)::

    ProviderError
    ├── ConsentRevoked       the organisation withdrew consent or deleted the app: stop, purge
    ├── CredentialsRejected  the app's own secret or certificate is wrong or expired
    ├── AuthExpired          an access token was refused; get a new one and retry once
    ├── MailboxOutOfScope    this mailbox is closed to the app (access policy, no mailbox)
    ├── NotFound             the item or subscription does not exist (any more)
    ├── CursorInvalid        the sync cursor expired: resync the window from scratch
    ├── EditConflict         the item changed since it was read: read it again, then write
    ├── RateLimited          slow down for ``retry_after`` seconds
    ├── Transient            5xx, timeouts, dropped connections: retry with backoff
    └── InvalidResponse      a payload that cannot be read; reported, never crashes a sync

Code outside a provider package asks ``Capabilities``, never which provider it is talking to.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from calhub.domain.calendars import CalendarKind, RoomDetails
from calhub.domain.joinlinks.model import BodyFormat
from calhub.domain.presence import AutomaticReplies
from calhub.domain.sync.changes import Change, ItemKind


class ProviderError(Exception):
    """Base of every provider failure."""


class ConsentRevoked(ProviderError):
    pass


class CredentialsRejected(ProviderError):
    pass


class AuthExpired(ProviderError):
    pass


class MailboxOutOfScope(ProviderError):
    def __init__(self, mailbox: str, reason: str) -> None:
        super().__init__(f"{mailbox}: {reason}")
        self.mailbox = mailbox
        self.reason = reason


class NotFound(ProviderError):
    pass


class CursorInvalid(ProviderError):
    pass


class EditConflict(ProviderError):
    pass


class RateLimited(ProviderError):
    def __init__(self, retry_after: float, message: str = "rate limited") -> None:
        super().__init__(f"{message} (retry after {retry_after:g} s)")
        self.retry_after = retry_after


class Transient(ProviderError):
    pass


class InvalidResponse(ProviderError):
    pass


@dataclass(frozen=True, slots=True)
class Capabilities:
    delta_sync: bool
    push_notifications: bool
    rooms_directory: bool
    batch_requests: bool
    max_subscription_lifetime: timedelta
    max_requests_in_flight_per_mailbox: int
    online_meetings: tuple[str, ...] = ()  # meeting backends the provider runs ("teams", ...)
    presence: bool = False  # reads a mailbox's automatic replies (out of office)
    # A changed series comes with all its exceptions (Graph's delta); else only what changed,
    # and a dropped exception as a cancelled instance (Google's incremental sync).
    series_reported_whole: bool = True
    # False: a subscription cannot be extended, only replaced by a new one (Google's channels)
    renewable_subscriptions: bool = True
    # False: a push may be lost without a word (Google's are "not 100% reliable", google.md
    # §4.3); Graph sends a ``missed`` lifecycle notification instead. The safety net then
    # checks a calendar again soon after its pushes (services.calendar_sync).
    lost_pushes_reported: bool = True


@dataclass(frozen=True, slots=True)
class DiscoveredCalendar:
    """A calendar the connection can reach: a user's mailbox calendar or a room's."""

    provider_calendar_id: str  # the mailbox's object id (its address where no id is known)
    owner_email: str
    name: str
    kind: CalendarKind
    room: RoomDetails | None = None
    out_of_scope: str | None = None  # why the app may not read this mailbox, in words


@dataclass(frozen=True, slots=True)
class CalendarRef:
    """Which calendar to talk about: its mailbox, and its calendar id when not the default."""

    owner: str  # mailbox object id or address
    calendar_id: str | None = None


@dataclass(frozen=True, slots=True)
class ChangePage:
    """One page of changes; exactly one of ``next_page`` and ``cursor`` is set: more pages to
    read, or the round is complete and ``cursor`` is what the next round starts from.
    ``problems`` names items of the page that could not be read (left out of ``changes``)."""

    changes: Sequence[Change]
    next_page: str | None = None
    cursor: str | None = None
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SubscriptionInfo:
    id: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class PermissionCheck:
    """One line of a connection check, in words an admin understands."""

    permission: str  # e.g. "Calendars.ReadWrite"
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class EditableEvent:
    """An event as read just before calhub edits it (join write-back, docs/joinlinks.md).

    ``join_marker`` is the value of calhub's own property on the event (what calhub last wrote
    there), ``change_key`` what a write must name to succeed (``EditConflict`` otherwise)."""

    provider_event_id: str
    kind: ItemKind
    is_organizer: bool
    is_cancelled: bool
    location: str
    body: str
    body_format: BodyFormat
    change_key: str
    organizer_email: str | None = None
    join_marker: str | None = None
    online_meeting_url: str | None = None

    def __repr__(self) -> str:  # bodies and locations are personal data
        return f"EditableEvent(provider_event_id={self.provider_event_id!r}, kind={self.kind})"


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime


class CalendarProvider(Protocol):
    """One authorised connection to one organisation's calendars."""

    capabilities: Capabilities

    async def discover_calendars(
        self, *, mailboxes: Sequence[str] | None = None
    ) -> list[DiscoveredCalendar]:
        """In-scope user mailboxes (all, or the named ones) and every room."""
        ...

    def changes(
        self, calendar: CalendarRef, *, cursor: str | None, window: Window
    ) -> AsyncIterator[ChangePage]:
        """A full round: from ``cursor``, or everything in ``window`` when ``cursor`` is None.
        Raises ``CursorInvalid`` when the cursor has expired."""
        ...

    async def subscribe(
        self,
        calendar: CalendarRef,
        *,
        notification_url: str,
        lifecycle_url: str | None,
        client_state: str,
        expires_at: datetime,
    ) -> SubscriptionInfo: ...

    async def renew(self, subscription_id: str, *, expires_at: datetime) -> SubscriptionInfo: ...

    async def renew_many(
        self, subscription_ids: Sequence[str], *, expires_at: datetime
    ) -> dict[str, SubscriptionInfo | ProviderError]:
        """Renew several at once (batched where the provider can): an info or an error each."""
        ...

    async def unsubscribe(self, subscription_id: str) -> None: ...

    async def verify(self, mailbox: str) -> list[PermissionCheck]: ...

    async def read_event(self, calendar: CalendarRef, provider_event_id: str) -> EditableEvent:
        """The event as it is now; ``NotFound`` when it is gone."""
        ...

    async def write_body(
        self,
        calendar: CalendarRef,
        provider_event_id: str,
        *,
        body: str,
        body_format: BodyFormat,
        join_marker: str,
        if_match: str,
    ) -> str:
        """Replace the body and set calhub's marker property, only if the event still has
        change key ``if_match`` (``EditConflict`` otherwise); returns the new change key."""
        ...

    async def add_online_meeting(
        self, calendar: CalendarRef, provider_event_id: str, *, backend: str, if_match: str
    ) -> str:
        """Make the event an online meeting of ``backend`` (one of ``online_meetings``),
        only if it still has change key ``if_match``; returns the new change key."""
        ...

    async def mailbox_locale(self, mailbox: str) -> str | None:
        """The mailbox's language as a locale tag (``de-DE``), None when not set."""
        ...

    async def automatic_replies(self, calendar: CalendarRef) -> AutomaticReplies:
        """The mailbox's automatic-replies setting as it is now (``Capabilities.presence``);
        the scheduled window's instants are read in its own zone, else the mailbox's."""
        ...

    async def close(self) -> None: ...
