"""The lookup indexes of calendars and events lead with what they look up, not the tenant.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21

Calendars are found by owner (``owner_email_index``) and a meeting's copies by the blind index
of its iCalendar UID (``ical_uid_index``), each within a tenant. Led by tenant_id, these indexes
were the only ones on their tables (besides calendars' (tenant_id, id) key) that a bare tenant
predicate could use, and PostgreSQL's own foreign-key checks have one: every event stored checks its
calendar by ``tenant_id = $1 AND id = $2``, every occurrence and attendee entry its event. A
check's plan is made once per connection and kept until the table is next analyzed; made while
the table was small (a new deployment, a tenant just connected) it could scan the tenant's
calendars or events through these indexes, thousands of entries per row stored, until
autovacuum came by (docs/sync.md, "Statistics that lag"). Led by what they look up they serve
their lookups alone.
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_INDEXES = (  # table, looked-up column
    ("calendars", "owner_email_index"),
    ("events", "ical_uid_index"),
)


def upgrade() -> None:
    for table, column in _INDEXES:
        op.drop_index(f"ix_{table}_tenant_id_{column}", table)
        op.create_index(f"ix_{table}_{column}_tenant_id", table, [column, "tenant_id"])


def downgrade() -> None:
    for table, column in _INDEXES:
        op.drop_index(f"ix_{table}_{column}_tenant_id", table)
        op.create_index(f"ix_{table}_tenant_id_{column}", table, ["tenant_id", column])
