"""A storm of users' changes through a provider's API, and the comparison of the provider with
calhub's mirror.

``Storm`` plays ``count`` random changes across mailboxes (creates, edits, moves, new series,
series edits, edited and cancelled occurrences, deletions) through a ``Calendars``: Graph's
(``GraphCalendars``, the app's own token) or Google's (``GoogleCalendars``, each user's own
delegated token). Calls the emulator's injected faults refuse are retried (those refusals happen
before the change, so a retry never doubles it). Every event gets a unique subject, so comparing
(subject, start, end) of every instance is comparing event by event, occurrence by occurrence.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx

Instance = tuple[str, datetime, datetime]
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})


def graph_time(moment: datetime) -> dict[str, str]:
    return {"dateTime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def _utc(value: dict[str, str]) -> datetime:
    return datetime.fromisoformat(value["dateTime"][:19]).replace(tzinfo=UTC)


async def call(client: httpx.AsyncClient, method: str, url: str, **options: Any) -> httpx.Response:
    """One API call, retried while the emulator's faults refuse it (Google's rate limits are
    403 ``rateLimitExceeded`` as well as 429)."""
    for _ in range(200):
        response = await client.request(method, url, **options)
        if response.status_code not in RETRIED_STATUSES and not _rate_limited(response):
            return response
        await asyncio.sleep(0.05)
    raise AssertionError(f"{method} {url} kept failing: {response.status_code}")


def _rate_limited(response: httpx.Response) -> bool:
    return response.status_code == 403 and "rateLimitExceeded" in response.text


class Calendars(Protocol):
    """A provider's calendars as the storm changes them. Methods that name an existing event
    return False when another player deleted it first (players race like people do)."""

    async def create(
        self, mailbox: str, subject: str, begin: datetime, end: datetime, series: tuple[int, int]
    ) -> str:
        """A new event (``series``: (every n days, occurrences), (0, 0) for a single one)."""
        ...

    async def edit(self, mailbox: str, event_id: str, subject: str) -> bool: ...

    async def move(self, mailbox: str, event_id: str, begin: datetime, end: datetime) -> bool: ...

    async def occurrences(self, mailbox: str, series_id: str, until: datetime) -> list[str] | None:
        """The series' occurrence ids (None: the series is gone)."""
        ...

    async def delete(self, mailbox: str, event_id: str) -> bool: ...

    async def view(self, mailbox: str, start: datetime, end: datetime) -> Counter[Instance]:
        """Every instance the provider shows in [start, end) for the mailbox."""
        ...


@dataclass
class Storm:
    calendars: Calendars
    mailboxes: list[str]
    start: datetime  # events land between start + 1 day and start + 60 days
    rng: random.Random = field(default_factory=lambda: random.Random(20261121))
    events: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)  # box -> (id, series)
    applied: Counter[str] = field(default_factory=Counter)
    _serial: int = 0

    def _subject(self) -> str:
        self._serial += 1
        return f"storm-{self._serial}"

    def _slot(self) -> tuple[datetime, datetime]:
        day = self.start + timedelta(days=self.rng.randint(1, 60))
        begin = day.replace(hour=self.rng.randint(6, 18), minute=self.rng.choice((0, 30)))
        begin = begin.replace(second=0, microsecond=0)
        return begin, begin + timedelta(minutes=self.rng.choice((30, 45, 60, 90)))

    async def run(
        self, count: int, concurrency: int, on_progress: Callable[[int], Awaitable[None]]
    ) -> None:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for number in range(count):
            queue.put_nowait(number)

        async def player() -> None:
            while not queue.empty():
                number = queue.get_nowait()
                await self.change()
                await on_progress(number + 1)

        await asyncio.gather(*(player() for _ in range(concurrency)))

    async def change(self) -> None:
        box = self.rng.choice(self.mailboxes)
        known = self.events.setdefault(box, [])
        singles = [event for event in known if not event[1]]
        series = [event for event in known if event[1]]
        roll = self.rng.random()
        if roll < 0.30 or not known:
            await self._create(box, recurring=roll < 0.06)
        elif roll < 0.45 and singles:
            found = await self.calendars.edit(box, self.rng.choice(singles)[0], self._subject())
            self._count(found, "edit")
        elif roll < 0.60 and singles:
            begin, end = self._slot()
            self._count(
                await self.calendars.move(box, self.rng.choice(singles)[0], begin, end), "move"
            )
        elif roll < 0.68 and series:
            found = await self.calendars.edit(box, self.rng.choice(series)[0], self._subject())
            self._count(found, "series_edit")
        elif roll < 0.76 and series:
            await self._occurrence(box, self.rng.choice(series)[0], cancel=False)
        elif roll < 0.84 and series:
            await self._occurrence(box, self.rng.choice(series)[0], cancel=True)
        elif known:
            event = self.rng.choice(known)
            known.remove(event)
            self._count(await self.calendars.delete(box, event[0]), "delete")
        else:
            await self._create(box, recurring=False)

    async def _create(self, box: str, *, recurring: bool) -> None:
        begin, end = self._slot()
        series = (self.rng.choice((1, 2, 7)), self.rng.randint(3, 8)) if recurring else (0, 0)
        event_id = await self.calendars.create(box, self._subject(), begin, end, series)
        self.events.setdefault(box, []).append((event_id, recurring))
        self.applied["create_series" if recurring else "create"] += 1

    def _count(self, found: bool, kind: str) -> None:
        self.applied[kind if found else "lost_race"] += 1

    async def _occurrence(self, box: str, series_id: str, *, cancel: bool) -> None:
        ids = await self.calendars.occurrences(box, series_id, self.start + timedelta(days=120))
        if ids is None:
            self.applied["lost_race"] += 1
            return
        if not ids:
            self.applied["no_instance_left"] += 1
            return
        occurrence = self.rng.choice(ids)
        if cancel:
            self._count(await self.calendars.delete(box, occurrence), "cancel_occurrence")
        else:
            found = await self.calendars.edit(box, occurrence, self._subject())
            self._count(found, "edit_occurrence")


def _found(response: httpx.Response, expected: int) -> bool:
    """An item another player just deleted answers 404 (Google: 410 for a deleted one)."""
    assert response.status_code in (expected, 404, 410), response.text
    return response.status_code == expected


@dataclass
class GraphCalendars:
    graph: httpx.AsyncClient  # base URL .../v1.0, app token
    start: datetime

    async def create(
        self, mailbox: str, subject: str, begin: datetime, end: datetime, series: tuple[int, int]
    ) -> str:
        body: dict[str, Any] = {
            "subject": subject,
            "start": graph_time(begin),
            "end": graph_time(end),
            "transactionId": subject,
        }
        if series != (0, 0):
            body["recurrence"] = {
                "pattern": {"type": "daily", "interval": series[0]},
                "range": {
                    "type": "numbered",
                    "startDate": begin.date().isoformat(),
                    "numberOfOccurrences": series[1],
                },
            }
        response = await call(self.graph, "POST", f"users/{mailbox}/events", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def edit(self, mailbox: str, event_id: str, subject: str) -> bool:
        return await self._patch(mailbox, event_id, {"subject": subject})

    async def move(self, mailbox: str, event_id: str, begin: datetime, end: datetime) -> bool:
        return await self._patch(
            mailbox, event_id, {"start": graph_time(begin), "end": graph_time(end)}
        )

    async def occurrences(self, mailbox: str, series_id: str, until: datetime) -> list[str] | None:
        window = {"startDateTime": self.start.isoformat(), "endDateTime": until.isoformat()}
        listing = await call(
            self.graph, "GET", f"users/{mailbox}/events/{series_id}/instances", params=window
        )
        if listing.status_code == 404:
            return None
        assert listing.status_code == 200, listing.text
        return [item["id"] for item in listing.json()["value"]]

    async def delete(self, mailbox: str, event_id: str) -> bool:
        return _found(await call(self.graph, "DELETE", f"users/{mailbox}/events/{event_id}"), 204)

    async def view(self, mailbox: str, start: datetime, end: datetime) -> Counter[Instance]:
        params: dict[str, str] | None = {
            "startDateTime": start.isoformat(),
            "endDateTime": end.isoformat(),
            "$top": "200",
        }
        url: str | None = f"users/{mailbox}/calendarView"
        seen: Counter[Instance] = Counter()
        while url:
            response = await call(
                self.graph, "GET", url, params=params, headers={"Prefer": 'outlook.timezone="UTC"'}
            )
            assert response.status_code == 200, response.text
            page = response.json()
            for item in page["value"]:
                # calendarView also lists instances that began before ``start`` and still run
                # then; the mirror's view (``convergence.mirror_view``) counts only those that
                # begin in the window, and so must this one.
                begin = _utc(item["start"])
                if start <= begin < end:
                    seen[(item["subject"], begin, _utc(item["end"]))] += 1
            url, params = page.get("@odata.nextLink"), None
        return seen

    async def _patch(self, mailbox: str, event_id: str, body: dict[str, Any]) -> bool:
        response = await call(self.graph, "PATCH", f"users/{mailbox}/events/{event_id}", json=body)
        return _found(response, 200)
