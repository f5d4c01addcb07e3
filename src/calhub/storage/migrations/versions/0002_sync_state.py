"""Sync state: consent round trips, connection scope, room and sync columns on calendars,
provider subscriptions, the notification inbox and the outbox of domain events.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

Follows docs/foundation.md, "Encryption at rest": mailbox scope, token cache and client states
are sealed; the consent state and the client state are also kept as SHA-256 digests, so the
callback and the notification intake find them before a tenant is known.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def _connection_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("provider_tenant_id", sa.Text(), nullable=True),
        sa.Column("scope", sa.LargeBinary(), nullable=True),
        sa.Column("token_cache", sa.LargeBinary(), nullable=True),
        sa.Column("consented_at", _TS, nullable=True),
    ]


def _calendar_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("room_capacity", sa.Integer(), nullable=True),
        sa.Column("room_building", sa.Text(), nullable=True),
        sa.Column("room_floor_number", sa.Integer(), nullable=True),
        sa.Column("room_floor_label", sa.Text(), nullable=True),
        sa.Column("room_bookable", sa.Boolean(), nullable=True),
        sa.Column("missing_since", _TS, nullable=True),
        sa.Column("out_of_scope_reason", sa.Text(), nullable=True),
        sa.Column("out_of_scope_since", _TS, nullable=True),
        sa.Column("last_full_sync_at", _TS, nullable=True),
        sa.Column("last_notification_at", _TS, nullable=True),
        sa.Column("last_change_seen_at", _TS, nullable=True),
        sa.Column("sync_lag_seconds", sa.Double(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", _TS, nullable=True),
        sa.Column(
            "consecutive_failures", sa.Integer(), server_default=sa.text("0"), nullable=False
        ),
    ]


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=f"fk_{table}_tenant_id_tenants", ondelete="CASCADE"
    )


def upgrade() -> None:
    for column in _connection_columns():
        op.add_column("connections", column)
    for column in _calendar_columns():
        op.add_column("calendars", column)
    op.create_table(
        "consent_states",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("connection_id", sa.UUID(), nullable=False),
        sa.Column("state_hash", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("used_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "connection_id"],
            ["connections.tenant_id", "connections.id"],
            name="fk_consent_states_tenant_id_connection_id_connections",
            ondelete="CASCADE",
        ),
        _tenant_fk("consent_states"),
        sa.PrimaryKeyConstraint("id", name="pk_consent_states"),
        sa.UniqueConstraint("state_hash", name="uq_consent_states_state_hash"),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("calendar_id", sa.UUID(), nullable=False),
        sa.Column("provider_subscription_id", sa.Text(), nullable=False),
        sa.Column("client_state", sa.LargeBinary(), nullable=False),
        sa.Column("client_state_hash", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("renewed_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "calendar_id"],
            ["calendars.tenant_id", "calendars.id"],
            name="fk_subscriptions_tenant_id_calendar_id_calendars",
            ondelete="CASCADE",
        ),
        _tenant_fk("subscriptions"),
        sa.PrimaryKeyConstraint("id", name="pk_subscriptions"),
        sa.UniqueConstraint("calendar_id", name="uq_subscriptions_calendar_id"),
        sa.UniqueConstraint(
            "provider_subscription_id", name="uq_subscriptions_provider_subscription_id"
        ),
        sa.UniqueConstraint("tenant_id", "id", name="uq_subscriptions_tenant_id_id"),
    )
    op.create_index("ix_subscriptions_expires_at", "subscriptions", ["expires_at"])
    op.create_table(
        "notification_inbox",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("calendar_id", sa.UUID(), nullable=False),
        sa.Column("subscription_id", sa.UUID(), nullable=False),
        sa.Column("change_type", sa.Text(), nullable=False),
        sa.Column("resource_id", sa.Text(), nullable=False),
        sa.Column("dedupe_key", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", _TS, nullable=False),
        sa.Column("processed_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "subscription_id"],
            ["subscriptions.tenant_id", "subscriptions.id"],
            name="fk_notification_inbox_tenant_id_subscription_id_subscriptions",
            ondelete="CASCADE",
        ),
        _tenant_fk("notification_inbox"),
        sa.PrimaryKeyConstraint("id", name="pk_notification_inbox"),
        sa.UniqueConstraint(
            "subscription_id",
            "resource_id",
            "change_type",
            "dedupe_key",
            name="uq_notification_inbox_dedupe",
        ),
    )
    op.create_index(
        "ix_notification_inbox_pending",
        "notification_inbox",
        ["calendar_id", "id"],
        postgresql_where=sa.text("processed_at IS NULL"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("delivered_at", _TS, nullable=True),
        _tenant_fk("outbox"),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
    )
    op.create_index("ix_outbox_tenant_id_id", "outbox", ["tenant_id", "id"])
    op.create_index(
        "ix_outbox_undelivered", "outbox", ["id"], postgresql_where=sa.text("delivered_at IS NULL")
    )


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("notification_inbox")
    op.drop_table("subscriptions")
    op.drop_table("consent_states")
    for column in reversed(_calendar_columns()):
        op.drop_column("calendars", column.name)
    for column in reversed(_connection_columns()):
        op.drop_column("connections", column.name)
