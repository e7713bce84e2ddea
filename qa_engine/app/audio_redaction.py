"""Stored recordings with every spoken identifier silenced: what the service keeps and serves.

When a recording is scored (:func:`qa_engine.app.score_call.score_call`, the batch's driver), the report's
``redactions`` (where phone, ID and card numbers and e-mail addresses were spoken, found on the unmasked
transcript) are silenced on the speaker's channel (:func:`qa_engine.redact.redact_audio`) and the call points at
the redacted copy, ``<stored name>.redacted.wav`` / ``.flac`` next to the stored one. The unredacted original is
deleted once no call refers to it, unless ``keep_original_audio`` keeps it (then only admins fetch it, audited).
A recording in which nothing was found is served as stored: it is its own redacted copy.

Until a call is scored its recording is not served (nothing is known yet about what to silence).
"""

from __future__ import annotations

import glob
import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qa_engine.redact import MARGIN_S, RedactMode, redact_audio
from qa_engine.types import Redaction

from .models import Call
from .settings import Settings

logger = logging.getLogger(__name__)

REDACTED_MARK = ".redacted"
_SUFFIX = {"audio/wav": ".wav", "audio/flac": ".flac"}


@dataclass(frozen=True)
class AudioRedaction:
    """How stored audio is redacted: ``silence`` or ``tone``, the margin around the words, keep the original?"""

    mode: RedactMode = "silence"
    margin_s: float = MARGIN_S
    keep_original: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> AudioRedaction:
        return cls(settings.redact_audio_mode, settings.redact_margin_s, settings.keep_original_audio)


def is_redacted(path: str | Path) -> bool:
    """Whether ``path`` is a redacted copy (``<name>.redacted.wav``/``.flac``)."""
    return REDACTED_MARK in Path(path).name


def original_of(path: str | Path) -> Path:
    """The unredacted recording a stored path stands for (itself when it is not a redacted copy)."""
    p = Path(path)
    return p.with_name(p.name.split(REDACTED_MARK, 1)[0]) if is_redacted(p) else p


def redacted_path(original: str | Path, content_type: str | None) -> Path:
    """Where the redacted copy of ``original`` goes: WAV and FLAC keep their container, the rest becomes FLAC."""
    p = Path(original)
    return p.with_name(p.name + REDACTED_MARK + _SUFFIX.get(content_type or "", ".flac"))


def scoring_source(call: Call) -> str | None:
    """The recording to transcribe: the original while it is stored (kept, or not yet redacted), else the copy."""
    if not call.audio_path:
        return None
    original = original_of(call.audio_path)
    return str(original) if original.is_file() else call.audio_path


def redact_call_audio(call: Call, redactions: tuple[Redaction, ...] | list[Redaction],
                      policy: AudioRedaction) -> str | None:
    """Point ``call`` at the redacted copy of its recording (written now); the caller commits.

    Returns the path of the original to delete after the commit (:func:`discard_original`), or None: kept by the
    policy, or nothing to redact (the stored file is served as it is). Raises what writing the copy raises
    (:class:`qa_engine.errors.AudioError`, OSError): a call whose audio could not be redacted is not finished.
    """
    if not call.audio_path or not redactions:
        return None
    original = original_of(call.audio_path)
    source = original if original.is_file() else Path(call.audio_path)
    if is_redacted(source):  # the original is gone: the copy is redacted already (a job run again)
        return None
    content_type = call.audio_content_type if not is_redacted(call.audio_path) else None
    out = redacted_path(original, content_type)
    written = redact_audio(source, redactions, out, margin_s=policy.margin_s, mode=policy.mode)
    call.audio_path = str(out)
    call.audio_content_type = written.content_type
    call.audio_bytes = out.stat().st_size
    if call.audio_filename:
        call.audio_filename = Path(call.audio_filename).stem + out.suffix
    return None if policy.keep_original else str(original)


def share_twin_audio(target: Call, twin: Call, policy: AudioRedaction) -> str | None:
    """A copied report (:func:`qa_engine.app.dedupe.copy_report`) comes with the twin's redacted recording.

    Returns the original to delete after the commit (as :func:`redact_call_audio`), or None.
    """
    if not twin.audio_path or not is_redacted(twin.audio_path) or target.audio_path == twin.audio_path:
        return None
    original = target.audio_path
    target.audio_path, target.audio_content_type = twin.audio_path, twin.audio_content_type
    target.audio_bytes = twin.audio_bytes
    if target.audio_filename:
        target.audio_filename = Path(target.audio_filename).stem + Path(twin.audio_path).suffix
    return None if policy.keep_original or original is None or is_redacted(original) else original


def discard_original(session: Session, path: str | None) -> bool:
    """Delete the unredacted recording ``path`` when no call refers to it any more (after the commit)."""
    if not path or _used(session, path):
        return False
    Path(path).unlink(missing_ok=True)
    logger.info("unredacted recording %s deleted (its redacted copy is kept)", Path(path).name)
    return True


def remove_call_audio(session: Session, audio_path: str | None) -> None:
    """After a call is deleted: its recording, the original it was redacted from and every redacted copy of that
    original, unless another call uses them.

    The copies are found on disk, not from ``audio_path``: a job scoring the call as it was deleted may have written
    one that the deleted row never pointed to (or the delete read the row just before the job's commit).
    """
    if not audio_path:
        return
    original = original_of(audio_path)
    kept = False
    for copy in _redacted_copies(original):
        if _used(session, str(copy)):
            kept = True  # another call serves this copy: its original stays theirs too (original_audio)
        else:
            copy.unlink(missing_ok=True)
    if not kept and not _used(session, str(original)):
        original.unlink(missing_ok=True)


def _redacted_copies(original: Path) -> list[Path]:
    """The redacted copies of ``original`` on disk (``<name>.redacted.wav``/``.flac``…)."""
    return sorted(original.parent.glob(glob.escape(original.name) + REDACTED_MARK + ".*"))


def _used(session: Session, path: str) -> bool:
    return bool(session.scalar(select(func.count()).select_from(Call).where(Call.audio_path == path)))


def original_audio(call: Call) -> Path | None:
    """The unredacted recording of ``call`` when it is stored (kept by ``keep_original_audio``), else None."""
    if not call.audio_path:
        return None
    original = original_of(call.audio_path)
    return original if original.is_file() else None


__all__ = ["AudioRedaction", "discard_original", "is_redacted", "original_audio", "original_of", "redact_call_audio",
           "redacted_path", "remove_call_audio", "scoring_source", "share_twin_audio"]
