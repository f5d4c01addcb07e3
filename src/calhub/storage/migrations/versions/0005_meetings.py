"""Meetings list, join prompts (OBTP), outbound webhooks and presence (issue 6).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21

``devices`` are room devices and users' clients, each reading one calendar's feed with its own
token (kept as a SHA-256 digest). ``meeting_settings`` holds a tenant's join-prompt lead times as
JSON. ``join_prompts`` is the schedule and ledger of join prompts, one row per (occurrence, device,
version) with a sealed booking snapshot. ``webhook_endpoints`` (URL and signing secret sealed) and
``webhook_deliveries`` carry outbox events to subscribers; outbox events may name the one device
they are for. ``presence`` keeps each user's out-of-office state and the next scheduled flip.
Events gain a blind index of their iCalendar UID, which the copies of one meeting share.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_UUID = postgresql.UUID(as_uuid=True)


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=f"fk_{table}_tenant_id_tenants", ondelete="CASCADE"
    )


def _calendar_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", "calendar_id"],
        ["calendars.tenant_id", "calendars.id"],
        name=f"fk_{table}_tenant_id_calendar_id_calendars",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.add_column("events", sa.Column("ical_uid_index", sa.LargeBinary(), nullable=True))
    op.create_index("ix_events_tenant_id_ical_uid_index", "events", ["tenant_id", "ical_uid_index"])
    op.add_column("outbox", sa.Column("device_id", _UUID, nullable=True))
    op.create_index(
        "ix_outbox_device_id_id",
        "outbox",
        ["device_id", "id"],
        postgresql_where=sa.text("device_id IS NOT NULL"),
    )
    op.create_table(
        "devices",
        sa.Column("id", _UUID, nullable=False),
        sa.Column("tenant_id", _UUID, nullable=False),
        sa.Column("calendar_id", _UUID, nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("name", sa.LargeBinary(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("time_zone", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_seen_at", _TS, nullable=True),
        _tenant_fk("devices"),
        _calendar_fk("devices"),
        sa.PrimaryKeyConstraint("id", name="pk_devices"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_devices_tenant_id_id"),
        sa.UniqueConstraint("token_hash", name="uq_devices_token_hash"),
    )
    op.create_index("ix_devices_calendar_id", "devices", ["calendar_id"])
    op.create_table(
        "meeting_settings",
        sa.Column("tenant_id", _UUID, nullable=False),
        sa.Column("settings", postgresql.JSONB(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        _tenant_fk("meeting_settings"),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_meeting_settings"),
    )
    op.create_table(
        "join_prompts",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", _UUID, nullable=False),
        sa.Column("device_id", _UUID, nullable=False),
        sa.Column("event_id", _UUID, nullable=False),
        sa.Column("original_start_at", _TS, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("start_at", _TS, nullable=False),
        sa.Column("end_at", _TS, nullable=False),
        sa.Column("fire_at", _TS, nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("join_digest", sa.LargeBinary(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("sent_at", _TS, nullable=True),
        sa.Column("withdrawn_at", _TS, nullable=True),
        _tenant_fk("join_prompts"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "device_id"],
            ["devices.tenant_id", "devices.id"],
            name="fk_join_prompts_tenant_id_device_id_devices",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_join_prompts"),
        sa.UniqueConstraint(
            "device_id",
            "event_id",
            "original_start_at",
            "version",
            name="uq_join_prompts_device_id_event_id_original_start_at_version",
        ),
    )
    op.create_index("ix_join_prompts_tenant_id_event_id", "join_prompts", ["tenant_id", "event_id"])
    op.create_index(
        "ix_join_prompts_due",
        "join_prompts",
        ["fire_at", "id"],
        postgresql_where=sa.text("state = 'scheduled'"),
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", _UUID, nullable=False),
        sa.Column("tenant_id", _UUID, nullable=False),
        sa.Column("url", sa.LargeBinary(), nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=False),
        sa.Column("event_types", postgresql.JSONB(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("failing_since", _TS, nullable=True),
        sa.Column(
            "consecutive_failures", sa.Integer(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column("last_success_at", _TS, nullable=True),
        sa.Column("disabled_at", _TS, nullable=True),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        _tenant_fk("webhook_endpoints"),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_endpoints"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_webhook_endpoints_tenant_id_id"),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", _UUID, nullable=False),
        sa.Column("endpoint_id", _UUID, nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_attempt_at", _TS, nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _tenant_fk("webhook_deliveries"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "endpoint_id"],
            ["webhook_endpoints.tenant_id", "webhook_endpoints.id"],
            name="fk_webhook_deliveries_tenant_id_endpoint_id_webhook_endpoints",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        sa.UniqueConstraint(
            "endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_id_event_id"
        ),
    )
    op.create_index("ix_webhook_deliveries_tenant_id_id", "webhook_deliveries", ["tenant_id", "id"])
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at", "id"],
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_table(
        "presence",
        sa.Column("calendar_id", _UUID, nullable=False),
        sa.Column("tenant_id", _UUID, nullable=False),
        sa.Column("reply_status", sa.Text(), nullable=False),
        sa.Column("scheduled_start_at", _TS, nullable=True),
        sa.Column("scheduled_end_at", _TS, nullable=True),
        sa.Column("out_of_office", sa.Boolean(), nullable=False),
        sa.Column("changed_at", _TS, nullable=False),
        sa.Column("checked_at", _TS, nullable=False),
        sa.Column("next_flip_at", _TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _tenant_fk("presence"),
        _calendar_fk("presence"),
        sa.PrimaryKeyConstraint("calendar_id", name="pk_presence"),
    )
    op.create_index(
        "ix_presence_next_flip_at",
        "presence",
        ["next_flip_at"],
        postgresql_where=sa.text("next_flip_at IS NOT NULL"),
    )
    op.create_index("ix_presence_checked_at", "presence", ["checked_at"])


def downgrade() -> None:
    for table in (
        "presence",
        "webhook_deliveries",
        "webhook_endpoints",
        "join_prompts",
        "meeting_settings",
        "devices",
    ):
        op.drop_table(table)
    op.drop_index("ix_outbox_device_id_id", table_name="outbox")
    op.drop_column("outbox", "device_id")
    op.drop_index("ix_events_tenant_id_ical_uid_index", table_name="events")
    op.drop_column("events", "ical_uid_index")
