"""Repositories: every SQL query of the hub, one class per aggregate, all tenant-scoped.

Each repository is built by the ``UnitOfWork`` around its connection; every method that reads or
writes tenant data takes ``tenant_id`` and filters by it (the one exception is
``ApiKeyRepository.get``/``mark_used``, which authentication calls before a tenant is known,
and the cross-tenant queries of periodic jobs and intake: ``ConsentStateRepository.consume``,
``SubscriptionRepository.for_intake``/``due_for_renewal``, ``NotificationInbox.add_many``/
``prune_processed``, ``OutboxRepository.undelivered``/``mark_delivered``, the
``SyncStatusRepository`` safety-net queries and the metrics export's
``SyncStatusRepository.list(None)``/``ConnectionRepository.count_by_status``, and the presence
poll and flips: ``PresenceRepository.pollable_count``/``due_for_poll``/``due_flips``, and
webhook delivery: ``WebhookRepository.routes``/``claim_due``/``next_due_at``, and join-prompt
firing and the horizon pass: ``JoinPromptRepository.fire_due``/``next_fire_at``/
``calendars_with_devices(None)``).
"""

from calhub.storage.repositories.api_keys import ApiKeyRepository
from calhub.storage.repositories.base import Scope
from calhub.storage.repositories.calendars import CalendarRepository
from calhub.storage.repositories.connections import ConnectionRepository
from calhub.storage.repositories.consent_states import (
    ConsentStateAccepted,
    ConsentStateRejected,
    ConsentStateRepository,
)
from calhub.storage.repositories.data_keys import DataKeyRepository
from calhub.storage.repositories.devices import DeviceRepository
from calhub.storage.repositories.events import EventRepository
from calhub.storage.repositories.join_prompts import FiredPrompts, JoinPromptRepository
from calhub.storage.repositories.join_settings import JoinSettingsRepository
from calhub.storage.repositories.join_writes import (
    JoinWrite,
    JoinWritesRepository,
    JoinWriteState,
)
from calhub.storage.repositories.meeting_settings import MeetingSettingsRepository
from calhub.storage.repositories.meetings import MeetingCopy, MeetingRepository
from calhub.storage.repositories.mirror import (
    AppliedPlan,
    MirrorRepository,
    MirrorSnapshot,
    StalePlan,
)
from calhub.storage.repositories.notifications import (
    InboxNotification,
    NotificationInbox,
    PendingNotifications,
)
from calhub.storage.repositories.occurrences import OccurrenceRepository
from calhub.storage.repositories.outbox import OutboxEvent, OutboxRepository
from calhub.storage.repositories.presence import DuePoll, PresenceRepository
from calhub.storage.repositories.subscriptions import IntakeSubscription, SubscriptionRepository
from calhub.storage.repositories.sync_status import DueCalendar, SyncStatusRepository
from calhub.storage.repositories.task_effects import TaskEffect, TaskEffectRepository
from calhub.storage.repositories.tenants import TenantRepository
from calhub.storage.repositories.webhooks import WebhookRepository

__all__ = [
    "ApiKeyRepository",
    "AppliedPlan",
    "CalendarRepository",
    "ConnectionRepository",
    "ConsentStateAccepted",
    "ConsentStateRejected",
    "ConsentStateRepository",
    "DataKeyRepository",
    "DeviceRepository",
    "DueCalendar",
    "DuePoll",
    "EventRepository",
    "FiredPrompts",
    "InboxNotification",
    "IntakeSubscription",
    "JoinPromptRepository",
    "JoinSettingsRepository",
    "JoinWrite",
    "JoinWriteState",
    "JoinWritesRepository",
    "MeetingCopy",
    "MeetingRepository",
    "MeetingSettingsRepository",
    "MirrorRepository",
    "MirrorSnapshot",
    "NotificationInbox",
    "OccurrenceRepository",
    "OutboxEvent",
    "OutboxRepository",
    "PendingNotifications",
    "PresenceRepository",
    "Scope",
    "StalePlan",
    "SubscriptionRepository",
    "SyncStatusRepository",
    "TaskEffect",
    "TaskEffectRepository",
    "TenantRepository",
    "WebhookRepository",
]
