"""Placeholder router (filled in by the reviews work)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["reviews"])
