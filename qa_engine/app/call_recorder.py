"""The received audio of a live call, spooled to disk as it arrives and written out as a μ-law WAV.

Why μ-law WAV: it is exactly the bytes the client sent (no re-encoding), every decoder reads it, and
it is half the size of PCM16. Discarded spans are filled with μ-law silence so that times in the
stored recording are times in the call.
"""

from __future__ import annotations

import struct
import tempfile
from pathlib import Path

import numpy as np

from qa_engine.app.audio_files import StagedAudio, StagingFile, audio_root

ULAW_SILENCE = b"\xff"
WAVE_FORMAT_MULAW = 7


class CallRecorder:
    """Appends interleaved μ-law frames; ``finish`` stages the WAV in the audio store (not yet committed).

    ``order`` reorders the channels as they are stored (``order[i]`` = the received channel stored as i).
    """

    def __init__(self, data_dir: Path, channels: int, rate: int, max_seconds: float,
                 order: list[int] | None = None) -> None:
        self.data_dir, self.channels, self.rate = data_dir, channels, rate
        self.order = order if order is not None and order != list(range(channels)) else None
        root = audio_root(data_dir)
        root.mkdir(parents=True, exist_ok=True)
        self._spool = tempfile.NamedTemporaryFile(prefix=".live-", dir=root, delete=False)  # noqa: SIM115
        self.frames = 0
        self.max_frames = int(max_seconds * rate)
        self.truncated = False

    @property
    def duration(self) -> float:
        return self.frames / self.rate

    def write(self, data: bytes) -> None:
        frames = len(data) // self.channels
        room = self.max_frames - self.frames
        if frames > room:
            self.truncated = True
            frames = max(room, 0)
            data = data[: frames * self.channels]
        if self.order is not None:
            data = np.frombuffer(data, dtype=np.uint8).reshape(-1, self.channels)[:, self.order].tobytes()
        self._spool.write(data)
        self.frames += frames

    def silence(self, seconds: float) -> None:
        frames = min(int(round(seconds * self.rate)), max(self.max_frames - self.frames, 0))
        step = self.rate * 10
        for start in range(0, frames, step):
            self.write(ULAW_SILENCE * (min(step, frames - start) * self.channels))

    def finish(self) -> StagedAudio | None:
        """Stage the recording as a WAV file (None when nothing was received)."""
        self._spool.close()
        spool = Path(self._spool.name)
        try:
            if self.frames == 0:
                return None
            staging = StagingFile(self.data_dir)
            try:
                size = self.frames * self.channels
                staging.write(_wav_header(self.channels, self.rate, size))
                with spool.open("rb") as fh:
                    while chunk := fh.read(1 << 20):
                        staging.write(chunk)
                if size % 2:
                    staging.write(b"\x00")  # RIFF chunks are word-aligned
                return staging.finish()
            except BaseException:
                staging.discard()
                raise
        finally:
            spool.unlink(missing_ok=True)

    def discard(self) -> None:
        self._spool.close()
        Path(self._spool.name).unlink(missing_ok=True)


def _wav_header(channels: int, rate: int, data_bytes: int) -> bytes:
    fmt = struct.pack("<HHIIHHH", WAVE_FORMAT_MULAW, channels, rate, rate * channels, channels, 8, 0)
    fact = struct.pack("<I", data_bytes // channels)
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"fact" + struct.pack("<I", 4) + fact
            + b"data" + struct.pack("<I", data_bytes))
    return b"RIFF" + struct.pack("<I", len(body) + data_bytes + data_bytes % 2) + body
