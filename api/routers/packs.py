"""Rule packs: list, show, validate, upload versions (admin), each team's active pack, re-score jobs.

Packs are addressed by plain id; an uploaded pack is stored verbatim in ``pack_versions`` and never opened
from a path. Uploads and team choices leave an audit entry. The use cases are in :mod:`qa_engine.app.pack_admin`
(and the catalogue in :mod:`qa_engine.app.packs`); here the body's type and size are checked, answers shaped.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status

from qa_engine.app import pack_admin
from qa_engine.app.access import as_utc
from qa_engine.app.errors import Invalid
from qa_engine.app.models import Job, TeamPack
from qa_engine.app.pack_admin import UPLOAD_SOURCE
from qa_engine.app.pack_cache import MAX_VERSION_LENGTH
from qa_engine.app.packs import catalogue, versions_of
from qa_engine.rules import Pack
from qa_engine.rules.docs import pack_markdown

from .. import background
from ..deps import CurrentUser, PackCacheDep, RowId, SessionDep, SettingsDep
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
YAML_BODY = {"requestBody": {"required": True, "content": {t: {"schema": {"type": "string"}} for t in YAML_TYPES[:3]}}}
VersionQuery = Annotated[str | None, Query(min_length=1, max_length=MAX_VERSION_LENGTH)]


async def pack_text(request: Request, _user: CurrentUser, settings: SettingsDep) -> str:
    """The YAML request body as text; 415 for another content type, 413 when too large, 422 when not UTF-8.

    Depends on the signed-in user, so the credential is checked before a byte of the body is read; the size is
    also bounded while the body streams in (:mod:`api.body_limits`, ``max_pack_body_mb``).
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in YAML_TYPES:
        raise HTTPException(status_code=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                            detail=f"send the pack as YAML (Content-Type: application/yaml), got "
                                   f"{content_type or 'no content type'}")
    raw = await request.body()
    max_bytes = int(settings.max_pack_body_mb * 1024 * 1024)
    if len(raw) > max_bytes:
        raise HTTPException(status_code=status.HTTP_413_CONTENT_TOO_LARGE,
                            detail=f"{UPLOAD_SOURCE}: a pack is at most {max_bytes} bytes, got {len(raw)} "
                                   "(QA_ENGINE_MAX_PACK_BODY_MB)")
    return decode_pack_body(raw)


def decode_pack_body(raw: bytes) -> str:
    """The body as UTF-8 text; Invalid naming the line and byte of the first undecodable byte otherwise."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise Invalid(f"{UPLOAD_SOURCE}: not UTF-8 text: byte 0x{raw[exc.start]:02x} at line {line} byte {column} "
                      "cannot be decoded (save the pack as UTF-8)") from None


PackText = Annotated[str, Depends(pack_text)]


def _rules(pack: Pack) -> list[RulePublic]:
    return [RulePublic(**r.model_dump(include={"id", "type", "summary", "weight", "severity", "enabled"}))
            for r in pack.rules]


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
    pack = pack_admin.parse_upload(text)
    return PackValidation(valid=True, id=pack.id, version=pack.version, language=pack.language, name=pack.name,
                          rules=_rules(pack))


@router.post("/packs", status_code=status.HTTP_201_CREATED, response_model=PackUploaded, openapi_extra=YAML_BODY,
             responses={409: {"description": "that pack id and version already exist"},
                        422: {"description": "invalid pack"}})
def upload_pack(text: PackText, session: SessionDep, user: CurrentUser) -> PackUploaded:
    """Store a new pack version (admin). Versions are immutable: change the version to change the rules."""
    pack = pack_admin.upload_pack(session, user, text)
    return PackUploaded(id=pack.id, version=pack.version, language=pack.language, rules=len(pack.rules))


@router.get("/packs/{pack_id}", response_model=PackDetail, responses={404: {"description": "no such pack or version"}})
def show_pack(pack_id: str, session: SessionDep, pack_cache: PackCacheDep, _user: CurrentUser,
              version: VersionQuery = None) -> PackDetail:
    """One pack version (default: the newest) with its parsed rules."""
    pack = pack_admin.load_pack(session, pack_cache, pack_id, version)
    return PackDetail(id=pack.id, version=pack.version, language=pack.language, name=pack.name,
                      description=pack.description, grades=dict(pack.grades),
                      rules=[r.model_dump(mode="json", exclude_none=True) for r in pack.rules],
                      versions=[PackVersionPublic(**e.public()) for e in versions_of(session, pack_id)])


@router.get("/packs/{pack_id}/docs", response_class=Response,
            responses={200: {"content": {"text/markdown": {}}}, 404: {"description": "no such pack or version"}})
def pack_docs(pack_id: str, session: SessionDep, pack_cache: PackCacheDep, _user: CurrentUser,
              version: VersionQuery = None) -> Response:
    """The pack's documentation (Markdown, as ``qa-engine packs show`` prints it)."""
    pack = pack_admin.load_pack(session, pack_cache, pack_id, version)
    return Response(pack_markdown(pack), media_type="text/markdown; charset=utf-8")


def _team_public(team: str, choice: TeamPack | None) -> TeamPackPublic:
    if choice is None:
        return TeamPackPublic(team=team, pack_id=None, version=None)
    return TeamPackPublic(team=team, pack_id=choice.pack_id, version=choice.version, set_by=choice.set_by,
                          set_at=as_utc(choice.set_at))


@router.get("/teams/{team}/pack", response_model=TeamPackPublic)
def read_team_pack(team: str, session: SessionDep, user: CurrentUser) -> TeamPackPublic:
    """The pack the team's calls are scored with (pack_id null: the language default)."""
    return _team_public(team, pack_admin.read_team_pack(session, user, team))


@router.put("/teams/{team}/pack", response_model=TeamPackPublic,
            responses={404: {"description": "no such pack or version"}})
def set_team_pack(team: str, body: TeamPackSet, session: SessionDep, pack_cache: PackCacheDep,
                  user: CurrentUser) -> TeamPackPublic:
    """Choose the team's pack (admin); ``version`` null follows the newest version. New calls use it."""
    return _team_public(team, pack_admin.set_team_pack(session, pack_cache, user, team, body.pack_id, body.version))


@router.delete("/teams/{team}/pack", status_code=status.HTTP_204_NO_CONTENT)
def clear_team_pack(team: str, session: SessionDep, user: CurrentUser) -> Response:
    """Go back to the language default pack for the team (admin)."""
    pack_admin.clear_team_pack(session, user, team)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/packs/{pack_id}/rescore", status_code=status.HTTP_202_ACCEPTED, response_model=JobAccepted,
             responses={404: {"description": "no such pack or version"}})
def rescore(pack_id: str, body: RescoreRequest, request: Request, session: SessionDep, pack_cache: PackCacheDep,
            user: CurrentUser) -> JobAccepted:
    """Queue a background job that scores stored transcripts again with this pack (no ASR); poll ``/jobs/{id}``."""
    job = pack_admin.queue_rescore(session, pack_cache, user, pack_id, version=body.version, team=body.team,
                                   start=body.start, end=body.end)
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
    return JobPublic(**_job_public(pack_admin.visible_job(session, user, job_id)))
