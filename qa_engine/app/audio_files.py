"""Uploaded audio on disk: content-addressed by SHA-256 under ``DATA_DIR/audio``, written durably.

Why content-addressed: the same recording uploaded twice is one file (and one hash, which is what
de-duplication compares), and a file name from a client never reaches the file system.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa_engine.audio import check_sample_rate, pyav_audio_stream, sniff_format
from qa_engine.errors import AudioError

logger = logging.getLogger(__name__)

AUDIO_DIR = "audio"
CONTENT_TYPES = {"WAV": "audio/wav", "RF64 WAV": "audio/wav", "FLAC": "audio/flac", "OGG": "audio/ogg",
                 "MP3/MPEG audio": "audio/mpeg", "AIFF": "audio/aiff", "MP4/M4A": "audio/mp4",
                 "Matroska/WebM": "audio/webm", "AMR": "audio/amr", "CAF": "audio/x-caf"}


class NotAudioError(Exception):
    """The upload is recognisably something else (text, image, archive): answered 415."""


class UnreadableAudioError(Exception):
    """The upload's audio header cannot be read: answered 422."""


@dataclass(frozen=True)
class AudioProbe:
    """What the header says: container, channels, duration (None when the header does not tell)."""

    format: str
    channels: int
    duration: float | None
    content_type: str


@dataclass(frozen=True)
class StagedAudio:
    """An upload written to a temporary file in the audio folder, hashed, not yet in place."""

    temp_path: Path
    sha256: str
    size: int


def audio_root(data_dir: Path) -> Path:
    return data_dir / AUDIO_DIR


def stored_path(data_dir: Path, sha256: str) -> Path:
    """Where the recording with this digest lives (two-level fan-out keeps folders small)."""
    return audio_root(data_dir) / sha256[:2] / sha256


class StagingFile:
    """Receives upload chunks: writes them to a temporary file next to the store and hashes them."""

    def __init__(self, data_dir: Path) -> None:
        root = audio_root(data_dir)
        root.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".upload-", dir=root)
        self.path = Path(name)
        self._fh = os.fdopen(fd, "wb")
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self._fh.write(chunk)
        self._hash.update(chunk)
        self.size += len(chunk)

    def finish(self) -> StagedAudio:
        """Flush and fsync: after this the bytes survive a crash."""
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        return StagedAudio(self.path, self._hash.hexdigest(), self.size)

    def discard(self) -> None:
        if not self._fh.closed:
            self._fh.close()
        self.path.unlink(missing_ok=True)


def probe_audio(path: Path) -> AudioProbe:
    """Read only the header: catches non-audio and corrupt headers at upload, before anything is queued.

    Raises:
        NotAudioError: the bytes are recognisably not audio.
        UnreadableAudioError: no audio header can be read.
    """
    with path.open("rb") as fh:
        head = fh.read(4096)
    if not head:
        raise UnreadableAudioError("the file is empty (0 bytes)")
    sniffed = sniff_format(head)
    if sniffed is not None and not sniffed[1]:
        raise NotAudioError(f"this looks like {sniffed[0]}, not audio (send WAV, FLAC, OGG, MP3 or another "
                            "audio file)")
    kind = sniffed[0] if sniffed else None
    content_type = CONTENT_TYPES.get(kind or "", "application/octet-stream")
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError):
        logger.debug("%s: libsndfile cannot read the header; probing with PyAV", path)
        return _probe_pyav(path, kind, content_type)
    _check_rate(info.samplerate)
    duration = info.frames / info.samplerate if info.samplerate else None
    return AudioProbe(kind or info.format, info.channels, duration, content_type)


def _probe_pyav(path: Path, kind: str | None, content_type: str) -> AudioProbe:
    import av

    what = kind or f"file starting with bytes {_first_bytes(path)}"
    try:
        container: Any = av.open(str(path), mode="r")
    except av.FFmpegError:
        raise UnreadableAudioError(f"cannot read the audio header: corrupt or unknown format ({what})") from None
    with container:
        try:
            stream = pyav_audio_stream(container, str(path))
        except AudioError as exc:
            raise UnreadableAudioError(exc.reason) from None
        _check_rate(int(stream.rate or stream.codec_context.sample_rate))
        duration = container.duration / 1e6 if container.duration else None
        return AudioProbe(kind or container.format.name, stream.layout.nb_channels, duration, content_type)


def _check_rate(sample_rate: int) -> None:
    """A header's sample rate no recording has (over 384 kHz) is a corrupt header: 422 at upload, not a failed call."""
    if not sample_rate:
        return  # unknown until decoded (some containers): the decoder checks it
    try:
        check_sample_rate("the recording", sample_rate)
    except AudioError as exc:
        raise UnreadableAudioError(exc.reason) from None


def _first_bytes(path: Path) -> str:
    with path.open("rb") as fh:
        return fh.read(8).hex(" ")


def commit_staged(data_dir: Path, staged: StagedAudio) -> Path:
    """Move a staged upload to its content address (or drop it if that content is already stored)."""
    target = stored_path(data_dir, staged.sha256)
    if target.exists():
        staged.temp_path.unlink(missing_ok=True)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged.temp_path, target)
    _fsync_dir(target.parent)
    return target


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_audio(path: str | Path) -> None:
    """Delete a stored recording (the caller checks no other call refers to it)."""
    Path(path).unlink(missing_ok=True)
