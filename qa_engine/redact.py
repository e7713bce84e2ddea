"""Redacted audio: every span where an identifier was spoken silenced (or covered by a tone) on the speaker's channel.

The spans come from the report (``CallReport.redactions``, found on the unmasked transcript by
:func:`qa_engine.pii.find_pii_spans`), each widened by a small margin (``margin_s``, 0.15 s) because word
timings are approximate. A span with a channel is redacted on that channel only (the other party's speech
stays); ``channel`` None (a mono recording), or a channel the file does not have, redacts every channel.

The recording is read and written in blocks at its own sample rate (memory stays bounded whatever its
length): libsndfile where it can read the file, else PyAV. WAV and FLAC keep their container; anything else
(MP3, OGG, M4A...) becomes FLAC (lossless, played by every current browser). The output replaces ``out``
atomically (written next to it, then renamed).
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import soundfile as sf

from .audio import pyav_audio_stream, pyav_blocks, soundfile_blocks
from .errors import AudioError
from .types import Redaction

logger = logging.getLogger(__name__)

__all__ = ["MARGIN_S", "RedactedAudio", "RedactMode", "output_format", "redact_audio", "redaction_windows"]

MARGIN_S = 0.15
FRAME_S = 0.01
MAX_WIDEN_S = 2.5  # at most this much speech before/after the masked words' times is also redacted
BRIDGE_S = 0.3  # pauses up to this long inside a run of speech are bridged
SPEECH_ABOVE_FLOOR_DB = 20.0
SPEECH_MIN_DBFS = -55.0
TONE_HZ = 1000.0
TONE_LEVEL = 0.1  # -20 dBFS
_BLOCK_FRAMES = 1 << 16
RedactMode = Literal["silence", "tone"]
#: container -> (libsndfile format, file suffix, content type)
_FORMATS = {"WAV": ("WAV", ".wav", "audio/wav"), "FLAC": ("FLAC", ".flac", "audio/flac")}


@dataclass(frozen=True)
class RedactedAudio:
    """What :func:`redact_audio` wrote: the file, its container and content type, and what it covered."""

    path: Path
    format: str
    content_type: str
    sample_rate: int
    channels: int
    frames: int
    spans: int
    seconds: float  # redacted time (summed over the channels' windows)


def output_format(source_format: str | None) -> tuple[str, str, str]:
    """(libsndfile format, suffix, content type) of the redacted copy of a ``source_format`` recording."""
    return _FORMATS.get((source_format or "").upper(), _FORMATS["FLAC"])


def redaction_windows(redactions: Sequence[Redaction], channels: int, duration: float, *,
                      margin_s: float = MARGIN_S, energy: np.ndarray | None = None,
                      ) -> list[list[tuple[float, float]]]:
    """Per channel, the merged time windows to redact: each span widened by ``margin_s`` and, given ``energy``
    (dB per ``FRAME_S`` frame and channel), to the whole run of speech it lies in, within its ``room`` and at most
    ``MAX_WIDEN_S`` each side (ASR word times drift: a number read slowly starts earlier than its first word's
    time says); clipped to the file."""
    per: list[list[tuple[float, float]]] = [[] for _ in range(channels)]
    speech = _speech_frames(energy) if energy is not None else None
    for r in redactions:
        targets = range(channels) if r.channel is None or not 0 <= r.channel < channels else (r.channel,)
        for ch in targets:
            t0, t1 = r.start, r.end
            if speech is not None and r.room is not None:
                active = np.asarray(speech[:, ch] if r.channel is not None else speech.any(axis=1))
                t0, t1 = _widen(active, t0, t1, r.room)
            t0, t1 = max(0.0, t0 - margin_s), min(duration, t1 + margin_s)
            if t1 > t0:
                per[ch].append((t0, t1))
    merged: list[list[tuple[float, float]]] = []
    for windows in per:
        out: list[tuple[float, float]] = []
        for a, b in sorted(windows):
            if out and a <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], b))
            else:
                out.append((a, b))
        merged.append(out)
    return merged


def _speech_frames(energy: np.ndarray) -> np.ndarray:
    """Frames with speech, per channel: ``SPEECH_ABOVE_FLOOR_DB`` over the channel's noise floor (10th percentile)."""
    floor = np.percentile(energy, 10, axis=0) if energy.shape[0] else np.zeros(energy.shape[1])
    return energy > np.maximum(floor + SPEECH_ABOVE_FLOOR_DB, SPEECH_MIN_DBFS)


def _widen(active: np.ndarray, t0: float, t1: float, room: tuple[float, float]) -> tuple[float, float]:
    """``[t0, t1]`` grown outwards over speech frames (pauses up to ``BRIDGE_S`` bridged) within ``room``."""
    n = active.shape[0]
    bridge = round(BRIDGE_S / FRAME_S)
    lo = max(0, round(max(room[0], t0 - MAX_WIDEN_S) / FRAME_S))
    hi = min(n, round(min(room[1], t1 + MAX_WIDEN_S) / FRAME_S))
    a, b = min(n, max(0, round(t0 / FRAME_S))), min(n, max(0, round(t1 / FRAME_S)))
    f = a
    while f > lo:  # back over speech and short pauses
        seg = active[max(lo, f - bridge):f]
        hits = np.flatnonzero(seg)
        if not hits.size:
            break
        f = max(lo, f - bridge) + int(hits[0])
    g = b
    while g < hi:
        seg = active[g:min(hi, g + bridge)]
        hits = np.flatnonzero(seg)
        if not hits.size:
            break
        g = g + int(hits[-1]) + 1
    return min(t0, f * FRAME_S), max(t1, g * FRAME_S)


def _energy(reader: _Reader) -> np.ndarray:
    """dB per ``FRAME_S`` frame and channel over the whole recording (a few MB even for hours)."""
    hop = max(1, round(reader.sample_rate * FRAME_S))
    rows: list[np.ndarray] = []
    carry = np.zeros((0, reader.channels), dtype=np.float32)
    for block in reader.blocks():
        x = np.concatenate([carry, block]) if carry.size else block
        whole = x.shape[0] - x.shape[0] % hop
        if whole:
            frames = x[:whole].reshape(-1, hop, reader.channels).astype(np.float64)
            rows.append((10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)).astype(np.float32))
        carry = x[whole:]
    return np.concatenate(rows) if rows else np.zeros((0, reader.channels), dtype=np.float32)


def redact_audio(source: str | Path, redactions: Sequence[Redaction], out: str | Path, *,
                 margin_s: float = MARGIN_S, mode: RedactMode = "silence", out_format: str | None = None,
                 ) -> RedactedAudio:
    """Write ``source`` to ``out`` with every redaction silenced (``mode="tone"``: a quiet 1 kHz tone instead).

    ``out_format``: ``WAV`` or ``FLAC`` (default: from ``out``'s suffix, else as :func:`output_format` picks for
    the source). Raises :class:`AudioError` when the recording cannot be decoded.
    """
    source, out = Path(source), Path(out)
    try:
        return _redact(source, _open_blocks, redactions, out, margin_s, mode, out_format)
    except _SoundfileStreamError as exc:  # libsndfile opened it but not to the end: decode as load_audio does
        logger.debug("%s: libsndfile stopped inside the stream (%s); redacting through PyAV", source.name, exc)
        return _redact(source, _PyavReader, redactions, out, margin_s, mode, out_format)


def _redact(source: Path, open_reader: Callable[[Path], _Reader], redactions: Sequence[Redaction], out: Path,
            margin_s: float, mode: RedactMode, out_format: str | None) -> RedactedAudio:
    """:func:`redact_audio` with the recording read by ``open_reader`` (opened twice when the energy is needed)."""
    name = source.name
    reader = open_reader(source)
    try:
        fmt = (out_format or {".wav": "WAV", ".flac": "FLAC"}.get(out.suffix.lower())
               or output_format(reader.format)[0]).upper()
        if fmt not in _FORMATS:
            raise ValueError(f"redacted audio is written as WAV or FLAC, not {fmt}")
        subtype = reader.subtype if reader.subtype in ("PCM_16", "PCM_24") else "PCM_16"
        if fmt == "WAV" and reader.subtype in ("PCM_U8", "ULAW", "ALAW", "FLOAT", "DOUBLE", "PCM_32"):
            subtype = reader.subtype
        sr, n_ch = reader.sample_rate, reader.channels
        energy = None
        if any(r.room is not None for r in redactions):
            energy = _energy(reader)
            reader.close()
            reader = open_reader(source)  # read again, from the start
        windows = redaction_windows(redactions, n_ch, reader.duration or math.inf, margin_s=margin_s, energy=energy)
        frame_windows = [[(round(a * sr), round(b * sr)) for a, b in ws] for ws in windows]
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".redact-", suffix=_FORMATS[fmt][1], dir=out.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        frames = 0
        try:
            with sf.SoundFile(tmp, "w", samplerate=sr, channels=n_ch, format=fmt, subtype=subtype) as dst:
                for block in reader.blocks():
                    n = block.shape[0]
                    for ch, ws in enumerate(frame_windows):
                        for a, b in ws:
                            lo, hi = max(a, frames), min(b, frames + n)
                            if lo < hi:
                                block[lo - frames:hi - frames, ch] = _fill(mode, lo, hi, sr)
                    dst.write(block)
                    frames += n
            with tmp.open("rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, out)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    finally:
        reader.close()
    if frames == 0:
        raise AudioError(name, "no audio frames could be decoded")
    seconds = sum(min(b, frames) - min(a, frames) for ws in frame_windows for a, b in ws) / sr
    logger.info("%s: redacted %d span(s), %.2f s of audio (%s), written to %s", name, len(redactions), seconds, mode,
                out.name)
    return RedactedAudio(out, fmt, _FORMATS[fmt][2], sr, n_ch, frames, len(redactions), seconds)


def _fill(mode: RedactMode, lo: int, hi: int, sr: int) -> np.ndarray | float:
    if mode == "silence":
        return 0.0
    t = np.arange(lo, hi, dtype=np.float64) / sr  # by absolute frame: the tone is continuous across blocks
    return (TONE_LEVEL * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float32)


class _Reader:
    """A recording read in float32 blocks ``(n, channels)`` at its own rate."""

    format: str
    subtype: str
    sample_rate: int
    channels: int
    duration: float | None

    def blocks(self) -> Iterator[np.ndarray]:
        raise NotImplementedError

    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        pass


class _SoundfileStreamError(Exception):
    """libsndfile opened the recording but failed inside its stream (a corrupt FLAC frame: "lost sync").

    Why its own type: :func:`.audio.load_audio` decodes such a file through PyAV, so the call was transcribed; the
    redaction must read it the same way instead of failing the call with libsndfile's error.
    """


class _SoundfileReader(_Reader):
    def __init__(self, snd: sf.SoundFile) -> None:
        self.snd = snd
        self.format, self.subtype = snd.format, snd.subtype
        self.sample_rate, self.channels = snd.samplerate, snd.channels
        self.duration = snd.frames / snd.samplerate if snd.frames > 0 and snd.samplerate else None
        self.name = Path(snd.name).name

    def blocks(self) -> Iterator[np.ndarray]:
        try:
            yield from soundfile_blocks(self.snd, _BLOCK_FRAMES, self.name)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise _SoundfileStreamError(str(exc)) from None

    def close(self) -> None:
        self.snd.close()


class _PyavReader(_Reader):
    def __init__(self, path: Path) -> None:
        import av

        try:
            self.container: Any = av.open(str(path), mode="r")
        except av.FFmpegError as exc:
            raise AudioError(path.name, f"cannot be decoded ({exc})") from None
        try:
            self.stream = pyav_audio_stream(self.container, path.name)
        except AudioError:
            self.container.close()
            raise
        self.format, self.subtype = self.container.format.name.split(",")[0], "PCM_16"
        self.sample_rate = int(self.stream.rate or self.stream.codec_context.sample_rate)
        self.channels = self.stream.layout.nb_channels
        self.duration = self.container.duration / 1e6 if self.container.duration else None
        self.name = path.name

    def blocks(self) -> Iterator[np.ndarray]:
        return pyav_blocks(self.container, self.stream, self.name)

    def close(self) -> None:
        self.container.close()


def _open_blocks(path: Path) -> _Reader:
    try:
        return _SoundfileReader(sf.SoundFile(path))
    except (sf.LibsndfileError, RuntimeError):
        logger.debug("%s: libsndfile cannot read it; redacting through PyAV", path.name)
    return _PyavReader(path)
