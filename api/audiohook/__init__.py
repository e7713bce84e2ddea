"""Genesys AudioHook: the live-tap WebSocket endpoint, its clients and the supervisors' live feed.

``router`` carries both ``/audiohook/ws`` and the live feed (``/live/...``); main.py mounts it under /api/v1.
"""

from fastapi import APIRouter

from ..routers import live
from .router import router as _ws_router

router = APIRouter()
router.include_router(_ws_router)
router.include_router(live.router)

__all__ = ["router"]
