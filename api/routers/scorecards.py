"""Placeholder router (filled in by the scorecards work)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["scorecards"])
