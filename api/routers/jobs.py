"""``/api/v1/jobs`` (admin): background jobs by state, and a retry for those that failed.

A job that keeps failing (its worker killed ``MAX_ATTEMPTS`` times, or its work refused) ends ``failed`` with the
reason; an admin lists those (``?status=failed``) and queues one again (``POST /jobs/{id}/retry``). One job's state
is read at ``GET /jobs/{id}`` (its creator and admins; see the packs router). The rules are in
:mod:`qa_engine.app.jobs`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from qa_engine.app import jobs
from qa_engine.app.access import as_utc
from qa_engine.app.models import Job

from .. import background
from ..deps import CurrentUser, RowId, SessionDep
from ..pack_schemas import JobPublic

router = APIRouter(prefix="/jobs", tags=["jobs"])


class JobList(BaseModel):
    items: list[JobPublic]
    total: int
    limit: int
    offset: int


def _public(job: Job) -> JobPublic:
    return JobPublic(id=job.id, kind=job.kind, status=job.status, payload=job.payload, result=job.result,
                     error=job.error, attempts=job.attempts, created_by=job.created_by,
                     created_at=as_utc(job.created_at), started_at=as_utc(job.started_at),
                     finished_at=as_utc(job.finished_at))


@router.get("", response_model=JobList, responses={403: {"description": "not an admin"}})
def list_jobs(session: SessionDep, user: CurrentUser,
              state: Annotated[Literal["queued", "running", "done", "failed"] | None, Query(alias="status")] = None,
              kind: Annotated[str | None, Query(max_length=32)] = None,
              limit: Annotated[int, Query(ge=1, le=200)] = 50,
              offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> JobList:
    """Background jobs, newest first (admin); ``status=failed`` lists those that gave up, with the reason."""
    rows, total = jobs.admin_list_jobs(session, user, status=state, kind=kind, limit=limit, offset=offset)
    return JobList(items=[_public(j) for j in rows], total=total, limit=limit, offset=offset)


@router.post("/{job_id}/retry", response_model=JobPublic,
             responses={403: {"description": "not an admin"}, 404: {"description": "no such job"},
                        409: {"description": "the job has not failed (or its call was deleted)"}})
def retry_job(job_id: RowId, request: Request, session: SessionDep, user: CurrentUser) -> JobPublic:
    """Queue a failed job again from its first attempt (admin); its call goes back to ``queued``."""
    job = jobs.admin_retry_job(session, user, job_id)
    background.wake_workers(request.app)
    return _public(job)
