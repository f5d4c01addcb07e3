"""mailboxSettings read whole or by part, patched by merging, as a Graph client sees it (§8)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.emulators.graph.seeds import ADELE

ADELE_URL = "/users/adele@contoso.test/mailboxSettings"
CONTEXT = f"https://graph.microsoft.com/v1.0/$metadata#users('{ADELE}')/mailboxSettings"


async def test_get_returns_the_whole_settings(graph: httpx.AsyncClient) -> None:
    response = await graph.get(ADELE_URL)
    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"] == CONTEXT
    assert body["timeZone"] == "W. Europe Standard Time"
    assert body["language"] == {"locale": "de-DE", "displayName": "Deutsch (Deutschland)"}
    assert body["userPurpose"] == "user"
    assert body["automaticRepliesSetting"]["status"] == "disabled"
    assert body["workingHours"]["daysOfWeek"] == [
        "monday", "tuesday", "wednesday", "thursday", "friday",
    ]  # fmt: skip
    by_id = (await graph.get(f"/users/{ADELE}/mailboxSettings")).json()
    assert by_id == body


async def test_a_complex_part_comes_back_as_the_object_itself(graph: httpx.AsyncClient) -> None:
    body = (await graph.get(f"{ADELE_URL}/workingHours")).json()
    assert body["@odata.context"] == f"{CONTEXT}/workingHours"
    assert (body["startTime"], body["endTime"]) == ("08:00:00.0000000", "17:00:00.0000000")
    assert body["timeZone"] == {"name": "UTC"}


@pytest.mark.parametrize(
    ("segment", "name", "expected"),
    [("timeZone", "timeZone", "W. Europe Standard Time"),
     ("timezone", "timeZone", "W. Europe Standard Time"),
     ("userPurpose", "userPurpose", "user"), ("dateFormat", "dateFormat", "M/d/yyyy")],
)  # fmt: skip
async def test_a_primitive_part_comes_back_as_value(
    graph: httpx.AsyncClient, segment: str, name: str, expected: str
) -> None:
    body = (await graph.get(f"{ADELE_URL}/{segment}")).json()
    assert body == {"@odata.context": f"{CONTEXT}/{name}", "value": expected}


async def test_a_room_mailbox_says_room(graph: httpx.AsyncClient) -> None:
    body = (await graph.get("/users/cf100@contoso.test/mailboxSettings/userPurpose")).json()
    assert body["value"] == "room"


async def test_unknown_part_is_400(graph: httpx.AsyncClient) -> None:
    response = await graph.get(f"{ADELE_URL}/favouriteColour")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "BadRequest")


async def test_patch_merges_into_a_part_and_leaves_the_others(graph: httpx.AsyncClient) -> None:
    response = await graph.patch(
        ADELE_URL,
        json={
            "automaticRepliesSetting": {"status": "alwaysEnabled", "internalReplyMessage": "Away"}
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"] == CONTEXT
    replies = body["automaticRepliesSetting"]
    assert (replies["status"], replies["internalReplyMessage"]) == ("alwaysEnabled", "Away")
    assert replies["externalAudience"] == "all"  # kept from before
    after = (await graph.get(ADELE_URL)).json()
    assert after["automaticRepliesSetting"] == replies
    assert after["timeZone"] == "W. Europe Standard Time"
    assert after["language"]["locale"] == "de-DE"


async def test_patch_time_zone_in_iana_form_is_returned_as_given(graph: httpx.AsyncClient) -> None:
    response = await graph.patch(ADELE_URL, json={"timeZone": "Europe/Berlin"})
    assert response.json()["timeZone"] == "Europe/Berlin"
    assert (await graph.get(f"{ADELE_URL}/timeZone")).json()["value"] == "Europe/Berlin"


async def test_patch_accepts_enum_members_in_any_case_and_stores_camel_case(
    graph: httpx.AsyncClient,
) -> None:
    scheduled = {
        "status": "Scheduled",
        "externalAudience": "ContactsOnly",
        "scheduledStartDateTime": {"dateTime": "2026-03-09T08:00:00", "timeZone": "UTC"},
        "scheduledEndDateTime": {"dateTime": "2026-03-13T17:00:00", "timeZone": "UTC"},
    }
    response = await graph.patch(
        ADELE_URL,
        json={
            "automaticRepliesSetting": scheduled,
            "workingHours": {"daysOfWeek": ["Monday", "TUESDAY"]},
            "delegateMeetingMessageDeliveryOptions": "SendToDelegateAndPrincipal",
        },
    )
    assert response.status_code == 200
    body = (await graph.get(ADELE_URL)).json()
    assert body["automaticRepliesSetting"]["status"] == "scheduled"
    assert body["automaticRepliesSetting"]["externalAudience"] == "contactsOnly"
    assert body["automaticRepliesSetting"]["scheduledEndDateTime"]["dateTime"].startswith(
        "2026-03-13T17:00:00"
    )
    assert body["workingHours"]["daysOfWeek"] == ["monday", "tuesday"]
    assert body["delegateMeetingMessageDeliveryOptions"] == "sendToDelegateAndPrincipal"


async def test_a_scheduled_window_comes_back_as_graph_writes_it_in_the_zone_given(
    graph: httpx.AsyncClient,
) -> None:
    window = {
        "status": "scheduled",
        "scheduledStartDateTime": {"dateTime": "2026-03-09T08:00", "timeZone": "Asia/Tokyo"},
        "scheduledEndDateTime": {
            "dateTime": "2026-03-13T17:00:00.5",
            "timeZone": "Pacific Standard Time",
        },
    }
    await graph.patch(ADELE_URL, json={"automaticRepliesSetting": window})
    replies = (await graph.get(f"{ADELE_URL}/automaticRepliesSetting")).json()
    assert replies["scheduledStartDateTime"] == {
        "dateTime": "2026-03-09T08:00:00.0000000",
        "timeZone": "Asia/Tokyo",
    }
    assert replies["scheduledEndDateTime"] == {
        "dateTime": "2026-03-13T17:00:00.5000000",
        "timeZone": "Pacific Standard Time",
    }


async def test_user_purpose_is_read_only(graph: httpx.AsyncClient) -> None:
    response = await graph.patch(ADELE_URL, json={"userPurpose": "room", "timeZone": "UTC"})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "ErrorInvalidRequest")
    body = (await graph.get(ADELE_URL)).json()
    assert (body["userPurpose"], body["timeZone"]) == ("user", "W. Europe Standard Time")


@pytest.mark.parametrize(
    "patch",
    [
        {"favouriteColour": "blue"},
        {"timeZone": 5},
        {"timeZone": "Mars/Olympus_Mons"},
        {"automaticRepliesSetting": {"status": "sometimes"}},
        {"automaticRepliesSetting": {"mood": "sunny"}},
        {"automaticRepliesSetting": "on"},
        {"automaticRepliesSetting": {"scheduledStartDateTime": "2026-03-09"}},
        {
            "automaticRepliesSetting": {
                "scheduledStartDateTime": {"dateTime": "next monday", "timeZone": "UTC"}
            }
        },
        {
            "automaticRepliesSetting": {
                "scheduledEndDateTime": {"dateTime": "2026-02-30T08:00:00", "timeZone": "UTC"}
            }
        },
        {"workingHours": {"startTime": "25:00:00"}},
        {"workingHours": {"daysOfWeek": ["someday"]}},
        {"workingHours": {"timeZone": "UTC"}},
        {"language": {"locale": 7}},
        {"dateFormat": None},
    ],
)
async def test_patch_with_bad_values_is_400_and_changes_nothing(
    graph: httpx.AsyncClient, patch: dict[str, Any]
) -> None:
    before = (await graph.get(ADELE_URL)).json()
    response = await graph.patch(ADELE_URL, json={"timeFormat": "HH:mm", **patch})
    assert response.status_code == 400
    assert response.json()["error"]["code"] in ("BadRequest", "ErrorInvalidRequest")
    assert (await graph.get(ADELE_URL)).json() == before


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b'"text"'])
async def test_patch_with_a_body_that_is_not_an_object_is_400(
    graph: httpx.AsyncClient, content: bytes
) -> None:
    response = await graph.patch(
        ADELE_URL, content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
