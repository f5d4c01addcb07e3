"""Join details: what detection found on each event, tenants' join settings, the write outbox.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21

Events gain their body format, whether the mirrored copy is the organizer's, and the sealed join
details found in them. ``join_settings`` holds a tenant's keyword table, meeting backends and
join-block header and footer as JSON (no personal data). ``join_writes`` is the outbox of
join-block writes: a sync decides and commits a row with the mirror; workers drain it
(docs/joinlinks.md, "Write-back").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column(
        "events",
        sa.Column("body_format", sa.Text(), server_default=sa.text("'html'"), nullable=False),
    )
    op.add_column(
        "events",
        sa.Column("is_organizer", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column("events", sa.Column("join_details", sa.LargeBinary(), nullable=True))
    op.create_table(
        "join_settings",
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("settings", postgresql.JSONB(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name="fk_join_settings_tenant_id_tenants",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_join_settings"),
    )
    op.create_table(
        "join_writes",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("calendar_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("event_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("provider_event_id", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("not_before", _TS, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("written_change_key", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name="fk_join_writes_tenant_id_tenants",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "calendar_id"],
            ["calendars.tenant_id", "calendars.id"],
            name="fk_join_writes_tenant_id_calendar_id_calendars",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_join_writes"),
    )
    op.create_index("ix_join_writes_tenant_id_event_id", "join_writes", ["tenant_id", "event_id"])
    op.create_index("ix_join_writes_tenant_id_id", "join_writes", ["tenant_id", "id"])
    op.create_index(
        "ix_join_writes_due",
        "join_writes",
        ["not_before", "id"],
        postgresql_where=sa.text("state = 'pending'"),
    )


def downgrade() -> None:
    op.drop_table("join_writes")
    op.drop_table("join_settings")
    for column in ("join_details", "is_organizer", "body_format"):
        op.drop_column("events", column)
