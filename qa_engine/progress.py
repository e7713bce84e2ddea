"""Progress of scoring many files: a pyannote-style hook that draws one line of text.

pyannote pipelines take ``hook(step_name, step_artefact, file=None, total=None, completed=None)`` per
call and ship a ``ProgressHook`` (rich progress bars). This is the same idea without a dependency: the
pipeline calls the hook after each step of a call, the CLI tells it when a file starts and ends, and it
draws::

    [3/10] call.wav  asr  45% |#####     | 12.3/27.0 audio-min  ETA 0:01:05

On a terminal the line is redrawn in place (``\\r``, at most ten times a second); in a log (cron,
systemd, a pipe) a plain line is written when a file ends and otherwise at most every ``log_every_s``,
so a nightly log stays readable. Drawing never raises into the pipeline: a stream that fails to write
(closed, broken pipe) switches the hook off. One file at a time.

    with ProgressHook(total_files=len(paths), total_audio_s=sum(durations)) as progress:
        for path, duration in zip(paths, durations):
            progress.start_file(path.name, duration)
            try:
                pipeline.score(path, hook=progress)
            except QaEngineError:
                progress.finish_file(ok=False)
            else:
                progress.finish_file(ok=True)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO

# What the pipeline accepts: ``hook(step, artefact)``, plus keyword arguments a hook may take
# (``completed``/``total`` for a step that reports how far it got).
Hook = Callable[..., None]

_BAR_WIDTH = 10
_NAME_WIDTH = 32
_TTY_REDRAW_S = 0.1


def format_eta(seconds: float | None) -> str:
    """``H:MM:SS``; ``--:--:--`` when nothing is known yet."""
    if seconds is None or seconds != seconds or seconds in (float("inf"), float("-inf")):
        return "--:--:--"
    s = max(0, int(round(seconds)))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _short(name: str) -> str:
    """The end of a long name (the file name, not the directory, is what tells files apart)."""
    return name if len(name) <= _NAME_WIDTH else "..." + name[-(_NAME_WIDTH - 3):]


class ProgressHook:
    """Files done, audio done, the current step and an ETA, on one line of ``stream`` (stderr by default).

    ``total_files`` and ``total_audio_s`` (the summed duration of the files whose duration is known)
    may be omitted. The ETA divides the audio still to do by the audio done per wall-clock second;
    without audio durations it falls back to the files still to do times the mean time per file.
    """

    def __init__(self, total_files: int | None = None, total_audio_s: float | None = None, *,
                 stream: TextIO | None = None, log_every_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.total_files = max(0, total_files) if total_files is not None else None
        self.total_audio_s = total_audio_s if total_audio_s and total_audio_s > 0 else None
        self.log_every_s = log_every_s
        self.clock = clock
        self.tty = _is_tty(self.stream)
        self.enabled = True
        self.files_started = 0
        self.files_done = 0
        self.failed = 0
        self.audio_done_s = 0.0  # audio of finished files (failed ones too: no longer to do)
        self.file_name = ""
        self.file_duration_s: float | None = None
        self.file_fraction = 0.0  # how far the current file got, from steps that report completed/total
        self.step = ""
        self._start = clock()
        self._last_draw: float | None = None

    # -- the CLI's side ----------------------------------------------------------------------------
    def __enter__(self) -> ProgressHook:
        self._start = self.clock()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close(interrupted=exc_type is not None)

    def start_file(self, name: str, duration_s: float | None = None) -> None:
        """A file starts (``duration_s`` None or 0 when unknown)."""
        self.files_started += 1
        self.file_name = str(name)
        self.file_duration_s = duration_s if duration_s and duration_s > 0 else None
        self.file_fraction = 0.0
        self.step = "start"
        self._draw(force=self.tty)

    def finish_file(self, ok: bool = True) -> None:
        """The current file is done (``ok=False``: it failed); always written, in a log too."""
        self.files_done += 1
        self.failed += 0 if ok else 1
        self.audio_done_s += self.file_duration_s or 0.0
        self.file_duration_s = None
        self.file_fraction = 0.0
        self.step = "done" if ok else "FAILED"
        self._draw(force=True)

    def close(self, interrupted: bool = False) -> None:
        """End the line on a terminal and write a summary (also after an exception)."""
        if not self.enabled:
            return
        elapsed = self.clock() - self._start
        failed = f", {self.failed} failed" if self.failed else ""
        end = "interrupted after" if interrupted else "done:"
        summary = (f"{end} {self.files_done} file(s){failed}, {self.audio_done_s / 60:.1f} audio-min "
                   f"in {format_eta(elapsed)}")
        self._write(("\r" + summary + "\x1b[K\n") if self.tty else summary + "\n")
        self.enabled = False

    # -- the pipeline's side ----------------------------------------------------------------------
    def __call__(self, step: str, artefact: Any = None, *, completed: float | None = None,
                 total: float | None = None, **_: Any) -> None:
        """One pipeline step finished (or, with ``completed``/``total``, got that far)."""
        self.step = str(step)
        if completed is not None and total:
            try:
                fraction = min(max(float(completed) / float(total), 0.0), 1.0)
            except (TypeError, ValueError):  # a step that reports oddly must not stop the call
                fraction = 0.0
            if fraction == fraction:  # NaN never moves the bar
                self.file_fraction = max(self.file_fraction, fraction)  # never moves backwards within a file
        self._draw()

    # -- the line ---------------------------------------------------------------------------------
    def line(self) -> str:
        """The progress line as it would be drawn now."""
        audio_now = self.audio_done_s + (self.file_duration_s or 0.0) * self.file_fraction
        files_now = self.files_done + (self.file_fraction if self.files_started > self.files_done else 0.0)
        if self.total_audio_s:
            share: float | None = audio_now / self.total_audio_s
        elif self.total_files:
            share = files_now / self.total_files
        else:
            share = None
        counter = str(self.files_started)
        if self.total_files is not None:
            counter += f"/{self.total_files}"
        where = "  ".join(x for x in (_short(self.file_name), self.step) if x)
        parts = [f"[{counter}] {where}".rstrip()]
        audio = f"{audio_now / 60:.1f}" + (f"/{self.total_audio_s / 60:.1f}" if self.total_audio_s else "")
        if share is not None:
            share = min(max(share, 0.0), 1.0)
            filled = int(_BAR_WIDTH * share)
            audio = f"{int(share * 100)}% |{'#' * filled}{' ' * (_BAR_WIDTH - filled)}| {audio}"
        parts.append(f"{audio} audio-min")
        if self.failed:
            parts.append(f"{self.failed} failed")
        parts.append(f"ETA {format_eta(self.eta_s(audio_now, files_now))}")
        return "  ".join(parts)

    def eta_s(self, audio_now: float | None = None, files_now: float | None = None) -> float | None:
        """Seconds left: from audio done per second when durations are known, else from files done."""
        elapsed = self.clock() - self._start
        if audio_now is None:
            audio_now = self.audio_done_s + (self.file_duration_s or 0.0) * self.file_fraction
        if files_now is None:
            files_now = float(self.files_done)
        if self.total_files is not None and self.files_done >= self.total_files:
            return 0.0
        if self.total_audio_s and audio_now > 0 and elapsed > 0:
            return max(self.total_audio_s - audio_now, 0.0) / (audio_now / elapsed)
        if self.total_files and files_now > 0 and elapsed > 0:
            return max(self.total_files - files_now, 0.0) * elapsed / files_now
        return None

    def _draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = self.clock()
        every = _TTY_REDRAW_S if self.tty else self.log_every_s
        if not force and self._last_draw is not None and now - self._last_draw < every:
            return
        if not force and not self.tty and self._last_draw is None and now - self._start < every:
            return  # a log gets its first line after log_every_s (or when a file ends)
        self._last_draw = now
        text = self.line()
        if self.tty:
            self._write("\r" + text + "\x1b[K")
        else:
            self._write(text + "\n")

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # closed stream or broken pipe: scoring goes on without progress
            self.enabled = False


def _is_tty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, OSError, ValueError):
        return False
