"""``/api/v1/calls``: upload a call (transcript or audio), read it, play its audio, list, delete.

Every query is role-scoped: a call the user may not see answers 404, exactly like one that does not exist.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy import func, select

from qa_engine.app import call_fields
from qa_engine.app.access import as_utc, get_visible_call, require_role, visible_to
from qa_engine.app.audio_redaction import is_redacted, original_audio
from qa_engine.app.audit import record
from qa_engine.app.call_deletion import delete_calls
from qa_engine.app.call_query import ALLOWED_SORTS, order_by
from qa_engine.app.call_uploads import BODY_SOURCE, Accepted, accept_recording, create_transcript_call
from qa_engine.app.evaluations import released_summary
from qa_engine.app.local_time import service_zone
from qa_engine.app.models import Call
from qa_engine.pii import mask_text

from .. import uploads
from ..background import wake_workers
from ..call_filters import CallFiltersDep
from ..deps import CurrentUser, PackCacheDep, SessionDep, SettingsDep
from ..schemas import AUDIO_FORM_SCHEMA, TRANSCRIPT_BODY_SCHEMA, CallCreated, CallList, CallPublic, CallSummary

router = APIRouter(prefix="/calls", tags=["calls"])
#: the same call again: 200 with that call; identical content scored before: 201 with its report; a transcript
#: scored now: 201; a recording queued: 202
UPLOAD_STATUS = {"existing": status.HTTP_200_OK, "copied": status.HTTP_201_CREATED, "scored": status.HTTP_201_CREATED,
                 "queued": status.HTTP_202_ACCEPTED}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such call (or not yours)"}}


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def _json_document(request: Request) -> dict[str, Any]:
    """The JSON request body, parsed; 422 naming the problem (malformed, too deep, a number too long ...)."""
    raw = await request.body()  # bounded by api.body_limits (max_transcript_body_mb)
    return await run_in_threadpool(call_fields.json_document, raw, BODY_SOURCE)  # parsing 10 MB: off the loop


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CallCreated,
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": TRANSCRIPT_BODY_SCHEMA},
                 "multipart/form-data": {"schema": AUDIO_FORM_SCHEMA}}}},
             responses={200: {"model": CallCreated, "description": "duplicate: this recording or transcript was "
                                                                   "already uploaded and scored with this pack "
                                                                   "version"},
                        202: {"model": CallCreated, "description": "audio accepted and queued for processing"},
                        413: {"description": "upload larger than QA_ENGINE_MAX_UPLOAD_MB"},
                        415: {"description": "neither application/json nor multipart/form-data, or not audio"},
                        422: {"description": "malformed body, unreadable audio header, unknown agent or pack"},
                        503: {"description": "processing queue full (see Retry-After)"}})
async def create_call(request: Request, session: SessionDep, user: CurrentUser, pack_cache: PackCacheDep,
                      settings: SettingsDep) -> JSONResponse:
    """Upload a call: a transcript (JSON) is scored at once (201); a recording (form) is queued (202)."""
    content_type = _content_type(request)
    if content_type == "application/json":
        doc = await _json_document(request)
        accepted = await run_in_threadpool(create_transcript_call, session, user, pack_cache, settings, doc)
        return _upload_answer(accepted)
    if content_type == "multipart/form-data":
        await run_in_threadpool(uploads.check_capacity, session, settings, request.headers.get("content-length"))
        form = await uploads.read_form(request, settings)
        try:
            fields, upload = uploads.split_form(form)
            accepted = await run_in_threadpool(accept_recording, session, user, pack_cache, settings, fields,
                                               upload.file, upload.filename)
        finally:
            await form.close()
        if accepted.outcome == "queued":
            wake_workers(request.app)
        return _upload_answer(accepted)
    raise HTTPException(status_code=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                        detail=f"POST /calls takes application/json (a transcript document) or multipart/form-data "
                               f"(a recording in the part 'file'), got {content_type or 'no content type'}")


def _upload_answer(accepted: Accepted) -> JSONResponse:
    body = CallCreated(id=accepted.call_id, status=accepted.status,  # type: ignore[arg-type]
                       duplicate=accepted.duplicate)
    return JSONResponse(body.model_dump(), status_code=UPLOAD_STATUS[accepted.outcome])


def _summary_fields(call: Call) -> dict[str, Any]:
    return {"id": call.id, "call_id": call.call_id, "agent": call.agent, "team": call.team,
            "started_at": as_utc(call.started_at), "language": call.language, "pack": call.pack,
            "status": call.status, "source": call.source, "created_at": as_utc(call.created_at),
            "error": call.error, "score": call.score, "grade": call.grade, "category": call.category,
            "grade_id": call.grade_id, "category_id": call.category_id, "auto_score": call.auto_score,
            "duration": call.duration}


@router.get("/{call_id}", response_model=CallPublic, responses=NOT_FOUND)
def read_call(call_id: str, request: Request, session: SessionDep, user: CurrentUser) -> CallPublic:
    """Status and, when done, the full report (transcript, findings, score, grade, category); ``error`` if failed."""
    call = get_visible_call(session, user, call_id)
    audio_url = str(request.url_for("read_call_audio", call_id=call.id).path) if call.audio_path else None
    return CallPublic(**_summary_fields(call), agent_channel=call.agent_channel, audio_url=audio_url,
                      audio_deleted_at=as_utc(call.audio_deleted_at),
                      report=call.report if call.status == "done" or _unscorable(call) else None,
                      evaluation=released_summary(session, call))


def _unscorable(call: Call) -> bool:
    """A call heard but not scorable (no agent speech): its transcript is shown with the reason."""
    return call.status == "failed" and isinstance(call.report, dict) and call.report.get("status") == "unscorable"


@router.get("/{call_id}/audio", response_class=FileResponse,
            responses={**NOT_FOUND, 206: {"description": "the requested byte range"},
                       409: {"description": "not scored yet: the recording is served once its spoken identifiers "
                                            "are redacted"},
                       410: {"description": "the recording was deleted by the retention policy (the call stays)"},
                       416: {"description": "range not satisfiable"}})
def read_call_audio(call_id: str, request: Request, session: SessionDep, user: CurrentUser) -> FileResponse:
    """The recording with every spoken phone, ID and card number silenced, with HTTP range support (players seek
    with ``Range: bytes=a-b``); access is audited. Served once the call is scored (the redaction needs its
    transcript): before that 409."""
    call = get_visible_call(session, user, call_id)
    path = _stored_audio(call, call_id)
    if call.report is None:
        raise HTTPException(status_code=status.HTTP_409_CONFLICT,
                            detail=f"the audio of call {call_id!r} is served once the call is scored (spoken numbers "
                                   "are redacted then)")
    record(session, user.name, "audio.read", call_pk=call.id, detail=request.headers.get("range") or "full")
    session.commit()
    return FileResponse(path, media_type=call.audio_content_type or "application/octet-stream",
                        filename=mask_text(call.audio_filename or f"{call.id}.audio"),
                        content_disposition_type="inline")


@router.get("/{call_id}/audio/original", response_class=FileResponse,
            responses={**NOT_FOUND, 403: {"description": "only an admin fetches unredacted audio"},
                       206: {"description": "the requested byte range"}})
def read_call_original_audio(call_id: str, request: Request, session: SessionDep, user: CurrentUser,
                             settings: SettingsDep) -> FileResponse:
    """The unredacted recording, kept only when ``QA_ENGINE_KEEP_ORIGINAL_AUDIO`` is on. Admin; audited."""
    require_role(user, "admin")
    call = get_visible_call(session, user, call_id)
    _stored_audio(call, call_id)
    original = original_audio(call) if settings.keep_original_audio or not is_redacted(call.audio_path or "") else None
    if original is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND,
                            detail=f"the unredacted audio of call {call_id!r} is not kept "
                                   "(QA_ENGINE_KEEP_ORIGINAL_AUDIO is off)")
    record(session, user.name, "audio.read_original", call_pk=call.id,
           detail=request.headers.get("range") or "full")
    session.commit()
    return FileResponse(original, media_type=_ORIGINAL_TYPE if is_redacted(call.audio_path or "") else
                        call.audio_content_type or _ORIGINAL_TYPE,
                        filename=f"{call.id}.original", content_disposition_type="attachment")


_ORIGINAL_TYPE = "application/octet-stream"


def _stored_audio(call: Call, call_id: str) -> str:
    if call.audio_deleted_at is not None:
        raise HTTPException(status_code=status.HTTP_410_GONE,
                            detail=f"the recording of call {call_id!r} was deleted by the retention policy on "
                                   f"{as_utc(call.audio_deleted_at):%Y-%m-%d} (QA_ENGINE_AUDIO_RETENTION_DAYS); "
                                   "its report and findings are kept")
    if not call.audio_path or not Path(call.audio_path).is_file():
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND,
                            detail=f"call {call_id!r} has no audio (it was scored from a transcript)"
                            if not call.audio_path else f"the audio of call {call_id!r} is no longer stored")
    return call.audio_path


@router.delete("/{call_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses={**NOT_FOUND, 403: {"description": "only an admin deletes calls"}})
def delete_call(call_id: str, session: SessionDep, user: CurrentUser) -> Response:
    """Delete a call with its findings, reviews, queued jobs and (if no other call shares it) its audio. Admin."""
    require_role(user, "admin")
    delete_calls(session, [get_visible_call(session, user, call_id)], user.name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("", response_model=CallList, responses={422: {"description": "bad filter, sort or page"}})
def list_calls(session: SessionDep, user: CurrentUser, filters: CallFiltersDep,
               sort: Annotated[str, Query(max_length=32, description=f"one of {ALLOWED_SORTS}")] = "-created_at",
               limit: Annotated[int, Query(ge=1, le=200)] = 50,
               offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> CallList:
    """The calls the user may see, filtered, sorted (newest first by default) and paged."""
    where = [visible_to(user), *filters.conditions(service_zone(session))]
    ordering = order_by(sort)
    total = session.scalar(select(func.count()).select_from(Call).where(*where)) or 0
    rows = session.scalars(select(Call).where(*where).order_by(*ordering).limit(limit).offset(offset)).all()
    return CallList(items=[CallSummary(**_summary_fields(c)) for c in rows], total=total, limit=limit, offset=offset)
