"""Graph notification bodies → parsed notifications (graph.md §4.4, §4.7), shaped like the
emulator's POSTs (``calhub.emulators.graph.subscriptions.model``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from calhub.providers.base import InvalidResponse
from calhub.providers.msgraph.notifications import (
    ChangeType,
    LifecycleEvent,
    MalformedNotifications,
    NotificationsNotJson,
    parse_notifications,
)

SUBSCRIPTION = "7f105c7d-2dc5-4530-97cd-4e7ae6534c07"
USER = "6f0b2c9e-0000-4000-8000-000000000001"
TENANT = "84bd8158-6d4d-4958-8b9f-9d6445542f95"
EVENT = "AAMkAGI2xyz="


def change(change_type: str = "updated", **overrides: Any) -> dict[str, Any]:
    path = f"Users/{USER}/Events/{EVENT}"
    item: dict[str, Any] = {
        "subscriptionId": SUBSCRIPTION,
        "subscriptionExpirationDateTime": "2026-03-04T08:00:00+00:00",
        "changeType": change_type,
        "resource": path,
        "resourceData": {
            "@odata.type": "#Microsoft.Graph.Event",
            "@odata.id": path,
            "@odata.etag": 'W/"DwAAABYAAAAZ"',
            "id": EVENT,
        },
        "clientState": "secretClientValue",
        "tenantId": TENANT,
    }
    item.update(overrides)
    return item


def lifecycle(event: str) -> dict[str, Any]:
    return {
        "subscriptionId": SUBSCRIPTION,
        "subscriptionExpirationDateTime": "2026-03-04T08:00:00Z",
        "tenantId": TENANT,
        "clientState": "secretClientValue",
        "lifecycleEvent": event,
    }


def body(*items: Any) -> bytes:
    return json.dumps({"value": list(items)}).encode()


def test_a_change_notification_is_read_field_by_field() -> None:
    parsed = parse_notifications(body(change()))
    [notification] = parsed.changes
    assert notification.subscription_id == SUBSCRIPTION
    assert notification.client_state == "secretClientValue"
    assert notification.change_type is ChangeType.UPDATED
    assert notification.resource == f"Users/{USER}/Events/{EVENT}"
    assert notification.resource_id == EVENT
    assert notification.etag == 'W/"DwAAABYAAAAZ"'
    assert notification.tenant_id == TENANT
    assert notification.subscription_expires_at == datetime(2026, 3, 4, 8, tzinfo=UTC)
    assert (parsed.received, parsed.skipped, parsed.lifecycle) == (1, 0, ())
    assert "secretClientValue" not in repr(notification)


def test_deleted_carries_only_the_id_and_is_deduplicated_by_content() -> None:
    deleted = change("deleted")
    del deleted["resourceData"]["@odata.etag"]
    renewed = {**deleted, "subscriptionExpirationDateTime": "2026-03-09T08:00:00+00:00"}
    first, again, after_renewal = parse_notifications(body(deleted, deleted, renewed)).changes
    assert first.change_type is ChangeType.DELETED
    assert first.etag is None
    assert first.dedupe == again.dedupe == after_renewal.dedupe
    assert first.dedupe.startswith("digest:")


def test_dedupe_follows_the_etag() -> None:
    one, same, edited = parse_notifications(
        body(
            change(),
            change(),
            change(resourceData={"id": EVENT, "@odata.etag": 'W/"DwAAABYAAAAa"'}),
        )
    ).changes
    assert one.dedupe == same.dedupe == 'etag:W/"DwAAABYAAAAZ"'
    assert edited.dedupe != one.dedupe


@pytest.mark.parametrize(
    "resource",
    [
        f"Users/{USER}/Events/{EVENT}",
        f"users/{USER}/events/{EVENT}",
        f"Users('{USER}')/Events('{EVENT}')",
    ],
)
def test_the_event_id_comes_from_the_resource_when_resource_data_has_none(resource: str) -> None:
    [notification] = parse_notifications(body(change(resource=resource, resourceData=None))).changes
    assert notification.resource_id == EVENT


def test_change_types_are_read_case_insensitively() -> None:
    [notification] = parse_notifications(body(change("Created"))).changes
    assert notification.change_type is ChangeType.CREATED


@pytest.mark.parametrize("event", list(LifecycleEvent))
def test_lifecycle_notifications(event: LifecycleEvent) -> None:
    parsed = parse_notifications(body(lifecycle(event.value)))
    [notification] = parsed.lifecycle
    assert notification.event is event
    assert notification.subscription_id == SUBSCRIPTION
    assert notification.client_state == "secretClientValue"
    assert notification.subscription_expires_at == datetime(2026, 3, 4, 8, tzinfo=UTC)
    assert parsed.changes == ()


def test_one_post_may_mix_both_kinds() -> None:
    parsed = parse_notifications(body(change(), lifecycle("missed"), change("created")))
    assert [n.change_type for n in parsed.changes] == [ChangeType.UPDATED, ChangeType.CREATED]
    assert [n.event for n in parsed.lifecycle] == [LifecycleEvent.MISSED]
    assert parsed.received == 3


def test_an_empty_batch_is_fine() -> None:
    assert parse_notifications(b'{"value": []}').received == 0


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ("not an object", "not a JSON object"),
        (change(subscriptionId=None), "no subscriptionId"),
        (change(subscriptionId="x" * 600), "subscriptionId is not a Graph id"),
        (change(subscriptionId="sub\u0000"), "subscriptionId is not a Graph id"),
        (change("moved"), "changeType is not created, updated or deleted"),
        (change(resource=None), "no resource"),
        (change(resourceData=[]), "resourceData is not an object"),
        (change(resource="Users/x", resourceData={}), "no resourceData.id"),
        (change(clientState=42), "clientState is not a string"),
        (change(subscriptionExpirationDateTime="soon"), "not a date and time"),
        (lifecycle("somethingElse"), "lifecycleEvent is not reauthorizationRequired"),
    ],
)
def test_an_unreadable_item_is_skipped_and_counted(item: Any, reason: str) -> None:
    parsed = parse_notifications(body(change(), item))
    assert len(parsed.changes) == 1
    assert (parsed.skipped, parsed.received) == (1, 2)
    [problem] = parsed.problems
    assert problem.startswith("value[1]: ")
    assert reason in problem


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        (b"[]", "must be a JSON object"),
        (b'{"values": []}', "no 'value' list"),
        (b'{"value": {"subscriptionId": "x"}}', "no 'value' list"),
    ],
)
def test_a_body_that_is_not_a_notification_wrapper_is_an_error(raw: bytes, message: str) -> None:
    with pytest.raises(MalformedNotifications, match=message) as raised:
        parse_notifications(raw)
    assert isinstance(raised.value, InvalidResponse)
    assert isinstance(raised.value, NotificationsNotJson) == (message == "not valid JSON")
