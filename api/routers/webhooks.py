"""Placeholder router (filled in by the webhooks work)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["webhooks"])
