"""Placeholder router (filled in by the ops work)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["ops"])
