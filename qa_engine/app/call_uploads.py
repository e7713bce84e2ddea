"""Uploads of calls: a transcript is scored at once; a recording is checked, stored durably and queued.

An accepted recording is never lost: the file is written and fsynced, then the call and its job are committed in
one transaction, and only then does the edge answer. Nothing is stored for a refused upload. Both kinds end in
:func:`qa_engine.app.score_call.score_call` (a recording through the worker).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePath
from typing import Any, BinaryIO, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_engine.audio import check_decoded_budget
from qa_engine.errors import AudioError, PackError, QaEngineError
from qa_engine.pii import mask_optional, mask_text
from qa_engine.rules import RulesTimeLimit
from qa_engine.transcript import transcript_from_dict, transcript_to_dict
from qa_engine.types import Transcript

from . import call_fields, jobs
from .access import as_utc, visible_to
from .audio_files import AudioProbe, NotAudioError, StagingFile, UnreadableAudioError, commit_staged, probe_audio
from .audio_redaction import AudioRedaction, discard_original, share_twin_audio
from .dedupe import copy_report, find_twin, hold_content
from .errors import TooLarge, UnsupportedMedia
from .events import call_scored
from .models import Call, User, new_call_id
from .pack_cache import PackCache
from .score_call import pack_for_call, score_call
from .settings import Settings

FORM_SOURCE = "form"
BODY_SOURCE = ""  # a JSON body: messages name the field by its path alone (utterances[0].start: ...)
FILE_FIELD = "file"
CHUNK = 1 << 20


@dataclass(frozen=True)
class Accepted:
    """The outcome of an upload: which call and its status.

    ``outcome``: ``queued`` (a new recording, to be scored), ``scored`` (a new transcript, scored at once: ``done``,
    or ``failed`` when unscorable), ``existing`` (the same content was already uploaded for the same agent, team,
    start time and call id: that call), ``copied`` (a new call, e.g. the same content for another agent, carrying
    the transcript and report of an identical one scored with the same pack version: no ASR, no rules run).
    """

    call_id: str
    status: str
    outcome: Literal["queued", "scored", "existing", "copied"]

    @property
    def duplicate(self) -> bool:
        return self.outcome in ("existing", "copied")


def too_large(max_mb: float) -> TooLarge:
    return TooLarge(f"upload too large: the limit is {max_mb:g} MB (QA_ENGINE_MAX_UPLOAD_MB)")


def create_transcript_call(session: Session, user: User, pack_cache: PackCache, settings: Settings,
                           doc: Mapping[str, Any]) -> Accepted:
    """Score a transcript document at once (no ASR) and store the call with its (masked) report; committed.

    Deduplicated like a recording: the same content (the canonical transcript, whatever its call id, key order or
    spacing) with the same pack version is the ``existing`` call when it describes the same call and the uploader
    can see it, else a new call with a ``copied`` report; otherwise the call is scored (``outcome`` ``queued``,
    ``status`` ``done``, or ``failed`` for an unscorable transcript: no agent speech, or no pack named and none
    written for its language).

    Raises:
        Invalid: a malformed field, an unknown agent or pack (the message names the field).
        Forbidden: an agent uploading someone else's call.
    """
    agent, team = call_fields.resolve_agent(session, user, doc, BODY_SOURCE, agent_uploads=settings.agent_uploads)
    started_at = call_fields.started_at(doc, BODY_SOURCE)
    pack_id = call_fields.optional_str(doc, "pack", BODY_SOURCE, 64)
    call_pk = new_call_id()
    given_id = doc.get("call_id") not in (None, "")
    if not given_id:
        doc = {**doc, "call_id": call_pk}
    elif isinstance(doc.get("call_id"), str):
        doc = {**doc, "call_id": mask_text(doc["call_id"])}  # stored masked (the report masks it too)
    try:
        transcript = transcript_from_dict(dict(doc), source=BODY_SOURCE)
        pack, unscorable = pack_for_call(session, pack_cache, pack_id=pack_id, team=team, language=transcript.language)
    except QaEngineError as exc:
        raise call_fields.unprocessable(str(exc)) from None
    content_hash = transcript_hash(transcript)
    hold_content(session, content_hash)  # until commit: an identical upload at the same instant finds this call
    twin = (find_twin(session, content_hash=content_hash, pack=pack.id, pack_version=pack.version, agent_channel=None)
            if pack is not None else None)
    label = transcript.call_id if given_id else None
    if twin is not None and _visible(session, user, twin) and _same_call(twin, agent, team, started_at, label):
        session.commit()
        return Accepted(twin.id, twin.status, "existing")
    call = Call(id=call_pk, call_id=transcript.call_id, agent=agent, team=team, started_at=started_at,
                source="transcript", content_hash=content_hash)
    session.add(call)
    if twin is not None and twin.status == "done":
        copy_report(session, call, twin)
        call.raw_transcript = transcript_to_dict(transcript) if settings.keep_raw_transcripts else None  # this one's
        call_scored(session, call)
        session.commit()
        return Accepted(call_pk, "done", "copied")
    try:
        score_call(session, call, pack_cache=pack_cache, transcript=transcript, pack=pack, unscorable=unscorable,
                   keep_raw=settings.keep_raw_transcripts, rules_time_limit_s=settings.rules_time_limit_s)
    except RulesTimeLimit as exc:
        session.rollback()
        raise call_fields.unprocessable(f"{call_fields.lead(BODY_SOURCE)}{exc}") from None
    session.commit()
    return Accepted(call_pk, "done" if call.status == "done" else "failed", "scored")


def transcript_hash(transcript: Transcript) -> str:
    """SHA-256 of the canonical transcript without its call id: what makes two uploads the same content."""
    content = {k: v for k, v in transcript_to_dict(transcript).items() if k != "call_id"}
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(canonical).hexdigest()


def accept_recording(session: Session, user: User, pack_cache: PackCache, settings: Settings,
                     fields: Mapping[str, str], file: BinaryIO, filename: str | None) -> Accepted:
    """Check, store and queue one recording (file and database I/O: run it in a worker thread); committed.

    Raises:
        Invalid: a malformed field, an empty or unreadable file, an agent channel the file does not have.
        TooLarge: the file is over ``max_upload_mb``.
        UnsupportedMedia: the file is not audio.
    """
    agent, team = call_fields.resolve_agent(session, user, fields, FORM_SOURCE, agent_uploads=settings.agent_uploads)
    started_at = call_fields.started_at(fields, FORM_SOURCE)
    language = call_fields.language(fields, FORM_SOURCE)
    agent_channel = call_fields.agent_channel(fields, FORM_SOURCE)
    call_label = mask_optional(call_fields.optional_str(fields, "call_id", FORM_SOURCE))  # stored masked
    try:
        pack_id = call_fields.optional_str(fields, "pack", FORM_SOURCE, 64)
        pack = pack_for_call(session, pack_cache, pack_id=pack_id, team=team, language=language).pack
    except PackError as exc:
        raise call_fields.unprocessable(f"{FORM_SOURCE}: {exc}") from None
    name = mask_optional(display_name(filename))  # stored (and shown, and sent) masked
    staging = StagingFile(settings.data_dir)
    try:
        _copy(file, staging, settings)
        staged = staging.finish()
        probe = _probe(staged.temp_path, name)
        _check_budget(probe, name, settings)
        if agent_channel is not None and agent_channel >= probe.channels:
            raise call_fields.unprocessable(f"{call_fields.named(FORM_SOURCE, 'agent_channel')}: {agent_channel}, "
                                            f"but the recording has {probe.channels} channel(s), numbered from 0")
        hold_content(session, staged.sha256)  # until commit: an identical upload at once finds this call
        twin = (find_twin(session, content_hash=staged.sha256, pack=pack.id, pack_version=pack.version,
                          agent_channel=agent_channel) if pack is not None else None)
        label = call_label or (Path(name).stem if name else None)
        if twin is not None and _visible(session, user, twin) and _same_call(twin, agent, team, started_at, label):
            staging.discard()
            session.commit()
            return Accepted(twin.id, twin.status, "existing")
        path = commit_staged(settings.data_dir, staged)
    except BaseException:
        staging.discard()
        raise
    call_pk = new_call_id()
    call = Call(id=call_pk, call_id=label or call_pk, agent=agent,
                team=team, started_at=started_at, language=language,
                pack=pack.id if pack else None, pack_version=pack.version if pack else None,
                source="audio", status="queued", content_hash=staged.sha256, audio_path=str(path),
                audio_filename=name, audio_content_type=probe.content_type, audio_bytes=staged.size,
                agent_channel=agent_channel, duration=probe.duration)
    session.add(call)
    if twin is not None and twin.status == "done":
        copy_report(session, call, twin)
        discard = share_twin_audio(call, twin, AudioRedaction.from_settings(settings))  # its redacted recording
        call_scored(session, call)
        session.commit()
        discard_original(session, discard)
        return Accepted(call_pk, "done", "copied")
    jobs.enqueue(session, "score_audio", call_pk=call_pk, created_by=user.name,
                 payload={"filename": name, "bytes": staged.size, "pack_given": pack_id is not None})
    session.commit()
    return Accepted(call_pk, "queued", "queued")


def display_name(filename: str | None) -> str | None:
    """The uploaded file's base name without control characters (at most 256 characters), or None."""
    if not filename:
        return None
    name = PurePath(filename.replace("\\", "/")).name
    name = re.sub(r"[\x00-\x1f\x7f]", "", name)[:256]
    return name or None


def _copy(file: BinaryIO, staging: StagingFile, settings: Settings) -> None:
    limit = int(settings.max_upload_mb * 1024 * 1024)
    file.seek(0)
    while chunk := file.read(CHUNK):
        staging.write(chunk)
        if staging.size > limit:
            raise too_large(settings.max_upload_mb)
    if staging.size == 0:
        raise call_fields.unprocessable(f"{FORM_SOURCE}: the file part '{FILE_FIELD}' is empty (0 bytes)")


def _probe(path: Path, filename: str | None) -> AudioProbe:
    label = f"{filename}: " if filename else ""
    try:
        return probe_audio(path)
    except NotAudioError as exc:
        raise UnsupportedMedia(f"{label}{exc}") from None
    except UnreadableAudioError as exc:
        raise call_fields.unprocessable(f"{label}{exc}") from None


def _check_budget(probe: AudioProbe, filename: str | None, settings: Settings) -> None:
    """Refuse (413) from the header alone a recording that is too long or would decode past ``max_decoded_mb``."""
    try:
        check_decoded_budget(filename or "the recording", probe.duration, probe.channels,
                             max_duration_s=settings.max_audio_duration_s, max_decoded_mb=settings.max_decoded_mb)
    except AudioError as exc:
        raise TooLarge(str(exc)) from None


def _same_call(twin: Call, agent: str, team: str | None, started_at: datetime | None, label: str | None) -> bool:
    """Whether an upload of ``twin``'s recording describes the same call (then it is that call, 200 duplicate).

    The same audio with another agent, team, start time or call id is another call (or corrected metadata): it
    becomes a new call that reuses the twin's transcript and report, so the new metadata is never dropped.
    """
    return (twin.agent == agent and twin.team == team and as_utc(twin.started_at) == started_at
            and (label is None or twin.call_id == label))


def _visible(session: Session, user: User, call: Call) -> bool:
    return session.scalar(select(Call.id).where(Call.id == call.id, visible_to(user))) is not None


__all__ = ["Accepted", "accept_recording", "create_transcript_call", "display_name", "too_large", "transcript_hash"]
