"""Repositories: every SQL query of the hub, one class per aggregate, all tenant-scoped.

Each repository is built by the ``UnitOfWork`` around its connection; every method that reads or
writes tenant data takes ``tenant_id`` and filters by it (the one exception is
``ApiKeyRepository.get``/``mark_used``, which authentication calls before a tenant is known).
"""

from calhub.storage.repositories.api_keys import ApiKeyRepository
from calhub.storage.repositories.base import Scope
from calhub.storage.repositories.calendars import CalendarRepository
from calhub.storage.repositories.connections import ConnectionRepository
from calhub.storage.repositories.data_keys import DataKeyRepository
from calhub.storage.repositories.events import EventRepository
from calhub.storage.repositories.occurrences import OccurrenceRepository
from calhub.storage.repositories.task_effects import TaskEffect, TaskEffectRepository
from calhub.storage.repositories.tenants import TenantRepository

__all__ = [
    "ApiKeyRepository",
    "CalendarRepository",
    "ConnectionRepository",
    "DataKeyRepository",
    "EventRepository",
    "OccurrenceRepository",
    "Scope",
    "TaskEffect",
    "TaskEffectRepository",
    "TenantRepository",
]
