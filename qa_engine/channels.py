"""Stereo calls: drop crosstalk/echo (bleed) and decide which channel is the agent.

On real recordings each channel faintly carries the other party. Silero VAD ignores most of
it, but loud bleed (or echo) gets through; a region whose channel is not the louder one for
most of its frames is the other party's voice and is dropped before ASR. What survives and is
still heard on both channels at the same time is de-duplicated after ASR by text similarity.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz

from .types import Span, Utterance

# Phrases only an agent says when answering / serving (why: the agent channel is the one
# that greets and offers help, not necessarily the one that speaks first).
AGENT_CUES = {
    "zh": ("您好", "很高兴为您服务", "有什么可以帮您", "有什么可以帮到您", "工号", "为您服务", "欢迎致电",
           "客服", "请稍等", "感谢您的来电", "还有什么可以帮", "请问您", "帮您查询", "给您"),
    "en": ("customer service", "how can i help", "how may i help", "thank you for calling", "thanks for calling",
           "my name is", "this is", "speaking", "anything else", "help you", "how can i assist",
           "let me check", "one moment", "for holding", "welcome to"),
}
CUSTOMER_CUES = {
    "zh": ("我想", "我要", "我的", "帮我", "请问一下", "我问一下", "我打电话"),
    "en": ("i want", "i would like", "i'd like", "i need", "my order", "can you help me", "i am looking",
           "i'm looking", "i'm calling", "i am calling", "can you tell me"),
}


@dataclass(frozen=True)
class BleedReport:
    """Which VAD regions were kept per channel and how many were dropped as bleed."""

    kept: dict[int, list[Span]]
    dropped: dict[int, list[Span]]


# A frame is the channel's own voice when it is louder than every other channel by this much, and a
# region is kept when at least this share of its frames are its own (used by batch and live alike).
BLEED_MARGIN_DB = 6.0
BLEED_MIN_OWN_SHARE = 0.2


def is_bleed(own_db: np.ndarray, others_db: np.ndarray, margin_db: float = BLEED_MARGIN_DB,
             min_own_share: float = BLEED_MIN_OWN_SHARE) -> bool:
    """True when a speech region is the other party's voice leaking into this channel.

    Why one rule: the batch pipeline (:func:`drop_bleed`) and the live call drop the same regions,
    so a live transcript does not show crosstalk that the final score ignores. ``own_db`` is the
    region's per-frame energy on its channel, ``others_db`` that of the other channels (frames, or
    frames x channels: the loudest counts). No frames or no other channel: never bleed.
    """
    if own_db.size == 0 or (others_db.ndim == 2 and others_db.shape[1] == 0):
        return False
    if others_db.ndim == 2:
        others_db = others_db.max(axis=1)
    own_share = float(np.mean(own_db - others_db > margin_db))
    return own_share < min_own_share


def drop_bleed(spans: dict[int, list[Span]], energy_db: np.ndarray, frame_s: float,
               margin_db: float = BLEED_MARGIN_DB, min_own_share: float = BLEED_MIN_OWN_SHARE) -> BleedReport:
    """Keep a region only where its own channel is louder (by ``margin_db``) often enough (:func:`is_bleed`)."""
    kept: dict[int, list[Span]] = {}
    dropped: dict[int, list[Span]] = {}
    n_ch = energy_db.shape[1]
    for ch, regions in spans.items():
        kept[ch], dropped[ch] = [], []
        others = [c for c in range(n_ch) if c != ch]
        for span in regions:
            f0 = int(span.start / frame_s)
            f1 = max(f0 + 1, int(span.end / frame_s))
            bleed = is_bleed(energy_db[f0:f1, ch], energy_db[f0:f1, others], margin_db, min_own_share)
            (dropped if bleed else kept)[ch].append(span)
    return BleedReport(kept, dropped)


def gate_crosstalk(samples: np.ndarray, energy_db: np.ndarray, frame_s: float, sample_rate: int,
                   below_db: float = 10.0, hangover_frames: int = 2, *, inplace: bool = False) -> np.ndarray:
    """Mute each channel's frames where another channel is louder by ``below_db`` (its echo).

    A VAD region can hold both a party's own words and, a moment later, the other party's
    echo; Whisper would transcribe both. Muting frame by frame (with a short hangover so word
    edges survive) leaves each channel with its own voice only. ``inplace``: mute ``samples`` itself (float32,
    no copy of the call: for a caller that does not need the original samples again).
    """
    n_ch = samples.shape[0]
    if n_ch < 2:
        return samples
    inplace = inplace and samples.dtype == np.float32 and samples.flags.writeable
    gated = samples if inplace else np.array(samples, dtype=np.float32, copy=True)
    frame = int(round(frame_s * sample_rate))
    for ch in range(n_ch):
        others = np.delete(energy_db, ch, axis=1).max(axis=1)
        keep = energy_db[:, ch] >= others - below_db
        if hangover_frames > 0:  # dilate: keep a frame if a neighbour is kept
            k = keep.copy()
            for shift in range(1, hangover_frames + 1):
                k[shift:] |= keep[:-shift]
                k[:-shift] |= keep[shift:]
            keep = k
        _mute_frames(gated[ch], ~keep, frame)
    return gated


def _mute_frames(row: np.ndarray, muted: np.ndarray, frame: int) -> None:
    """Zero ``row`` in place on the frames flagged in ``muted`` (no per-sample mask: long calls stay small)."""
    edges = np.flatnonzero(np.diff(np.concatenate(([False], muted, [False])).astype(np.int8)))
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        row[start * frame:end * frame] = 0.0


def _plain(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def dedupe_crosstalk(utterances: Sequence[Utterance], loudness: dict[int, np.ndarray], frame_s: float,
                     min_similarity: float = 80.0) -> list[Utterance]:
    """Drop the quieter copy of text heard on two channels at the same time."""
    drop: set[int] = set()
    utts = list(utterances)
    for i, a in enumerate(utts):
        for j in range(i + 1, len(utts)):
            b = utts[j]
            if b.start > a.end:
                break
            if a.channel == b.channel or a.channel is None or b.channel is None:
                continue
            ta, tb = _plain(a.text), _plain(b.text)
            if not ta or not tb or fuzz.ratio(ta, tb) < min_similarity:
                continue
            t0, t1 = max(a.start, b.start), min(a.end, b.end)
            f0, f1 = int(t0 / frame_s), max(int(t0 / frame_s) + 1, int(t1 / frame_s))
            la = float(np.mean(loudness[a.channel][f0:f1])) if a.channel in loudness else 0.0
            lb = float(np.mean(loudness[b.channel][f0:f1])) if b.channel in loudness else 0.0
            drop.add(j if la >= lb else i)
    return [u for k, u in enumerate(utts) if k not in drop]


def _cue_count(texts: Sequence[str], cues: Sequence[str]) -> int:
    joined = " ".join(t.lower() for t in texts)
    return sum(joined.count(c) for c in cues)


def detect_agent_channel(by_channel: dict[int, list[Utterance]], language: str) -> tuple[int, str]:
    """Pick the agent channel from what each channel says; fall back to who answers first."""
    lang = "zh" if language.startswith("zh") else "en"
    channels = sorted(by_channel)
    scores: dict[int, float] = {}
    notes: dict[int, str] = {}
    for ch in channels:
        utts = by_channel[ch]
        opening = [u.text for u in utts[:2]]
        greet = _cue_count(opening, AGENT_CUES[lang])
        agent = _cue_count([u.text for u in utts], AGENT_CUES[lang])
        customer = _cue_count([u.text for u in utts], CUSTOMER_CUES[lang])
        scores[ch] = 3.0 * min(greet, 2) + agent - customer
        notes[ch] = f"ch{ch}: {greet} greeting cue(s) in its opening, {agent} agent cue(s), {customer} customer cue(s)"
    ranked = sorted(channels, key=lambda c: scores[c], reverse=True)
    if len(ranked) > 1 and scores[ranked[0]] > scores[ranked[1]]:
        return ranked[0], "detected from wording: " + "; ".join(notes[c] for c in channels)
    first = min(channels, key=lambda c: by_channel[c][0].start if by_channel[c] else float("inf"))
    return first, "no wording difference between channels; chose the channel that speaks first"
