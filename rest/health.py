"""/healthz (the process is up) and /readyz (PostgreSQL and Redis answer)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from edge.services import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "A dependency is down."}})
async def readyz(services: ServicesDep) -> JSONResponse:
    async def database() -> bool:
        try:
            async with services.engine.connect() as conn:
                await asyncio.wait_for(conn.execute(text("SELECT 1")), 2)
            return True
        except Exception:  # noqa: BLE001 - any failure means not ready
            return False

    async def redis() -> bool:
        try:
            return await asyncio.wait_for(services.broker.ping(), 2)
        except Exception:  # noqa: BLE001 - any failure means not ready
            return False

    db_ok, redis_ok = await asyncio.gather(database(), redis())
    checks = {"database": "ok" if db_ok else "down", "redis": "ok" if redis_ok else "down"}
    ready = db_ok and redis_ok
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )
