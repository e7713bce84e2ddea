"""The progress hook: the line it draws on a log and on a terminal, its ETA, and its robustness."""

from __future__ import annotations

import io
import re

import pytest

from qa_engine.progress import Hook, ProgressHook, format_eta


class _Clock:
    """A wall clock the test moves by hand (so the ETA is exact)."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Closed(io.StringIO):
    def write(self, s: str) -> int:
        raise BrokenPipeError("reader went away")


def _score(hook: ProgressHook, clock: _Clock, name: str, duration_s: float | None, seconds: float,
           ok: bool = True) -> None:
    """What the CLI and the pipeline do for one file, taking ``seconds`` of wall time."""
    hook.start_file(name, duration_s)
    hook("decode", None)
    clock.t += seconds / 2
    hook("asr", None, completed=0.5, total=1.0)
    clock.t += seconds / 2
    hook("assemble", object())
    hook.finish_file(ok=ok)


def test_log_gets_one_line_per_file_with_counts_percent_and_eta() -> None:
    clock, out = _Clock(), io.StringIO()
    with ProgressHook(total_files=4, total_audio_s=4 * 60.0, stream=out, log_every_s=1000, clock=clock) as hook:
        _score(hook, clock, "a.wav", 60.0, 10.0)
        _score(hook, clock, "b.wav", 60.0, 10.0, ok=False)
    lines = out.getvalue().splitlines()
    assert all("\r" not in line for line in lines)
    assert lines[0] == "[1/4] a.wav  done  25% |##        | 1.0/4.0 audio-min  ETA 0:00:30"
    # 2 audio-min in 20 s: the 2 left take 20 s more
    assert lines[1] == "[2/4] b.wav  FAILED  50% |#####     | 2.0/4.0 audio-min  1 failed  ETA 0:00:20"
    assert lines[2:] == ["done: 2 file(s), 1 failed, 2.0 audio-min in 0:00:20"]


def test_log_lines_during_a_long_file_are_throttled() -> None:
    clock, out = _Clock(), io.StringIO()
    hook = ProgressHook(total_files=1, total_audio_s=600.0, stream=out, log_every_s=5.0, clock=clock)
    hook.start_file("long.wav", 600.0)
    for i in range(1, 21):  # a step report every second for 20 s
        clock.t += 1.0
        hook("asr", None, completed=i, total=40)
    assert len(out.getvalue().splitlines()) == 4  # at 5, 10, 15 and 20 s
    last = out.getvalue().splitlines()[-1]
    assert last.startswith("[1/1] long.wav  asr  50% |#####     | 5.0/10.0 audio-min")
    assert last.endswith("ETA 0:00:20")  # half the audio in 20 s


def test_terminal_line_is_redrawn_in_place() -> None:
    clock, out = _Clock(), _Terminal()
    with ProgressHook(total_files=2, total_audio_s=120.0, stream=out, clock=clock) as hook:
        hook.start_file("call.wav", 60.0)
        clock.t += 3.0
        hook("asr", None, completed=27.0, total=60.0)
        drawn = out.getvalue()
        assert "\n" not in drawn and drawn.count("\r") == 2
        assert drawn.rsplit("\r", 1)[1] == "[1/2] call.wav  asr  22% |##        | 0.5/2.0 audio-min  ETA 0:00:10\x1b[K"
        hook("assemble", None)  # within 0.1 s of the last draw: skipped
        assert out.getvalue() == drawn
        hook.finish_file()
    text = out.getvalue()
    assert text.endswith("\n") and text.count("\n") == 1  # only the summary ends the line
    assert "[1/2] call.wav  done  50%" in text and "done: 1 file(s), 1.0 audio-min in 0:00:03" in text


def test_eta_falls_back_to_files_when_durations_are_unknown() -> None:
    clock, out = _Clock(), io.StringIO()
    with ProgressHook(total_files=5, stream=out, log_every_s=1000, clock=clock) as hook:
        _score(hook, clock, "x.wav", None, 30.0)
        _score(hook, clock, "y.wav", 0.0, 30.0)
    first, second = out.getvalue().splitlines()[:2]
    assert first == "[1/5] x.wav  done  20% |##        | 0.0 audio-min  ETA 0:02:00"
    assert second == "[2/5] y.wav  done  40% |####      | 0.0 audio-min  ETA 0:01:30"


def test_unknown_totals_and_zero_files() -> None:
    clock, out = _Clock(), io.StringIO()
    with ProgressHook(stream=out, log_every_s=1000, clock=clock) as hook:
        _score(hook, clock, "only.wav", 90.0, 5.0)
    assert out.getvalue().splitlines()[0] == "[1] only.wav  done  1.5 audio-min  ETA --:--:--"
    empty = io.StringIO()
    with ProgressHook(total_files=0, total_audio_s=0.0, stream=empty, clock=clock):
        pass
    assert empty.getvalue() == "done: 0 file(s), 0.0 audio-min in 0:00:00\n"


def test_used_as_a_plain_pipeline_hook_without_files() -> None:
    out = io.StringIO()
    hook: Hook = ProgressHook(stream=out, log_every_s=0.0)
    hook("vad", {0: []})
    hook("asr", [], completed=3, total=0)  # total 0: no fraction, no error
    hook("bleed", None, file={"uri": "x"})  # pyannote passes file=...
    hook("asr", None, completed="half", total=2)  # nonsense is ignored, not raised into the pipeline
    hook("asr", None, completed=float("nan"), total=2)
    assert out.getvalue().splitlines()[2] == "[0] bleed  0.0 audio-min  ETA --:--:--"
    assert out.getvalue().splitlines()[-1] == "[0] asr  0.0 audio-min  ETA --:--:--"


def test_an_exception_in_the_block_ends_the_line_and_propagates() -> None:
    clock, out = _Clock(), _Terminal()
    with pytest.raises(RuntimeError), ProgressHook(total_files=3, stream=out, clock=clock) as hook:
        hook.start_file("a.wav", 10.0)
        raise RuntimeError("boom")
    assert out.getvalue().endswith("interrupted after 0 file(s), 0.0 audio-min in 0:00:00\x1b[K\n")


def test_a_broken_stream_switches_progress_off() -> None:
    hook = ProgressHook(total_files=1, stream=_Closed(), log_every_s=0.0)
    hook.start_file("a.wav", 5.0)
    hook("asr", None)
    hook.finish_file()
    hook.close()
    assert not hook.enabled


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "--:--:--"), (float("nan"), "--:--:--"), (float("inf"), "--:--:--"),
    (-3, "0:00:00"), (65, "0:01:05"), (3 * 3600 + 61.4, "3:01:01"),
])
def test_format_eta(seconds: float | None, text: str) -> None:
    assert format_eta(seconds) == text
    assert re.fullmatch(r"(\d+:\d\d:\d\d|--:--:--)", format_eta(seconds))
