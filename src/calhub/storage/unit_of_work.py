"""The unit of work: one connection and transaction, with every repository on it.

    factory = UnitOfWorkFactory(engine, keyring)
    async with factory() as uow:
        await uow.tenants.add(tenant)
        await uow.commit()

Leaving the block without ``commit()`` (or by an exception) rolls back; ``commit()`` may be
called more than once, each starting a new transaction for the work after it. Repositories take
``tenant_id`` on every call.

``factory.reading()`` is for reads that need no common snapshot: its statements run without a
transaction (each sees what is committed when it runs), which spares the BEGIN and ROLLBACK
round trips on hot paths such as the start of every sync job.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from calhub.storage.crypto.keyring import Keyring
from calhub.storage.repositories import (
    ApiKeyRepository,
    CalendarRepository,
    ConnectionRepository,
    ConsentStateRepository,
    DataKeyRepository,
    DeviceRepository,
    EventRepository,
    JoinPromptRepository,
    JoinSettingsRepository,
    JoinWritesRepository,
    MeetingRepository,
    MeetingSettingsRepository,
    MirrorRepository,
    NotificationInbox,
    OccurrenceRepository,
    OutboxRepository,
    PresenceRepository,
    Scope,
    SubscriptionRepository,
    SyncStatusRepository,
    TaskEffectRepository,
    TenantRepository,
    WebhookRepository,
)


class UnitOfWork:
    tenants: TenantRepository
    api_keys: ApiKeyRepository
    connections: ConnectionRepository
    calendars: CalendarRepository
    events: EventRepository
    occurrences: OccurrenceRepository
    task_effects: TaskEffectRepository
    data_keys: DataKeyRepository
    consent_states: ConsentStateRepository
    subscriptions: SubscriptionRepository
    notifications: NotificationInbox
    outbox: OutboxRepository
    join_writes: JoinWritesRepository
    sync_status: SyncStatusRepository
    mirror: MirrorRepository
    join_settings: JoinSettingsRepository
    devices: DeviceRepository
    presence: PresenceRepository
    webhooks: WebhookRepository
    meetings: MeetingRepository
    join_prompts: JoinPromptRepository
    meeting_settings: MeetingSettingsRepository

    def __init__(self, engine: AsyncEngine, keyring: Keyring, *, autocommit: bool = False) -> None:
        self._engine = engine
        self._keyring = keyring
        self._autocommit = autocommit
        self._conn: AsyncConnection | None = None
        self._scope: Scope | None = None

    @property
    def connection(self) -> AsyncConnection:
        if self._conn is None:
            raise RuntimeError("use the unit of work inside 'async with'")
        return self._conn

    async def __aenter__(self) -> UnitOfWork:
        self._conn = await self._engine.connect()
        if self._autocommit:
            await self._conn.execution_options(isolation_level="AUTOCOMMIT")
        scope = self._scope = Scope(self._conn, self._keyring)
        self.tenants = TenantRepository(scope)
        self.api_keys = ApiKeyRepository(scope)
        self.connections = ConnectionRepository(scope)
        self.calendars = CalendarRepository(scope)
        self.events = EventRepository(scope)
        self.occurrences = OccurrenceRepository(scope)
        self.task_effects = TaskEffectRepository(scope)
        self.data_keys = DataKeyRepository(scope)
        self.consent_states = ConsentStateRepository(scope)
        self.subscriptions = SubscriptionRepository(scope)
        self.notifications = NotificationInbox(scope)
        self.outbox = OutboxRepository(scope)
        self.join_writes = JoinWritesRepository(scope)
        self.sync_status = SyncStatusRepository(scope)
        self.mirror = MirrorRepository(self.events, self.occurrences)
        self.join_settings = JoinSettingsRepository(scope)
        self.devices = DeviceRepository(scope)
        self.presence = PresenceRepository(scope)
        self.webhooks = WebhookRepository(scope)
        self.meetings = MeetingRepository(scope)
        self.join_prompts = JoinPromptRepository(scope)
        self.meeting_settings = MeetingSettingsRepository(scope)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            await self.rollback()
        finally:
            if self._conn is not None:
                await self._conn.close()
            self._conn = None

    async def commit(self) -> None:
        await self.connection.commit()
        if self._scope is not None:
            self._scope.new_key_tenants.clear()

    async def rollback(self) -> None:
        if self._conn is None:
            return
        await self._conn.rollback()
        if self._scope is not None:
            for tenant_id in self._scope.new_key_tenants:
                self._keyring.forget(tenant_id)
            self._scope.new_key_tenants.clear()


class UnitOfWorkFactory:
    """Builds units of work on one engine and keyring; ``factory()`` gives a new one."""

    def __init__(self, engine: AsyncEngine, keyring: Keyring) -> None:
        self.engine = engine
        self.keyring = keyring

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self.engine, self.keyring)

    def reading(self) -> UnitOfWork:
        """A unit of work whose statements run without a transaction (see the module doc)."""
        return UnitOfWork(self.engine, self.keyring, autocommit=True)
