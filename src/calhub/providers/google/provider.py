"""``GoogleCalendarProvider``: ``CalendarProvider`` for one Google Workspace customer over
Calendar v3 and the Admin SDK Directory (shared/reference/google.md).

Whom calhub acts as (domain-wide delegation, §8.2): a room's calendar (an id ending in
``@resource.calendar.google.com``, §7.6) and the Directory as the connection's ``admin``; any
other calendar as its owner, the user whose primary address it is.

- Discovery (``directory``): users and conference rooms from the Directory; named mailboxes are
  checked against it and each one's token.
- Changes (§2.3): ``GET calendars/{id}/events`` without ``singleEvents`` (series come whole and
  the hub expands them): the window's ``timeMin``/``timeMax`` on the first round, the saved
  ``nextSyncToken`` alone after, page after page (``pageToken``); 410 is ``CursorInvalid``.
  Items are read in the list's ``timeZone``; unreadable ones become the page's ``problems``.
- Subscriptions (§4): ``events.watch`` channels named ``"<channel id>/<resource id>"``
  (``push.subscription_id``), ended with ``channels.stop`` as the admin (a channel made by a
  service account may be stopped by any user of it, §4.5). Channels cannot be renewed
  (``renewable_subscriptions=False``): a new one replaces the old.
- Edits for the join write-back (``edits``), out of office from ``outOfOffice`` events
  (``presence``).
- ``verify(mailbox)``: the delegation (a token for the mailbox), reading its calendar, listing
  rooms and users as the admin; each in words.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from calhub.domain.clock import Clock, SystemClock
from calhub.domain.joinlinks import BodyFormat
from calhub.domain.presence import AutomaticReplies
from calhub.domain.sync.changes import Change
from calhub.providers.base import (
    CalendarRef,
    Capabilities,
    ChangePage,
    ConsentRevoked,
    CredentialsRejected,
    DiscoveredCalendar,
    EditableEvent,
    InvalidResponse,
    MailboxOutOfScope,
    NotFound,
    PermissionCheck,
    ProviderError,
    SubscriptionInfo,
    Window,
)
from calhub.providers.google import directory, edits, presence, push
from calhub.providers.google.auth import CALENDAR_SCOPES
from calhub.providers.google.client import GoogleClient
from calhub.providers.google.mapping import map_event
from calhub.providers.http import json_object

CAPABILITIES: Final = Capabilities(
    delta_sync=True,
    push_notifications=True,
    rooms_directory=True,
    batch_requests=False,
    max_subscription_lifetime=timedelta(days=7),  # google.md §4.1: the documented default
    max_requests_in_flight_per_mailbox=4,
    online_meetings=(edits.GOOGLE_MEET,),
    presence=True,
    series_reported_whole=False,
    renewable_subscriptions=False,
    lost_pushes_reported=False,
)
ROOM_CALENDAR_DOMAIN: Final = "@resource.calendar.google.com"
CANNOT_RENEW: Final = "Google channels cannot be renewed; replace them"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def short_scope(scope: str) -> str:
    """``https://www.googleapis.com/auth/calendar`` → ``calendar``."""
    return scope.rsplit("/", 1)[-1]


class GoogleCalendarProvider:
    capabilities = CAPABILITIES

    def __init__(
        self,
        client: GoogleClient,
        *,
        admin: str,
        customer: str = "my_customer",
        clock: Clock | None = None,
        page_size: int = 250,
    ) -> None:
        self.client = client
        self.admin = admin.lower()
        self.customer = customer
        self.clock = clock or SystemClock()
        self.page_size = page_size

    async def close(self) -> None:
        await self.client.aclose()

    def acting_as(self, calendar: CalendarRef) -> tuple[str, str]:
        """``(calendar id, user)``: which calendar ``calendar`` names, and whom to act as."""
        calendar_id = calendar.calendar_id or calendar.owner
        is_room = calendar.owner.lower().endswith(ROOM_CALENDAR_DOMAIN)
        return calendar_id, self.admin if is_room else calendar.owner.lower()

    # --- discovery -----------------------------------------------------------------------------

    async def discover_calendars(
        self, *, mailboxes: Sequence[str] | None = None
    ) -> list[DiscoveredCalendar]:
        where = {"admin": self.admin, "customer": self.customer}
        if mailboxes is None:
            users = await directory.all_users(self.client, **where)
        else:
            users = await directory.named_users(self.client, mailboxes, **where)
        return users + await directory.rooms(self.client, **where)

    # --- changes -------------------------------------------------------------------------------

    async def changes(
        self, calendar: CalendarRef, *, cursor: str | None, window: Window
    ) -> AsyncIterator[ChangePage]:
        calendar_id, user = self.acting_as(calendar)
        url = self.client.calendar_url("calendars", calendar_id, "events")
        params = {"maxResults": str(self.page_size)}
        if cursor is None:
            params |= {"timeMin": _instant(window.start), "timeMax": _instant(window.end)}
        else:
            params["syncToken"] = cursor
        page_token: str | None = None
        while True:
            query = params | ({"pageToken": page_token} if page_token else {})
            page = await self.client.get_json(url, user=user, params=query)
            changes, problems = _read_items(page)
            following = _optional_text(page, "nextPageToken")
            if following:
                yield ChangePage(changes, next_page=following, problems=problems)
                page_token = following
                continue
            sync_token = _optional_text(page, "nextSyncToken")
            if not sync_token:
                raise InvalidResponse(
                    "events.list: a page with neither nextPageToken nor nextSyncToken"
                )
            yield ChangePage(changes, cursor=sync_token, problems=problems)
            return

    # --- subscriptions -------------------------------------------------------------------------

    async def subscribe(
        self,
        calendar: CalendarRef,
        *,
        notification_url: str,
        lifecycle_url: str | None,
        client_state: str,
        expires_at: datetime,
    ) -> SubscriptionInfo:
        del lifecycle_url  # Google has no lifecycle notifications
        calendar_id, user = self.acting_as(calendar)
        channel_id = str(uuid.uuid4())
        ttl = max(1, int((expires_at - self.clock.now()).total_seconds()))
        body = {
            "id": channel_id,
            "type": "web_hook",
            "address": notification_url,
            "token": client_state,
            "params": {"ttl": str(ttl)},
        }
        response = await self.client.request(
            "POST",
            self.client.calendar_url("calendars", calendar_id, "events", "watch"),
            user=user,
            json=body,
        )
        channel = json_object(response.content, "events.watch")
        resource_id = channel.get("resourceId")
        if not isinstance(resource_id, str) or not resource_id:
            raise InvalidResponse("events.watch: the answer has no resourceId")
        return SubscriptionInfo(
            push.subscription_id(channel_id, resource_id), _expiration(channel, expires_at)
        )

    async def renew(self, subscription_id: str, *, expires_at: datetime) -> SubscriptionInfo:
        raise ProviderError(CANNOT_RENEW)

    async def renew_many(
        self, subscription_ids: Sequence[str], *, expires_at: datetime
    ) -> dict[str, SubscriptionInfo | ProviderError]:
        raise ProviderError(CANNOT_RENEW)

    async def unsubscribe(self, subscription_id: str) -> None:
        try:
            channel_id, resource_id = push.channel_of(subscription_id)
        except ValueError:
            raise ProviderError(f"{subscription_id!r} is not a Google channel's id") from None
        try:
            await self.client.request(
                "POST",
                self.client.calendar_url("channels", "stop"),
                user=self.admin,
                json={"id": channel_id, "resourceId": resource_id},
            )
        except NotFound:
            return  # stopped or expired already: what unsubscribing wanted

    # --- verification --------------------------------------------------------------------------

    async def verify(self, mailbox: str) -> list[PermissionCheck]:
        calendar_id, user = self.acting_as(CalendarRef(mailbox))
        checks = [
            await self._check(
                ", ".join(short_scope(s) for s in CALENDAR_SCOPES),
                f"Domain-wide delegation for {user}",
                self.client.tokens.token(user),
            )
        ]
        probes = [
            (
                short_scope(CALENDAR_SCOPES[0]),
                "Can read calendars",
                self.client.calendar_url("calendars", calendar_id, "events"),
                {"maxResults": "1", "timeMin": _instant(self.clock.now())},
                user,
            ),
            (
                short_scope(CALENDAR_SCOPES[1]),
                "Can list rooms",
                self.client.directory_url("customer", self.customer, "resources", "calendars"),
                {"maxResults": "1"},
                self.admin,
            ),
            (
                short_scope(CALENDAR_SCOPES[2]),
                "Can list users",
                self.client.directory_url("users"),
                {"customer": self.customer, "maxResults": "1"},
                self.admin,
            ),
        ]
        for permission, what, url, params, acting in probes:
            reading = self.client.get_json(url, user=acting, params=params)
            checks.append(await self._check(permission, what, reading))
        return checks

    async def _check(self, permission: str, what: str, probe: Awaitable[object]) -> PermissionCheck:
        try:
            await probe
        except ProviderError as exc:
            return PermissionCheck(
                permission, False, f"{what} ({permission}): No: {_in_words(exc)}"
            )
        return PermissionCheck(permission, True, f"{what} ({permission}): yes")

    # --- edits (join write-back) -----------------------------------------------------------------

    async def read_event(self, calendar: CalendarRef, provider_event_id: str) -> EditableEvent:
        calendar_id, user = self.acting_as(calendar)
        return await edits.read_event(self.client, calendar_id, provider_event_id, user=user)

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
        calendar_id, user = self.acting_as(calendar)
        return await edits.write_body(
            self.client,
            calendar_id,
            provider_event_id,
            user=user,
            body=body,
            body_format=body_format,
            join_marker=join_marker,
            if_match=if_match,
        )

    async def add_online_meeting(
        self, calendar: CalendarRef, provider_event_id: str, *, backend: str, if_match: str
    ) -> str:
        calendar_id, user = self.acting_as(calendar)
        return await edits.add_online_meeting(
            self.client,
            calendar_id,
            provider_event_id,
            user=user,
            backend=backend,
            if_match=if_match,
        )

    async def mailbox_locale(self, mailbox: str) -> str | None:
        return await edits.mailbox_locale(self.client, mailbox)

    # --- presence --------------------------------------------------------------------------------

    async def automatic_replies(self, calendar: CalendarRef) -> AutomaticReplies:
        calendar_id, user = self.acting_as(calendar)
        return await presence.read_automatic_replies(
            self.client, calendar_id, user=user, now=self.clock.now()
        )


def _read_items(page: dict[str, Any]) -> tuple[list[Change], tuple[str, ...]]:
    items = page.get("items", [])
    if not isinstance(items, list):
        raise InvalidResponse("events.list: items is not a list")
    zone = page.get("timeZone")
    default_zone = zone if isinstance(zone, str) and zone else "UTC"
    changes: list[Change] = []
    problems: list[str] = []
    for item in items:
        if not isinstance(item, dict):
            problems.append(f"events.list: an item is not an object: {type(item).__name__}")
            continue
        try:
            changes.append(map_event(item, default_zone=default_zone))
        except InvalidResponse as exc:
            problems.append(str(exc))
    return changes, tuple(problems)


def _optional_text(page: dict[str, Any], name: str) -> str | None:
    value = page.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidResponse(f"events.list: {name} must be a string")
    return value


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _expiration(channel: dict[str, Any], requested: datetime) -> datetime:
    """The channel's ``expiration`` (Unix ms, a string or a number, §4.2); the requested expiry
    when Google names none (its channels then live at most as long as the ttl asked)."""
    raw = channel.get("expiration")
    if raw is None:
        return requested
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise InvalidResponse(f"events.watch: expiration {raw!r} is not a number of ms")
    try:
        milliseconds = int(raw)
    except ValueError:
        raise InvalidResponse(f"events.watch: expiration {raw!r} is not a number of ms") from None
    return _EPOCH + timedelta(milliseconds=milliseconds)


def _in_words(error: ProviderError) -> str:
    if isinstance(error, MailboxOutOfScope):
        return error.reason
    if isinstance(error, ConsentRevoked):
        return (
            "the Workspace admin has not granted (or has withdrawn) domain-wide delegation "
            "for calhub's service account with these scopes"
        )
    if isinstance(error, CredentialsRejected):
        return "Google rejected the service account key (wrong, deleted or disabled)"
    return str(error)
