"""A progress line on stderr: files, audio hours, audio-hours per hour, ETA.

On a terminal the line is redrawn in place; in a log (cron, systemd) one line is written every
``log_every_s`` seconds and at the end, so a nightly log stays short.
"""

from __future__ import annotations

import time
from typing import TextIO


def _hms(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Progress:
    """Counts finished files and their audio; the rate is audio hours scored per wall-clock hour."""

    def __init__(self, stream: TextIO, total_files: int, total_audio_s: float, *, log_every_s: float = 30.0,
                 enabled: bool = True) -> None:
        self.stream = stream
        self.total_files = total_files
        self.total_audio_s = total_audio_s
        self.files = 0
        self.failed = 0
        self.audio_s = 0.0
        self.enabled = enabled and total_files > 0
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.log_every_s = log_every_s
        self._start = time.monotonic()
        self._last = 0.0

    def advance(self, audio_s: float, failed: bool = False) -> None:
        self.files += 1
        self.failed += int(failed)
        self.audio_s += audio_s
        now = time.monotonic()
        if self.tty or now - self._last >= self.log_every_s or self.files == self.total_files:
            self._last = now
            self.draw()

    def line(self) -> str:
        elapsed = max(time.monotonic() - self._start, 1e-6)
        rate = self.audio_s / elapsed  # audio seconds per second == audio hours per hour
        remaining = max(self.total_audio_s - self.audio_s, 0.0)
        if rate > 0 and remaining > 0:
            eta = _hms(remaining / rate)
        elif self.files < self.total_files and self.files:
            eta = _hms(elapsed / self.files * (self.total_files - self.files))
        else:
            eta = "--:--:--" if self.files < self.total_files else "0:00:00"
        width = 20
        filled = int(width * self.files / self.total_files) if self.total_files else width
        failed = f" ({self.failed} failed)" if self.failed else ""
        return (f"[{'#' * filled}{'.' * (width - filled)}] {self.files}/{self.total_files} files{failed} | "
                f"{self.audio_s / 3600:.2f}/{self.total_audio_s / 3600:.2f} audio h | "
                f"{rate:.1f} audio-h/h | ETA {eta}")

    def draw(self) -> None:
        if not self.enabled:
            return
        if self.tty:
            self.stream.write("\r" + self.line() + "\x1b[K")
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()
