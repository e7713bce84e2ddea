"""Rule packs: list, show, validate, upload versions (admin), each team's active pack, re-score jobs.

Packs are addressed by plain id; an uploaded pack is stored verbatim in ``pack_versions`` and never opened
from a path. Uploads and team choices leave an audit entry.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from qa_engine.app import jobs
from qa_engine.app.access import as_utc, require_role, supervised_teams
from qa_engine.app.audit import record
from qa_engine.app.models import Job, PackVersion, TeamPack, User, utcnow
from qa_engine.app.pack_cache import MAX_VERSION_LENGTH, check_pack_id
from qa_engine.app.packs import UnknownPack, catalogue, get_pack, team_pack, version_exists, versions_of
from qa_engine.app.rescore import JOB_KIND, rescore_payload
from qa_engine.errors import PackError
from qa_engine.rules import Pack
from qa_engine.rules.docs import pack_markdown
from qa_engine.rules.pack import parse_pack_text

from .. import background
from ..deps import CurrentUser, PackCacheDep, RowId, SessionDep
from ..pack_schemas import (
    JobAccepted,
    JobPublic,
    PackDetail,
    PackList,
    PackSummary,
    PackUploaded,
    PackValidation,
    PackVersionPublic,
    RescoreRequest,
    RulePublic,
    TeamPackPublic,
    TeamPackSet,
)

router = APIRouter(tags=["packs"])

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain", "application/json")
MAX_PACK_BYTES = 1024 * 1024
UPLOAD_SOURCE = "body"
YAML_BODY = {"requestBody": {"required": True, "content": {t: {"schema": {"type": "string"}} for t in YAML_TYPES[:3]}}}
VersionQuery = Annotated[str | None, Query(min_length=1, max_length=MAX_VERSION_LENGTH)]


def _unprocessable(message: str) -> HTTPException:
    return HTTPException(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, detail=message)


def _not_found(message: str) -> HTTPException:
    return HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=message)


async def pack_text(request: Request) -> str:
    """The YAML request body as text; 415 for another content type, 413 when too large, 422 when not UTF-8."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in YAML_TYPES:
        raise HTTPException(status_code=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                            detail=f"send the pack as YAML (Content-Type: application/yaml), got "
                                   f"{content_type or 'no content type'}")
    raw = await request.body()
    if len(raw) > MAX_PACK_BYTES:
        raise HTTPException(status_code=status.HTTP_413_CONTENT_TOO_LARGE,
                            detail=f"{UPLOAD_SOURCE}: a pack is at most {MAX_PACK_BYTES} bytes, got {len(raw)}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _unprocessable(f"{UPLOAD_SOURCE}: not UTF-8 text") from None


PackText = Annotated[str, Depends(pack_text)]


def _parse_upload(text: str) -> Pack:
    """Validate an uploaded pack; 422 with the validator's message (rule id, field) when it is invalid."""
    try:
        pack = parse_pack_text(text, UPLOAD_SOURCE, allow_aliases=False)
        check_pack_id(pack.id, "pack")
    except PackError as exc:
        raise _unprocessable(str(exc)) from None
    if len(pack.version) > MAX_VERSION_LENGTH:
        raise _unprocessable(f"{UPLOAD_SOURCE}: field 'version': at most {MAX_VERSION_LENGTH} characters")
    return pack


def _rules(pack: Pack) -> list[RulePublic]:
    return [RulePublic(**r.model_dump(include={"id", "type", "summary", "weight", "severity", "enabled"}))
            for r in pack.rules]


def _checked_id(pack_id: str) -> str:
    """A path segment that is not a plain pack id names no pack (404), whatever it looks like."""
    try:
        check_pack_id(pack_id)
    except PackError:
        raise _not_found(f"no pack {pack_id!r}") from None
    return pack_id


def _load(session: SessionDep, pack_cache: PackCacheDep, pack_id: str, version: str | None) -> Pack:
    """The pack for a read or a job: 404 when unknown, 422 when a stored version no longer validates."""
    try:
        return get_pack(session, pack_cache, _checked_id(pack_id), version)
    except UnknownPack as exc:
        raise _not_found(str(exc)) from None
    except PackError as exc:
        raise _unprocessable(str(exc)) from None


@router.get("/packs", response_model=PackList)
def list_all_packs(session: SessionDep, _user: CurrentUser) -> PackList:
    """Bundled and uploaded packs with their versions (newest first)."""
    items = []
    for pack_id, entries in catalogue(session).items():
        items.append(PackSummary(id=pack_id, latest=entries[0].version, language=entries[0].language,
                                 versions=[PackVersionPublic(**e.public()) for e in entries]))
    return PackList(items=items)


@router.post("/packs/validate", response_model=PackValidation, openapi_extra=YAML_BODY,
             responses={422: {"description": "invalid pack: the message names the rule id and field"}})
def validate_pack(text: PackText, _user: CurrentUser) -> PackValidation:
    """Check a pack without storing it."""
    pack = _parse_upload(text)
    return PackValidation(valid=True, id=pack.id, version=pack.version, language=pack.language, name=pack.name,
                          rules=_rules(pack))


@router.post("/packs", status_code=status.HTTP_201_CREATED, response_model=PackUploaded, openapi_extra=YAML_BODY,
             responses={409: {"description": "that pack id and version already exist"},
                        422: {"description": "invalid pack"}})
def upload_pack(text: PackText, session: SessionDep, user: CurrentUser) -> PackUploaded:
    """Store a new pack version (admin). Versions are immutable: change the version to change the rules."""
    require_role(user, "admin")
    pack = _parse_upload(text)
    conflict = HTTPException(status_code=status.HTTP_409_CONFLICT,
                             detail=f"pack {pack.id!r} version {pack.version!r} already exists; "
                                    "upload it under a new version")
    if version_exists(session, pack.id, pack.version):
        raise conflict
    session.add(PackVersion(pack_id=pack.id, version=pack.version, language=pack.language, source=text,
                            uploaded_by=user.name))
    record(session, user.name, "pack.upload", after={"pack_id": pack.id, "version": pack.version,
                                                     "language": pack.language, "rules": len(pack.rules)})
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise conflict from None
    return PackUploaded(id=pack.id, version=pack.version, language=pack.language, rules=len(pack.rules))


@router.get("/packs/{pack_id}", response_model=PackDetail, responses={404: {"description": "no such pack or version"}})
def show_pack(pack_id: str, session: SessionDep, pack_cache: PackCacheDep, _user: CurrentUser,
              version: VersionQuery = None) -> PackDetail:
    """One pack version (default: the newest) with its parsed rules."""
    pack = _load(session, pack_cache, pack_id, version)
    return PackDetail(id=pack.id, version=pack.version, language=pack.language, name=pack.name,
                      description=pack.description, grades=dict(pack.grades),
                      rules=[r.model_dump(mode="json", exclude_none=True) for r in pack.rules],
                      versions=[PackVersionPublic(**e.public()) for e in versions_of(session, pack_id)])


@router.get("/packs/{pack_id}/docs", response_class=Response,
            responses={200: {"content": {"text/markdown": {}}}, 404: {"description": "no such pack or version"}})
def pack_docs(pack_id: str, session: SessionDep, pack_cache: PackCacheDep, _user: CurrentUser,
              version: VersionQuery = None) -> Response:
    """The pack's documentation (Markdown, as ``qa-engine packs show`` prints it)."""
    pack = _load(session, pack_cache, pack_id, version)
    return Response(pack_markdown(pack), media_type="text/markdown; charset=utf-8")


def _team_public(team: str, choice: TeamPack | None) -> TeamPackPublic:
    if choice is None:
        return TeamPackPublic(team=team, pack_id=None, version=None)
    return TeamPackPublic(team=team, pack_id=choice.pack_id, version=choice.version, set_by=choice.set_by,
                          set_at=as_utc(choice.set_at))


def _may_see_team(session: SessionDep, user: User, team: str) -> bool:
    if user.role == "admin":
        return True
    if user.role == "supervisor":
        return team in supervised_teams(session, user)
    return user.team == team


@router.get("/teams/{team}/pack", response_model=TeamPackPublic)
def read_team_pack(team: str, session: SessionDep, user: CurrentUser) -> TeamPackPublic:
    """The pack the team's calls are scored with (pack_id null: the language default)."""
    if not _may_see_team(session, user, team):
        raise _not_found(f"team {team!r} not found")
    return _team_public(team, team_pack(session, team))


@router.put("/teams/{team}/pack", response_model=TeamPackPublic,
            responses={404: {"description": "no such pack or version"}})
def set_team_pack(team: str, body: TeamPackSet, session: SessionDep, pack_cache: PackCacheDep,
                  user: CurrentUser) -> TeamPackPublic:
    """Choose the team's pack (admin); ``version`` null follows the newest version. New calls use it."""
    require_role(user, "admin")
    try:
        get_pack(session, pack_cache, body.pack_id, body.version)
    except PackError as exc:
        raise _unprocessable(str(exc)) from None
    choice = session.get(TeamPack, team)
    before = _team_public(team, choice).model_dump(mode="json", include={"pack_id", "version"})
    if choice is None:
        choice = TeamPack(team=team, pack_id=body.pack_id, version=body.version, set_by=user.name)
        session.add(choice)
    else:
        choice.pack_id, choice.version, choice.set_by, choice.set_at = body.pack_id, body.version, user.name, utcnow()
    record(session, user.name, "team_pack.set", before=before,
           after={"pack_id": body.pack_id, "version": body.version}, detail=f"team {team}")
    session.commit()
    return _team_public(team, choice)


@router.delete("/teams/{team}/pack", status_code=status.HTTP_204_NO_CONTENT)
def clear_team_pack(team: str, session: SessionDep, user: CurrentUser) -> Response:
    """Go back to the language default pack for the team (admin)."""
    require_role(user, "admin")
    choice = session.get(TeamPack, team)
    if choice is None:
        raise _not_found(f"team {team!r} has no pack set")
    record(session, user.name, "team_pack.clear", before={"pack_id": choice.pack_id, "version": choice.version},
           detail=f"team {team}")
    session.delete(choice)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _rescore_teams(session: SessionDep, user: User, team: str | None) -> list[str] | None:
    """The teams a rescore may touch: any for an admin, only their own for a supervisor."""
    if user.role == "admin":
        return [team] if team else None
    require_role(user, "admin", "supervisor")
    own = supervised_teams(session, user)
    if team is not None:
        if team not in own:
            raise HTTPException(status_code=status.HTTP_403_FORBIDDEN,
                                detail=f"field 'team': you supervise {', '.join(own) or 'no team'}, not {team!r}")
        return [team]
    if not own:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="you supervise no team")
    return own


@router.post("/packs/{pack_id}/rescore", status_code=status.HTTP_202_ACCEPTED, response_model=JobAccepted,
             responses={404: {"description": "no such pack or version"}})
def rescore(pack_id: str, body: RescoreRequest, request: Request, session: SessionDep, pack_cache: PackCacheDep,
            user: CurrentUser) -> JobAccepted:
    """Queue a background job that scores stored transcripts again with this pack (no ASR); poll ``/jobs/{id}``."""
    teams = _rescore_teams(session, user, body.team)
    pack = _load(session, pack_cache, pack_id, body.version)
    job = jobs.enqueue(session, JOB_KIND, created_by=user.name,
                       payload=rescore_payload(pack_id, pack.version, teams, body.start, body.end))
    record(session, user.name, "pack.rescore", after=job.payload)
    session.commit()
    background.wake_workers(request.app)
    return JobAccepted(job_id=job.id, status=job.status)


def _job_public(job: Job) -> dict[str, Any]:
    return {"id": job.id, "kind": job.kind, "status": job.status, "payload": job.payload, "result": job.result,
            "error": job.error, "attempts": job.attempts, "created_by": job.created_by,
            "created_at": as_utc(job.created_at), "started_at": as_utc(job.started_at),
            "finished_at": as_utc(job.finished_at)}


@router.get("/jobs/{job_id}", response_model=JobPublic, responses={404: {"description": "no such job (or not yours)"}})
def read_job(job_id: RowId, session: SessionDep, user: CurrentUser) -> JobPublic:
    """A background job's state and result (its creator and admins only)."""
    query = select(Job).where(Job.id == job_id)
    if user.role != "admin":
        query = query.where(Job.created_by == user.name)
    job = session.scalar(query)
    if job is None:
        raise _not_found(f"job {job_id} not found")
    return JobPublic(**_job_public(job))
