"""``MicrosoftGraphProvider``: ``CalendarProvider`` for one Microsoft 365 tenant over Graph v1.0.

- Discovery: users from ``GET /users`` (``@odata.nextLink`` paging), rooms from
  ``GET /places/microsoft.graph.room`` (``$top``/``$skip``: Places never sends a nextLink,
  graph.md §7); named mailboxes are looked up one by one and probed (``mailboxSettings``), so one
  blocked by the access policy comes back marked ``out_of_scope`` instead of failing the rest.
- Changes: ``/users/{id}/calendarView/delta`` (graph.md §3): the window on the first call, the
  saved deltaLink after; nextLinks followed, the round ends with the deltaLink as cursor.
  ``Prefer: odata.maxpagesize``. Items that cannot be read become the page's ``problems``.
- Subscriptions (§4): resource ``users/{id}/events`` (or a calendar's events), changeType
  ``created,updated,deleted``, expiry as Graph answers it; ``renew_many`` renews through
  ``$batch``.
- Edits for the join write-back (``calhub.providers.msgraph.edits``): read one event with
  calhub's marker property, replace its body under ``If-Match``, make it a Teams meeting, read
  the mailbox's language.
- Presence (``calhub.providers.msgraph.presence``): the mailbox's automatic replies from its
  ``mailboxSettings``.
- ``verify(mailbox)``: reads the mailbox's calendar (today's calendarView), its mailboxSettings
  and the rooms, and says for each what works, in words.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import quote

from calhub.domain.calendars import CalendarKind, RoomDetails
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
from calhub.providers.msgraph import edits, presence
from calhub.providers.msgraph.client import BatchRequest, GraphClient
from calhub.providers.msgraph.mapping import map_event

CAPABILITIES: Final = Capabilities(
    delta_sync=True,
    push_notifications=True,
    rooms_directory=True,
    batch_requests=True,
    max_subscription_lifetime=timedelta(minutes=10_070),  # graph.md §4.2, observed ceiling
    max_requests_in_flight_per_mailbox=4,
    online_meetings=(edits.TEAMS,),
    presence=True,
)
ROOMS_PAGE: Final = 100
USERS_PAGE: Final = 999
USER_FIELDS: Final = "id,userPrincipalName,displayName,mail"


class MicrosoftGraphProvider:
    capabilities = CAPABILITIES

    def __init__(
        self, client: GraphClient, *, clock: Clock | None = None, page_size: int = 100
    ) -> None:
        self.client = client
        self.clock = clock or SystemClock()
        self.page_size = page_size

    async def close(self) -> None:
        await self.client.aclose()

    # --- discovery -----------------------------------------------------------------------------

    async def discover_calendars(
        self, *, mailboxes: Sequence[str] | None = None
    ) -> list[DiscoveredCalendar]:
        if mailboxes is None:
            users = await self._all_users()
        else:
            users = list(await asyncio.gather(*(self._named_user(m) for m in mailboxes)))
        return users + await self._rooms()

    async def _all_users(self) -> list[DiscoveredCalendar]:
        found: list[DiscoveredCalendar] = []
        url: str | None = f"users?$select={USER_FIELDS}&$top={USERS_PAGE}"
        while url is not None:
            page = await self.client.get_json(url)
            found.extend(_user(raw) for raw in _values(page, "users"))
            url = _link(page, "@odata.nextLink")
        return found

    async def _named_user(self, mailbox: str) -> DiscoveredCalendar:
        try:
            raw = await self.client.get_json(f"users/{quote(mailbox)}?$select={USER_FIELDS}")
        except NotFound:
            return DiscoveredCalendar(
                mailbox,
                mailbox,
                mailbox,
                CalendarKind.USER,
                out_of_scope=f"{mailbox} is not a user of this tenant",
            )
        user = _user(raw)
        try:
            await self.client.get_json(
                f"users/{user.provider_calendar_id}/mailboxSettings", mailbox=user.owner_email
            )
        except MailboxOutOfScope as exc:
            return DiscoveredCalendar(
                user.provider_calendar_id,
                user.owner_email,
                user.name,
                CalendarKind.USER,
                out_of_scope=exc.reason,
            )
        return user

    async def _rooms(self) -> list[DiscoveredCalendar]:
        rooms: list[DiscoveredCalendar] = []
        while True:
            page = await self.client.get_json(
                f"places/microsoft.graph.room?$top={ROOMS_PAGE}&$skip={len(rooms)}"
            )
            batch = [_room(raw) for raw in _values(page, "rooms")]
            rooms.extend(batch)
            if len(batch) < ROOMS_PAGE:
                return rooms

    # --- changes -------------------------------------------------------------------------------

    async def changes(
        self, calendar: CalendarRef, *, cursor: str | None, window: Window
    ) -> AsyncIterator[ChangePage]:
        prefer = (f"odata.maxpagesize={self.page_size}",)
        url = cursor or (
            f"{_calendar_path(calendar)}/calendarView/delta"
            f"?startDateTime={_instant(window.start)}&endDateTime={_instant(window.end)}"
        )
        while True:
            page = await self.client.get_json(url, mailbox=calendar.owner, prefer=prefer)
            changes: list[Change] = []
            problems: list[str] = []
            for item in _values(page, "calendarView/delta"):
                try:
                    changes.append(map_event(item))
                except InvalidResponse as exc:
                    problems.append(str(exc))
            following = _link(page, "@odata.nextLink")
            if following is not None:
                yield ChangePage(changes, next_page=following, problems=tuple(problems))
                url = following
                continue
            delta = _link(page, "@odata.deltaLink")
            if delta is None:
                raise InvalidResponse(
                    "calendarView/delta: a page with neither nextLink nor deltaLink"
                )
            yield ChangePage(changes, cursor=delta, problems=tuple(problems))
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
        body: dict[str, Any] = {
            "changeType": "created,updated,deleted",
            "notificationUrl": notification_url,
            "resource": f"{_calendar_path(calendar)}/events",
            "expirationDateTime": _instant(expires_at),
            "clientState": client_state,
        }
        if lifecycle_url is not None:
            body["lifecycleNotificationUrl"] = lifecycle_url
        response = await self.client.request(
            "POST", "subscriptions", json=body, mailbox=calendar.owner
        )
        return _subscription(response.json())

    async def renew(self, subscription_id: str, *, expires_at: datetime) -> SubscriptionInfo:
        response = await self.client.request(
            "PATCH",
            f"subscriptions/{subscription_id}",
            json={"expirationDateTime": _instant(expires_at)},
        )
        return _subscription(response.json())

    async def renew_many(
        self, subscription_ids: Sequence[str], *, expires_at: datetime
    ) -> dict[str, SubscriptionInfo | ProviderError]:
        """Renew many subscriptions in ``$batch`` envelopes of 20: an info or an error each."""
        body = {"expirationDateTime": _instant(expires_at)}
        requests = [
            BatchRequest(str(i), "PATCH", f"/subscriptions/{sid}", body)
            for i, sid in enumerate(subscription_ids)
        ]
        results = await self.client.batch(requests)
        renewed: dict[str, SubscriptionInfo | ProviderError] = {}
        for request, sid in zip(requests, subscription_ids, strict=True):
            result = results[request.id]
            renewed[sid] = result.error if result.error is not None else _subscription(result.body)
        return renewed

    async def unsubscribe(self, subscription_id: str) -> None:
        try:
            await self.client.request("DELETE", f"subscriptions/{subscription_id}")
        except NotFound:
            return  # already gone: what unsubscribing wanted

    # --- verification --------------------------------------------------------------------------

    async def verify(self, mailbox: str) -> list[PermissionCheck]:
        today = self.clock.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        user = f"users/{quote(mailbox)}"
        view = (
            f"{user}/calendarView?startDateTime={_instant(today)}"
            f"&endDateTime={_instant(today + timedelta(days=1))}&$top=1"
        )
        probes = [
            ("Calendars.ReadWrite", "Can read calendars", view, mailbox),
            (
                "MailboxSettings.Read",
                "Can read mailbox settings",
                f"{user}/mailboxSettings",
                mailbox,
            ),
            ("Place.Read.All", "Can list rooms", "places/microsoft.graph.room?$top=1", None),
        ]
        checks = []
        for permission, what, url, owner in probes:
            try:
                await self.client.get_json(url, mailbox=owner)
            except ProviderError as exc:
                checks.append(
                    PermissionCheck(
                        permission, False, f"{what} ({permission}): No: {_in_words(exc)}"
                    )
                )
            else:
                checks.append(PermissionCheck(permission, True, f"{what} ({permission}): yes"))
        return checks

    # --- edits (join write-back) -----------------------------------------------------------------

    async def read_event(self, calendar: CalendarRef, provider_event_id: str) -> EditableEvent:
        return await edits.read_event(self.client, calendar.owner, provider_event_id)

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
        return await edits.write_body(
            self.client,
            calendar.owner,
            provider_event_id,
            body=body,
            body_format=body_format,
            join_marker=join_marker,
            if_match=if_match,
        )

    async def add_online_meeting(
        self, calendar: CalendarRef, provider_event_id: str, *, backend: str, if_match: str
    ) -> str:
        return await edits.add_online_meeting(
            self.client, calendar.owner, provider_event_id, backend=backend, if_match=if_match
        )

    async def mailbox_locale(self, mailbox: str) -> str | None:
        return await edits.mailbox_locale(self.client, mailbox)

    # --- presence --------------------------------------------------------------------------------

    async def automatic_replies(self, calendar: CalendarRef) -> AutomaticReplies:
        return await presence.read_automatic_replies(self.client, calendar.owner)


def _in_words(error: ProviderError) -> str:
    if isinstance(error, MailboxOutOfScope):
        return error.reason
    if isinstance(error, ConsentRevoked):
        return "the organisation has not granted (or has withdrawn) admin consent for calhub"
    if isinstance(error, CredentialsRejected):
        return "Microsoft rejected calhub's client secret or certificate (wrong or expired)"
    return str(error)


def _calendar_path(calendar: CalendarRef) -> str:
    user = f"users/{quote(calendar.owner)}"
    return f"{user}/calendars/{quote(calendar.calendar_id)}" if calendar.calendar_id else user


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _values(page: dict[str, Any], what: str) -> list[dict[str, Any]]:
    values = page.get("value")
    if not isinstance(values, list) or not all(isinstance(v, dict) for v in values):
        raise InvalidResponse(f"{what}: the answer has no list of objects in 'value'")
    return values


def _link(page: dict[str, Any], name: str) -> str | None:
    link = page.get(name)
    if link is not None and not isinstance(link, str):
        raise InvalidResponse(f"{name} must be a string")
    return link


def _text(raw: dict[str, Any], name: str, what: str) -> str:
    value = raw.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidResponse(f"{what}: {name} must be a non-empty string, got {value!r}")
    return value


def _user(raw: dict[str, Any]) -> DiscoveredCalendar:
    address = raw.get("mail") or _text(raw, "userPrincipalName", "user")
    name = raw.get("displayName") or address
    return DiscoveredCalendar(_text(raw, "id", "user"), str(address), str(name), CalendarKind.USER)


def _room(raw: dict[str, Any]) -> DiscoveredCalendar:
    # A place's id is not its mailbox's object id on Graph, so a room is known by its address,
    # which every /users/{id | address} route accepts.
    address = _text(raw, "emailAddress", "room")
    details = RoomDetails(
        capacity=_optional_int(raw.get("capacity")),
        building=raw.get("building") if isinstance(raw.get("building"), str) else None,
        floor_number=_optional_int(raw.get("floorNumber")),
        floor_label=raw.get("floorLabel") if isinstance(raw.get("floorLabel"), str) else None,
        bookable=str(raw.get("bookingType") or "standard").lower() != "reserved",
    )
    name = raw.get("displayName") or address
    return DiscoveredCalendar(address, address, str(name), CalendarKind.ROOM, room=details)


def _optional_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _subscription(raw: object) -> SubscriptionInfo:
    if not isinstance(raw, dict):
        raise InvalidResponse("subscription: the answer is not a JSON object")
    expires = _text(raw, "expirationDateTime", "subscription")
    try:
        moment = datetime.fromisoformat(expires.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidResponse(f"subscription: expirationDateTime {expires!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return SubscriptionInfo(_text(raw, "id", "subscription"), moment)
