"""Audio upload (``multipart/form-data``): bounded reading, header check, durable storage, queueing.

An accepted upload is never lost: the file is written and fsynced, then the call and its job are
committed in one transaction, and only then is ``202`` sent. Nothing is stored for a refused upload.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from pathlib import Path, PurePath

from fastapi import HTTPException, Request, status
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from qa_engine.app import call_fields, jobs
from qa_engine.app.access import visible_to
from qa_engine.app.audio_files import (
    AudioProbe,
    NotAudioError,
    StagingFile,
    UnreadableAudioError,
    commit_staged,
    probe_audio,
)
from qa_engine.app.dedupe import copy_report, find_twin
from qa_engine.app.events import call_scored
from qa_engine.app.models import Call, User, new_call_id
from qa_engine.app.pack_cache import PackCache
from qa_engine.app.packs import resolve_pack
from qa_engine.app.settings import Settings
from qa_engine.errors import PackError

SOURCE = "form"
FILE_FIELD = "file"
FORM_FIELDS = ("agent", "call_id", "team", "started_at", "agent_channel", "language", "pack")
FORM_SLACK_BYTES = 256 * 1024  # room for the metadata fields and part headers around the file
RETRY_AFTER_S = 30
CHUNK = 1 << 20


@dataclass(frozen=True)
class Accepted:
    """The outcome of an upload: which call, its status, the HTTP status, and whether it was a duplicate."""

    call_id: str
    status: str
    http_status: int
    duplicate: bool = False


class _TooLarge(Exception):
    pass


def too_large(max_mb: float) -> HTTPException:
    return HTTPException(status_code=status.HTTP_413_CONTENT_TOO_LARGE,
                         detail=f"upload too large: the limit is {max_mb:g} MB (QA_ENGINE_MAX_UPLOAD_MB)")


def queue_full(queued: int) -> HTTPException:
    return HTTPException(status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
                         detail=f"the processing queue is full ({queued} calls waiting); retry later",
                         headers={"Retry-After": str(RETRY_AFTER_S)})


def check_capacity(session: Session, settings: Settings, content_length: str | None) -> None:
    """413 for a declared oversized body and 503 for a full queue, before a byte of the body is read."""
    limit = int(settings.max_upload_mb * 1024 * 1024) + FORM_SLACK_BYTES
    if content_length and content_length.isdigit() and int(content_length) > limit:
        raise too_large(settings.max_upload_mb)
    queued = jobs.queued_count(session)
    if queued >= settings.max_queue:
        raise queue_full(queued)


async def read_form(request: Request, settings: Settings) -> FormData:
    """The multipart form, refusing bodies over the upload limit while they stream in (413)."""
    limit = int(settings.max_upload_mb * 1024 * 1024) + FORM_SLACK_BYTES

    async def bounded() -> AsyncGenerator[bytes, None]:
        seen = 0
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > limit:
                raise _TooLarge
            yield chunk

    parser = MultiPartParser(request.headers, bounded(), max_files=1, max_fields=len(FORM_FIELDS))
    try:
        return await parser.parse()
    except _TooLarge:
        raise too_large(settings.max_upload_mb) from None
    except MultiPartException as exc:
        raise call_fields.unprocessable(f"{SOURCE}: {exc.message} (expected one part '{FILE_FIELD}' with the "
                                        f"audio and the fields {', '.join(FORM_FIELDS)})") from None


def split_form(form: FormData) -> tuple[dict[str, str], UploadFile]:
    """The metadata fields and the audio part; 422 for a missing file or an unknown field."""
    fields: dict[str, str] = {}
    upload: UploadFile | None = None
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            if name != FILE_FIELD:
                raise call_fields.unprocessable(f"{SOURCE}: the audio must be sent in the part '{FILE_FIELD}', "
                                                f"not {name!r}")
            upload = value
        elif name == FILE_FIELD:
            raise call_fields.unprocessable(f"{SOURCE}: field '{FILE_FIELD}' must be a file upload (audio), "
                                            "not a text value")
        elif name not in FORM_FIELDS:
            raise call_fields.unprocessable(f"{SOURCE}: unknown field {name!r} (known: {', '.join(FORM_FIELDS)})")
        else:
            fields[name] = value
    if upload is None:
        raise call_fields.unprocessable(f"{SOURCE}: missing file part '{FILE_FIELD}' (the call recording)")
    return fields, upload


def _display_name(filename: str | None) -> str | None:
    if not filename:
        return None
    name = PurePath(filename.replace("\\", "/")).name
    name = re.sub(r"[\x00-\x1f\x7f]", "", name)[:256]
    return name or None


def accept_audio(session: Session, user: User, pack_cache: PackCache, settings: Settings,
                 fields: dict[str, str], upload: UploadFile) -> Accepted:
    """Check, store and queue one recording (runs in a worker thread: file and database I/O)."""
    agent, team = call_fields.resolve_agent(session, user, fields, SOURCE)
    started_at = call_fields.started_at(fields, SOURCE)
    language = call_fields.language(fields, SOURCE)
    agent_channel = call_fields.agent_channel(fields, SOURCE)
    call_label = call_fields.optional_str(fields, "call_id", SOURCE)
    try:
        pack_id = call_fields.optional_str(fields, "pack", SOURCE, 64)
        pack = resolve_pack(session, pack_cache, pack_id=pack_id, team=team,
                            language=None if language in (None, "auto") else language)
    except PackError as exc:
        raise call_fields.unprocessable(f"{SOURCE}: {exc}") from None
    filename = _display_name(upload.filename)
    staging = StagingFile(settings.data_dir)
    try:
        _copy_upload(upload, staging, settings)
        staged = staging.finish()
        probe = _probe(staged.temp_path, filename)
        if agent_channel is not None and agent_channel >= probe.channels:
            raise call_fields.unprocessable(f"{SOURCE}: field 'agent_channel' is {agent_channel} but the "
                                            f"recording has {probe.channels} channel(s), numbered from 0")
        twin = find_twin(session, content_hash=staged.sha256, pack=pack.id, pack_version=pack.version,
                         agent_channel=agent_channel)
        if twin is not None and _visible(session, user, twin):
            staging.discard()
            return Accepted(twin.id, twin.status, status.HTTP_200_OK, duplicate=True)
        path = commit_staged(settings.data_dir, staged)
    except BaseException:
        staging.discard()
        raise
    call_pk = new_call_id()
    call = Call(id=call_pk, call_id=call_label or (Path(filename).stem if filename else call_pk), agent=agent,
                team=team, started_at=started_at, language=language, pack=pack.id, pack_version=pack.version,
                source="audio", status="queued", content_hash=staged.sha256, audio_path=str(path),
                audio_filename=filename, audio_content_type=probe.content_type, audio_bytes=staged.size,
                agent_channel=agent_channel, duration=probe.duration)
    session.add(call)
    if twin is not None and twin.status == "done":
        copy_report(session, call, twin)
        call_scored(session, call)
        session.commit()
        return Accepted(call_pk, "done", status.HTTP_201_CREATED, duplicate=True)
    jobs.enqueue(session, "score_audio", call_pk=call_pk, created_by=user.name,
                 payload={"filename": filename, "bytes": staged.size, "pack_given": pack_id is not None})
    session.commit()
    return Accepted(call_pk, "queued", status.HTTP_202_ACCEPTED)


def _copy_upload(upload: UploadFile, staging: StagingFile, settings: Settings) -> None:
    limit = int(settings.max_upload_mb * 1024 * 1024)
    upload.file.seek(0)
    while chunk := upload.file.read(CHUNK):
        staging.write(chunk)
        if staging.size > limit:
            raise too_large(settings.max_upload_mb)
    if staging.size == 0:
        raise call_fields.unprocessable(f"{SOURCE}: the file part '{FILE_FIELD}' is empty (0 bytes)")


def _probe(path: Path, filename: str | None) -> AudioProbe:
    label = f"{filename}: " if filename else ""
    try:
        return probe_audio(path)
    except NotAudioError as exc:
        raise HTTPException(status_code=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, detail=f"{label}{exc}") from None
    except UnreadableAudioError as exc:
        raise call_fields.unprocessable(f"{label}{exc}") from None


def _visible(session: Session, user: User, call: Call) -> bool:
    return session.scalar(select(Call.id).where(Call.id == call.id, visible_to(user))) is not None
