"""The one use case that scores a call: resolve pack -> find duplicate -> pipeline -> store report -> events.

Every way a call gets scored goes through here: the service worker (uploaded audio and the live tap's end of
call), a transcript upload, a rescore, and the nightly batch. The batch runs the same steps split across
processes: :func:`choose_pack` while planning, :meth:`Pipeline.score` in its executors, :func:`save_report` in
the driver. The CLI (no database) calls the same :meth:`Pipeline.score` / :func:`check_transcript`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from qa_engine.audio import load_audio
from qa_engine.pipeline import CallInput, Pipeline, check_transcript
from qa_engine.rules import Pack
from qa_engine.types import CallReport, Transcript

from .dedupe import copy_report, find_twin
from .events import call_scored
from .models import Call
from .pack_cache import PackCache
from .packs import resolve_pack
from .report_store import store_report

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoreOutcome:
    """What scoring did: a new report, or the report of an identical call copied (``copied_from``)."""

    report: CallReport | None = None
    copied_from: str | None = None

    def job_result(self) -> dict[str, object]:
        """The summary a job row keeps."""
        if self.copied_from is not None:
            return {"copied_from": self.copied_from}
        assert self.report is not None
        return {"score": self.report.score, "grade": self.report.grade}


def call_language(call: Call) -> str | None:
    """The language the call was uploaded with; None when it is to be detected (``auto``) or unknown."""
    return None if call.language in (None, "auto") else call.language


def choose_pack(session: Session, pack_cache: PackCache, *, pack_id: str | None, team: str | None,
                language: str | None) -> Pack:
    """The pack a call is scored with (see :func:`qa_engine.app.packs.resolve_pack`): the one resolver."""
    return resolve_pack(session, pack_cache, pack_id=pack_id, team=team,
                        language=None if language == "auto" else language)


def save_report(session: Session, call: Call, report: CallReport, *, raw_transcript: Transcript | None = None) -> None:
    """Store ``report`` on ``call`` and queue its ``call.scored`` events (the caller commits)."""
    store_report(session, call, report, raw_transcript=raw_transcript)
    call_scored(session, call)


def score_call(session: Session, call: Call, *, pack_cache: PackCache,
               pipeline: Pipeline | Callable[[], Pipeline] | None = None,
               transcript: Transcript | None = None, pack: Pack | None = None, pack_given: bool = False,
               keep_raw: bool = False, max_duration_s: float | None = None) -> ScoreOutcome:
    """Score ``call`` (its stored recording with ``pipeline``, or ``transcript`` when given) and store the report.

    ``pipeline`` may be a function that builds or returns the shared one: it is called only once the recording has
    decoded, so a corrupt or over-long file never loads the speech model.
    ``pack``: already chosen (a rescore); else ``call.pack`` (or the team's / language default) is resolved.
    ``pack_given``: the uploader named the pack, so a detected language does not change it. A recording whose
    content was already scored with the same pack version is not transcribed again: that report is copied.
    ``keep_raw``: also keep the unmasked transcript. ``max_duration_s``: the service's limit on recordings. The
    caller commits; during ASR no transaction is held open.

    Raises:
        QaEngineError: the pack cannot be resolved, or the recording cannot be decoded.
    """
    chosen = pack or choose_pack(session, pack_cache, pack_id=call.pack, team=call.team,
                                 language=call_language(call))
    if transcript is not None:
        report = check_transcript(transcript, chosen, mask_pii=True)
        save_report(session, call, report, raw_transcript=transcript if keep_raw else None)
        return ScoreOutcome(report=report)
    if pipeline is None or not call.audio_path:
        raise ValueError("score_call needs a pipeline and a stored recording, or a transcript")
    twin = _scored_twin(session, call, chosen)
    if twin is not None:
        copy_report(session, call, twin)
        call_scored(session, call)
        return ScoreOutcome(copied_from=twin.id)
    session.commit()  # hold no transaction open during decoding and ASR (minutes on long calls)
    started = time.perf_counter()
    audio = load_audio(call.audio_path, max_duration_s=max_duration_s)  # a bad file fails before the model loads
    decode_s = time.perf_counter() - started
    speech = pipeline if isinstance(pipeline, Pipeline) else pipeline()
    transcript, timings = speech.transcribe(CallInput(audio, call_id=call.call_id, agent_channel=call.agent_channel,
                                                      language=call.language or chosen.language), pack=chosen)
    timings["decode"] = decode_s
    if call.language == "auto" and not pack_given:  # detected: that language's pack (the team's, else default)
        chosen = choose_pack(session, pack_cache, pack_id=None, team=call.team, language=transcript.language)
    report = speech.check(transcript, pack=chosen, timings=timings)
    save_report(session, call, report, raw_transcript=transcript if keep_raw else None)
    return ScoreOutcome(report=report)


def _scored_twin(session: Session, call: Call, pack: Pack) -> Call | None:
    """A finished call with the same recording, pack version and agent channel, if any."""
    if not call.content_hash:
        return None
    return find_twin(session, content_hash=call.content_hash, pack=pack.id, pack_version=pack.version,
                     agent_channel=call.agent_channel, exclude=call.id, statuses=("done",))


__all__ = ["ScoreOutcome", "call_language", "choose_pack", "save_report", "score_call"]
