"""Acoustic cues of a call: loudness against each speaker's own median, overtalk, non-talk time.

Why a module of its own: the text rules cannot hear a raised voice or two people talking at once. The
pipeline already computes each channel's short-time energy (30 ms frames, dBFS) for the crosstalk gate;
:func:`measure_acoustics` turns that array plus the role-labelled utterances into a small
:class:`Acoustics` record attached to the transcript, so ``qa-engine check`` on a stored transcript can still
judge ``raised_voice`` and ``agent_overtalk``. No second pass over the samples: memory is the energy array
(1/240 of the 8 kHz-equivalent audio) plus a few boolean masks of the same length.

Who is speaking when: stereo calls use the role's own channel inside its utterances, mono calls the diarized
utterances of that role on the one channel. A frame is the speaker's *voice* when it is within
:data:`VOICE_RANGE_DB` of the speaker's loud frames and not the other channel's echo (another channel louder by
:data:`ECHO_MARGIN_DB`, the crosstalk gate's margin). Overtalk on stereo calls is frame by frame (both voices
at once); on mono calls the diarized utterances overlap (utterance or word times).

Report shape (``report.analytics["acoustics"]``, built by :func:`acoustics_analytics`; the call page draws it)::

    {"source": "stereo" | "mono",
     "overtalk": [{"start": s, "end": s, "started_by": "agent" | "customer"}],
     "raised_voice": [{"start": s, "end": s, "role": "agent", "db_above_median": 9.1}],
     "non_talk_s": 12.3,
     "median_dbfs": {"agent": -23.1, "customer": -30.2},
     "loudness": {"agent": [[t, db_rel], ...], "customer": [...]},   # ≤ 600 points per role
     "speech_rate": {"unit": "chars/s" | "words/min", "agent": [[start, rate], ...]}}

Transcript shape (``transcript["acoustics"]``, :func:`acoustics_to_dict`): the full loudness track per role
(``step_s`` apart, dB above the role's median, ``null`` where the role is silent), so rules can apply their own
thresholds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from . import native
from .errors import TranscriptError
from .text import language_family
from .types import Role, Transcript, Utterance

Source = Literal["stereo", "mono"]
ROLES: tuple[Role, ...] = ("agent", "customer")

#: Loudness is averaged over this many 30 ms energy frames (about 0.5 s) before it is compared with the median.
STEP_FRAMES = 17
#: A frame is voice when it is at most this far below the speaker's loud frames (95th percentile).
VOICE_RANGE_DB = 25.0
#: ...and no other channel is louder by this much (the pipeline's crosstalk gate uses the same 20 dB).
ECHO_MARGIN_DB = 20.0
#: A loudness step needs this share of voiced frames to count (else the role is silent there).
MIN_VOICED_SHARE = 0.3
#: Pauses up to this long inside one party's speech do not end their turn (overtalk start attribution).
JOIN_GAP_S = 0.3
#: Stereo: gaps up to this long inside an overtalk (a word boundary of either party) do not split it.
OVERTALK_GAP_S = 0.6
#: Overlaps shorter than this are not overtalk (word edges, breath, ASR timing noise).
MIN_OVERTALK_S = 0.2
#: overtalk from utterance times in C (qa_engine/native/_overtalk.c), None: the Python reference runs
_NATIVE_OVERTALK = native.load("_overtalk")
#: Defaults for the report's raised-voice markers (the pack rule applies its own thresholds).
RAISED_DB = 6.0
RAISED_MIN_S = 2.0
#: Inside a raised stretch a step may dip this far below the threshold (one 0.5 s step is a word or two).
RAISED_DIP_DB = 4.0
#: At most this many loudness points per role in the report (the timeline is a few hundred pixels wide).
MAX_CHART_POINTS = 600

# limits of a stored acoustics document (a 7-day call at 0.5 s steps is 1.2 M values: refuse more than that)
MAX_TRACK_VALUES = 1_300_000
MAX_OVERTALK = 100_000
MAX_SECONDS = 7 * 24 * 3600.0


@dataclass(frozen=True)
class OvertalkSpan:
    """Both parties speaking at once; ``started_by`` is the one who came in while the other was talking."""

    start: float
    end: float
    started_by: Role

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass(frozen=True)
class LoudnessTrack:
    """One role's loudness every ``step_s`` seconds, in dB above its own median (None: not speaking)."""

    role: Role
    step_s: float
    median_dbfs: float
    values: tuple[float | None, ...]

    def levels(self) -> np.ndarray:
        """``values`` as a float array (NaN where silent), built once per track: rules read it per call."""
        cached = self.__dict__.get("_levels")
        if cached is None:
            cached = np.array(self.values, dtype=np.float64)
            object.__setattr__(self, "_levels", cached)  # not a field: stays out of asdict/eq/repr
        return cached


@dataclass(frozen=True)
class RaisedSpan:
    """A stretch where ``role`` spoke at least the threshold above their own median (``db_above_median``: mean)."""

    start: float
    end: float
    role: Role
    db_above_median: float


@dataclass(frozen=True)
class Acoustics:
    """What the audio says beyond the words; attached to :class:`qa_engine.types.Transcript`."""

    source: Source
    overtalk: tuple[OvertalkSpan, ...]
    non_talk_s: float
    loudness: tuple[LoudnessTrack, ...]

    def track(self, role: str) -> LoudnessTrack | None:
        return next((t for t in self.loudness if t.role == role), None)


# --- measuring -------------------------------------------------------------------------------------------


def measure_acoustics(energy_db: np.ndarray, frame_s: float, transcript: Transcript) -> Acoustics:
    """Acoustic cues from the per-channel energy (``(frames, channels)`` dBFS, as
    :func:`qa_engine.audio.channel_energy_db` gives) and the role-labelled transcript of the same call."""
    energy = np.atleast_2d(energy_db)
    n_frames, n_ch = energy.shape
    stereo = n_ch > 1 and transcript.agent_channel is not None
    voiced: dict[Role, np.ndarray] = {}
    turns: dict[Role, np.ndarray] = {}
    tracks: list[LoudnessTrack] = []
    for role in ROLES:
        utts = [u for u in transcript.utterances if u.role == role]
        if stereo:
            ch = _role_channel(role, transcript.agent_channel or 0, n_ch, utts)
            own = energy[:, ch]
            others = np.delete(energy, ch, axis=1).max(axis=1)
        else:
            own, others = energy[:, 0], None
        mask = _voice_mask(own, others, _utterance_mask(utts, n_frames, frame_s))
        voiced[role] = mask
        turns[role] = _utterance_mask(utts, n_frames, frame_s, words=False)
        track = _loudness_track(role, own, mask, frame_s)
        if track is not None:
            tracks.append(track)
    if stereo:
        overtalk = _frame_overtalk(voiced, turns, frame_s)
    else:
        overtalk = overtalk_from_utterances(transcript.utterances)
    anyone = _utterance_mask([u for u in transcript.utterances if u.role != "unknown"] if stereo
                             else list(transcript.utterances), n_frames, frame_s)
    non_talk = max(0.0, transcript.duration - float(anyone.sum()) * frame_s)
    return Acoustics("stereo" if stereo else "mono", tuple(overtalk), round(non_talk, 2), tuple(tracks))


def _role_channel(role: Role, agent_channel: int, n_ch: int, utts: Sequence[Utterance]) -> int:
    if role == "agent":
        return agent_channel
    channels = [u.channel for u in utts if u.channel is not None and u.channel != agent_channel]
    return channels[0] if channels else next(c for c in range(n_ch) if c != agent_channel)


def _utterance_mask(utts: Iterable[Utterance], n_frames: int, frame_s: float, *, words: bool = True) -> np.ndarray:
    """Frames inside any of ``utts`` (``words``: word times where the utterance has them, pauses stay out)."""
    mask = np.zeros(n_frames, dtype=bool)
    for u in utts:
        pieces = ([(w.start, w.end) for w in u.words] if words else []) or [(u.start, u.end)]
        for start, end in pieces:
            f0, f1 = int(start / frame_s), int(math.ceil(end / frame_s))
            mask[max(0, f0):max(0, min(n_frames, f1))] = True
    return mask


def _voice_mask(own: np.ndarray, others: np.ndarray | None, inside: np.ndarray) -> np.ndarray:
    if not inside.any():
        return inside
    loud = float(np.percentile(own[inside], 95))
    mask = inside & (own >= loud - VOICE_RANGE_DB)
    if others is not None:
        mask &= own >= others - ECHO_MARGIN_DB
    return mask


def _loudness_track(role: Role, own: np.ndarray, voiced: np.ndarray, frame_s: float) -> LoudnessTrack | None:
    """Mean power of the voiced frames per step, in dB above the median step of this speaker."""
    n_steps = len(own) // STEP_FRAMES
    if n_steps == 0 or not voiced.any():
        return None
    usable = n_steps * STEP_FRAMES
    power = np.where(voiced[:usable], np.power(10.0, own[:usable].astype(np.float64) / 10.0), 0.0)
    power = power.reshape(n_steps, STEP_FRAMES)
    counts = voiced[:usable].reshape(n_steps, STEP_FRAMES).sum(axis=1)
    ok = counts >= MIN_VOICED_SHARE * STEP_FRAMES
    if not ok.any():
        return None
    level = 10.0 * np.log10(np.maximum(power.sum(axis=1) / np.maximum(counts, 1), 1e-12))
    median = float(np.median(level[ok]))
    rel = np.round(level - median, 1)
    values = tuple(float(v) if good else None for v, good in zip(rel, ok, strict=True))
    return LoudnessTrack(role, round(STEP_FRAMES * frame_s, 4), round(median, 1), values)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[start, end)`` frame index pairs of the True runs."""
    edges = np.flatnonzero(np.diff(np.concatenate(([False], mask, [False])).astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _close_gaps(mask: np.ndarray, gap: int) -> np.ndarray:
    """Fill False runs of at most ``gap`` frames between True frames."""
    out = mask.copy()
    runs = _runs(mask)
    for (_, end), (start, _) in zip(runs, runs[1:], strict=False):
        if start - end <= gap:
            out[end:start] = True
    return out


def _frame_overtalk(voiced: dict[Role, np.ndarray], turns: dict[Role, np.ndarray],
                    frame_s: float) -> list[OvertalkSpan]:
    """Stereo: frames where both voices are on; the party whose turn (utterances, short pauses joined) began
    later started it. Short gaps inside one overtalk (word boundaries) are bridged while both turns go on."""
    gap = int(round(JOIN_GAP_S / frame_s))
    agent_turns, customer_turns = _close_gaps(turns["agent"], gap), _close_gaps(turns["customer"], gap)
    both = _close_gaps(voiced["agent"] & voiced["customer"], int(round(OVERTALK_GAP_S / frame_s)))
    both &= agent_turns & customer_turns
    agent_start, customer_start = _turn_starts(agent_turns), _turn_starts(customer_turns)
    out = []
    for f0, f1 in _runs(both):
        if (f1 - f0) * frame_s < MIN_OVERTALK_S:
            continue
        starter: Role = "agent" if agent_start[f0] > customer_start[f0] else "customer"
        out.append(OvertalkSpan(round(f0 * frame_s, 2), round(f1 * frame_s, 2), starter))
    return out


def _turn_starts(turns: np.ndarray) -> np.ndarray:
    """For every frame, the frame at which the current run of ``turns`` began."""
    idx = np.arange(len(turns))
    rising = turns & ~np.concatenate(([False], turns[:-1]))
    return np.maximum.accumulate(np.where(rising, idx, 0))


def _speech_intervals(pieces: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """One role's speech as sorted, merged ``(start, end)`` intervals (pauses up to :data:`JOIN_GAP_S` joined)."""
    pieces.sort()
    merged: list[tuple[float, float]] = []
    if not pieces:
        return merged
    join = JOIN_GAP_S
    rest = iter(pieces)
    start, last_end = next(rest)
    for piece_start, piece_end in rest:
        if piece_start <= last_end + join:
            if piece_end > last_end:
                last_end = piece_end
        else:
            merged.append((start, last_end))
            start, last_end = piece_start, piece_end
    merged.append((start, last_end))
    return merged


def overtalk_from_utterances(utterances: Sequence[Utterance]) -> list[OvertalkSpan]:
    """Overtalk from utterance times (a transcript without audio, or a diarized mono call): where an agent and a
    customer utterance overlap; the party whose utterance began later started it. Linear after sorting.

    In C where built (it answers None for what only the reference reads alike: times that are not floats, NaN)."""
    if _NATIVE_OVERTALK is not None:
        spans: list[OvertalkSpan] | None = _NATIVE_OVERTALK.overtalk(utterances, OvertalkSpan, JOIN_GAP_S,
                                                                     MIN_OVERTALK_S)
        if spans is not None:
            return spans
    return _overtalk_from_utterances_python(utterances)


def _overtalk_from_utterances_python(utterances: Sequence[Utterance]) -> list[OvertalkSpan]:
    """:func:`overtalk_from_utterances` in Python (the reference of qa_engine/native/_overtalk.c)."""
    agent_pieces: list[tuple[float, float]] = []
    customer_pieces: list[tuple[float, float]] = []
    for u in utterances:
        if u.role == "agent":
            agent_pieces.append((u.start, u.end))
        elif u.role == "customer":
            customer_pieces.append((u.start, u.end))
    agent, customer = _speech_intervals(agent_pieces), _speech_intervals(customer_pieces)
    out: list[OvertalkSpan] = []
    if not agent or not customer:
        return out
    least = MIN_OVERTALK_S
    # one sweep: the party whose interval ends first moves on; it runs once per interval of either party, so
    # each step unpacks only the interval that moved
    agent_rest, customer_rest = iter(agent), iter(customer)
    a0, a1 = next(agent_rest)
    c0, c1 = next(customer_rest)
    try:
        while True:
            if a1 - c0 >= least and c1 - a0 >= least:  # cheap pre-test: overlap possible
                start, end = max(a0, c0), min(a1, c1)
                if end - start >= least:
                    out.append(OvertalkSpan(round(start, 2), round(end, 2), "agent" if a0 > c0 else "customer"))
            if a1 < c1:
                a0, a1 = next(agent_rest)
            else:
                c0, c1 = next(customer_rest)
    except StopIteration:  # one party has no speech left: nothing more overlaps
        return out


def raised_spans(track: LoudnessTrack, min_db: float = RAISED_DB, min_s: float = RAISED_MIN_S) -> list[RaisedSpan]:
    """Stretches of at least ``min_s`` whose loudness (power mean of the steps) is ``min_db`` or more above the
    speaker's median. Speech is uneven: inside a stretch a step may be up to :data:`RAISED_DIP_DB` below
    ``min_db``, and one silent step (a breath) does not end it; it starts and ends on a step at ``min_db``."""
    level = track.levels()
    if level.size == 0:
        return []
    loud = level >= min_db  # NaN (silent) compares False
    if not loud.any():  # most calls: nothing to look at
        return []
    near = level >= min_db - RAISED_DIP_DB
    if level.size > 2:  # bridge single silent steps
        near[1:-1] |= np.isnan(level[1:-1]) & near[:-2] & near[2:]
    need = max(1, math.ceil(min_s / track.step_s - 1e-9))
    out: list[RaisedSpan] = []
    padded = np.zeros(near.size + 2, dtype=np.int8)
    padded[1:-1] = near
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    starts, ends = edges[::2], edges[1::2]
    loud_before = np.zeros(loud.size + 1, dtype=np.int64)
    np.cumsum(loud, out=loud_before[1:])
    candidates = (ends - starts >= need) & (loud_before[ends] > loud_before[starts])  # long, with a loud step
    for start, end in zip(starts[candidates].tolist(), ends[candidates].tolist(), strict=True):
        hits = np.flatnonzero(loud[start:end])
        if hits.size == 0:
            continue
        start, end = start + int(hits[0]), start + int(hits[-1]) + 1
        steps = level[start:end]
        steps = steps[~np.isnan(steps)]
        mean = float(10.0 * np.log10(np.mean(np.power(10.0, steps / 10.0))))
        if end - start >= need and mean >= min_db:
            out.append(RaisedSpan(round(start * track.step_s, 2), round(end * track.step_s, 2), track.role,
                                  round(mean, 1)))
    return out


# --- the report's analytics ------------------------------------------------------------------------------


def acoustics_analytics(transcript: Transcript) -> dict[str, Any] | None:
    """The ``analytics["acoustics"]`` block of the report (shape in the module docstring); None without audio."""
    ac = transcript.acoustics
    if ac is None:
        return None
    raised = [s for t in ac.loudness for s in raised_spans(t)]
    family = language_family(transcript.language)
    rates = [[round(u.start, 2), round(_rate(u, family), 1)] for u in transcript.utterances
             if u.role == "agent" and u.duration > 0.3]
    return {
        "source": ac.source,
        "overtalk": [{"start": s.start, "end": s.end, "started_by": s.started_by} for s in ac.overtalk],
        "raised_voice": [{"start": s.start, "end": s.end, "role": s.role, "db_above_median": s.db_above_median}
                         for s in raised],
        "non_talk_s": ac.non_talk_s,
        "median_dbfs": {t.role: t.median_dbfs for t in ac.loudness},
        "loudness": {t.role: _chart_points(t) for t in ac.loudness},
        "speech_rate": {"unit": "chars/s" if family == "zh" else "words/min", "agent": _thin(rates)},
    }


def _rate(u: Utterance, family: str) -> float:
    if family == "zh":
        return len("".join(ch for ch in u.text if ch.isalnum())) / u.duration
    return len(u.text.split()) / u.duration * 60.0


def _chart_points(track: LoudnessTrack) -> list[list[float]]:
    """At most :data:`MAX_CHART_POINTS` ``[t, db]`` points: the loudest step of each bucket (a peak survives)."""
    points = [(i * track.step_s, v) for i, v in enumerate(track.values) if v is not None]
    bucket = max(1, math.ceil(len(points) / MAX_CHART_POINTS))
    out = []
    for k in range(0, len(points), bucket):
        t, v = max(points[k:k + bucket], key=lambda p: p[1])
        out.append([round(t, 2), v])
    return out


def _thin(points: list[list[float]]) -> list[list[float]]:
    step = max(1, math.ceil(len(points) / MAX_CHART_POINTS))
    return points[::step]


# --- the stored form ----------------------------------------------------------------------------------------


def acoustics_to_dict(ac: Acoustics) -> dict[str, Any]:
    return {
        "source": ac.source,
        "non_talk_s": ac.non_talk_s,
        "overtalk": [{"start": s.start, "end": s.end, "started_by": s.started_by} for s in ac.overtalk],
        "loudness": [{"role": t.role, "step_s": t.step_s, "median_dbfs": t.median_dbfs, "values": list(t.values)}
                     for t in ac.loudness],
    }


def acoustics_from_dict(doc: Any, where: str = "acoustics") -> Acoustics | None:
    """Validate a stored ``acoustics`` block (None or missing: None). Raises :class:`TranscriptError`."""
    if doc is None:
        return None
    _expect(isinstance(doc, dict), where, "must be an object")
    source = doc.get("source")
    _expect(source in ("stereo", "mono"), f"{where}.source", "must be 'stereo' or 'mono'")
    non_talk = _number(doc.get("non_talk_s"), f"{where}.non_talk_s", 0.0, MAX_SECONDS)
    raw_over = doc.get("overtalk", [])
    _expect(isinstance(raw_over, list), f"{where}.overtalk", "must be a list")
    _expect(len(raw_over) <= MAX_OVERTALK, f"{where}.overtalk", f"at most {MAX_OVERTALK} spans")
    overtalk = []
    for i, raw in enumerate(raw_over):
        at = f"{where}.overtalk[{i}]"
        _expect(isinstance(raw, dict), at, "must be an object")
        start = _number(raw.get("start"), f"{at}.start", 0.0, MAX_SECONDS)
        end = _number(raw.get("end"), f"{at}.end", start, MAX_SECONDS)
        who = raw.get("started_by")
        _expect(who in ROLES, f"{at}.started_by", "must be 'agent' or 'customer'")
        overtalk.append(OvertalkSpan(start, end, who))
    raw_tracks = doc.get("loudness", [])
    _expect(isinstance(raw_tracks, list) and len(raw_tracks) <= len(ROLES), f"{where}.loudness",
            "must be a list of at most one track per role")
    tracks = []
    for i, raw in enumerate(raw_tracks):
        at = f"{where}.loudness[{i}]"
        _expect(isinstance(raw, dict), at, "must be an object")
        role = raw.get("role")
        _expect(role in ROLES, f"{at}.role", "must be 'agent' or 'customer'")
        step = _number(raw.get("step_s"), f"{at}.step_s", 0.01, 60.0)
        median = _number(raw.get("median_dbfs"), f"{at}.median_dbfs", -200.0, 50.0)
        values = raw.get("values")
        _expect(isinstance(values, list), f"{at}.values", "must be a list")
        _expect(len(values) <= MAX_TRACK_VALUES, f"{at}.values", f"at most {MAX_TRACK_VALUES} values")
        checked = tuple(None if v is None else _number(v, f"{at}.values[{k}]", -200.0, 200.0)
                        for k, v in enumerate(values))
        tracks.append(LoudnessTrack(role, step, median, checked))
    return Acoustics(source, tuple(overtalk), non_talk, tuple(tracks))


def _expect(ok: bool, where: str, problem: str) -> None:
    if not ok:
        raise TranscriptError(f"{where}: {problem}")


def _number(value: Any, where: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TranscriptError(f"{where}: must be a number")
    if not low <= value <= high or (isinstance(value, float) and not math.isfinite(value)):  # ints compare exactly
        raise TranscriptError(f"{where}: must be a finite number from {low:g} to {high:g}")
    return float(value)


__all__ = ["Acoustics", "LoudnessTrack", "OvertalkSpan", "RaisedSpan", "acoustics_analytics", "acoustics_from_dict",
           "acoustics_to_dict", "measure_acoustics", "overtalk_from_utterances", "raised_spans"]
