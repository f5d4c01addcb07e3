"""Join prompts carry their ``obtp.join`` payload, so firing is one statement (docs/obtp.md).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21

``join_prompts.payload`` is the prompt's event payload but for its id (``prompt_event_fields``):
ids and times, no personal data. The dispatcher marks due prompts sent and inserts their outbox
events from it in one statement, with no per-prompt work in Python. Existing prompts get theirs
computed here, by the same function the code uses.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from calhub.domain.ids import DeviceId, EventId
from calhub.domain.meetings.prompts import PromptTarget, prompt_event_fields

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_PROMPTS = sa.table(
    "join_prompts",
    sa.column("id", sa.BigInteger()),
    sa.column("device_id", postgresql.UUID(as_uuid=True)),
    sa.column("event_id", postgresql.UUID(as_uuid=True)),
    sa.column("original_start_at", sa.DateTime(timezone=True)),
    sa.column("version", sa.Integer()),
    sa.column("fire_at", sa.DateTime(timezone=True)),
    sa.column("start_at", sa.DateTime(timezone=True)),
    sa.column("end_at", sa.DateTime(timezone=True)),
    sa.column("payload", postgresql.JSONB()),
)


def upgrade() -> None:
    op.add_column("join_prompts", sa.Column("payload", postgresql.JSONB(), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.select(_PROMPTS)).all()
    for row in rows:
        target = PromptTarget(DeviceId(row.device_id), EventId(row.event_id), row.original_start_at)
        fields = prompt_event_fields(
            target, row.version, fire_at=row.fire_at, start=row.start_at, end=row.end_at
        )
        bind.execute(_PROMPTS.update().where(_PROMPTS.c.id == row.id).values(payload=fields))
    op.alter_column("join_prompts", "payload", nullable=False)


def downgrade() -> None:
    op.drop_column("join_prompts", "payload")
