"""``GET /api/v1/health``: liveness, no authentication."""

from __future__ import annotations

from fastapi import APIRouter

from qa_engine import __version__

from ..schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health() -> Health:
    return Health(version=__version__)
