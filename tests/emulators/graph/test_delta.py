"""calendarView/delta: initial round paging, incremental rounds, removals, token expiry."""

from __future__ import annotations

from typing import Any

import httpx

from tests.emulators.graph.test_events import ADELE_EVENTS, create

DELTA = "/users/adele@contoso.test/calendarView/delta"
WINDOW = {"startDateTime": "2026-03-02T00:00:00Z", "endDateTime": "2026-03-09T00:00:00Z"}


def at(day: int, hour: int) -> dict[str, Any]:
    return {"dateTime": f"2026-03-{day:02d}T{hour:02d}:00:00", "timeZone": "UTC"}


async def drain(
    graph: httpx.AsyncClient, first: str, **kwargs: Any
) -> tuple[list[dict[str, Any]], str, int]:
    """Follow nextLinks to the deltaLink; returns items, the deltaLink and the page count."""
    response = await graph.get(first, **kwargs)
    items: list[dict[str, Any]] = []
    pages = 0
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["value"]
        pages += 1
        if "@odata.deltaLink" in body:
            return items, body["@odata.deltaLink"], pages
        response = await graph.get(body["@odata.nextLink"], headers=kwargs.get("headers"))


async def test_initial_round_pages_then_delta_link(graph: httpx.AsyncClient) -> None:
    for hour in range(5):
        await create(graph, start=at(3, 8 + hour), end=at(3, 9 + hour), subject=f"e{hour}")
    await create(graph, start=at(20, 8), end=at(20, 9), subject="outside")
    prefer = {"Prefer": "odata.maxpagesize=2"}
    first = await graph.get(DELTA, params=WINDOW, headers=prefer)
    assert first.headers["Preference-Applied"] == "odata.maxpagesize=2"
    assert "$skiptoken=" in first.json()["@odata.nextLink"]
    assert first.json()["@odata.nextLink"].startswith(
        "http://graph.emu.test/v1.0/users/adele@contoso.test/calendarView/delta?"
    )
    items, delta_link, pages = await drain(graph, DELTA, params=WINDOW, headers=prefer)
    assert pages == 3
    assert sorted(e["subject"] for e in items) == [f"e{h}" for h in range(5)]
    assert all(e["@odata.type"] == "#microsoft.graph.event" for e in items)
    assert "$deltatoken=" in delta_link
    again, _, _ = await drain(graph, delta_link)
    assert again == []


async def test_incremental_round_reports_changes_and_removals(graph: httpx.AsyncClient) -> None:
    keep = await create(graph, start=at(3, 9), end=at(3, 10), subject="keep")
    edit = await create(graph, start=at(3, 11), end=at(3, 12), subject="edit")
    leave = await create(graph, start=at(4, 9), end=at(4, 10), subject="leave")
    drop = await create(graph, start=at(5, 9), end=at(5, 10), subject="drop")
    _, delta_link, _ = await drain(graph, DELTA, params=WINDOW)

    await graph.patch(f"{ADELE_EVENTS}/{edit['id']}", json={"subject": "edited"})
    await graph.patch(f"{ADELE_EVENTS}/{leave['id']}", json={"start": at(20, 9), "end": at(20, 10)})
    await graph.delete(f"{ADELE_EVENTS}/{drop['id']}")
    fresh = await create(graph, start=at(6, 9), end=at(6, 10), subject="fresh")
    ghost = await create(graph, start=at(6, 11), end=at(6, 12), subject="ghost")
    await graph.delete(f"{ADELE_EVENTS}/{ghost['id']}")

    items, _, _ = await drain(graph, delta_link)
    by_id = {e["id"]: e for e in items}
    assert by_id[edit["id"]]["subject"] == "edited"
    assert by_id[fresh["id"]]["subject"] == "fresh"
    assert by_id[leave["id"]] == {
        "@odata.type": "#microsoft.graph.event",
        "id": leave["id"],
        "@removed": {"reason": "deleted"},
    }
    assert by_id[drop["id"]]["@removed"] == {"reason": "deleted"}
    assert keep["id"] not in by_id
    assert ghost["id"] not in by_id


async def test_series_in_delta_master_full_and_occurrences_trimmed(
    graph: httpx.AsyncClient,
) -> None:
    await create(
        graph,
        subject="Standup",
        start=at(2, 9),
        end=at(2, 10),
        recurrence={
            "pattern": {"type": "daily", "interval": 1},
            "range": {"type": "numbered", "startDate": "2026-03-02", "numberOfOccurrences": 3},
        },
    )
    first_page = await graph.get(DELTA, params=WINDOW, headers={"Prefer": "odata.maxpagesize=1"})
    items = first_page.json()["value"]
    assert len(items) == 4  # a series is never split across pages
    master, *occurrences = items
    assert master["type"] == "seriesMaster"
    assert master["subject"] == "Standup"
    assert [o["type"] for o in occurrences] == ["occurrence"] * 3
    assert set(occurrences[0]) == {
        "@odata.type", "@odata.etag", "id", "seriesMasterId", "type", "start", "end",
    }  # fmt: skip


async def test_expire_delta_makes_tokens_410(
    graph: httpx.AsyncClient, emulator: httpx.AsyncClient
) -> None:
    await create(graph, start=at(3, 9), end=at(3, 10))
    _, delta_link, _ = await drain(graph, DELTA, params=WINDOW)
    expired = await emulator.post("/_emulator/mailboxes/adele@contoso.test/expire-delta")
    assert expired.status_code == 204
    response = await graph.get(delta_link)
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "SyncStateNotFound"
    restarted, _, _ = await drain(graph, DELTA, params=WINDOW)
    assert len(restarted) == 1


async def test_delta_needs_a_window_and_a_sane_token(graph: httpx.AsyncClient) -> None:
    missing = await graph.get(DELTA)
    assert (missing.status_code, missing.json()["error"]["code"]) == (400, "ErrorInvalidParameter")
    garbage = await graph.get(DELTA, params={"$deltatoken": "!!"})
    assert garbage.status_code == 400


async def test_sdk_style_delta_parentheses(graph: httpx.AsyncClient) -> None:
    await create(graph, start=at(3, 9), end=at(3, 10))
    response = await graph.get(f"{DELTA}()", params=WINDOW)
    assert response.status_code == 200
    assert len(response.json()["value"]) == 1


async def test_cancelled_occurrence_comes_back_as_an_updated_master(
    graph: httpx.AsyncClient,
) -> None:
    master = await create(
        graph,
        subject="Standup",
        start=at(2, 9),
        end=at(2, 10),
        recurrence={
            "pattern": {"type": "daily", "interval": 1},
            "range": {"type": "numbered", "startDate": "2026-03-02", "numberOfOccurrences": 3},
        },
    )
    initial, delta_link, _ = await drain(graph, DELTA, params=WINDOW)
    second = initial[2]
    assert (await graph.delete(f"{ADELE_EVENTS}/{second['id']}")).status_code == 204
    items, _, _ = await drain(graph, delta_link)
    assert [(e["id"], e["type"]) for e in items] == [
        (master["id"], "seriesMaster"),
        (initial[1]["id"], "occurrence"),
        (initial[3]["id"], "occurrence"),
    ]
    assert items[0]["cancelledOccurrences"] == [f"OID.{master['id']}.2026-03-03"]
