"""The worker's periodic schedules are the ones the safety net and upkeep rely on."""

from __future__ import annotations

import procrastinate
from procrastinate.testing import InMemoryConnector

from calhub.workers.tasks import register_tasks


def test_every_sync_schedule_is_registered_with_its_cron() -> None:
    app = procrastinate.App(connector=InMemoryConnector())
    register_tasks(app)

    crons = {
        periodic.periodic_id: periodic.cron
        for periodic in app.periodic_registry.periodic_tasks.values()
    }

    assert crons == {
        "retry_stalled_jobs": "* * * * *",
        "prune_finished_jobs": "17 * * * *",
        "sync_quiet_calendars": "* * * * *",
        "reconcile_calendars": "7 * * * *",
        "renew_subscriptions": "*/15 * * * *",
        "rediscover_calendars": "23 3 * * *",
        "sweep_join_writes": "* * * * *",
        "prune_sync_records": "41 4 * * *",
        "poll_presence": "* * * * *",
        "flip_due_presence": "* * * * *",
        "sweep_webhooks": "* * * * *",
        "extend_prompt_horizon": "*/10 * * * *",
    }
    assert {
        "calhub.sync_calendar",
        "calhub.ensure_subscription",
        "calhub.drain_join_writes",
        "calhub.deliver_webhooks",
    } <= set(app.tasks)
