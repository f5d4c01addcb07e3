"""``GET /problems/{slug}``: what each problem ``type`` means."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from calhub.api.problems import PROBLEMS, Problem

router = APIRouter(tags=["operations"])


class ProblemType(BaseModel):
    type: str
    status: int
    title: str
    explanation: str


@router.get("/problems/{slug}", response_model=ProblemType, summary="Explain a problem type")
async def explain_problem(slug: str) -> ProblemType:
    kind = PROBLEMS.get(slug)
    if kind is None:
        raise Problem("not-found", f"No problem type named {slug!r}.")
    return ProblemType(
        type=kind.type, status=kind.status, title=kind.title, explanation=kind.explanation
    )
