"""Corrupted recordings through every stage that reads a call's audio: does each bad file end in a clear error?

Why: a corrupt upload must be refused with a 4xx or fail its call with one line naming the problem, never a 5xx,
an "internal error while processing: …" call error, a hang or unbounded memory. This script makes small real
recordings (12 s of ``tests/data/call_zh_stereo.flac``, re-encoded as WAV PCM16/μ-law/float, FLAC, OGG
Vorbis/Opus and MP3, mono and stereo, 8 and 16 kHz), derives corrupted variants with a fixed seed (byte flips,
zeroed runs, truncations, duplicated/removed chunks, header fields that lie: sample rate 0, channels 0/9, huge
sizes and durations, NaN samples) and runs each through the stages a real call goes through, without the speech
model:

    probe       the upload's header probe and budget check (qa_engine.app.audio_files.probe_audio, 415/422/413)
    header      qa_engine.audio.header_duration (batch and ``qa-engine score`` progress/ETA)
    decode      the worker's decode: probe_decoded_budget + load_audio with the service's limits
    transcribe  Pipeline.transcribe with a stub recognizer (crosstalk gate, VAD, bleed, roles, diarization of
                mono calls, acoustics): one word per speech region
    report      the rules (check_transcript, zh pack) and the report as strict JSON (what the database stores)
    redact      qa_engine.redact.redact_audio (the stored copy with a spoken number silenced)

Each case runs in a long-lived child process (restarted after a hang or a crash). Per stage the table counts:
``ok``; ``clear`` (AudioError, the upload's NotAudioError/UnreadableAudioError, another QaEngineError: what the
service answers as a 4xx or stores as the call's one-line error); ``OTHER`` (any other exception, a crash, or
non-finite samples/JSON: a bug); ``skip`` (an earlier stage refused the file, so the service never gets here);
``slow`` (over ``--slow-s``) and ``mem`` (peak RSS growth over ``--mem-mb``). Then one line per OTHER class.

    .venv/bin/python benchmarks/fuzz_audio.py [--variants 1] [--seed 20261205] [--only wav16] [--cases 0]

Linux only (reads ``/proc/self/status`` for the peak RSS and resets it through ``/proc/self/clear_refs``).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import re
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "tests" / "data" / "call_zh_stereo.flac"
CLIP_S = 12.0
STAGES = ("probe", "header", "decode", "transcribe", "report", "redact")
HANG_S = 60.0
#: (label, libsndfile format, subtype, suffix)
ENCODINGS = (("wav16", "WAV", "PCM_16", ".wav"), ("ulaw", "WAV", "ULAW", ".wav"), ("float", "WAV", "FLOAT", ".wav"),
             ("flac", "FLAC", "PCM_16", ".flac"), ("vorbis", "OGG", "VORBIS", ".ogg"),
             ("opus", "OGG", "OPUS", ".opus"), ("mp3", "MP3", "MPEG_LAYER_III", ".mp3"))

Mutation = Callable[[bytes, random.Random], bytes | None]


# --- sources ---------------------------------------------------------------------------------------------


def make_sources(folder: Path, only: str | None) -> list[Path]:
    """The clean recordings: every encoding, mono and stereo, 8 and 16 kHz."""
    call, sr = sf.read(SOURCE, dtype="float32", always_2d=True)
    clip = call[: int(CLIP_S * sr)]
    paths = []
    for label, fmt, subtype, suffix in ENCODINGS:
        if only and label not in only.split(","):
            continue
        for rate in (8000, 16000):
            data = clip if rate == sr else soxr.resample(clip, sr, rate)
            for channels in (1, 2):
                samples = data if channels == 2 else data.mean(axis=1, keepdims=True)
                path = folder / f"{label}_{rate // 1000}k_{'stereo' if channels == 2 else 'mono'}{suffix}"
                sf.write(path, samples, rate, format=fmt, subtype=subtype)
                paths.append(path)
    return paths


# --- generic corruptions -----------------------------------------------------------------------------------


def flip(count: int, within: int | None = None) -> Mutation:
    def mutate(data: bytes, rng: random.Random) -> bytes:
        out = bytearray(data)
        for _ in range(count):
            pos = rng.randrange(min(within or len(out), len(out)))
            out[pos] ^= rng.randrange(1, 256)
        return bytes(out)
    return mutate


def zero_run(data: bytes, rng: random.Random) -> bytes:
    n = rng.randrange(64, 2048)
    pos = rng.randrange(max(1, len(data) - n))
    return data[:pos] + bytes(min(n, len(data) - pos)) + data[pos + n:]


def truncate_head(data: bytes, rng: random.Random) -> bytes:
    return data[:rng.randrange(1, min(200, len(data)))]


def truncate_body(data: bytes, rng: random.Random) -> bytes:
    return data[:rng.randrange(len(data) // 10, len(data))]


def duplicate_chunk(data: bytes, rng: random.Random) -> bytes:
    n = rng.randrange(256, 8192)
    src, dst = rng.randrange(len(data) - n), rng.randrange(len(data))
    return data[:dst] + data[src:src + n] + data[dst:]


def remove_chunk(data: bytes, rng: random.Random) -> bytes:
    n = rng.randrange(256, 8192)
    pos = rng.randrange(len(data) - n)
    return data[:pos] + data[pos + n:]


GENERIC: dict[str, Mutation] = {
    "flip1": flip(1), "flip16": flip(16), "flip_header": flip(4, within=64), "zero_run": zero_run,
    "truncate_header": truncate_head, "truncate_body": truncate_body, "duplicate_chunk": duplicate_chunk,
    "remove_chunk": remove_chunk,
}


# --- header lies --------------------------------------------------------------------------------------------


def _chunk(data: bytes, tag: bytes) -> int:
    """Offset of a RIFF chunk's id (the fields start 8 bytes later)."""
    pos = 12
    while pos + 8 <= len(data):
        if data[pos:pos + 4] == tag:
            return pos
        pos += 8 + int.from_bytes(data[pos + 4:pos + 8], "little")
    raise ValueError(f"no {tag!r} chunk")


def put(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


def wav_field(offset_in_fmt: int, fmt: str, value: int) -> Mutation:
    return lambda data, rng: put(data, _chunk(data, b"fmt ") + 8 + offset_in_fmt, fmt, value)


def wav_data_size(value: int) -> Mutation:
    return lambda data, rng: put(data, _chunk(data, b"data") + 4, "<I", value)


def wav_nan_samples(data: bytes, rng: random.Random) -> bytes | None:
    """Float samples that are NaN or infinite (an IEEE float payload corrupted in its exponent)."""
    start = _chunk(data, b"data") + 8
    out = bytearray(data)
    for value in (float("nan"), float("inf"), float("-inf"), 3e38) * 8:
        struct.pack_into("<f", out, start + 4 * rng.randrange((len(data) - start) // 4), value)
    return bytes(out)


def flac_streaminfo(bits_from: int, width: int, value: int) -> Mutation:
    """Overwrite ``width`` bits of STREAMINFO's packed sample-rate/channels/bps/total field (bytes 18-25)."""
    def mutate(data: bytes, rng: random.Random) -> bytes:
        packed = int.from_bytes(data[18:26], "big")
        shift = 64 - bits_from - width
        packed = (packed & ~(((1 << width) - 1) << shift)) | (value << shift)
        return data[:18] + packed.to_bytes(8, "big") + data[26:]
    return mutate


def _ogg_crc(page: bytes) -> int:
    crc = 0
    for byte in page:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def _ogg_pages(data: bytes) -> Iterator[tuple[int, int]]:
    pos = 0
    while (pos := data.find(b"OggS", pos)) >= 0 and pos + 27 <= len(data):
        segments = data[pos + 26]
        length = 27 + segments + sum(data[pos + 27:pos + 27 + segments])
        yield pos, length
        pos += length


def _reseal(data: bytearray, page: tuple[int, int]) -> bytes:
    """Recompute one page's CRC after an edit (a lie with a valid checksum is what a buggy muxer writes)."""
    pos, length = page
    data[pos + 22:pos + 26] = bytes(4)
    data[pos + 22:pos + 26] = _ogg_crc(bytes(data[pos:pos + length])).to_bytes(4, "little")
    return bytes(data)


def ogg_id_field(channels: int | None = None, rate: int | None = None) -> Mutation:
    def mutate(data: bytes, rng: random.Random) -> bytes:
        out = bytearray(data)
        if (at := data.find(b"OpusHead")) >= 0:
            ch_at, rate_at = at + 9, at + 12
        else:
            at = data.find(b"\x01vorbis")
            ch_at, rate_at = at + 11, at + 12
        if channels is not None:
            out[ch_at] = channels
        if rate is not None:
            struct.pack_into("<I", out, rate_at, rate)
        return _reseal(out, next(_ogg_pages(data)))
    return mutate


def ogg_granule_huge(data: bytes, rng: random.Random) -> bytes:
    """The last page claims a granule position of 2^61 samples: a duration of millennia."""
    last = list(_ogg_pages(data))[-1]
    out = bytearray(data)
    struct.pack_into("<q", out, last[0] + 6, 1 << 61)
    return _reseal(out, last)


def _mp3_frame(data: bytes) -> int:
    pos = 10 + int.from_bytes(data[6:10], "big") if data[:3] == b"ID3" else 0
    while not (data[pos] == 0xFF and data[pos + 1] & 0xE0 == 0xE0):
        pos += 1
    return pos


def mp3_header(mask: int, value: int) -> Mutation:
    """Set bits of the third byte of every frame header in the first 4 KiB (bitrate and sample-rate indexes)."""
    def mutate(data: bytes, rng: random.Random) -> bytes:
        out = bytearray(data)
        pos = _mp3_frame(data)
        out[pos + 2] = (out[pos + 2] & ~mask) | value
        return bytes(out)
    return mutate


def mp3_xing_frames(data: bytes, rng: random.Random) -> bytes | None:
    at = max(data.find(b"Xing"), data.find(b"Info"))
    if at < 0 or not data[at + 7] & 1:
        return None
    return put(data, at + 8, ">I", 0xFFFFFFF0)


LIES: dict[str, dict[str, Mutation]] = {
    "WAV": {"lie_rate0": wav_field(4, "<I", 0), "lie_channels0": wav_field(2, "<H", 0),
            "lie_channels9": wav_field(2, "<H", 9), "lie_blockalign0": wav_field(12, "<H", 0),
            "lie_bits0": wav_field(14, "<H", 0), "lie_format_tag": wav_field(0, "<H", 0x1234),
            "lie_data_huge": wav_data_size(0xFFFFFFF0),
            "lie_riff_huge": lambda data, rng: put(data, 4, "<I", 0xFFFFFFF0)},
    "FLAC": {"lie_rate0": flac_streaminfo(0, 20, 0), "lie_channels8": flac_streaminfo(20, 3, 7),
             "lie_bps32": flac_streaminfo(23, 5, 31), "lie_total_huge": flac_streaminfo(28, 36, (1 << 36) - 1),
             "lie_blocksize0": lambda data, rng: data[:8] + bytes(4) + data[12:]},
    "OGG": {"lie_rate0": ogg_id_field(rate=0), "lie_channels0": ogg_id_field(channels=0),
            "lie_channels9": ogg_id_field(channels=9), "lie_granule_huge": ogg_granule_huge},
    "MP3": {"lie_rate_reserved": mp3_header(0x0C, 0x0C), "lie_bitrate_bad": mp3_header(0xF0, 0xF0),
            "lie_xing_huge": mp3_xing_frames},
}


def mutations_for(path: Path, variants: int) -> Iterator[tuple[str, Mutation, int]]:
    """(name, mutation, seed index) for one source: each generic corruption ``variants`` times, then its lies."""
    for name, mutation in GENERIC.items():
        for k in range(variants):
            yield f"{name}#{k}", mutation, k
    container = sf.info(str(path)).format
    for name, mutation in LIES.get(container, {}).items():
        yield name, mutation, 0
    if sf.info(str(path)).subtype == "FLOAT":
        yield "nan_samples", wav_nan_samples, 0


# --- the child: every stage of one case ---------------------------------------------------------------------

CHILD_SETUP = "import os; os.environ.setdefault('OMP_NUM_THREADS', '1')"


def _hwm_and_rss() -> tuple[int, int]:
    values = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(("VmHWM:", "VmRSS:")):
                values[line[:5]] = int(line.split()[1]) * 1024
    return values["VmHWM"], values["VmRSS"]


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


class NonFinite(Exception):
    """A stage produced NaN/inf (samples, energy, JSON): Whisper and the database get garbage."""


class StubAsr:
    """One word per speech region: enough for roles, diarization, acoustics and the rules, without Whisper."""

    def recognise(self, regions: Any, progress: Any = None) -> Any:
        from qa_engine.asr import RecognisedRegion
        from qa_engine.types import Word

        return [RecognisedRegion(r, (Word(r.start, r.end, "您好" if r.channel == 0 else "谢谢"),)) for r in regions]


def child_stages(path: str, scratch: Path) -> Iterator[tuple[str, Callable[[dict[str, Any]], None]]]:
    """The stages in order; each reads/writes ``state`` (an earlier refusal skips the ones that need it)."""
    from qa_engine.app.audio_files import probe_audio
    from qa_engine.app.settings import Settings
    from qa_engine.audio import check_decoded_budget, header_duration, load_audio, probe_decoded_budget
    from qa_engine.pipeline import CallInput, Pipeline, check_transcript
    from qa_engine.redact import redact_audio
    from qa_engine.report import report_to_dict
    from qa_engine.rules import load_pack
    from qa_engine.types import Redaction

    limits = Settings()

    def probe(state: dict[str, Any]) -> None:
        found = probe_audio(Path(path))
        check_decoded_budget(path, found.duration, found.channels, max_duration_s=limits.max_audio_duration_s,
                             max_decoded_mb=limits.max_decoded_mb)

    def header(state: dict[str, Any]) -> None:
        header_duration(path)

    def decode(state: dict[str, Any]) -> None:
        probe_decoded_budget(path, max_duration_s=limits.max_audio_duration_s, max_decoded_mb=limits.max_decoded_mb)
        audio = load_audio(path, max_duration_s=limits.max_audio_duration_s, max_decoded_mb=limits.max_decoded_mb)
        if not np.isfinite(audio.samples).all():
            raise NonFinite(f"{int((~np.isfinite(audio.samples)).sum())} decoded samples are NaN or infinite")
        state["audio"] = audio

    def transcribe(state: dict[str, Any]) -> None:
        pipeline = Pipeline(recognizer=StubAsr())  # type: ignore[arg-type]
        state["transcript"], _ = pipeline.transcribe(CallInput(state.pop("audio"), call_id="fuzz", language="zh",
                                                               scratch_samples=True))

    def report(state: dict[str, Any]) -> None:
        doc = report_to_dict(check_transcript(state["transcript"], load_pack(None, language="zh")))
        try:
            json.dumps(doc, allow_nan=False)
        except ValueError as exc:
            raise NonFinite(f"report JSON: {exc}") from None

    def redact(state: dict[str, Any]) -> None:
        spans = [Redaction(1.0, 2.0, 0, "phone", room=(0.0, 6.0)), Redaction(3.0, 3.5, None, "email")]
        redact_audio(path, spans, scratch / "redacted.flac")

    yield from (("probe", probe), ("header", header), ("decode", decode), ("transcribe", transcribe),
                ("report", report), ("redact", redact))


NEEDS = {"transcribe": "decode", "report": "transcribe", "redact": "decode"}


def classify(exc: BaseException) -> str:
    from qa_engine.app.audio_files import NotAudioError, UnreadableAudioError
    from qa_engine.errors import QaEngineError

    if isinstance(exc, NonFinite):
        return "OTHER"
    return "clear" if isinstance(exc, QaEngineError | NotAudioError | UnreadableAudioError) else "OTHER"


def child_main() -> None:
    """Read case paths on stdin; per stage write ``start`` then its outcome as JSON lines on stdout."""
    from qa_engine.vad import detect_speech

    detect_speech(np.zeros(16000, dtype=np.float32))  # the VAD model loads once, outside any stage
    scratch = Path(tempfile.mkdtemp(prefix="fuzz-child-"))
    for line in sys.stdin:
        path = line.strip()
        state: dict[str, Any] = {}
        done: dict[str, str] = {}
        for stage, run in child_stages(path, scratch):
            if stage in NEEDS and done.get(NEEDS[stage]) != "ok":
                done[stage] = "skip"
                _emit({"stage": stage, "outcome": "skip"})
                continue
            _emit({"stage": stage, "start": True})
            _reset_peak()
            _, rss = _hwm_and_rss()
            t0 = time.perf_counter()
            outcome, detail = "ok", ""
            try:
                run(state)
            except Exception as exc:  # noqa: BLE001 - classifying every exception is the point
                outcome, detail = classify(exc), f"{type(exc).__name__}: {exc}"
            hwm, _ = _hwm_and_rss()
            done[stage] = outcome
            _emit({"stage": stage, "outcome": outcome, "detail": detail.splitlines()[0][:300] if detail else "",
                   "seconds": time.perf_counter() - t0, "mem_mb": (hwm - rss) / 2**20})
        _emit({"end": True})


def _emit(doc: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(doc) + "\n")
    sys.stdout.flush()


# --- the parent: cases, child process, table ----------------------------------------------------------------


@dataclass
class Result:
    case: str
    stage: str
    outcome: str
    detail: str = ""
    seconds: float = 0.0
    mem_mb: float = 0.0


class Child:
    """The child process and a thread reading its lines; restarted after a hang (killed) or a crash."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None
        self.lines: queue.Queue[str] = queue.Queue()

    def start(self) -> subprocess.Popen[str]:
        if self.proc is None or self.proc.poll() is not None:
            env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
            self.proc = subprocess.Popen([sys.executable, __file__, "--child"], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
                                         bufsize=1)
            self.lines = queue.Queue()
            threading.Thread(target=self._pump, args=(self.proc, self.lines), daemon=True).start()
        return self.proc

    @staticmethod
    def _pump(proc: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
        assert proc.stdout
        for line in proc.stdout:
            lines.put(line)
        lines.put("")  # end of file: the process died

    def run(self, case: str, path: Path) -> list[Result]:
        proc = self.start()
        assert proc.stdin
        proc.stdin.write(f"{path}\n")
        proc.stdin.flush()
        results: list[Result] = []
        current = "probe"
        while True:
            try:
                line = self.lines.get(timeout=HANG_S)
            except queue.Empty:
                proc.kill()
                proc.wait()
                return [*results, Result(case, current, "OTHER", f"hang: no answer in {HANG_S:g} s", HANG_S)]
            if not line:
                code = proc.wait()
                return [*results, Result(case, current, "OTHER", f"crash: the process died (exit code {code})")]
            doc = json.loads(line)
            if doc.get("end"):
                return results
            if doc.get("start"):
                current = doc["stage"]
                continue
            results.append(Result(case, doc["stage"], doc["outcome"], doc.get("detail", ""),
                                  doc.get("seconds", 0.0), doc.get("mem_mb", 0.0)))

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            assert self.proc.stdin
            self.proc.stdin.close()
            self.proc.wait()


def bug_class(detail: str) -> str:
    """An OTHER outcome's class: the exception type and its message with numbers and paths blurred."""
    text = re.sub(r"/\S+", "<path>", detail)
    text = re.sub(r"\d+(\.\d+)?", "N", text)
    return text[:140]


def table(results: list[Result], slow_s: float, mem_mb: float) -> str:
    rows = [f"| stage | ok | clear | OTHER | skip | slow (>{slow_s:g} s) | mem (>{mem_mb:g} MB) | max s | max MB |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for stage in STAGES:
        mine = [r for r in results if r.stage == stage]
        counts = Counter(r.outcome for r in mine)
        slow = sum(r.seconds > slow_s for r in mine)
        heavy = sum(r.mem_mb > mem_mb for r in mine)
        rows.append(f"| {stage} | {counts['ok']} | {counts['clear']} | {counts['OTHER']} | {counts['skip']} | {slow} "
                    f"| {heavy} | {max((r.seconds for r in mine), default=0):.2f} "
                    f"| {max((r.mem_mb for r in mine), default=0):.0f} |")
    classes: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in results:
        if r.outcome == "OTHER":
            classes[(r.stage, bug_class(r.detail))].append(r.case)
    lines = ["", "OTHER classes (stage, count, exception, first cases):" if classes else "OTHER classes: none"]
    for (stage, cls), cases in sorted(classes.items(), key=lambda kv: -len(kv[1])):
        lines.append(f"- {stage} x{len(cases)}: `{cls}` ({', '.join(cases[:3])})")
    return "\n".join(rows + lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", type=int, default=1, help="random variants of each generic corruption")
    parser.add_argument("--seed", type=int, default=20261205)
    parser.add_argument("--only", help="encodings, comma-separated (wav16,ulaw,float,flac,vorbis,opus,mp3)")
    parser.add_argument("--cases", type=int, default=0, help="stop after this many cases (0: all)")
    parser.add_argument("--slow-s", type=float, default=10.0)
    parser.add_argument("--mem-mb", type=float, default=300.0)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--verbose", action="store_true", help="one line per case and stage that is not ok")
    args = parser.parse_args()
    if args.child:
        child_main()
        return
    child = Child()
    results: list[Result] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cases = 0
        for source in make_sources(folder, args.only):
            data = source.read_bytes()
            results += child.run(f"{source.stem}/clean", source)
            for name, mutation, k in mutations_for(source, args.variants):
                rng = random.Random(zlib.crc32(f"{args.seed}/{source.name}/{name}".encode()) + k)
                corrupted = mutation(data, rng)
                if corrupted is None:
                    continue
                path = folder / f"case{source.suffix}"
                path.write_bytes(corrupted)
                case = f"{source.stem}/{name}"
                got = child.run(case, path)
                if args.verbose:
                    for r in got:
                        if r.outcome not in ("ok", "skip"):
                            print(f"{case} {r.stage} {r.outcome}: {r.detail}", file=sys.stderr)
                results += got
                cases += 1
                if args.cases and cases >= args.cases:
                    break
            if args.cases and cases >= args.cases:
                break
    child.close()
    print(f"{cases} corrupted cases (+ the clean sources), seed {args.seed}, {args.variants} variant(s) per "
          f"corruption, {time.perf_counter() - started:.0f} s\n")
    print(table(results, args.slow_s, args.mem_mb))


if __name__ == "__main__":
    main()
