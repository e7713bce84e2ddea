"""The one way to score a call: decode -> VAD -> drop bleed -> ASR -> roles -> rules -> report.

The CLI, the service worker, the batch and the live tap's end of call all go through :meth:`Pipeline.score`
(audio) or :func:`check_transcript` (a transcript, no ASR), with :class:`PipelineOptions` built in one place,
:func:`pipeline_options`, from one settings mapping. Each step reports its duration through ``timings`` and,
when given, a pyannote-style ``hook(step, artefact)`` passed per call.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import __version__
from .acoustics import measure_acoustics
from .asr import AsrOptions, Recognizer, SpeechRegion, language_options, split_long_spans
from .audio import DecodedAudio, channel_energy_db, load_audio
from .channels import dedupe_crosstalk, detect_agent_channel, drop_bleed, gate_crosstalk
from .errors import AudioError, QaEngineError
from .progress import Hook
from .text import asr_language, language_family
from .transcript import utterance_from_words
from .types import CallReport, Role, Span, Transcript, Utterance
from .vad import SAMPLE_RATE, VadOptions, detect_speech_channels

if TYPE_CHECKING:  # the rules package is imported when a call is checked
    from .rules import Pack

logger = logging.getLogger(__name__)

FRAME_S = 0.03
DEFAULT_LANGUAGE = "zh"


@dataclass(frozen=True)
class PipelineOptions:
    """Everything that changes how a call is processed (dicts from the API are converted on entry)."""

    asr: AsrOptions = field(default_factory=AsrOptions)
    vad: VadOptions = field(default_factory=VadOptions)
    language: str | None = None
    pack: str | None = None
    max_duration_s: float | None = 4 * 3600.0
    mask_pii: bool = True
    gate_db: float | None = 20.0
    # mono calls: diarizer builtin | pyannote | none (roles unknown), its config file, speaker count (None: estimate)
    diarizer: str = "builtin"
    diarizer_config: str | None = None
    speakers: int | None = 2


#: Keys of the one settings mapping every caller hands to :func:`pipeline_options` (absent: the default).
ASR_SETTINGS = ("model", "device", "compute_type", "cpu_threads", "beam_size", "batch_size", "decoding")
PIPELINE_SETTINGS = ("language", "pack", "max_duration_s", "mask_pii", "gate_db", "diarizer", "diarizer_config",
                     "speakers")


def pipeline_options(settings: Mapping[str, Any]) -> PipelineOptions:
    """The one place :class:`PipelineOptions` are built: CLI flags, service settings and batch flags arrive here
    as one mapping (keys :data:`ASR_SETTINGS` and :data:`PIPELINE_SETTINGS`; a missing key keeps the default),
    so no caller can forget a field.

    ``decoding`` is the per-language block ({"zh": {"beam_size": 5}}, fields of
    :data:`qa_engine.asr.LANGUAGE_FIELDS`), merged over the model's own (:func:`qa_engine.asr.language_options`).
    For a language with a setting of its own, that setting wins over the global one (``beam_size``…).

    Raises:
        QaEngineError: an unknown key (a typo would otherwise be ignored silently), or a bad ``decoding`` block
            (ModelError, a QaEngineError).
    """
    unknown = sorted(set(settings) - set(ASR_SETTINGS) - set(PIPELINE_SETTINGS))
    if unknown:
        raise QaEngineError(f"unknown pipeline setting(s): {', '.join(unknown)}")
    asr = AsrOptions(**{key: settings[key] for key in ASR_SETTINGS if key in settings})
    rest = {key: settings[key] for key in PIPELINE_SETTINGS if key in settings}
    if rest.get("speakers") == 0:  # 0 on the command line: estimate the number of speakers
        rest["speakers"] = None
    return PipelineOptions(asr=asr, **rest)


@dataclass(frozen=True)
class CallInput:
    """One call to process, with what the caller already knows about it."""

    source: str | Path | DecodedAudio
    call_id: str | None = None
    agent_channel: int | None = None
    language: str | None = None
    agent_speaker: int | None = None  # mono calls: which diarized speaker (0-based, by first words) is the agent
    max_duration_s: float | None = None  # refuse longer recordings (default: the options' limit)
    # the caller hands its DecodedAudio over: the crosstalk gate may mute its samples in place (no copy of the call)
    scratch_samples: bool = False


class _Timer:
    def __init__(self, hook: Hook | None) -> None:
        self.hook = hook
        self.timings: dict[str, float] = {}
        self._t = time.perf_counter()

    def step(self, name: str, artefact: Any = None) -> None:
        now = time.perf_counter()
        self.timings[name] = self.timings.get(name, 0.0) + now - self._t
        self._t = now
        if self.hook is not None:
            self.hook(name, artefact)


def _span_audio(samples: np.ndarray, channel: int, span: Span) -> np.ndarray:
    """The 16 kHz samples of one channel inside ``span``."""
    return samples[channel, int(span.start * SAMPLE_RATE): int(span.end * SAMPLE_RATE)]


class Pipeline:
    """Load the model once, then transcribe and score any number of calls."""

    def __init__(self, options: PipelineOptions | None = None, *, recognizer: Recognizer | None = None,
                 hook: Hook | None = None) -> None:
        self.options = options or PipelineOptions()
        self.recognizer = recognizer or Recognizer(self.options.asr)
        self.hook = hook

    # -- transcription -------------------------------------------------------------------
    def transcribe(self, call: CallInput, *, pack: Pack | None = None,
                   hook: Hook | None = None) -> tuple[Transcript, dict[str, float]]:
        """Role-labelled transcript of one call, and the time each step took.

        ``pack`` (already chosen by the caller) gives the default language and the cues that tell a mono call's
        agent from the customer; without it the options' pack is loaded. ``hook`` is called after each step of
        this call (on top of the pipeline's own hook).
        """
        timer = _Timer(_both(self.hook, hook))
        audio = self._decode(call.source, call.max_duration_s)
        timer.step("decode", audio)
        requested = (call.language or self.options.language or (pack.language if pack is not None else None)
                     or self._pack_language() or DEFAULT_LANGUAGE)
        if call.agent_channel is not None and not 0 <= call.agent_channel < audio.channels:
            raise AudioError(audio.path, f"--agent-channel {call.agent_channel} does not exist: the file has "
                                         f"{audio.channels} channel(s), numbered from 0")
        energy = channel_energy_db(audio.samples, audio.sample_rate, FRAME_S)
        samples = audio.samples
        if audio.channels > 1 and self.options.gate_db is not None:
            inplace = call.scratch_samples or not isinstance(call.source, DecodedAudio)  # decoded here: ours
            samples = gate_crosstalk(samples, energy, FRAME_S, audio.sample_rate, below_db=self.options.gate_db,
                                     inplace=inplace)
            timer.step("gate", None)
        spans = detect_speech_channels(samples, self.options.vad)
        timer.step("vad", spans)
        if requested == "auto":
            language = self._detect_language(samples, spans)
            timer.step("language", language)
        else:
            language = asr_language(requested)
        if audio.channels > 1:
            bleed = drop_bleed(spans, energy, FRAME_S)
            spans = bleed.kept
            timer.step("bleed", bleed)
        # VAD regions may be longer than an ASR window (max_speech_s > window_s): split them
        # at a pause rather than let the window packer truncate their tail.
        asr = language_options(self.options.asr, language)
        max_region_s = asr.window_s - asr.lead_s - 0.5
        spans = {ch: split_long_spans(ss, energy[:, ch], FRAME_S, max_region_s) for ch, ss in spans.items()}
        regions = [SpeechRegion((ch,), s.start, _span_audio(samples, ch, s), language, channel=ch)
                   for ch, ss in spans.items() for s in ss]
        reporter = _progress_reporter(hook, "asr")
        recognised = (self.recognizer.recognise(regions, progress=reporter) if reporter is not None
                      else self.recognizer.recognise(regions))
        timer.step("asr", recognised)
        utterances = [utterance_from_words(rr.words, language, "unknown", rr.region.channel)
                      for rr in recognised if rr.words]
        utterances.sort(key=lambda u: (u.start, u.end))
        if audio.channels > 1:
            loud = {ch: energy[:, ch] for ch in range(audio.channels)}
            utterances = dedupe_crosstalk(utterances, loud, FRAME_S)
        transcript = self._assign_roles(audio, utterances, language, call, pack)
        # loudness/overtalk from the energy frames already computed (no second pass over the samples)
        transcript = replace(transcript, acoustics=measure_acoustics(energy, FRAME_S, transcript))
        timer.step("assemble", transcript)
        return transcript, timer.timings

    def _detect_language(self, samples: np.ndarray, spans: dict[int, list[Span]]) -> str:
        """Only when asked (--language auto): Whisper base often mistakes Mandarin, so we prefer a given one."""
        speech = [_span_audio(samples, ch, s) for ch, ss in spans.items() for s in ss]
        audio = np.concatenate(speech) if speech else np.zeros(0, dtype=np.float32)
        language, probability = self.recognizer.detect_language(audio)
        logger.info("detected language %s (p=%.2f)", language, probability)
        return language

    def _decode(self, source: str | Path | DecodedAudio, max_duration_s: float | None) -> DecodedAudio:
        if isinstance(source, DecodedAudio):
            return source
        return load_audio(source, max_duration_s=max_duration_s or self.options.max_duration_s)

    def _pack_language(self) -> str | None:
        if not self.options.pack:
            return None
        from .rules import load_pack

        return load_pack(self.options.pack).language

    def _assign_roles(self, audio: DecodedAudio, utterances: list[Utterance], language: str,
                      call: CallInput, pack: Pack | None) -> Transcript:
        call_id = call.call_id or Path(audio.path).stem
        if audio.channels == 1:
            return self._label_mono(audio, utterances, language, call_id, call, pack)
        if call.agent_channel is not None:
            agent, reason = call.agent_channel, "given (--agent-channel)"
        else:
            by_channel: dict[int, list[Utterance]] = {ch: [] for ch in range(audio.channels)}
            for u in utterances:
                by_channel[u.channel or 0].append(u)
            agent, reason = detect_agent_channel(by_channel, language)
        roles: list[Utterance] = []
        for u in utterances:
            role: Role = "agent" if u.channel == agent else "customer"
            roles.append(replace(u, role=role))
        return Transcript(call_id, language, audio.duration, tuple(roles), agent_channel=agent,
                          agent_channel_reason=reason)

    def _label_mono(self, audio: DecodedAudio, utterances: list[Utterance], language: str, call_id: str,
                    call: CallInput, pack: Pack | None) -> Transcript:
        """Diarize a mono call and label its speakers agent/customer (qa_engine.diarize)."""
        from .diarize import MonoOptions, label_mono_call
        from .rules import NoPackForLanguage, load_pack

        opts = MonoOptions(self.options.diarizer, self.options.diarizer_config, self.options.speakers)
        if opts.diarizer == "none":
            pack = None
        elif pack is None or language_family(pack.language) != language_family(language):
            try:
                pack = load_pack(self.options.pack, language=language)
            except NoPackForLanguage:  # no agent phrases in this language: roles from the language-neutral cues
                pack = None
        transcript, _ = label_mono_call(audio.samples[0], utterances, call_id=call_id, language=language,
                                        duration=audio.duration, options=opts, pack=pack,
                                        agent_speaker=call.agent_speaker, name=str(audio.path))
        return transcript

    # -- scoring ---------------------------------------------------------------------------
    def score(self, call: CallInput, *, pack: Pack | None = None, hook: Hook | None = None,
              unscorable: str | None = None) -> CallReport:
        """Transcribe and check one call against ``pack`` (None: the options' pack, id or path, for the language).

        ``unscorable``: why the call is not to be scored (the caller found no pack for its language): it is still
        transcribed, and the report is ``unscorable`` with that reason.
        """
        transcript, timings = self.transcribe(call, pack=pack, hook=hook)
        return self.check(transcript, pack=pack, timings=timings, hook=hook, unscorable=unscorable)

    def check(self, transcript: Transcript, *, pack: Pack | None = None, timings: dict[str, float] | None = None,
              hook: Hook | None = None, unscorable: str | None = None) -> CallReport:
        """Check an existing transcript (no ASR) against ``pack`` (default: the options' pack for its language;
        none written for its language: unscorable, see :func:`check_with_pack`)."""
        hooks = _both(self.hook, hook)
        if pack is None and unscorable is None:
            return check_with_pack(transcript, self.options.pack, mask_pii=self.options.mask_pii, timings=timings,
                                   hook=hooks)
        return check_transcript(transcript, pack, mask_pii=self.options.mask_pii, timings=timings, hook=hooks,
                                unscorable=unscorable)


def check_with_pack(transcript: Transcript, ref: str | Path | None, *, mask_pii: bool = True,
                    timings: dict[str, float] | None = None, hook: Hook | None = None) -> CallReport:
    """Check ``transcript`` against pack ``ref`` (id or path), else the default pack for its language.

    Why here: with no pack named, a call in a language no pack is written for (fr, or ja detected by ``auto``) is
    ``unscorable`` with the reason (:class:`~qa_engine.rules.NoPackForLanguage`), never a score from the pack of
    another language. The CLI's ``check`` and ``score`` both come here.
    """
    from .rules import NoPackForLanguage, load_pack

    try:
        pack = load_pack(ref, language=transcript.language)
    except NoPackForLanguage as exc:
        return check_transcript(transcript, None, mask_pii=mask_pii, timings=timings, hook=hook, unscorable=str(exc))
    return check_transcript(transcript, pack, mask_pii=mask_pii, timings=timings, hook=hook)


def check_transcript(transcript: Transcript, pack: Pack | None, *, mask_pii: bool = True,
                     timings: dict[str, float] | None = None, hook: Hook | None = None,
                     unscorable: str | None = None) -> CallReport:
    """Rules -> score -> report for one transcript: the last step of every way a call is scored.

    Timings of the earlier steps (decode, VAD, ASR…) are merged with the rules' own, ``total`` is their sum, and
    the report names the engine version, so a report reads the same whoever produced it. ``unscorable`` (with
    ``pack`` None when no pack fits the call's language): the report is ``unscorable`` with that reason.
    """
    from .scoring import score_transcript

    timer = _Timer(hook)
    report = score_transcript(transcript, pack, mask_pii=mask_pii, unscorable=unscorable)
    timer.step("rules", report)
    all_timings = {**(timings or {}), **timer.timings}
    all_timings["total"] = sum(v for k, v in all_timings.items() if k != "total")
    return replace(report, timings=all_timings, engine_version=__version__)


def _progress_reporter(hook: Hook | None, step: str) -> Callable[[float, float], None] | None:
    """In-step progress for hooks that take it, pyannote style: ``hook(step, None, completed=x, total=y)``.

    Only a hook that accepts ``completed``/``total`` keywords gets these calls; a plain ``hook(step, artefact)``
    sees step ends only.
    """
    if hook is None:
        return None
    try:
        parameters = inspect.signature(hook).parameters.values()
    except (TypeError, ValueError):
        return None
    names = {p.name for p in parameters}
    if not ({"completed", "total"} <= names or any(p.kind is p.VAR_KEYWORD for p in parameters)):
        return None

    def report(done: float, total: float) -> None:
        hook(step, None, completed=done, total=total)

    return report


def _both(first: Hook | None, second: Hook | None) -> Hook | None:
    """One hook calling both (the pipeline's and the call's), or whichever is given."""
    if first is None or second is None:
        return first or second

    def hook(step: str, artefact: Any = None) -> None:
        first(step, artefact)
        second(step, artefact)

    return hook
