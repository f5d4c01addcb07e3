"""Events' composite key for foreign keys leads with the id: (id, tenant_id).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21

Occurrences and the attendee index point at (tenant_id, id) of their event, so the pair needs a
unique index; led by tenant_id it also offered the planner a scan of a tenant's whole mirror for
any query with a tenant predicate, which it took whenever statistics were thin (a new deployment,
a tenant just connected). Led by the id it serves the foreign keys alone.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_REFERRING = ("occurrences", "event_attendee_index")


def _rekey(old: str, new: str, columns: list[str]) -> None:
    for table in _REFERRING:
        op.drop_constraint(f"fk_{table}_tenant_id_event_id_events", table, type_="foreignkey")
    op.drop_constraint(old, "events", type_="unique")
    op.create_unique_constraint(new, "events", columns)
    for table in _REFERRING:
        op.create_foreign_key(
            f"fk_{table}_tenant_id_event_id_events",
            table,
            "events",
            ["tenant_id", "event_id"],
            ["tenant_id", "id"],
            ondelete="CASCADE",
        )


def upgrade() -> None:
    _rekey("uq_events_tenant_id_id", "uq_events_id_tenant_id", ["id", "tenant_id"])


def downgrade() -> None:
    _rekey("uq_events_id_tenant_id", "uq_events_tenant_id_id", ["tenant_id", "id"])
