"""Placeholder router (filled in by the packs work)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["packs"])
