"""Seeded events behave exactly as POSTed ones; bad entries are refused with a clear message."""

from __future__ import annotations

import httpx
import pytest

from calhub.emulators.graph.errors import SeedInvalid
from calhub.emulators.graph.seed import load_seed
from calhub.emulators.graph.state import GraphState
from tests.emulators.graph.seeds import contoso_seed

WINDOW = {"startDateTime": "2026-03-03T00:00:00Z", "endDateTime": "2026-03-04T00:00:00Z"}


def seeded_meeting() -> dict[str, object]:
    return {
        "mailbox": "adele@contoso.test",
        "event": {
            "subject": "Seeded sync",
            "start": {"dateTime": "2026-03-03T10:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-03-03T11:00:00", "timeZone": "UTC"},
            "attendees": [
                {"emailAddress": {"address": "alex@contoso.test"}, "type": "required"},
                {"emailAddress": {"address": "cf100@contoso.test"}, "type": "resource"},
            ],
        },
    }


async def test_seeded_meeting_has_copies_and_room_answer(
    graph: httpx.AsyncClient, graph_state: GraphState
) -> None:
    seed = contoso_seed()
    seed["tenants"][0]["events"] = [seeded_meeting()]
    load_seed(graph_state, seed)
    adele = (await graph.get("/users/adele@contoso.test/calendarView", params=WINDOW)).json()
    [organized] = adele["value"]
    room = next(a for a in organized["attendees"] if a["type"] == "resource")
    assert room["status"]["response"] == "accepted"
    for address in ("alex@contoso.test", "cf100@contoso.test"):
        view = (await graph.get(f"/users/{address}/calendarView", params=WINDOW)).json()
        assert [e["iCalUId"] for e in view["value"]] == [organized["iCalUId"]], address
    dumped = graph_state.dump()["events"]
    assert dumped["adele@contoso.test"]["events"][0]["subject"] == "Seeded sync"
    assert dumped["cf100@contoso.test"]["events"][0]["responseStatus"] == "accepted"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"mailbox": "nobody@contoso.test", "event": {}}, "no user or room"),
        ({"mailbox": "adele@contoso.test"}, "must be a Graph event object"),
        ({"mailbox": "adele@contoso.test", "event": {"subject": "x"}}, "ErrorInvalidRequest"),
        ("not an object", "must be a JSON object"),
    ],
)
def test_bad_entries_are_refused(graph_state: GraphState, entry: object, message: str) -> None:
    seed = contoso_seed()
    seed["tenants"][0]["events"] = [entry]
    with pytest.raises(SeedInvalid, match=message):
        load_seed(graph_state, seed)


def test_reset_empties_the_store(graph_state: GraphState) -> None:
    seed = contoso_seed()
    seed["tenants"][0]["events"] = [seeded_meeting()]
    load_seed(graph_state, seed)
    assert graph_state.events.dump()
    graph_state.events.reset()
    assert graph_state.events.dump() == {}
