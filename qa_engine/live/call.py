"""One live call: stereo audio in (8 kHz PCM16 frames), utterances and alerts out, as they happen.

Per frame: mute crosstalk (each channel carries a faint copy of the other party), resample each
channel to 16 kHz, run the streaming VAD; each finished utterance goes to the shared
:class:`LiveTranscriber`; its words come back on the transcriber's thread, become an utterance
with the channel's role, and the pack's early-decidable rules run on the transcript so far.
Everything is reported through ``on_event(dict)`` (JSON-ready), from whichever thread produced it.

Every text in an event is PII-masked. A number read over several utterances (``my number is 138`` |
``1234 5678``) is masked across them, as in a scored report: an utterance that ends with a digit is held back
until the speaker's next utterance shows whether the number goes on (or ``MAX_GAP_S`` of call time has
passed, or the call ends), and each utterance is shown as :func:`qa_engine.pii.mask_transcript` masks the
call so far.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import soxr

from ..audio import channel_energy_db
from ..channels import gate_crosstalk, is_bleed
from ..pii import MAX_GAP_S, mask_data, mask_text, mask_transcript, may_continue
from ..rules import Pack
from ..text import asr_language
from ..transcript import utterance_from_words
from ..types import Role, Transcript, Utterance, Word
from ..vad import SAMPLE_RATE, VadOptions
from .alerts import LiveAlert, LiveRules
from .segmenter import Segment, StreamingVad
from .transcriber import LiveTranscriber, UtteranceJob

logger = logging.getLogger(__name__)

IN_RATE = 8000
MASK_CONTEXT_S = 120.0  # utterances this far before the oldest one waiting are read with it (split numbers)
GATE_FRAME_S = 0.03
GATE_FRAME = int(IN_RATE * GATE_FRAME_S)
Event = dict[str, Any]


@dataclass(frozen=True)
class LiveOptions:
    """How a live call is segmented and checked."""

    vad: VadOptions = VadOptions()
    gate_db: float | None = 20.0
    greeting_after_s: float | None = None  # default: the greeting rule's own within_s


class _Channel:
    def __init__(self, index: int, role: Role, vad: VadOptions) -> None:
        self.index, self.role, self.vad_options = index, role, vad
        self.vad = StreamingVad(vad)
        self.resampler = soxr.ResampleStream(IN_RATE, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
        self.offset = 0.0  # call time where this VAD stream starts
        self.arrivals: list[tuple[float, float]] = []  # (call time received up to, wall clock), recent only

    def restart(self, offset: float) -> None:
        self.vad = StreamingVad(self.vad_options)
        self.resampler = soxr.ResampleStream(IN_RATE, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
        self.offset = offset


class LiveCall:
    """Streams one call through VAD, ASR and live rules."""

    def __init__(self, call_id: str, roles: list[Role], language: str, pack: Pack, transcriber: LiveTranscriber,
                 on_event: Callable[[Event], None], options: LiveOptions | None = None) -> None:
        self.call_id = call_id
        self.language = asr_language(language)
        self.options = opts = options or LiveOptions()
        self.transcriber = transcriber
        self.on_event = on_event
        self.rules = LiveRules(pack, greeting_after_s=opts.greeting_after_s)
        self.channels = [_Channel(i, role, opts.vad) for i, role in enumerate(roles)]
        self.utterances: list[Utterance] = []
        self.alerts: list[LiveAlert] = []
        self.latencies: list[dict[str, float]] = []
        self._pending = 0  # utterances handed to ASR and not back yet
        self._pending_starts: list[float] = []
        self._carry = np.zeros((len(roles), 0), dtype=np.int16)
        self._received_s = 0.0  # call time of audio received (discarded gaps included)
        self._energy: list[np.ndarray] = []  # per 30 ms frame and channel (dB), in call time order
        self._energy_t: list[float] = []  # call time where each energy block starts
        self._lock = threading.Lock()
        self._closed = False
        self._checked_at = 0.0  # settled time of the last rule run on audio alone
        self._held: list[tuple[Utterance, float]] = []  # transcribed, not yet shown (may go on): (utterance, latency)

    @property
    def received_s(self) -> float:
        return self._received_s

    def add_audio(self, pcm: np.ndarray) -> None:
        """Append one block of int16 samples, shape (channels, n), at 8 kHz."""
        now = time.monotonic()
        block = np.concatenate([self._carry, pcm], axis=1) if self._carry.size else pcm
        whole = block.shape[1] - block.shape[1] % GATE_FRAME
        self._carry = block[:, whole:]
        if whole == 0:
            return
        x = block[:, :whole].astype(np.float32) / 32768.0
        if len(self.channels) > 1 and self.options.gate_db is not None:
            energy = channel_energy_db(x, IN_RATE, GATE_FRAME_S)
            x = gate_crosstalk(x, energy, GATE_FRAME_S, IN_RATE, below_db=self.options.gate_db)
            self._energy.append(energy)
            self._energy_t.append(self._received_s)
            while self._energy_t and self._energy_t[0] < self._received_s - 60.0:  # bounded: a segment is <= 21 s
                del self._energy[0], self._energy_t[0]
        self._received_s += whole / IN_RATE
        for ch in self.channels:
            up = ch.resampler.resample_chunk(x[ch.index])
            ch.arrivals.append((self._received_s, now))
            del ch.arrivals[:-64]
            self._submit(ch, ch.vad.feed(up))
        settled = self.settled_s()
        if settled - self._checked_at >= 1.0:  # time-based rules: once a second of call time is enough
            self._checked_at = settled
            self._show_ready(settled)
            self._check_rules()

    def skip(self, seconds: float) -> None:
        """Audio the client discarded (or skipped while paused): close open speech, move the clock on."""
        if seconds <= 0:
            return
        for ch in self.channels:
            self._submit(ch, ch.vad.flush())
        self._received_s += seconds
        for ch in self.channels:
            ch.restart(self._received_s)
        self._carry = self._carry[:, :0]

    def finish(self) -> None:
        """End of stream: hand out the speech still open (its transcript follows asynchronously)."""
        for ch in self.channels:
            self._submit(ch, ch.vad.flush())
        self._closed = True
        with self._lock:
            idle = self._pending == 0
        if idle:
            self._show_ready(force=True)

    def wait_idle(self, timeout_s: float = 60.0) -> bool:
        """Block until every submitted utterance is transcribed (for the end of a call and tests)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if self._pending == 0:
                    return True
            time.sleep(0.02)
        return False

    def settled_s(self) -> float:
        """Call time up to which every utterance is transcribed."""
        with self._lock:
            marks = [ch.offset + ch.vad.settled_s for ch in self.channels] + self._pending_starts
        return min(marks) if marks else self._received_s

    def _is_bleed(self, ch: _Channel, seg: Segment) -> bool:
        """The segment is the other party's echo: the batch rule (:func:`is_bleed`) on the energy blocks it overlaps."""
        t0, t1 = ch.offset + seg.start, ch.offset + seg.end
        rows = [e for e, t in zip(self._energy, self._energy_t, strict=True)
                if t < t1 and t + e.shape[0] * GATE_FRAME_S > t0]
        if not rows:
            return False
        energy = np.concatenate(rows)
        return is_bleed(energy[:, ch.index], np.delete(energy, ch.index, axis=1))

    def _submit(self, ch: _Channel, segments: list[Segment]) -> None:
        for seg in segments:
            if len(self.channels) > 1 and self._is_bleed(ch, seg):
                logger.debug("live call %s: dropped crosstalk on channel %d at %.1f s", self.call_id, ch.index,
                             ch.offset + seg.start)
                continue
            end_wall = _wall_at(ch.arrivals, ch.offset + seg.speech_end)
            with self._lock:
                self._pending += 1
                self._pending_starts.append(ch.offset + seg.start)
            self.transcriber.submit(UtteranceJob(seg, ch.index, self.language, ch.offset, self._on_words,
                                                 end_wall, context=ch))

    def _on_words(self, job: UtteranceJob, words: tuple[Word, ...]) -> None:
        ch: _Channel = job.context
        now = time.monotonic()
        with self._lock:
            self._pending -= 1
            self._pending_starts.remove(job.offset + job.segment.start)
        if words:
            utt = utterance_from_words(words, self.language, ch.role, ch.index)
            latency = now - job.speech_end_wall
            with self._lock:
                self.utterances.append(utt)
                self.utterances.sort(key=lambda u: (u.start, u.end))
                self.latencies.append({"transcript": latency})
                self._held.append((utt, latency))
        with self._lock:
            last = self._closed and self._pending == 0
        self._show_ready(force=last)
        self._check_rules(job.speech_end_wall)

    def _show_ready(self, settled: float | None = None, *, force: bool = False) -> None:
        """Send the transcript events of held utterances whose masking is settled (masked across utterances)."""
        if settled is None and not force:
            settled = self.settled_s()
        with self._lock:
            if not self._held:
                return
            held, self._held = self._held, []
            ready: list[tuple[Utterance, float]] = []
            for item in held:
                if force or self._settled(item[0], settled or 0.0):
                    ready.append(item)
                else:
                    self._held.append(item)
            if not ready:
                return
            since = min(u.start for u, _ in ready) - MASK_CONTEXT_S
            context = tuple(u for u in self.utterances if u.end >= since)
        masked = mask_transcript(Transcript(self.call_id, self.language, max((u.end for u in context), default=0.0),
                                            context))
        shown = {id(a): b.text for a, b in zip(context, masked.utterances, strict=True)}
        for utt, latency in sorted(ready, key=lambda item: (item[0].start, item[0].end)):
            self.on_event({"type": "transcript", "call": self.call_id, "latency_s": round(latency, 3),
                           "utterance": {"start": utt.start, "end": utt.end, "role": utt.role,
                                         "text": shown.get(id(utt)) or mask_text(utt.text), "channel": utt.channel}})

    def _settled(self, utt: Utterance, settled: float) -> bool:
        """Whether ``utt``'s masking can no longer change: it does not end with a digit, or the speaker's following
        utterances end the number (or none came within ``MAX_GAP_S``). Called with the lock held."""
        own = [u for u in self.utterances if u.channel == utt.channel]
        cur = utt
        while may_continue(cur.text) and settled < cur.end + MAX_GAP_S:  # the number may go on after ``cur``
            nxt = next((u for u in own if u.start >= cur.end and u is not cur), None)
            if nxt is None:
                return False
            if nxt.start - cur.end >= MAX_GAP_S:
                return True
            cur = nxt
        return True

    def _check_rules(self, since_wall: float | None = None) -> None:
        with self._lock:
            utterances = list(self.utterances)
        if not utterances and self.settled_s() < 1.0:
            return
        for alert in self.rules.evaluate(self.call_id, utterances, self.settled_s()):
            latency = time.monotonic() - since_wall if since_wall is not None else None
            with self._lock:
                self.alerts.append(alert)
                if latency is not None:
                    self.latencies.append({"alert": latency})
            self.on_event({"type": "alert", "call": self.call_id, "alert": mask_data(asdict(alert)),
                           "latency_s": round(latency, 3) if latency is not None else None})


def _wall_at(arrivals: list[tuple[float, float]], t: float) -> float:
    """When the audio at call time ``t`` arrived (the first block that reached past it)."""
    for until, wall in arrivals:
        if until >= t:
            return wall
    return arrivals[-1][1] if arrivals else time.monotonic()
