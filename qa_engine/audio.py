"""Decode call recordings and resample them to 16 kHz float32, one row per channel.

Why this module exists: every later stage (VAD, Whisper, crosstalk detection) wants the
same thing, ``(channels, n)`` float32 at 16 kHz, and every bad input should stop here with
an :class:`~qa_engine.errors.AudioError` that names the file and the reason in one line.

Decoding tries libsndfile (``soundfile``) first: it is exact and fast for WAV (PCM, float,
μ-law, A-law), FLAC, OGG Vorbis/Opus and MP3. Anything it cannot read goes to PyAV, whose
wheels bundle ffmpeg (faster-whisper already depends on it), so no system ffmpeg is needed.
Audio is read in blocks and fed through a streaming soxr resampler (polyphase, HQ), so the
source-rate signal is never held in memory in full.
"""

from __future__ import annotations

import codecs
import io
import logging
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import soundfile as sf
import soxr

from .errors import AudioError

__all__ = ["DecodedAudio", "channel_energy_db", "check_decoded_budget", "check_sample_rate", "decode_bytes",
           "decoded_mb", "load_audio", "probe_decoded_budget", "pyav_audio_stream", "pyav_blocks", "sniff_format",
           "soundfile_blocks"]

logger = logging.getLogger(__name__)

TARGET_SAMPLE_RATE = 16000
DEFAULT_MAX_DURATION_S: float = 4 * 3600
SILENCE_PEAK_DBFS = -60.0
MAX_CHANNELS = 2
#: The highest sample rate a recorder writes (studio interfaces stop at 384 kHz); a header that says more is corrupt.
MAX_SAMPLE_RATE = 384_000
_BLOCK_FRAMES = 1 << 17  # ~16 s at 8 kHz per read: bounded memory for any file length
_ENERGY_BLOCK_FRAMES = 1 << 11  # energy frames per step (~1 min at 30 ms): no full-length float64 copy
BYTES_PER_SAMPLE = 4  # decoded samples are float32

# (magic test, description, is_audio). Non-audio hits give a clear "unsupported" message.
_MAGIC: tuple[tuple[Any, str, bool], ...] = (
    (lambda h: h[:4] == b"RIFF" and h[8:12] == b"WEBP", "a WebP image", False),
    (lambda h: h[:4] == b"RIFF" and (len(h) < 12 or h[8:12] == b"WAVE"), "WAV", True),
    (lambda h: h[:4] in (b"RF64", b"BW64"), "RF64 WAV", True),
    (lambda h: h[:4] == b"fLaC", "FLAC", True),
    (lambda h: h[:4] == b"OggS", "OGG", True),
    (lambda h: h[:3] == b"ID3" or (h[:1] == b"\xff" and len(h) > 1 and h[1] >= 0xE0), "MP3/MPEG audio", True),
    (lambda h: h[:4] == b"FORM" and h[8:12] in (b"AIFF", b"AIFC"), "AIFF", True),
    (lambda h: h[4:8] == b"ftyp", "MP4/M4A", True),
    (lambda h: h[:4] == b"\x1aE\xdf\xa3", "Matroska/WebM", True),
    (lambda h: h[:5] == b"#!AMR", "AMR", True),
    (lambda h: h[:4] == b"caff", "CAF", True),
    (lambda h: h[:8] == b"\x89PNG\r\n\x1a\n", "a PNG image", False),
    (lambda h: h[:3] == b"\xff\xd8\xff", "a JPEG image", False),
    (lambda h: h[:4] == b"GIF8", "a GIF image", False),
    (lambda h: h[:5] == b"%PDF-", "a PDF document", False),
    (lambda h: h[:4] == b"PK\x03\x04", "a ZIP archive (or Office document)", False),
    (lambda h: h[:2] == b"\x1f\x8b", "a gzip archive", False),
    (lambda h: h[:4] == b"\x7fELF", "an ELF executable", False),
)


@dataclass(frozen=True)
class DecodedAudio:
    """A decoded recording: ``samples`` is float32 ``(channels, n)`` at ``sample_rate``.

    ``format`` is the container (``WAV``, ``FLAC``, ``OGG``, ``MP3``, or ffmpeg's name) and
    ``codec`` the encoding inside it (``PCM_16``, ``ULAW``, ``OPUS``, ``aac`` ...).
    """

    samples: np.ndarray
    sample_rate: int
    source_sample_rate: int
    channels: int
    duration: float
    path: str
    format: str
    codec: str

    def channel(self, index: int) -> np.ndarray:
        """One channel as a contiguous 1-D float32 array (what Whisper expects)."""
        return np.ascontiguousarray(self.samples[index])


def sniff_format(head: bytes) -> tuple[str, bool] | None:
    """Guess what a file is from its first bytes: ``(description, is_audio)`` or None if unknown."""
    for test, name, is_audio in _MAGIC:
        if test(head):
            return name, is_audio
    sample = head[:512]
    if sample and b"\x00" not in sample:
        try:  # incremental: a multi-byte character cut in two at the sample's end is still text
            text = codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        except UnicodeDecodeError:
            text = ""
        if text and sum(c.isprintable() or c.isspace() for c in text) >= 0.95 * len(text):
            return ("an HTML/XML document" if text.lstrip().startswith("<") else "a text file"), False
    return None


def header_duration(path: str | Path) -> float | None:
    """The recording's duration from its header, without decoding (None when the header does not say).

    For progress bars and ETAs (batch, ``qa-engine score``); decoding still checks the real length.
    """
    return _header_info(path)[0]


def _header_info(path: str | Path) -> tuple[float | None, int]:
    """(duration in seconds or None, channels or 0) from the header alone."""
    try:
        info = sf.info(str(path))
        return (info.frames / info.samplerate if info.samplerate else None), int(info.channels)
    except Exception:  # noqa: BLE001 - formats libsndfile does not know (MP3 on old builds, Opus), corrupt files
        pass
    try:
        import av

        with av.open(str(path)) as container:
            duration = container.duration / 1e6 if container.duration else None
            channels = container.streams.audio[0].layout.nb_channels if container.streams.audio else 0
            return duration, int(channels)
    except Exception:  # noqa: BLE001 - unknown: decoding will say why
        return None, 0


def load_audio(
    path: str | Path,
    *,
    max_duration_s: float | None = DEFAULT_MAX_DURATION_S,
    target_sr: int = TARGET_SAMPLE_RATE,
    max_decoded_mb: float | None = None,
) -> DecodedAudio:
    """Decode an audio file and resample every channel to ``target_sr``.

    Args:
        path: the recording (WAV, FLAC, OGG Vorbis/Opus, MP3, or anything ffmpeg decodes).
        max_duration_s: refuse longer recordings (None: no limit); guards batch memory.
        target_sr: output sample rate; Whisper and Silero VAD want 16 kHz.
        max_decoded_mb: refuse recordings whose decoded samples (``duration x channels x target_sr x 4`` bytes)
            would exceed this many MiB (None: no limit). Checked from the header before decoding, and again
            while decoding (a header that lies cannot make the buffer grow past it).

    Raises:
        AudioError: missing, empty, corrupt, truncated, unsupported, silent or too long.
    """
    name = str(path)
    p = Path(path)
    if p.is_dir():
        raise AudioError(name, "is a directory, not an audio file")
    try:
        size = p.stat().st_size
        with p.open("rb") as fh:
            head = fh.read(4096)
    except FileNotFoundError:
        raise AudioError(name, "file not found") from None
    except OSError as exc:
        raise AudioError(name, f"cannot read file: {exc.strerror or exc}") from None
    return _decode(name, head, size, lambda: p, _Limits(max_duration_s, max_decoded_mb), target_sr)


def decode_bytes(
    data: bytes,
    name: str,
    *,
    max_duration_s: float | None = DEFAULT_MAX_DURATION_S,
    target_sr: int = TARGET_SAMPLE_RATE,
    max_decoded_mb: float | None = None,
) -> DecodedAudio:
    """Like :func:`load_audio` for an in-memory upload; ``name`` is used in messages."""
    return _decode(name, data[:4096], len(data), lambda: io.BytesIO(data), _Limits(max_duration_s, max_decoded_mb),
                   target_sr)


def decoded_mb(duration_s: float, channels: int, target_sr: int = TARGET_SAMPLE_RATE) -> float:
    """MiB the decoded float32 samples of a recording take (``duration x channels x target_sr x 4`` bytes)."""
    return duration_s * channels * target_sr * BYTES_PER_SAMPLE / 2**20


def check_decoded_budget(name: str, duration_s: float | None, channels: int, *,
                         max_duration_s: float | None, max_decoded_mb: float | None,
                         target_sr: int = TARGET_SAMPLE_RATE) -> None:
    """Refuse, before decoding, a recording whose header says it is too long or would decode past the budget.

    Raises:
        AudioError: over ``max_duration_s`` or over ``max_decoded_mb`` (the message names both numbers).
    """
    if duration_s is None:
        return  # unknown: the decoder counts the frames and stops at the limits
    _Limits(max_duration_s, max_decoded_mb).check(name, duration_s, channels, target_sr)


def probe_decoded_budget(path: str | Path, *, max_duration_s: float | None, max_decoded_mb: float | None,
                         target_sr: int = TARGET_SAMPLE_RATE) -> None:
    """:func:`check_decoded_budget` from the file's header (duration and channels), without decoding."""
    duration, channels = _header_info(path)
    if channels:
        check_decoded_budget(str(path), duration, channels, max_duration_s=max_duration_s,
                             max_decoded_mb=max_decoded_mb, target_sr=target_sr)


def check_sample_rate(name: str, sample_rate: int) -> None:
    """Refuse a sample rate no recording has: 0 (none in the header) or over :data:`MAX_SAMPLE_RATE` (a corrupt
    header; the redacted copy could not even be written as FLAC).

    Raises:
        AudioError: the rate is missing or out of range.
    """
    if not sample_rate:
        raise AudioError(name, "no sample rate in the audio stream")
    if sample_rate > MAX_SAMPLE_RATE:
        raise AudioError(name, f"corrupt header: sample rate {sample_rate} Hz is out of range (at most "
                               f"{MAX_SAMPLE_RATE} Hz)")


def soundfile_blocks(snd: sf.SoundFile, blocksize: int, name: str) -> Iterator[np.ndarray]:
    """``(frames, channels)`` float32 blocks of ``snd``, up to the frames its header announces or the data's end.

    Why not ``SoundFile.blocks``: when the decoder ends short of the header's count (frames cut out of an MP3 or an
    OGG file) it yields the unread rest of its buffer too, uninitialised memory (NaN, or stale samples heard as
    audio). Here the blocks end where the data does, as for a truncated WAV.
    """
    done = 0
    while done < snd.frames:
        block = snd.read(min(blocksize, snd.frames - done), dtype="float32", always_2d=True)
        if not block.shape[0]:
            logger.warning("%s: the %s data ends after %d of the %d frames its header announces; using what is "
                           "there", name, snd.format, done, snd.frames)
            return
        done += block.shape[0]
        yield block


def pyav_audio_stream(container: Any, name: str) -> Any:
    """The first audio stream of an open PyAV ``container``, one that ffmpeg can decode.

    Raises:
        AudioError: no audio stream, or no decoder for it (an unknown codec tag or an impossible sample format in
            the header: PyAV then gives the stream no codec context).
    """
    fmt = container.format.name.split(",")[0].upper()
    if not container.streams.audio:
        found = ", ".join(s.type for s in container.streams) or "none"
        raise AudioError(name, f"no audio stream in this {fmt} file (streams: {found})")
    stream = container.streams.audio[0]
    if stream.codec_context is None:
        raise AudioError(name, f"unsupported or corrupt audio encoding: no decoder for the audio stream of this "
                               f"{fmt} file (its header names an unknown codec or an impossible sample format)")
    return stream


def pyav_blocks(container: Any, stream: Any, name: str) -> Iterator[np.ndarray]:
    """``(frames, channels)`` float32 blocks of a :func:`pyav_audio_stream` at its own rate.

    A packet the decoder rejects (damaged data in an MP3 or OGG) is skipped, as ffmpeg itself does, and decoding
    resumes at the next one; a stream with more damaged packets than good ones is refused as corrupt.

    Raises:
        AudioError: the stream is corrupt (demuxing failed, or mostly damaged packets).
    """
    import av

    fmt = container.format.name.split(",")[0]
    n_ch = stream.layout.nb_channels
    to_float = av.AudioResampler(format="fltp", layout=stream.layout,
                                 rate=int(stream.rate or stream.codec_context.sample_rate))
    good = damaged = 0
    problem = ""
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.InvalidDataError as exc:
                damaged, problem = damaged + 1, problem or str(exc)
                continue
            good += 1
            for frame in frames:
                for out in to_float.resample(frame):
                    yield np.ascontiguousarray(out.to_ndarray().reshape(n_ch, -1).T, dtype=np.float32)
    except av.FFmpegError as exc:
        raise AudioError(name, f"corrupt {fmt} stream: {exc}") from None
    if damaged > good:
        raise AudioError(name, f"corrupt {fmt} stream: {damaged} of {damaged + good} packets cannot be decoded "
                               f"({problem})")
    if damaged:
        logger.warning("%s: %d damaged %s packet(s) skipped (%s)", name, damaged, fmt, problem)


def channel_energy_db(samples: np.ndarray, sr: int, frame_s: float = 0.03) -> np.ndarray:
    """Short-time energy per channel in dBFS, shape ``(frames, channels)``.

    Why: comparing the channels frame by frame shows which party is talking and where one
    channel only carries the other's echo (crosstalk). A full-scale sine is about -3 dB;
    digital silence is floored at -120 dB. The last partial frame is averaged over the
    samples it has.
    """
    x = np.atleast_2d(np.asarray(samples, dtype=np.float32))
    frame = max(1, int(round(frame_s * sr)))
    n_ch, n = x.shape
    n_frames = max(1, math.ceil(n / frame))
    power = np.empty((n_frames, n_ch), dtype=np.float64)
    step = _ENERGY_BLOCK_FRAMES
    for f0 in range(0, n_frames, step):  # in blocks: a float64 copy of a few minutes, never of the whole call
        f1 = min(n_frames, f0 + step)
        padded = np.zeros((n_ch, (f1 - f0) * frame), dtype=np.float64)
        part = x[:, f0 * frame:f1 * frame]
        padded[:, :part.shape[1]] = part
        framed = padded.reshape(n_ch, f1 - f0, frame)
        power[f0:f1] = np.einsum("cfk,cfk->fc", framed, framed)
    counts = np.full(n_frames, frame, dtype=np.float64)
    counts[-1] = n - (n_frames - 1) * frame or frame
    return (10.0 * np.log10(np.maximum(power / counts[:, None], 1e-12))).astype(np.float32)


# --- internals -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Limits:
    """The two bounds on a recording: its length, and the memory its decoded samples take."""

    max_duration_s: float | None
    max_decoded_mb: float | None

    def max_out_frames(self, n_ch: int) -> int | None:
        """Most output frames (per channel) the decoded-size budget allows."""
        if self.max_decoded_mb is None:
            return None
        return int(self.max_decoded_mb * 2**20 // (n_ch * BYTES_PER_SAMPLE))

    def check(self, name: str, duration_s: float, n_ch: int, target_sr: int) -> None:
        _check_duration(name, duration_s, self.max_duration_s)
        if self.max_decoded_mb is not None:
            need = decoded_mb(duration_s, n_ch, target_sr)
            if need > self.max_decoded_mb:
                longest = self.max_decoded_mb * 2**20 / (n_ch * target_sr * BYTES_PER_SAMPLE)
                what = "mono" if n_ch == 1 else f"{n_ch} channels"
                raise AudioError(name, f"too long to decode: {_hms(duration_s)} ({what}) needs {need:.0f} MB of "
                                       f"samples, over the {self.max_decoded_mb:g} MB budget ({what}: at most "
                                       f"{_hms(longest)}); raise max_decoded_mb (QA_ENGINE_MAX_DECODED_MB) or split "
                                       "the recording")


def _decode(
    name: str,
    head: bytes,
    size: int,
    open_src: Callable[[], Path | BinaryIO],
    limits: _Limits,
    target_sr: int,
) -> DecodedAudio:
    if size == 0:
        raise AudioError(name, "file is empty (0 bytes)")
    sniffed = sniff_format(head)
    if sniffed and not sniffed[1]:
        raise AudioError(name, f"unsupported format: this looks like {sniffed[0]}, not audio (expected "
                               "WAV, FLAC, OGG Vorbis/Opus, MP3 or another ffmpeg-readable audio file)")
    kind = sniffed[0] if sniffed else None
    if kind == "WAV":
        _check_wav_header(name, head, size)
    try:
        with sf.SoundFile(open_src()) as snd:
            result = _decode_soundfile(name, snd, limits, target_sr)
    except sf.LibsndfileError as sf_exc:
        logger.debug("%s: libsndfile cannot read it (%s); trying PyAV", name, sf_exc)
        result = _decode_pyav(name, open_src(), kind or f"first bytes {head[:8].hex(' ')}", limits, target_sr)
    return result


def _check_wav_header(name: str, head: bytes, size: int) -> None:
    """A small RIFF/WAVE file must reach its ``data`` chunk; otherwise it was cut inside the header."""
    if size > len(head):  # longer files: the decoders judge them
        return
    pos = 12
    while pos + 8 <= size:
        if head[pos:pos + 4] == b"data":
            return
        chunk_size = int.from_bytes(head[pos + 4:pos + 8], "little")
        pos += 8 + chunk_size + (chunk_size & 1)
    raise AudioError(name, f"truncated WAV: the file ends inside its header "
                           f"({size} bytes, no complete 'data' chunk)")


def _decode_soundfile(name: str, snd: sf.SoundFile, limits: _Limits, target_sr: int) -> DecodedAudio:
    src_sr, n_ch = snd.samplerate, snd.channels
    _check_channels(name, n_ch)
    check_sample_rate(name, src_sr)
    if snd.frames <= 0:
        raise AudioError(name, f"no audio frames ({snd.format} header only)")
    limits.check(name, snd.frames / src_sr, n_ch, target_sr)
    short = re.search(r"data\s*:\s*(\d+)\s*\(should be (\d+)\)", snd.extra_info or "")
    if short and int(short.group(2)) < int(short.group(1)):
        logger.warning("%s: truncated %s: header declares %s data bytes but only %s are present; "
                       "decoding the %.2f s that exist", name, snd.format, short.group(1), short.group(2),
                       snd.frames / src_sr)
    blocks = soundfile_blocks(snd, _BLOCK_FRAMES, name)
    samples, n_in = _resample_blocks(name, blocks, src_sr, n_ch, target_sr, snd.frames, limits)
    if n_in == 0:
        raise AudioError(name, "no audio frames could be decoded")
    return DecodedAudio(samples, target_sr, src_sr, n_ch, n_in / src_sr, name, snd.format, snd.subtype)


def _decode_pyav(name: str, src: Path | BinaryIO, kind: str, limits: _Limits, target_sr: int) -> DecodedAudio:
    import av  # heavy import, only needed for formats libsndfile cannot read

    try:
        container = av.open(str(src) if isinstance(src, Path) else src, mode="r")
    except av.FFmpegError as exc:
        if kind.startswith("first bytes"):
            raise AudioError(name, f"corrupt or unrecognised data: no known audio format ({kind})") from None
        raise AudioError(name, f"corrupt or truncated {kind} file: cannot be decoded ({exc})") from None
    with container:
        stream = pyav_audio_stream(container, name)
        src_sr, n_ch = int(stream.rate or stream.codec_context.sample_rate), stream.layout.nb_channels
        _check_channels(name, n_ch)
        check_sample_rate(name, src_sr)
        if container.duration:
            limits.check(name, container.duration / 1e6, n_ch, target_sr)
        expected = int(container.duration / 1e6 * src_sr) if container.duration else 0
        samples, n_in = _resample_blocks(name, pyav_blocks(container, stream, name), src_sr, n_ch, target_sr,
                                         expected, limits)
        if n_in == 0:
            raise AudioError(name, f"no audio frames could be decoded from this {container.format.name} file")
        fmt, codec = container.format.name.split(",")[0], stream.codec_context.name
    logger.info("%s: decoded with PyAV (%s/%s)", name, fmt, codec)
    return DecodedAudio(samples, target_sr, src_sr, n_ch, n_in / src_sr, name, fmt, codec)


def _resample_blocks(name: str, blocks: Iterator[np.ndarray], src_sr: int, n_ch: int, target_sr: int,
                     expected_frames: int, limits: _Limits) -> tuple[np.ndarray, int]:
    """Resample ``(frames, channels)`` blocks into one preallocated ``(channels, n)`` buffer.

    The limits are enforced on the frames actually decoded (the header may lie or say nothing): decoding stops
    as soon as the duration or the decoded-size budget is passed, so the buffer never outgrows the budget.
    Also refuses silent input, judged on the source samples (the resampler's edge ringing
    must not lift a quiet file over the threshold), and NaN or infinite samples (a damaged float encoding).
    """
    max_duration_s = limits.max_duration_s
    ratio = target_sr / src_sr
    stream = None if ratio == 1 else soxr.ResampleStream(src_sr, target_sr, n_ch, quality="HQ")
    max_out = limits.max_out_frames(n_ch)
    cap = max(int(math.ceil(expected_frames * ratio)) + 64, 1024)
    if max_out is not None:
        cap = min(cap, max_out + 64)
    out = np.zeros((n_ch, cap), dtype=np.float32)
    pos = n_in = 0

    def put(chunk: np.ndarray) -> None:
        nonlocal out, pos
        k = chunk.shape[0]
        if max_out is not None and pos + k > max_out + 64:  # a header that lied: stop at the budget
            limits.check(name, max(n_in / src_sr, (pos + k) / target_sr), n_ch, target_sr)
        if pos + k > out.shape[1]:  # estimate was short (e.g. VBR MP3): grow geometrically
            size = max(2 * out.shape[1], pos + k)
            if max_out is not None:
                size = min(size, max_out + 64)
            grown = np.zeros((n_ch, size), dtype=np.float32)
            grown[:, :pos] = out[:, :pos]
            out = grown
        out[:, pos:pos + k] = chunk.T
        pos += k

    peak = 0.0
    for block in blocks:
        block_peak = float(np.max(np.abs(block), initial=0.0))
        if not math.isfinite(block_peak):
            _refuse_non_finite(name, block, n_in / src_sr + int(np.argmin(np.isfinite(block).all(axis=1))) / src_sr)
        n_in += block.shape[0]
        peak = max(peak, block_peak)
        if max_duration_s is not None and n_in / src_sr > max_duration_s:
            _check_duration(name, n_in / src_sr, max_duration_s)
        put(stream.resample_chunk(np.ascontiguousarray(block)) if stream else block)
    if stream is not None:
        put(stream.resample_chunk(np.zeros((0, n_ch), dtype=np.float32), last=True))
    if n_in:
        _check_not_silent(name, peak)
    return out[:, :pos], n_in


def _check_channels(name: str, n_ch: int) -> None:
    # Calls are mono (diarize) or stereo (one party per channel); more is a conference/mixer
    # export whose channel->party mapping we cannot guess, so refuse instead of guessing.
    if n_ch < 1:
        raise AudioError(name, "no audio channels")
    if n_ch > MAX_CHANNELS:
        raise AudioError(name, f"has {n_ch} channels; only mono or stereo calls are supported "
                               "(mix down first, e.g. `sox in.wav out.wav remix 1 2`)")


def _refuse_non_finite(name: str, block: np.ndarray, at_s: float) -> None:
    bad = int(block.size - np.count_nonzero(np.isfinite(block)))
    raise AudioError(name, f"corrupt samples: {bad} NaN or infinite value(s) from {at_s:.2f} s on (a damaged "
                           "float encoding)")


def _check_duration(name: str, duration_s: float, max_duration_s: float | None) -> None:
    if max_duration_s is not None and duration_s > max_duration_s:
        raise AudioError(name, f"too long: {_hms(duration_s)} is over the {_hms(max_duration_s)} limit; "
                               f"raise the limit (--max-duration SECONDS / max_duration_s; now {max_duration_s:g} s)")


def _check_not_silent(name: str, peak: float) -> None:
    if peak == 0.0:
        raise AudioError(name, "silent: every sample is zero (digital silence)")
    peak_db = 20 * math.log10(peak)
    if peak_db < SILENCE_PEAK_DBFS:
        raise AudioError(name, f"silent: peak level {peak_db:.1f} dBFS on every channel "
                               f"(below {SILENCE_PEAK_DBFS:g} dBFS)")


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
