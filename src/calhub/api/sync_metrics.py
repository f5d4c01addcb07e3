"""Per-calendar sync status as Prometheus gauges, read from the database at scrape time
(issue 4, "Safety net": status exported as metrics; ARCHITECTURE.md §4, lag per calendar).

Workers sync in other processes, so no process holds these numbers in memory: each scrape reads
every calendar's status and the connections per status (two queries, ``sync_overview``) into a
throw-away registry. Labels are ids only (tenant, connection, calendar) and the calendar kind;
nothing personal. A timestamp never recorded is left out rather than exported as 0.

- ``calhub_calendar_last_sync_timestamp_seconds``
- ``calhub_calendar_last_full_sync_timestamp_seconds``
- ``calhub_calendar_last_notification_timestamp_seconds``
- ``calhub_calendar_sync_lag_seconds`` (provider change to mirror, last applied change)
- ``calhub_calendar_consecutive_sync_failures``
- ``calhub_calendar_out_of_scope`` / ``calhub_calendar_missing`` (1 or 0)
- ``calhub_connections{status}``
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from calhub.domain.calendars import CalendarSyncStatus
from calhub.services.calendars import SyncOverview, sync_overview
from calhub.services.context import HubContext

_LABELS = ("tenant", "connection", "calendar", "kind")


async def sync_status_exposition(ctx: HubContext) -> bytes:
    """The sync gauges in Prometheus' text format."""
    return generate_latest(sync_status_registry(await sync_overview(ctx)))


def sync_status_registry(overview: SyncOverview) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)

    def gauge(name: str, documentation: str) -> Gauge:
        return Gauge(name, documentation, _LABELS, registry=registry)

    last_sync = gauge(
        "calhub_calendar_last_sync_timestamp_seconds", "When the calendar's last sync finished."
    )
    last_full = gauge(
        "calhub_calendar_last_full_sync_timestamp_seconds",
        "When the calendar's last full (reconciling) sync finished.",
    )
    last_notification = gauge(
        "calhub_calendar_last_notification_timestamp_seconds",
        "When the last change notification for the calendar arrived.",
    )
    lag = gauge(
        "calhub_calendar_sync_lag_seconds",
        "From the provider's change (as first reported) to the mirror, last applied change.",
    )
    failures = gauge(
        "calhub_calendar_consecutive_sync_failures", "Sync passes failed in a row (0 when fine)."
    )
    out_of_scope = gauge(
        "calhub_calendar_out_of_scope", "1 when the provider refuses the mailbox (access policy)."
    )
    missing = gauge("calhub_calendar_missing", "1 when discovery no longer finds the calendar.")
    for status in overview.calendars:
        labels = _labels(status)
        _set_time(last_sync, labels, status.last_synced_at)
        _set_time(last_full, labels, status.last_full_sync_at)
        _set_time(last_notification, labels, status.last_notification_at)
        if status.lag_seconds is not None:
            lag.labels(*labels).set(status.lag_seconds)
        failures.labels(*labels).set(status.consecutive_failures)
        out_of_scope.labels(*labels).set(int(status.out_of_scope_reason is not None))
        missing.labels(*labels).set(int(status.missing_since is not None))
    connections = Gauge(
        "calhub_connections", "Provider connections per status.", ["status"], registry=registry
    )
    for connection_status, count in overview.connections.items():
        connections.labels(connection_status.value).set(count)
    return registry


def _labels(status: CalendarSyncStatus) -> tuple[str, str, str, str]:
    return (
        str(status.tenant_id),
        str(status.connection_id),
        str(status.calendar_id),
        status.kind.value,
    )


def _set_time(gauge: Gauge, labels: tuple[str, str, str, str], at: datetime | None) -> None:
    if at is not None:
        gauge.labels(*labels).set(at.timestamp())
