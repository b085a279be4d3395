"""``/healthz``: unauthenticated liveness and database check."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from headwater.platform.api.dependencies import Context

router = APIRouter(tags=["health"])


class HealthOut(BaseModel):
    status: str
    database: str


@router.get("/healthz", response_model=HealthOut)
def healthz(context: Context) -> HealthOut:
    with context.db.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return HealthOut(status="ok", database=context.db.engine.dialect.name)
