"""The ``rescore`` background job: score stored transcripts again with another pack version, without ASR."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from .engine import ScoringEngine
from .models import Job


def run_rescore_job(session: Session, engine: ScoringEngine, job: Job) -> dict[str, Any]:
    """Re-score the calls selected by ``job.payload``; returns a summary stored as the job's result."""
    raise NotImplementedError("rescore jobs arrive with the packs work")
