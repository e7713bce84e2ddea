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
from contextlib import nullcontext
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy.orm import Session

from qa_engine.audio import load_audio, probe_decoded_budget
from qa_engine.pipeline import CallInput, Pipeline, check_transcript
from qa_engine.rules import NoPackForLanguage, Pack, rules_time_limit
from qa_engine.types import CallReport, Transcript

from .audio_redaction import AudioRedaction, redact_call_audio, scoring_source, share_twin_audio
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
    discard: str | None = None  # the unredacted recording: delete after the commit (audio_redaction.discard_original)

    def job_result(self) -> dict[str, object]:
        """The summary a job row keeps."""
        if self.copied_from is not None:
            return {"copied_from": self.copied_from}
        assert self.report is not None
        if not self.report.scorable:
            return {"score": None, "grade": None, "unscorable": self.report.reason}
        return {"score": self.report.score, "grade": self.report.grade}


def call_language(call: Call) -> str | None:
    """The language the call was uploaded with; None when it is to be detected (``auto``) or unknown."""
    return None if call.language in (None, "auto") else call.language


def choose_pack(session: Session, pack_cache: PackCache, *, pack_id: str | None, team: str | None,
                language: str | None) -> Pack:
    """The pack a call is scored with (see :func:`qa_engine.app.packs.resolve_pack`): the one resolver.

    Raises:
        NoPackForLanguage: no pack named and none written for ``language`` (see :func:`pack_for_call`).
        PackError: ``pack_id`` names no known pack.
    """
    return resolve_pack(session, pack_cache, pack_id=pack_id, team=team,
                        language=None if language == "auto" else language)


class PackChoice(NamedTuple):
    """The pack a call is scored with, or None and why not (``unscorable``: no pack named, none for its language)."""

    pack: Pack | None
    unscorable: str | None = None


def pack_for_call(session: Session, pack_cache: PackCache, *, pack_id: str | None, team: str | None,
                  language: str | None) -> PackChoice:
    """:func:`choose_pack`, where a call no pack is written for is not refused: it is stored, and unscorable.

    Raises:
        PackError: ``pack_id`` names no known pack.
    """
    try:
        return PackChoice(choose_pack(session, pack_cache, pack_id=pack_id, team=team, language=language))
    except NoPackForLanguage as exc:
        return PackChoice(None, str(exc))


def save_report(session: Session, call: Call, report: CallReport, *, raw_transcript: Transcript | None = None,
                pack: Pack | None = None) -> None:
    """Store ``report`` on ``call`` and queue its ``call.scored`` events (the caller commits).

    ``pack``: the report's pack, to recompute the score when reviewed findings are kept (a rescore). An
    ``unscorable`` report (no agent speech) leaves the call ``failed`` with the reason and sends no event.
    """
    store_report(session, call, report, raw_transcript=raw_transcript, pack=pack)
    if report.scorable:
        call_scored(session, call)


def score_call(session: Session, call: Call, *, pack_cache: PackCache,
               pipeline: Pipeline | Callable[[], Pipeline] | None = None,
               transcript: Transcript | None = None, pack: Pack | None = None, unscorable: str | None = None,
               pack_given: bool = False,
               keep_raw: bool = False, max_duration_s: float | None = None,
               max_decoded_mb: float | None = None, rules_time_limit_s: float | None = None,
               audio_redaction: AudioRedaction | None = None) -> ScoreOutcome:
    """Score ``call`` (its stored recording with ``pipeline``, or ``transcript`` when given) and store the report.

    ``pipeline`` may be a function that builds or returns the shared one: it is called only once the recording has
    decoded, so a corrupt or over-long file never loads the speech model.
    ``pack``: already chosen (a rescore), or ``unscorable``: the reason none was (:func:`pack_for_call`); else
    ``call.pack`` (or the team's / language default) is resolved, and with none for the call's language the
    call is still transcribed and its report is unscorable.
    ``pack_given``: the uploader named the pack, so a detected language does not change it. A recording whose
    content was already scored with the same pack version is not transcribed again: that report is copied.
    ``keep_raw``: also keep the unmasked transcript. ``max_duration_s``: the service's limit on recordings. The
    caller commits; during ASR no transaction is held open. ``max_decoded_mb``: the budget for the decoded samples
    (see :func:`qa_engine.audio.load_audio`), checked from the header before decoding and while decoding.
    ``rules_time_limit_s``: the wall-clock limit for running the rules (default: the rules' own, 10 s).
    ``audio_redaction``: how the stored recording is redacted once scored (default: silence, original not kept);
    the call then points at the redacted copy and ``ScoreOutcome.discard`` names the original, which the caller
    deletes after committing (:func:`qa_engine.app.audio_redaction.discard_original`).

    Raises:
        QaEngineError: the pack cannot be resolved, or the recording cannot be decoded.
        RulesTimeLimit: the rules ran past their time limit on this call.
    """
    with rules_time_limit(rules_time_limit_s) if rules_time_limit_s is not None else nullcontext():
        chosen = PackChoice(pack, unscorable) if pack is not None or unscorable is not None else None
        return _score_call(session, call, pack_cache=pack_cache, pipeline=pipeline, transcript=transcript,
                           chosen=chosen, pack_given=pack_given, keep_raw=keep_raw, max_duration_s=max_duration_s,
                           max_decoded_mb=max_decoded_mb, audio_redaction=audio_redaction)


def _score_call(session: Session, call: Call, *, pack_cache: PackCache,
                pipeline: Pipeline | Callable[[], Pipeline] | None, transcript: Transcript | None,
                chosen: PackChoice | None, pack_given: bool, keep_raw: bool, max_duration_s: float | None,
                max_decoded_mb: float | None, audio_redaction: AudioRedaction | None) -> ScoreOutcome:
    if chosen is None:
        language = transcript.language if transcript is not None else call_language(call)
        chosen = pack_for_call(session, pack_cache, pack_id=call.pack, team=call.team, language=language)
    if transcript is not None:
        report = check_transcript(transcript, chosen.pack, mask_pii=True, unscorable=chosen.unscorable)
        save_report(session, call, report, raw_transcript=transcript if keep_raw else None, pack=chosen.pack)
        return ScoreOutcome(report=report)
    if pipeline is None or not call.audio_path:
        raise ValueError("score_call needs a pipeline and a stored recording, or a transcript")
    policy = audio_redaction or AudioRedaction()
    twin = _scored_twin(session, call, chosen.pack) if chosen.pack is not None else None
    if twin is not None:
        copy_report(session, call, twin)
        discard = share_twin_audio(call, twin, policy)
        call_scored(session, call)
        return ScoreOutcome(copied_from=twin.id, discard=discard)
    session.commit()  # hold no transaction open during decoding and ASR (minutes on long calls)
    started = time.perf_counter()
    # a bad or over-long file fails before the model loads (and an over-budget one before a sample is decoded)
    source = scoring_source(call) or call.audio_path
    probe_decoded_budget(source, max_duration_s=max_duration_s, max_decoded_mb=max_decoded_mb)
    audio = load_audio(source, max_duration_s=max_duration_s, max_decoded_mb=max_decoded_mb)
    decode_s = time.perf_counter() - started
    speech = pipeline if isinstance(pipeline, Pipeline) else pipeline()
    transcript, timings = speech.transcribe(CallInput(audio, call_id=call.call_id, agent_channel=call.agent_channel,
                                                      language=call.language or _pack_language(chosen),
                                                      scratch_samples=True), pack=chosen.pack)
    del audio
    timings["decode"] = decode_s
    if call.language == "auto" and not pack_given:  # detected: that language's pack (the team's, else default)
        chosen = pack_for_call(session, pack_cache, pack_id=None, team=call.team, language=transcript.language)
    report = speech.check(transcript, pack=chosen.pack, timings=timings, unscorable=chosen.unscorable)
    discard = redact_call_audio(call, report.redactions, policy)  # before the report: never done without it
    save_report(session, call, report, raw_transcript=transcript if keep_raw else None, pack=chosen.pack)
    return ScoreOutcome(report=report, discard=discard)


def _pack_language(chosen: PackChoice) -> str | None:
    return chosen.pack.language if chosen.pack is not None else None


def _scored_twin(session: Session, call: Call, pack: Pack) -> Call | None:
    """A finished call with the same recording, pack version and agent channel, if any."""
    if not call.content_hash:
        return None
    return find_twin(session, content_hash=call.content_hash, pack=pack.id, pack_version=pack.version,
                     agent_channel=call.agent_channel, exclude=call.id, statuses=("done",))


__all__ = ["PackChoice", "ScoreOutcome", "call_language", "choose_pack", "pack_for_call", "save_report",
           "score_call"]
