"""calendarView: the required window, the overlap rule, paging, ordering and $select."""

from __future__ import annotations

import httpx

from tests.emulators.graph.test_events import create

VIEW = "/users/adele@contoso.test/calendarView"


def utc(day: int, hour: int, minute: int = 0) -> dict[str, str]:
    return {"dateTime": f"2026-03-{day:02d}T{hour:02d}:{minute:02d}:00", "timeZone": "UTC"}


async def test_window_is_required(graph: httpx.AsyncClient) -> None:
    response = await graph.get(VIEW, params={"startDateTime": "2026-03-02T00:00:00Z"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "ErrorInvalidParameter"
    assert "StartDateTime and EndDateTime" in error["message"]
    bad = await graph.get(VIEW, params={"startDateTime": "soon", "endDateTime": "later"})
    assert bad.json()["error"]["code"] == "ErrorInvalidParameter"


async def test_overlap_rule_excludes_touching_events(graph: httpx.AsyncClient) -> None:
    await create(graph, subject="before", start=utc(3, 8), end=utc(3, 9))
    await create(graph, subject="straddles", start=utc(3, 8, 30), end=utc(3, 9, 30))
    await create(graph, subject="inside", start=utc(3, 10), end=utc(3, 11))
    await create(graph, subject="after", start=utc(3, 12), end=utc(3, 13))
    response = await graph.get(
        VIEW,
        params={
            "startDateTime": "2026-03-03T09:00:00+00:00",
            "endDateTime": "2026-03-03T12:00:00+00:00",
        },
    )
    assert [e["subject"] for e in response.json()["value"]] == ["straddles", "inside"]
    shifted = await graph.get(
        VIEW,
        params={
            "startDateTime": "2026-03-03T10:00:00+01:00",
            "endDateTime": "2026-03-03T10:30:00+01:00",
        },
    )
    assert [e["subject"] for e in shifted.json()["value"]] == ["straddles"]


async def test_default_page_of_ten_and_next_link(graph: httpx.AsyncClient) -> None:
    for index in range(13):
        await create(graph, subject=f"m{index:02d}", start=utc(4, 8, index), end=utc(4, 9))
    window = {"startDateTime": "2026-03-04T00:00:00Z", "endDateTime": "2026-03-05T00:00:00Z"}
    first = (await graph.get(VIEW, params=window)).json()
    assert first["@odata.context"].endswith("/calendarView")
    assert [e["subject"] for e in first["value"]] == [f"m{i:02d}" for i in range(10)]
    link = first["@odata.nextLink"]
    assert link.startswith("http://graph.emu.test/v1.0/users/adele@contoso.test/calendarView?")
    assert "$skip=10" in link
    assert "startDateTime=" in link
    second = (await graph.get(link)).json()
    assert [e["subject"] for e in second["value"]] == ["m10", "m11", "m12"]
    assert "@odata.nextLink" not in second
    top = (await graph.get(VIEW, params={**window, "$top": "20", "$count": "true"})).json()
    assert len(top["value"]) == 13
    assert top["@odata.count"] == 13


async def test_orderby_and_select(graph: httpx.AsyncClient) -> None:
    await create(graph, subject="early", start=utc(5, 8), end=utc(5, 9))
    await create(graph, subject="late", start=utc(5, 15), end=utc(5, 16))
    window = {"startDateTime": "2026-03-05T00:00:00Z", "endDateTime": "2026-03-06T00:00:00Z"}
    response = await graph.get(
        VIEW, params={**window, "$orderby": "start/dateTime desc", "$select": "subject,start"}
    )
    values = response.json()["value"]
    assert [e["subject"] for e in values] == ["late", "early"]
    assert set(values[0]) == {"@odata.etag", "id", "subject", "start"}


async def test_prefer_zone_renders_window_results(graph: httpx.AsyncClient) -> None:
    await create(graph, subject="x", start=utc(5, 8), end=utc(5, 9))
    response = await graph.get(
        VIEW,
        params={"startDateTime": "2026-03-05T00:00:00Z", "endDateTime": "2026-03-06T00:00:00Z"},
        headers={"Prefer": 'outlook.timezone="America/New_York"'},
    )
    assert response.json()["value"][0]["start"] == {
        "dateTime": "2026-03-05T03:00:00.0000000",
        "timeZone": "America/New_York",
    }


async def test_calendar_scoped_view_with_o365_offsets(graph: httpx.AsyncClient) -> None:
    await create(graph, subject="x", start=utc(5, 8), end=utc(5, 9))
    calendar = (await graph.get("/users/adele@contoso.test/calendar")).json()
    response = await graph.get(
        f"/users/adele@contoso.test/calendars/{calendar['id']}/calendarView",
        params={
            "$top": "25",
            "startDateTime": "2026-03-05T00:00:00+00:00",
            "endDateTime": "2026-03-06T00:00:00+00:00",
        },
    )
    assert [e["subject"] for e in response.json()["value"]] == ["x"]


async def test_filter_on_calendar_view(graph: httpx.AsyncClient) -> None:
    await create(graph, subject="busy one", start=utc(5, 8), end=utc(5, 9))
    await create(graph, subject="free one", start=utc(5, 10), end=utc(5, 11), showAs="free")
    window = {"startDateTime": "2026-03-05T00:00:00Z", "endDateTime": "2026-03-06T00:00:00Z"}
    response = await graph.get(VIEW, params={**window, "$filter": "showAs eq 'free'"})
    assert [e["subject"] for e in response.json()["value"]] == ["free one"]
    bad = await graph.get(VIEW, params={**window, "$filter": "contains(subject,'x')"})
    assert bad.status_code == 400
