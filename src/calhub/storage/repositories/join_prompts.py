"""Join prompts: the schedule and ledger of One-Button-To-Push notifications (docs/obtp.md).

One row per (device, meeting, original start, version); ``calhub.domain.meetings.prompts`` says
what the states mean. The booking snapshot (``content``) is sealed, bound to the row's target and
version; ``join_digest`` is an HMAC under the tenant's blind-index key, so it reveals nothing.

Reconciling (``calhub.sync.prompts``) finds the devices of calendars (``targets``), serialises
with other reconciles of the same calendars (``lock_calendars``), locks their live prompts
(``live``, ``FOR UPDATE``) and writes the plan (``apply``), each new prompt with its event
payload but for its id (``payload``). Firing (``fire_due``) is one statement: it claims due rows
across tenants with ``FOR UPDATE SKIP LOCKED``, marks them sent and inserts their outbox events,
so a prompt is sent exactly once even when a worker dies mid-batch, and nothing is done per
prompt in Python. ``fire_due`` and ``next_fire_at`` are cross-tenant (dispatchers serve every
tenant), as is ``calendars_with_devices(None)`` (the horizon pass).
"""

from __future__ import annotations

import json
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Row,
    and_,
    case,
    delete,
    func,
    literal,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB

from calhub.domain.events import EventTime
from calhub.domain.ids import CalendarId, DeviceId, EventId, TenantId
from calhub.domain.meetings.model import occurrence_slot
from calhub.domain.meetings.prompts import (
    JOIN_EVENT,
    LivePrompt,
    PromptPlan,
    PromptState,
    PromptTarget,
    WantedPrompt,
    prompt_event_fields,
)
from calhub.storage.crypto.fields import TenantKeys
from calhub.storage.mappers import occurrence_from_row
from calhub.storage.repositories.base import (
    Scope,
    batches,
    column_arrays,
    overlaps_window,
    unnested_rows,
)
from calhub.storage.tables import devices, events, join_prompts, occurrences, outbox

_CONTENT_NAMESPACE: Final = uuid.UUID("5f0d6c38-1f5e-4c57-9d0c-5f4b8e0a7c21")
_LOCK_CLASS: Final = 0x0B7B  # first key of the calendars' advisory locks: "OBTP"
_DIGEST_PURPOSE: Final = "join_prompt"
_TARGET_COLUMNS: Final = ("device_id", "event_id", "original_start_at")
_TIMESTAMP: Final = DateTime(timezone=True)


@dataclass(frozen=True, slots=True)
class FiredPrompts:
    """What one ``fire_due`` did: prompts taken, of which ``sent`` (the rest were dropped: their
    meeting ended unsent), and the tenants with new outbox events."""

    taken: int
    sent: int
    tenant_ids: tuple[TenantId, ...]


def _content_row_id(target: PromptTarget, version: int) -> uuid.UUID:
    """The id the sealed content is bound to: its target and version (the row's natural key)."""
    start = target.slot.astimezone(UTC).isoformat()
    name = f"{target.device_id}|{target.meeting_id}|{start}|{version}"
    return uuid.uuid5(_CONTENT_NAMESPACE, name)


def _target(row: Any) -> PromptTarget:
    return PromptTarget(DeviceId(row.device_id), EventId(row.event_id), row.original_start_at)


def _open_content(keys: TenantKeys, row: Row[Any]) -> dict[str, Any]:
    plain = keys.open_bytes(
        row.content,
        table="join_prompts",
        column="content",
        row_id=_content_row_id(_target(row), row.version),
    )
    content: dict[str, Any] = json.loads(plain)
    return content


def _live(now: datetime) -> ColumnElement[bool]:
    return or_(
        join_prompts.c.state == PromptState.SCHEDULED.value,
        and_(join_prompts.c.state == PromptState.SENT.value, join_prompts.c.end_at > now),
    )


class JoinPromptRepository:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    async def targets(
        self, tenant_id: TenantId, calendar_ids: Sequence[CalendarId]
    ) -> dict[CalendarId, list[DeviceId]]:
        """The devices of each calendar that has any (nothing decrypted: one index lookup)."""
        if not calendar_ids:
            return {}
        rows = await self._scope.conn.execute(
            select(devices.c.calendar_id, devices.c.id)
            .where(devices.c.tenant_id == tenant_id, devices.c.calendar_id.in_(list(calendar_ids)))
            .order_by(devices.c.calendar_id, devices.c.id)
        )
        found: dict[CalendarId, list[DeviceId]] = {}
        for row in rows:
            found.setdefault(CalendarId(row.calendar_id), []).append(DeviceId(row.id))
        return found

    async def calendars_with_devices(
        self, tenant_id: TenantId | None
    ) -> list[tuple[TenantId, CalendarId]]:
        """Every calendar with a device, of one tenant or (None) of all, in a stable order."""
        query = select(devices.c.tenant_id, devices.c.calendar_id).distinct()
        if tenant_id is not None:
            query = query.where(devices.c.tenant_id == tenant_id)
        rows = await self._scope.conn.execute(
            query.order_by(devices.c.tenant_id, devices.c.calendar_id)
        )
        return [(TenantId(row.tenant_id), CalendarId(row.calendar_id)) for row in rows]

    async def lock_calendars(self, calendar_ids: Sequence[CalendarId]) -> None:
        """Serialise reconciling these calendars' prompts until the transaction ends (advisory
        locks, taken in one order so two reconciles never wait for each other in a cycle)."""
        keys = sorted({zlib.crc32(calendar_id.bytes) - 2**31 for calendar_id in calendar_ids})
        if keys:
            await self._scope.conn.execute(
                select(func.pg_advisory_xact_lock(_LOCK_CLASS, func.unnest(keys)))
            )

    async def booking_slots(
        self, tenant_id: TenantId, event_ids: Sequence[EventId], start: datetime, end: datetime
    ) -> dict[EventId, list[tuple[EventId, EventTime]]]:
        """Per event, the (meeting, slot) of each occurrence overlapping [start, end): what its
        booking ids are made of (nothing decrypted; the meeting feed's query)."""
        if not event_ids:
            return {}
        rows = await self._scope.conn.execute(
            select(
                occurrences,
                events.c.time_zone,
                func.coalesce(events.c.series_id, events.c.id).label("meeting_id"),
                # A master's rule is a JSON object; a single event stores JSON null there.
                (
                    events.c.series_id.is_not(None)
                    | (func.coalesce(func.jsonb_typeof(events.c.recurrence), "null") == "object")
                ).label("recurring"),
            )
            .join(events, events.c.id == occurrences.c.event_id)
            .where(
                occurrences.c.event_id.in_(list(event_ids)),
                occurrences.c.tenant_id == tenant_id,
                events.c.tenant_id == tenant_id,
                overlaps_window(occurrences.c.start_at, occurrences.c.end_at, start, end),
            )
            .order_by(occurrences.c.start_at, occurrences.c.id)
        )
        found: dict[EventId, list[tuple[EventId, EventTime]]] = {}
        for row in rows:
            occurrence = occurrence_from_row(row, row.time_zone)
            slot = occurrence_slot(occurrence.original_start, recurring=row.recurring)
            found.setdefault(EventId(row.event_id), []).append((EventId(row.meeting_id), slot))
        return found

    async def digests(self, tenant_id: TenantId, fingerprints: Sequence[str]) -> list[bytes]:
        """Keyed digests of ``join_fingerprint`` texts (the tenant's blind-index HMAC)."""
        keys = await self._scope.keys(tenant_id)
        return [keys.lookup_index(_DIGEST_PURPOSE, text) for text in fingerprints]

    async def live(
        self,
        tenant_id: TenantId,
        device_ids: Sequence[DeviceId],
        now: datetime,
        meeting_ids: Sequence[EventId] | None = None,
    ) -> list[LivePrompt]:
        """The devices' live prompts (of ``meeting_ids`` only, when given), locked until the
        transaction ends: a dispatcher firing one of them is waited for, and then seen sent."""
        if not device_ids:
            return []
        query = select(join_prompts).where(
            join_prompts.c.tenant_id == tenant_id,
            join_prompts.c.device_id.in_(list(device_ids)),
            _live(now),
        )
        if meeting_ids is not None:
            query = query.where(join_prompts.c.event_id.in_(list(meeting_ids)))
        rows = (
            await self._scope.conn.execute(query.order_by(join_prompts.c.id).with_for_update())
        ).all()
        keys = await self._scope.keys(tenant_id, [row.content for row in rows])
        return [
            LivePrompt(
                id=row.id,
                target=_target(row),
                version=row.version,
                state=PromptState(row.state),
                start=row.start_at,
                end=row.end_at,
                fire_at=row.fire_at,
                join_digest=row.join_digest,
                content=_open_content(keys, row) if row.state == PromptState.SCHEDULED else None,
            )
            for row in rows
        ]

    async def apply(self, tenant_id: TenantId, plan: PromptPlan, now: datetime) -> None:
        """Withdraw, delete and create as ``plan`` says; new prompts get the next version of
        their target (the caller holds the calendars' locks, so nobody else adds one)."""
        if plan.withdraw:
            await self._scope.conn.execute(
                update(join_prompts)
                .where(join_prompts.c.id.in_([prompt.id for prompt in plan.withdraw]))
                .values(state=PromptState.WITHDRAWN.value, withdrawn_at=now)
            )
        if plan.delete:
            await self._scope.conn.execute(
                delete(join_prompts).where(
                    join_prompts.c.id.in_(list(plan.delete)),
                    join_prompts.c.state == PromptState.SCHEDULED.value,
                )
            )
        if plan.create:
            await self._create(tenant_id, plan.create, now)

    async def _create(
        self, tenant_id: TenantId, wanted: Sequence[WantedPrompt], now: datetime
    ) -> None:
        latest = await self._latest_versions(tenant_id, [prompt.target for prompt in wanted])
        keys = await self._scope.keys(tenant_id)
        rows = []
        for prompt in wanted:
            version = latest.get(prompt.target, 0) + 1
            content = json.dumps(prompt.content, sort_keys=True).encode()
            rows.append(
                {
                    "tenant_id": tenant_id,
                    "device_id": prompt.target.device_id,
                    "event_id": prompt.target.meeting_id,
                    "original_start_at": prompt.target.slot,
                    "version": version,
                    "start_at": prompt.start,
                    "end_at": prompt.end,
                    "fire_at": prompt.fire_at,
                    "state": PromptState.SCHEDULED.value,
                    "join_digest": prompt.join_digest,
                    "payload": prompt_event_fields(
                        prompt.target,
                        version,
                        fire_at=prompt.fire_at,
                        start=prompt.start,
                        end=prompt.end,
                    ),
                    "content": keys.seal_bytes(
                        content,
                        table="join_prompts",
                        column="content",
                        row_id=_content_row_id(prompt.target, version),
                    ),
                    "created_at": now,
                }
            )
        for chunk in batches(rows):
            await self._scope.conn.execute(join_prompts.insert(), list(chunk))

    async def _latest_versions(
        self, tenant_id: TenantId, targets: Sequence[PromptTarget]
    ) -> dict[PromptTarget, int]:
        wanted = unnested_rows(join_prompts, _TARGET_COLUMNS).subquery("wanted")
        values = [
            {
                "device_id": t.device_id,
                "event_id": t.meeting_id,
                "original_start_at": t.slot,
            }
            for t in targets
        ]
        rows = await self._scope.conn.execute(
            select(
                *(join_prompts.c[name] for name in _TARGET_COLUMNS),
                func.max(join_prompts.c.version).label("version"),
            )
            .join(
                wanted,
                and_(*(join_prompts.c[name] == wanted.c[name] for name in _TARGET_COLUMNS)),
            )
            .where(join_prompts.c.tenant_id == tenant_id)
            .group_by(*(join_prompts.c[name] for name in _TARGET_COLUMNS)),
            column_arrays(values, _TARGET_COLUMNS),
        )
        return {_target(row): row.version for row in rows}

    async def fire_due(self, now: datetime, limit: int) -> FiredPrompts:
        """Take up to ``limit`` due prompts of any tenant, oldest fire time first, skipping rows
        another dispatcher holds; mark them sent (or dropped, when their meeting has ended) and
        add an ``obtp.join`` outbox event for each one sent, all in one statement, with the
        payload made in the database from the stored one. The caller notifies the tenants'
        streams and commits; a rollback leaves the prompts due and their events unwritten."""
        ended = join_prompts.c.end_at <= now
        due = (
            select(join_prompts.c.id)
            .where(
                join_prompts.c.state == PromptState.SCHEDULED.value,
                join_prompts.c.fire_at <= now,
            )
            .order_by(join_prompts.c.fire_at, join_prompts.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("due")
        )
        fired = (
            update(join_prompts)
            .where(join_prompts.c.id == due.c.id)
            .values(
                state=case((ended, PromptState.DROPPED.value), else_=PromptState.SENT.value),
                sent_at=case((ended, null()), else_=now),
            )
            .returning(
                join_prompts.c.id,
                join_prompts.c.tenant_id,
                join_prompts.c.device_id,
                join_prompts.c.fire_at,
                join_prompts.c.state,
                join_prompts.c.payload,
            )
            .cte("fired")
        )
        payload = fired.c.payload.op("||", return_type=JSONB)(
            func.jsonb_build_object("prompt_id", fired.c.id)
        )
        sent = (
            outbox.insert()
            .from_select(
                ["tenant_id", "kind", "payload", "device_id", "created_at"],
                select(
                    fired.c.tenant_id,
                    literal(JOIN_EVENT),
                    payload,
                    fired.c.device_id,
                    literal(now, _TIMESTAMP),
                )
                .where(fired.c.state == PromptState.SENT.value)
                # The outbox numbers its events in fire order.
                .order_by(fired.c.fire_at, fired.c.id),
            )
            .returning(outbox.c.tenant_id)
            .cte("sent")
        )
        row = (
            await self._scope.conn.execute(
                select(
                    select(func.count()).select_from(fired).scalar_subquery().label("taken"),
                    select(func.count()).select_from(sent).scalar_subquery().label("sent"),
                    select(func.array_agg(sent.c.tenant_id.distinct()))
                    .scalar_subquery()
                    .label("tenants"),
                )
            )
        ).one()
        tenants = tuple(sorted(TenantId(tenant) for tenant in row.tenants or ()))
        return FiredPrompts(taken=row.taken, sent=row.sent, tenant_ids=tenants)

    async def next_fire_at(self) -> datetime | None:
        """The earliest fire time of any scheduled prompt (the partial index's first entry)."""
        result = await self._scope.conn.execute(
            select(join_prompts.c.fire_at)
            .where(join_prompts.c.state == PromptState.SCHEDULED.value)
            .order_by(join_prompts.c.fire_at)
            .limit(1)
        )
        value: datetime | None = result.scalar_one_or_none()
        return value

    async def snapshots(
        self, tenant_id: TenantId, prompt_ids: Sequence[int]
    ) -> dict[int, dict[str, Any]]:
        """The booking each prompt was made with (decrypted), by prompt id; the tenant's only."""
        if not prompt_ids:
            return {}
        rows = (
            await self._scope.conn.execute(
                select(join_prompts).where(
                    join_prompts.c.tenant_id == tenant_id,
                    join_prompts.c.id.in_(list(prompt_ids)),
                )
            )
        ).all()
        keys = await self._scope.keys(tenant_id, [row.content for row in rows])
        return {row.id: _open_content(keys, row) for row in rows}
