"""A storm of Outlook-like changes through Graph, and the comparison of Graph with the mirror.

``Storm`` plays ``count`` random changes across mailboxes (creates, edits, moves, new series,
series edits, edited and cancelled occurrences, deletions) against the emulator with the app's
own token, retrying what the emulator's injected faults refuse (those refusals happen before the
change, so a retry never doubles it). Every event gets a unique subject, so comparing
(subject, start, end) of every instance is comparing event by event, occurrence by occurrence.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

Instance = tuple[str, datetime, datetime]
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})


def graph_time(moment: datetime) -> dict[str, str]:
    return {"dateTime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def _utc(value: dict[str, str]) -> datetime:
    return datetime.fromisoformat(value["dateTime"][:19]).replace(tzinfo=UTC)


async def call(graph: httpx.AsyncClient, method: str, url: str, **options: Any) -> httpx.Response:
    """One Graph call, retried while the emulator's faults refuse it."""
    for _ in range(200):
        response = await graph.request(method, url, **options)
        if response.status_code not in RETRIED_STATUSES:
            return response
        await asyncio.sleep(0.05)
    raise AssertionError(f"{method} {url} kept failing: {response.status_code}")


@dataclass
class Storm:
    graph: httpx.AsyncClient  # base URL .../v1.0, app token
    mailboxes: list[str]
    start: datetime  # events land between start + 1 day and start + 60 days
    rng: random.Random = field(default_factory=lambda: random.Random(20261121))
    events: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)  # upn -> (id, series)
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
        upn = self.rng.choice(self.mailboxes)
        known = self.events.setdefault(upn, [])
        singles = [event for event in known if not event[1]]
        series = [event for event in known if event[1]]
        roll = self.rng.random()
        if roll < 0.30 or not known:
            await self._create(upn, recurring=roll < 0.06)
        elif roll < 0.45 and singles:
            await self._patch(
                upn, self.rng.choice(singles)[0], {"subject": self._subject()}, "edit"
            )
        elif roll < 0.60 and singles:
            begin, end = self._slot()
            body = {"start": graph_time(begin), "end": graph_time(end)}
            await self._patch(upn, self.rng.choice(singles)[0], body, "move")
        elif roll < 0.68 and series:
            await self._patch(
                upn, self.rng.choice(series)[0], {"subject": self._subject()}, "series_edit"
            )
        elif roll < 0.76 and series:
            await self._occurrence(upn, self.rng.choice(series)[0], cancel=False)
        elif roll < 0.84 and series:
            await self._occurrence(upn, self.rng.choice(series)[0], cancel=True)
        elif known:
            event = self.rng.choice(known)
            known.remove(event)
            response = await call(self.graph, "DELETE", f"users/{upn}/events/{event[0]}")
            self._count(response, 204, "delete")
        else:
            await self._create(upn, recurring=False)

    async def _create(self, upn: str, *, recurring: bool) -> None:
        begin, end = self._slot()
        body: dict[str, Any] = {
            "subject": self._subject(),
            "start": graph_time(begin),
            "end": graph_time(end),
            "transactionId": f"storm-{self._serial}",
        }
        if recurring:
            body["recurrence"] = {
                "pattern": {"type": "daily", "interval": self.rng.choice((1, 2, 7))},
                "range": {
                    "type": "numbered",
                    "startDate": begin.date().isoformat(),
                    "numberOfOccurrences": self.rng.randint(3, 8),
                },
            }
        response = await call(self.graph, "POST", f"users/{upn}/events", json=body)
        assert response.status_code == 201, response.text
        self.events.setdefault(upn, []).append((response.json()["id"], recurring))
        self.applied["create_series" if recurring else "create"] += 1

    async def _patch(self, upn: str, event_id: str, body: dict[str, Any], kind: str) -> None:
        response = await call(self.graph, "PATCH", f"users/{upn}/events/{event_id}", json=body)
        self._count(response, 200, kind)

    def _count(self, response: httpx.Response, expected: int, kind: str) -> None:
        """Players race like people do: an item another player just deleted answers 404."""
        assert response.status_code in (expected, 404), response.text
        self.applied[kind if response.status_code == expected else "lost_race"] += 1

    async def _occurrence(self, upn: str, master_id: str, *, cancel: bool) -> None:
        window = {
            "startDateTime": self.start.isoformat(),
            "endDateTime": (self.start + timedelta(days=120)).isoformat(),
        }
        listing = await call(
            self.graph, "GET", f"users/{upn}/events/{master_id}/instances", params=window
        )
        if listing.status_code == 404:
            self.applied["lost_race"] += 1
            return
        assert listing.status_code == 200, listing.text
        instances = listing.json()["value"]
        if not instances:
            self.applied["no_instance_left"] += 1
            return
        instance = self.rng.choice(instances)["id"]
        if cancel:
            response = await call(self.graph, "DELETE", f"users/{upn}/events/{instance}")
            self._count(response, 204, "cancel_occurrence")
        else:
            await self._patch(upn, instance, {"subject": self._subject()}, "edit_occurrence")


async def graph_view(
    graph: httpx.AsyncClient, upn: str, start: datetime, end: datetime
) -> Counter[Instance]:
    """Every instance Graph shows in [start, end) for the mailbox."""
    params: dict[str, str] | None = {
        "startDateTime": start.isoformat(),
        "endDateTime": end.isoformat(),
        "$top": "200",
    }
    url: str | None = f"users/{upn}/calendarView"
    seen: Counter[Instance] = Counter()
    while url:
        response = await call(
            graph, "GET", url, params=params, headers={"Prefer": 'outlook.timezone="UTC"'}
        )
        assert response.status_code == 200, response.text
        page = response.json()
        for item in page["value"]:
            seen[(item["subject"], _utc(item["start"]), _utc(item["end"]))] += 1
        url, params = page.get("@odata.nextLink"), None
    return seen
