"""Operations: liveness, readiness (database and queue) and Prometheus metrics (the process's
own, plus every calendar's sync status read from the database: ``calhub.api.sync_metrics``)."""

from __future__ import annotations

from typing import Literal

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from calhub.api.dependencies import RuntimeDep
from calhub.api.problems import Problem
from calhub.api.sync_metrics import sync_status_exposition

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready"] = "ready"
    database: bool
    queue: bool


@router.get("/healthz", response_model=Health, summary="The process is alive")
async def healthz() -> Health:
    return Health()


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="The database and the job queue answer",
    responses={503: {"description": "A dependency is down (problem+json)."}},
)
async def readyz(runtime: RuntimeDep) -> Readiness:
    database = await runtime.database_ready()
    try:
        queue = database and await runtime.jobs.is_reachable()
    except Exception:  # any driver error means "not ready", which is what we report
        queue = False
    if not (database and queue):
        raise Problem(
            "not-ready", "Database or job queue unreachable.", database=database, queue=queue
        )
    return Readiness(database=database, queue=queue)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request, runtime: RuntimeDep) -> Response:
    process = generate_latest(request.app.state.metrics_registry)
    try:
        sync_status = await sync_status_exposition(runtime.hub)
    except Exception as exc:  # the database is down: still export the process's own metrics
        structlog.get_logger("calhub.api").warning(
            "sync_metrics_unavailable", error_type=type(exc).__name__
        )
        sync_status = b""
    return Response(process + sync_status, media_type=CONTENT_TYPE_LATEST)
