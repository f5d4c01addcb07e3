"""The schema as SQLAlchemy Core tables; migrations in ``migrations/versions`` create it.

Every tenant-owned table carries ``tenant_id NOT NULL`` with a foreign key to ``tenants``, and
child tables reference their parent by ``(tenant_id, id)`` so a row can never point into another
tenant. Columns of type ``bytea`` named like content (``subject``, ``owner_email``, ...) hold
ciphertext from ``calhub.storage.crypto``; ``*_index`` columns hold blind indexes; ``*_hash``
columns hold SHA-256 digests of random secrets (consent states, subscription client states),
looked up before a tenant is known.
A test compares this metadata with the migrated database, so the two cannot drift apart.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Double,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_TS = DateTime(timezone=True)


def _tenant_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE")


tenants = Table(
    "tenants",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, nullable=False),
    Column("created_at", _TS, nullable=False),
)

tenant_keys = Table(
    "tenant_keys",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("version", Integer, nullable=False),
    Column("wrapped_key", LargeBinary, nullable=False),
    Column("kek_id", Text, nullable=False),
    Column("kek_version", Integer, nullable=False),
    Column("created_at", _TS, nullable=False),
    Column("active", Boolean, nullable=False),
    PrimaryKeyConstraint("tenant_id", "version"),
    _tenant_fk(),
    Index(
        "uq_tenant_keys_one_active",
        "tenant_id",
        unique=True,
        postgresql_where=text("active"),
    ),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("secret_hash", LargeBinary, nullable=False),
    Column("created_at", _TS, nullable=False),
    Column("last_used_at", _TS),
    Column("revoked_at", _TS),
    _tenant_fk(),
)

connections = Table(
    "connections",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("provider", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("credentials", LargeBinary, nullable=False),
    Column("settings", JSONB, nullable=False),
    Column("created_at", _TS, nullable=False),
    Column("updated_at", _TS, nullable=False),
    Column("provider_tenant_id", Text),
    Column("scope", LargeBinary),
    Column("token_cache", LargeBinary),
    Column("consented_at", _TS),
    _tenant_fk(),
    UniqueConstraint("tenant_id", "id"),
)

calendars = Table(
    "calendars",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("connection_id", UUID(as_uuid=True), nullable=False),
    Column("provider_calendar_index", LargeBinary, nullable=False),
    Column("provider_calendar_id", LargeBinary, nullable=False),
    Column("kind", Text, nullable=False),
    Column("owner_email", LargeBinary, nullable=False),
    Column("owner_email_index", LargeBinary, nullable=False),
    Column("name", LargeBinary, nullable=False),
    Column("sync_cursor", LargeBinary),
    Column("created_at", _TS, nullable=False),
    Column("updated_at", _TS, nullable=False),
    Column("last_synced_at", _TS),
    Column("room_capacity", Integer),
    Column("room_building", Text),
    Column("room_floor_number", Integer),
    Column("room_floor_label", Text),
    Column("room_bookable", Boolean),
    Column("missing_since", _TS),
    Column("out_of_scope_reason", Text),
    Column("out_of_scope_since", _TS),
    Column("last_full_sync_at", _TS),
    Column("last_notification_at", _TS),
    Column("last_change_seen_at", _TS),
    Column("sync_lag_seconds", Double),
    Column("last_error", Text),
    Column("last_error_at", _TS),
    Column("consecutive_failures", Integer, nullable=False, server_default=text("0")),
    _tenant_fk(),
    ForeignKeyConstraint(
        ["tenant_id", "connection_id"],
        ["connections.tenant_id", "connections.id"],
        ondelete="CASCADE",
    ),
    UniqueConstraint("tenant_id", "id"),
    UniqueConstraint("connection_id", "provider_calendar_index"),
    # Lookup indexes lead with what they look up, never with tenant_id alone: a foreign-key
    # check's cached plan could take such an index to scan a tenant's rows (migration 0007).
    Index("ix_calendars_owner_email_index_tenant_id", "owner_email_index", "tenant_id"),
)

events = Table(
    "events",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("calendar_id", UUID(as_uuid=True), nullable=False),
    Column("provider_event_id", Text, nullable=False),
    Column("start_at", _TS, nullable=False),
    Column("end_at", _TS, nullable=False),
    Column("start_date", Date),
    Column("end_date", Date),
    Column("time_zone", Text, nullable=False),
    Column("is_all_day", Boolean, nullable=False),
    Column("show_as", Text, nullable=False),
    Column("is_private", Boolean, nullable=False),
    Column("is_cancelled", Boolean, nullable=False),
    Column("recurrence", JSONB),
    Column("series_id", UUID(as_uuid=True)),
    Column("recurrence_id_at", _TS),
    Column("recurrence_id_date", Date),
    Column("change_key", Text, nullable=False),
    Column("subject", LargeBinary, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("location", LargeBinary, nullable=False),
    Column("organizer", LargeBinary, nullable=False),
    Column("attendees", LargeBinary, nullable=False),
    Column("created_at", _TS, nullable=False),
    Column("updated_at", _TS, nullable=False),
    Column("body_format", Text, nullable=False, server_default=text("'html'")),
    Column("is_organizer", Boolean, nullable=False, server_default=text("false")),
    Column("join_details", LargeBinary),  # sealed JSON of the detected JoinDetails, if any
    Column("ical_uid_index", LargeBinary),  # blind index of the iCalendar UID: one meeting's copies
    _tenant_fk(),
    ForeignKeyConstraint(
        ["tenant_id", "calendar_id"], ["calendars.tenant_id", "calendars.id"], ondelete="CASCADE"
    ),
    # The key the foreign keys of occurrences and attendee entries point at, led by the id: led
    # by tenant_id it invited tenant-wide scans (migration 0003).
    UniqueConstraint("id", "tenant_id"),
    UniqueConstraint("calendar_id", "provider_event_id"),
    Index("ix_events_calendar_id_start_at", "calendar_id", "start_at"),
    Index("ix_events_series_id", "series_id"),
    Index("ix_events_ical_uid_index_tenant_id", "ical_uid_index", "tenant_id"),  # 0007
)

occurrences = Table(
    "occurrences",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("calendar_id", UUID(as_uuid=True), nullable=False),
    Column("start_at", _TS, nullable=False),
    Column("end_at", _TS, nullable=False),
    Column("start_date", Date),
    Column("end_date", Date),
    Column("original_start_at", _TS, nullable=False),
    Column("original_start_date", Date),
    Column("is_override", Boolean, nullable=False),
    _tenant_fk(),
    ForeignKeyConstraint(
        ["tenant_id", "event_id"], ["events.tenant_id", "events.id"], ondelete="CASCADE"
    ),
    ForeignKeyConstraint(
        ["tenant_id", "calendar_id"], ["calendars.tenant_id", "calendars.id"], ondelete="CASCADE"
    ),
    Index("ix_occurrences_calendar_id_start_at", "calendar_id", "start_at"),
    Index("ix_occurrences_event_id", "event_id"),
)

event_attendee_index = Table(
    "event_attendee_index",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("email_index", LargeBinary, nullable=False),
    PrimaryKeyConstraint("event_id", "email_index"),
    _tenant_fk(),
    ForeignKeyConstraint(
        ["tenant_id", "event_id"], ["events.tenant_id", "events.id"], ondelete="CASCADE"
    ),
    Index("ix_event_attendee_index_tenant_id_email_index", "tenant_id", "email_index"),
)

task_effects = Table(
    "task_effects",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("tenant_id", UUID(as_uuid=True)),
    Column("kind", Text, nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("created_at", _TS, nullable=False),
    ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
)

consent_states = Table(
    "consent_states",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("connection_id", UUID(as_uuid=True), nullable=False),
    Column("state_hash", LargeBinary, nullable=False, unique=True),
    Column("created_at", _TS, nullable=False),
    Column("expires_at", _TS, nullable=False),
    Column("used_at", _TS),
    _tenant_fk(),
    ForeignKeyConstraint(
        ["tenant_id", "connection_id"],
        ["connections.tenant_id", "connections.id"],
        ondelete="CASCADE",
    ),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("calendar_id", UUID(as_uuid=True), nullable=False, unique=True),
    Column("provider_subscription_id", Text, nullable=False, unique=True),
    Column("client_state", LargeBinary, nullable=False),
    Column("client_state_hash", LargeBinary, nullable=False),
    Column("status", Text, nullable=False),
    Column("expires_at", _TS, nullable=False, index=True),
    Column("created_at", _TS, nullable=False),
    Column("renewed_at", _TS),
    _tenant_fk(),
    ForeignKeyConstraint(
        ["tenant_id", "calendar_id"], ["calendars.tenant_id", "calendars.id"], ondelete="CASCADE"
    ),
    UniqueConstraint("tenant_id", "id"),
)

notification_inbox = Table(
    "notification_inbox",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("calendar_id", UUID(as_uuid=True), nullable=False),
    Column("subscription_id", UUID(as_uuid=True), nullable=False),
    Column("change_type", Text, nullable=False),
    Column("resource_id", Text, nullable=False),
    Column("dedupe_key", LargeBinary, nullable=False),
    Column("received_at", _TS, nullable=False),
    Column("processed_at", _TS),
    _tenant_fk(),
    ForeignKeyConstraint(
        ["tenant_id", "subscription_id"],
        ["subscriptions.tenant_id", "subscriptions.id"],
        ondelete="CASCADE",
    ),
    UniqueConstraint(
        "subscription_id",
        "resource_id",
        "change_type",
        "dedupe_key",
        name="uq_notification_inbox_dedupe",
    ),
    Index(
        "ix_notification_inbox_pending",
        "calendar_id",
        "id",
        postgresql_where=text("processed_at IS NULL"),
    ),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("kind", Text, nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("created_at", _TS, nullable=False),
    Column("delivered_at", _TS),  # fanned out to the tenant's webhook endpoints
    Column("device_id", UUID(as_uuid=True)),  # the one device the event is for, if any
    _tenant_fk(),
    Index("ix_outbox_tenant_id_id", "tenant_id", "id"),
    Index(
        "ix_outbox_device_id_id", "device_id", "id", postgresql_where=text("device_id IS NOT NULL")
    ),
    Index("ix_outbox_undelivered", "id", postgresql_where=text("delivered_at IS NULL")),
)

join_settings = Table(
    "join_settings",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("settings", JSONB, nullable=False),
    Column("updated_at", _TS, nullable=False),
    _tenant_fk(),
)

# Join-block writes decided by a sync and drained by workers (docs/joinlinks.md, "Write-back").
join_writes = Table(
    "join_writes",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("calendar_id", UUID(as_uuid=True), nullable=False),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("provider_event_id", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("not_before", _TS, nullable=False),
    Column("created_at", _TS, nullable=False),
    Column("updated_at", _TS, nullable=False),
    Column("outcome", Text),
    Column("written_change_key", Text),
    _tenant_fk(),
    ForeignKeyConstraint(
        ["tenant_id", "calendar_id"], ["calendars.tenant_id", "calendars.id"], ondelete="CASCADE"
    ),
    Index("ix_join_writes_tenant_id_event_id", "tenant_id", "event_id"),
    Index("ix_join_writes_tenant_id_id", "tenant_id", "id"),
    Index("ix_join_writes_due", "not_before", "id", postgresql_where=text("state = 'pending'")),
)

# Room devices and users' clients: each reads the feed of one calendar with its own token
# (docs/meetings.md). ``name`` is sealed: a client's name may name its user.
devices = Table(
    "devices",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("calendar_id", UUID(as_uuid=True), nullable=False),
    Column("kind", Text, nullable=False),  # "room" (a room's device) or "client" (a user's app)
    Column("name", LargeBinary, nullable=False),
    Column("token_hash", LargeBinary, nullable=False, unique=True),
    Column("time_zone", Text, nullable=False),
    Column("created_at", _TS, nullable=False),
    Column("last_seen_at", _TS),
    _tenant_fk(),
    ForeignKeyConstraint(
        ["tenant_id", "calendar_id"], ["calendars.tenant_id", "calendars.id"], ondelete="CASCADE"
    ),
    UniqueConstraint("tenant_id", "id"),
    Index("ix_devices_calendar_id", "calendar_id"),
)

# A tenant's meeting settings as JSON: the join-prompt lead time and its per-room overrides.
meeting_settings = Table(
    "meeting_settings",
    metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("settings", JSONB, nullable=False),
    Column("updated_at", _TS, nullable=False),
    _tenant_fk(),
)

# One-button-to-push join prompts: one row per (occurrence, device, version), scheduled by the
# sync and fired by the workers' dispatchers (docs/obtp.md). An occurrence is (event_id: the
# series or single event, original_start_at: its slot, the epoch for a single event). No
# foreign key to events: a prompt outlives a deleted event so that it can be withdrawn.
join_prompts = Table(
    "join_prompts",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("device_id", UUID(as_uuid=True), nullable=False),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("original_start_at", _TS, nullable=False),
    Column("version", Integer, nullable=False),
    Column("start_at", _TS, nullable=False),
    Column("end_at", _TS, nullable=False),
    Column("fire_at", _TS, nullable=False),
    Column("state", Text, nullable=False),  # scheduled, sent, withdrawn, dropped
    Column("join_digest", LargeBinary, nullable=False),
    Column("content", LargeBinary, nullable=False),  # sealed booking snapshot
    # Its obtp.join payload but for the prompt's id: ids and times, no personal data.
    Column("payload", JSONB, nullable=False),
    Column("created_at", _TS, nullable=False),
    Column("sent_at", _TS),
    Column("withdrawn_at", _TS),
    _tenant_fk(),
    ForeignKeyConstraint(
        ["tenant_id", "device_id"], ["devices.tenant_id", "devices.id"], ondelete="CASCADE"
    ),
    UniqueConstraint("device_id", "event_id", "original_start_at", "version"),
    Index("ix_join_prompts_tenant_id_event_id", "tenant_id", "event_id"),
    Index("ix_join_prompts_due", "fire_at", "id", postgresql_where=text("state = 'scheduled'")),
)

# Outbound webhook endpoints (Standard Webhooks signing) and their deliveries, one per
# (endpoint, outbox event), retried with backoff for up to a day.
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("url", LargeBinary, nullable=False),
    Column("secret", LargeBinary, nullable=False),
    Column("event_types", JSONB, nullable=False),  # [] = every type
    Column("state", Text, nullable=False),  # active, disabled
    Column("created_at", _TS, nullable=False),
    Column("updated_at", _TS, nullable=False),
    Column("failing_since", _TS),
    Column("consecutive_failures", Integer, nullable=False, server_default=text("0")),
    Column("last_success_at", _TS),
    Column("disabled_at", _TS),
    Column("disabled_reason", Text),
    _tenant_fk(),
    UniqueConstraint("tenant_id", "id"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("endpoint_id", UUID(as_uuid=True), nullable=False),
    Column("event_id", BigInteger, nullable=False),  # the outbox event
    Column("state", Text, nullable=False),  # pending, delivered, failed
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", _TS, nullable=False),
    Column("created_at", _TS, nullable=False),
    Column("last_attempt_at", _TS),
    Column("last_status", Integer),
    Column("last_error", Text),
    _tenant_fk(),
    ForeignKeyConstraint(
        ["tenant_id", "endpoint_id"],
        ["webhook_endpoints.tenant_id", "webhook_endpoints.id"],
        ondelete="CASCADE",
    ),
    UniqueConstraint("endpoint_id", "event_id"),
    Index("ix_webhook_deliveries_tenant_id_id", "tenant_id", "id"),
    Index(
        "ix_webhook_deliveries_due",
        "next_attempt_at",
        "id",
        postgresql_where=text("state = 'pending'"),
    ),
)

# Out-of-office presence per user calendar, from the mailbox's automatic replies (docs/presence.md).
presence = Table(
    "presence",
    metadata,
    Column("calendar_id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("reply_status", Text, nullable=False),  # disabled, alwaysEnabled, scheduled
    Column("scheduled_start_at", _TS),
    Column("scheduled_end_at", _TS),
    Column("out_of_office", Boolean, nullable=False),  # as last announced
    Column("changed_at", _TS, nullable=False),
    Column("checked_at", _TS, nullable=False),
    Column("next_flip_at", _TS),  # when a scheduled window starts or ends without a poll
    Column("last_error", Text),
    _tenant_fk(),
    ForeignKeyConstraint(
        ["tenant_id", "calendar_id"], ["calendars.tenant_id", "calendars.id"], ondelete="CASCADE"
    ),
    Index(
        "ix_presence_next_flip_at",
        "next_flip_at",
        postgresql_where=text("next_flip_at IS NOT NULL"),
    ),
    Index("ix_presence_checked_at", "checked_at"),
)
