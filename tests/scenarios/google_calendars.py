"""The storm's ``Calendars`` for Google Calendar: each user changes their own calendar with a
token of their own (the service account's domain-wide delegation, google.md §8.2), as people do
in Google Calendar; rooms are changed by the administrator, each room named as the request's
``quotaUser`` so that they do not all share the administrator's per-user quota (§9.3).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
import jwt

from tests.scenarios.storm import Instance, call

CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar"
ROOM_DOMAIN = "@resource.calendar.google.com"


def google_time(moment: datetime) -> dict[str, str]:
    return {"dateTime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "timeZone": "UTC"}


def _instant(value: dict[str, str]) -> datetime:
    return datetime.fromisoformat(value["dateTime"].replace("Z", "+00:00")).astimezone(UTC)


@dataclass
class GoogleCalendars:
    origin: str  # the emulator's
    key: dict[str, str]  # the service account's key file
    admin: str
    start: datetime
    verify: Any = True
    _client: httpx.AsyncClient | None = None
    _tokens: dict[str, str] = field(default_factory=dict)  # by user

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def create(
        self, mailbox: str, subject: str, begin: datetime, end: datetime, series: tuple[int, int]
    ) -> str:
        body: dict[str, Any] = {
            "summary": subject,
            "start": google_time(begin),
            "end": google_time(end),
        }
        if series != (0, 0):
            every, count = series
            body["recurrence"] = [f"RRULE:FREQ=DAILY;INTERVAL={every};COUNT={count}"]
        response = await self._call(mailbox, "POST", _events(mailbox), json=body)
        assert response.status_code == 200, response.text
        return str(response.json()["id"])

    async def edit(self, mailbox: str, event_id: str, subject: str) -> bool:
        return await self._patch(mailbox, event_id, {"summary": subject})

    async def move(self, mailbox: str, event_id: str, begin: datetime, end: datetime) -> bool:
        return await self._patch(
            mailbox, event_id, {"start": google_time(begin), "end": google_time(end)}
        )

    async def occurrences(self, mailbox: str, series_id: str, until: datetime) -> list[str] | None:
        window = {"timeMin": self.start.isoformat(), "timeMax": until.isoformat()}
        listing = await self._call(
            mailbox, "GET", f"{_events(mailbox)}/{series_id}/instances", params=window
        )
        if listing.status_code in (404, 410):
            return None
        assert listing.status_code == 200, listing.text
        return [item["id"] for item in listing.json().get("items", [])]

    async def delete(self, mailbox: str, event_id: str) -> bool:
        response = await self._call(mailbox, "DELETE", f"{_events(mailbox)}/{event_id}")
        assert response.status_code in (204, 404, 410), response.text
        return response.status_code == 204

    async def view(self, mailbox: str, start: datetime, end: datetime) -> Counter[Instance]:
        params: dict[str, str] = {
            "timeMin": start.isoformat(),
            "timeMax": end.isoformat(),
            "singleEvents": "true",
            "maxResults": "250",
        }
        seen: Counter[Instance] = Counter()
        while True:
            response = await self._call(mailbox, "GET", _events(mailbox), params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            for item in page.get("items", []):
                if item.get("status") == "cancelled":
                    continue
                begin = _instant(item["start"])
                if start <= begin < end:
                    seen[(item.get("summary", ""), begin, _instant(item["end"]))] += 1
            if "nextPageToken" not in page:
                return seen
            params["pageToken"] = page["nextPageToken"]

    async def _patch(self, mailbox: str, event_id: str, body: dict[str, Any]) -> bool:
        response = await self._call(mailbox, "PATCH", f"{_events(mailbox)}/{event_id}", json=body)
        assert response.status_code in (200, 404, 410), response.text
        return response.status_code == 200

    async def _call(
        self,
        mailbox: str,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """The request as the mailbox's owner; rooms by the administrator, named as quotaUser.
        One connection pool for every mailbox, as one program would have: a pool per mailbox
        leaves connections idle long enough to meet the server closing them (uvicorn after 5 s,
        which httpx sees as "Server disconnected without sending a response")."""
        room = mailbox.endswith(ROOM_DOMAIN)
        user = self.admin if room else mailbox
        if user not in self._tokens:
            self._tokens[user] = await self._token(user)
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=f"{self.origin}/calendar/v3/", verify=self.verify, timeout=30
            )
        query = dict(params or {}) | ({"quotaUser": mailbox.split("@")[0]} if room else {})
        headers = {"Authorization": f"Bearer {self._tokens[user]}"}
        return await call(self._client, method, url, params=query, json=json, headers=headers)

    async def _token(self, user: str) -> str:
        now = int(time.time())
        token_uri = f"{self.origin}/token"
        claims = {
            "iss": self.key["client_email"],
            "sub": user,
            "scope": CALENDAR_SCOPE,
            "aud": token_uri,
            "iat": now,
            "exp": now + 3600,
        }
        assertion = jwt.encode(claims, self.key["private_key"], algorithm="RS256")
        async with httpx.AsyncClient(verify=self.verify) as plain:
            answer = await plain.post(
                token_uri,
                data={
                    "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                    "assertion": assertion,
                },
            )
        assert answer.status_code == 200, f"no token for {user}: {answer.text}"
        return str(answer.json()["access_token"])


def _events(mailbox: str) -> str:
    return f"calendars/{quote(mailbox, safe='@')}/events"
