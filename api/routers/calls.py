"""``/api/v1/calls``: upload a transcript to score, read one call, list calls; every query is role-scoped.

A call the user may not see answers 404, exactly like a call that does not exist.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from sqlalchemy import func, select

from qa_engine.errors import QaEngineError
from qa_engine.transcript import transcript_from_dict

from ..access import as_utc, get_visible_call, visible_to
from ..deps import CurrentUser, EngineDep, SessionDep
from ..events import call_scored
from ..models import Call, User, new_call_id
from ..schemas import TRANSCRIPT_BODY_SCHEMA, CallCreated, CallList, CallPublic, CallSummary
from ..store import store_report

router = APIRouter(prefix="/calls", tags=["calls"])
BODY_SOURCE = "body"


def _unprocessable(message: str) -> HTTPException:
    return HTTPException(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, detail=message)


async def transcript_document(request: Request) -> dict[str, Any]:
    """The JSON request body, parsed; 415 for another content type, 422 for malformed JSON."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise HTTPException(status_code=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                            detail=f"POST /calls takes application/json (a transcript document), got "
                                   f"{content_type or 'no content type'}; audio upload is not available yet")
    raw = await request.body()
    try:
        doc = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise _unprocessable(f"{BODY_SOURCE}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise _unprocessable(f"{BODY_SOURCE}: malformed JSON at line {exc.lineno} column {exc.colno}: "
                             f"{exc.msg}") from None
    if not isinstance(doc, dict):
        raise _unprocessable(f"{BODY_SOURCE}: expected a JSON object at the top level")
    return doc


TranscriptDocument = Annotated[dict[str, Any], Depends(transcript_document)]


def _optional_str(doc: dict[str, Any], field: str) -> str | None:
    value = doc.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _unprocessable(f"{BODY_SOURCE}: field '{field}' must be a non-empty string, got {value!r}")
    return value.strip()


def _started_at(doc: dict[str, Any]) -> datetime | None:
    value = _optional_str(doc, "started_at")
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _unprocessable(f"{BODY_SOURCE}: field 'started_at' must be an ISO 8601 date-time "
                             f"(e.g. 2025-01-31T09:30:00+08:00), got {value!r}") from None
    return as_utc(parsed)


def _resolve_agent(session: SessionDep, user: User, doc: dict[str, Any]) -> tuple[str, str | None]:
    """The call's agent and team, checked against what ``user`` may upload."""
    agent_name = _optional_str(doc, "agent") or (user.name if user.role == "agent" else None)
    team = _optional_str(doc, "team")
    if agent_name is None:
        raise _unprocessable(f"{BODY_SOURCE}: missing field 'agent' (the agent's user name)")
    if user.role == "agent" and agent_name != user.name:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN,
                            detail=f"field 'agent': an agent can only upload their own calls ({user.name!r})")
    agent = session.scalar(select(User).where(User.name == agent_name))
    if user.role == "supervisor" and (agent is None or agent.team != user.team or (team and team != user.team)):
        raise _unprocessable(f"{BODY_SOURCE}: field 'agent': no agent named {agent_name!r} in team {user.team!r}")
    if agent is None:
        raise _unprocessable(f"{BODY_SOURCE}: field 'agent': no user named {agent_name!r} "
                             "(create one with 'qa-engine users create NAME --role agent')")
    return agent_name, team or agent.team


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CallCreated,
             openapi_extra={"requestBody": {"required": True,
                                            "content": {"application/json": {"schema": TRANSCRIPT_BODY_SCHEMA}}}},
             responses={415: {"description": "not application/json"},
                        422: {"description": "malformed JSON, invalid transcript, unknown agent or pack"}})
def create_call(doc: TranscriptDocument, session: SessionDep, user: CurrentUser, engine: EngineDep) -> CallCreated:
    """Score a transcript (no ASR) and store the call with its report; answers 201 with status ``done``."""
    agent, team = _resolve_agent(session, user, doc)
    started_at = _started_at(doc)
    pack_id = _optional_str(doc, "pack")
    call_pk = new_call_id()
    if doc.get("call_id") in (None, ""):
        doc = {**doc, "call_id": call_pk}
    try:
        transcript = transcript_from_dict(doc, source=BODY_SOURCE)
        report = engine.score(transcript, pack_id)
    except QaEngineError as exc:
        raise _unprocessable(str(exc)) from None
    call = Call(id=call_pk, call_id=transcript.call_id, agent=agent, team=team, started_at=started_at,
                source="transcript")
    session.add(call)
    store_report(session, call, report)
    call_scored(session, call)
    session.commit()
    return CallCreated(id=call.id, status="done")


def _summary_fields(call: Call) -> dict[str, Any]:
    report = call.report or {}
    return {"id": call.id, "call_id": call.call_id, "agent": call.agent, "team": call.team,
            "started_at": as_utc(call.started_at), "language": call.language, "pack": call.pack, "status": call.status,
            "created_at": as_utc(call.created_at), "error": call.error,
            "score": report.get("score"), "grade": report.get("grade")}


@router.get("/{call_id}", response_model=CallPublic, responses={404: {"description": "no such call (or not yours)"}})
def read_call(call_id: str, session: SessionDep, user: CurrentUser) -> CallPublic:
    """Status and, when done, the full report (transcript, findings, score, grade, category)."""
    call = get_visible_call(session, user, call_id)
    return CallPublic(**_summary_fields(call), report=call.report if call.status == "done" else None)


@router.get("", response_model=CallList)
def list_calls(session: SessionDep, user: CurrentUser,
               agent: Annotated[str | None, Query(max_length=128)] = None,
               team: Annotated[str | None, Query(max_length=128)] = None,
               limit: Annotated[int, Query(ge=1, le=200)] = 50,
               offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> CallList:
    """The calls the user may see, newest first, optionally filtered by agent and team."""
    where = [visible_to(user)]
    if agent is not None:
        where.append(Call.agent == agent)
    if team is not None:
        where.append(Call.team == team)
    total = session.scalar(select(func.count()).select_from(Call).where(*where)) or 0
    rows = session.scalars(select(Call).where(*where).order_by(Call.created_at.desc(), Call.id)
                           .limit(limit).offset(offset)).all()
    return CallList(items=[CallSummary(**_summary_fields(c)) for c in rows], total=total, limit=limit, offset=offset)
