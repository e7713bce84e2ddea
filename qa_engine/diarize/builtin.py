"""The built-in diarizer: Silero VAD -> d-vectors of sliding 0.8 s windows -> clustering -> smoothing.

Works on 16 kHz mono samples (telephone audio resampled from 8 kHz included: the band above
4 kHz is empty for both speakers, so it does not tell them apart but does not hurt either).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ..types import Span
from ..vad import SAMPLE_RATE, VadOptions, detect_speech
from .cluster import agglomerative, centroids, refine, viterbi
from .embedder import WINDOW_FRAMES, DVectorEmbedder, Embedder
from .features import log_mel
from .types import (
    Diarization,
    DiarizationError,
    DiarizationOptions,
    OneSpeakerError,
    SpeakerTurn,
    relabel_by_first_appearance,
)
from .voices import check_two_voices

logger = logging.getLogger(__name__)

# Tighter than the ASR's regions: boundaries matter more than context here.
DIARIZATION_VAD = VadOptions(threshold=0.3, min_speech_ms=150, min_silence_ms=200, speech_pad_ms=250,
                             max_speech_s=3600.0)


@dataclass(frozen=True)
class _Window:
    frame: int  # first log-mel frame
    span: int  # index of the VAD span it belongs to


def _windows(spans: list[Span], n_frames: int, hop_s: float, step: int) -> list[_Window]:
    """Window starts covering every span (a span shorter than a window gets one centred on it)."""
    out: list[_Window] = []
    last_start = max(0, n_frames - WINDOW_FRAMES)
    for i, span in enumerate(spans):
        f0, f1 = int(span.start / hop_s), int(span.end / hop_s)
        if f1 - f0 <= WINDOW_FRAMES:
            out.append(_Window(min(max(0, (f0 + f1 - WINDOW_FRAMES) // 2), last_start), i))
            continue
        starts = list(range(f0, f1 - WINDOW_FRAMES + 1, step))
        if starts[-1] != f1 - WINDOW_FRAMES:
            starts.append(f1 - WINDOW_FRAMES)
        out.extend(_Window(min(s, last_start), i) for s in starts)
    return out


class BuiltinDiarizer:
    """Offline CPU diarizer; the embedder is loaded once and reused for every call."""

    backend = "builtin"

    def __init__(self, options: DiarizationOptions | None = None, embedder: Embedder | None = None,
                 vad: VadOptions | None = None) -> None:
        self.options = options or DiarizationOptions()
        self.embedder = embedder or DVectorEmbedder(threads=self.options.threads)
        self.vad = vad or DIARIZATION_VAD

    def __call__(self, samples: np.ndarray, name: str = "audio", spans: list[Span] | None = None) -> Diarization:
        """Speaker turns of one 16 kHz mono signal; raises DiarizationError for a one-voice file."""
        opts = self.options
        spans = detect_speech(samples, self.vad) if spans is None else spans
        if not spans:
            raise DiarizationError(f"{name}: no speech found, so no speakers to separate")
        mel = self.embedder.mel
        if mel.sample_rate != SAMPLE_RATE:
            raise DiarizationError(f"{name}: the embedder wants {mel.sample_rate} Hz audio, the pipeline gives "
                                   f"{SAMPLE_RATE} Hz")
        feats = log_mel(samples, mel)
        hop_s = mel.hop_length / mel.sample_rate
        wins = _windows(spans, len(feats), hop_s, max(1, int(round(opts.step_s / hop_s))))
        batch = np.stack([feats[w.frame:w.frame + WINDOW_FRAMES] for w in wins])
        if batch.shape[1] < WINDOW_FRAMES:  # audio shorter than one window
            batch = np.pad(batch, ((0, 0), (0, WINDOW_FRAMES - batch.shape[1]), (0, 0)),
                           constant_values=float(np.log10(mel.floor)))
        raw = emb = self.embedder.embed(batch)
        if opts.center:  # remove what every window of the call shares (line, codec, room): speakers stand out
            emb = emb - emb.mean(axis=0)
            emb = emb / (np.linalg.norm(emb, axis=1, keepdims=True) + 1e-12)
        labels, k = self._cluster(emb, wins, raw)
        evidence = None
        if opts.speakers != 1:
            centre_s = np.array([(w.frame + WINDOW_FRAMES / 2) * hop_s for w in wins])
            evidence = self._check_two_voices(raw, emb, labels, k, centre_s, name)
        turns = self._turns(emb, labels, k, wins, spans, hop_s) if k > 1 else \
            [SpeakerTurn(s.start, s.end, 0) for s in spans]
        cents = centroids(raw, labels, k)
        sims = cents @ cents.T - 2 * np.eye(k)
        return Diarization(relabel_by_first_appearance(turns), k, self.backend,
                           similarity=float(sims.max()) if k > 1 else None, voice_evidence=evidence)

    def _cluster(self, emb: np.ndarray, wins: list[_Window], raw: np.ndarray) -> tuple[np.ndarray, int]:
        """Cluster segments of a few consecutive windows (steadier than single windows), then refine."""
        opts = self.options
        seg_of = np.zeros(len(wins), dtype=int)
        seg, run = 0, 0
        for i, w in enumerate(wins):
            if i and (w.span != wins[i - 1].span or run == opts.segment_windows):
                seg, run = seg + 1, 0
            seg_of[i], run = seg, run + 1
        seg_emb = np.stack([emb[seg_of == s].mean(axis=0) for s in range(seg + 1)])
        if opts.speakers == 1:
            return np.zeros(len(wins), dtype=int), 1
        if opts.speakers is not None:
            seg_labels = agglomerative(seg_emb, opts.speakers, 0.0, opts.max_speakers)
        else:  # estimate on raw embeddings: centring makes any two groups look far apart
            seg_raw = np.stack([raw[seg_of == s].mean(axis=0) for s in range(seg + 1)])
            seg_labels = agglomerative(seg_raw, None, opts.merge_threshold, opts.max_speakers)
        k = int(seg_labels.max()) + 1
        labels = refine(emb, seg_labels[seg_of], k)
        if opts.speakers is None:  # drop clusters too small to be a party of the call
            share = np.bincount(labels, minlength=k) / len(labels)
            keep = np.flatnonzero(share >= opts.min_speaker_share)
            if 0 < len(keep) < k:
                labels = np.argmax(emb @ centroids(emb, labels, k)[keep].T, axis=1)
                k = len(keep)
        return labels, k

    def _check_two_voices(self, raw: np.ndarray, emb: np.ndarray, labels: np.ndarray, k: int,
                          centre_s: np.ndarray, name: str) -> float | None:
        """Raise OneSpeakerError when the speakers found are one voice; the two-voice evidence otherwise."""
        opts = self.options
        hint = ("check that the recording holds both parties, or use --speakers 1 to score it "
                "without agent/customer roles")
        if k < 2:
            raise OneSpeakerError(f"{name}: only one speaker heard; {hint}")
        check = None
        if k == 2 and opts.min_voice_evidence is not None:
            check = check_two_voices(raw, emb, labels, centre_s, opts.min_voice_evidence, opts.max_time_drift)
            logger.debug("%s: two-voice evidence %.2f (persistence %.2f, separation %.2f, drift %.2f)", name,
                         check.evidence, check.persistence, check.separation, check.drift)
        evidence = check.evidence if check else None
        share = np.bincount(labels, minlength=k) / len(labels)
        cents = centroids(raw, labels, k)
        sims = cents @ cents.T - 2 * np.eye(k)
        logger.debug("%s: speaker shares %s, closest voices cos %.2f", name, np.round(share, 3), sims.max())
        if share.min() < opts.min_speaker_share or sims.max() > opts.max_similarity:
            raise OneSpeakerError(f"{name}: only one speaker heard (the second voice found is "
                                  f"{100 * share.min():.0f}% of the speech, voice similarity {sims.max():.2f}); "
                                  f"{hint}", evidence)
        if check and check.one_voice:
            raise OneSpeakerError(f"{name}: only one speaker heard ({check.reason}); {hint}", evidence)
        return evidence

    def _turns(self, emb: np.ndarray, labels: np.ndarray, k: int, wins: list[_Window], spans: list[Span],
               hop_s: float) -> list[SpeakerTurn]:
        """Smooth window labels (Viterbi) and turn window centres into speaker turns inside VAD spans."""
        opts = self.options
        scores = emb @ centroids(emb, labels, k).T
        same_span = np.array([wins[i].span == wins[i + 1].span for i in range(len(wins) - 1)], dtype=bool)
        cost = np.where(same_span, opts.switch_penalty, opts.pause_switch_penalty)
        path = viterbi(scores, cost)
        centre = np.array([(w.frame + WINDOW_FRAMES / 2) * hop_s for w in wins])
        turns: list[SpeakerTurn] = []
        for i, span in enumerate(spans):
            idx = [j for j, w in enumerate(wins) if w.span == i]
            if not idx:
                continue
            for n, j in enumerate(idx):
                t0 = span.start if n == 0 else (centre[idx[n - 1]] + centre[j]) / 2
                t1 = span.end if n == len(idx) - 1 else (centre[j] + centre[idx[n + 1]]) / 2
                if t1 <= t0:
                    continue
                if turns and turns[-1].speaker == path[j] and abs(turns[-1].end - t0) < 1e-6:
                    turns[-1] = SpeakerTurn(turns[-1].start, t1, int(path[j]))
                else:
                    turns.append(SpeakerTurn(t0, t1, int(path[j])))
        return turns
