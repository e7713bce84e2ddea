"""GPU throughput: qa-engine's full pipeline with cross-call batching vs faster-whisper's BatchedInferencePipeline.

Stereo calls go through both systems in the same run, on the same GPU, with the same model and compute type:

- **qa-engine**: decode, VAD, bleed removal, ASR, roles, rules and scoring for every call, by the engine of
  ``qa-engine batch`` (``--engine batch``: CPU worker processes, one model, one :class:`AsrBatcher` that decodes
  the speech of all calls in flight together) or by the service's path (``--engine service``: worker threads
  sharing one model through a :class:`BatchedRecognizer`).
- **faster-whisper**: ``BatchedInferencePipeline(model).transcribe(channel, batch_size=B, language=...)`` on each
  file and each channel (decoded with ``faster_whisper.decode_audio(split_stereo=True)``; its own Silero VAD),
  one ``WhisperModel`` for all files; the beam size is the same as qa-engine's (``--beam-size``, default 1).

Each (system, batch size) runs in a fresh child process, so the GPU memory it reports is its own (CTranslate2
keeps what it allocated in a cache). In each child the model is loaded and warmed up on one call first; the
timed part starts after that (qa-engine's timing includes starting its worker processes). Audio hours are the
calls' durations (a stereo call counts once, not once per channel); audio-hours per GPU-hour = audio seconds /
wall seconds with the GPU to itself. Peak GPU memory: ``nvidia-smi --query-gpu=memory.used`` polled every 0.1 s
by the child, minus the reading before the model was loaded (torch's counters would not see CTranslate2's
allocations, so torch is not used). Calls: the two stereo test calls (or ``--files``), each call ``--join``
copies back to back (a real call's length), ``--copies`` calls per file.

    python benchmarks/bench_gpu.py --model /models/faster-whisper-large-v3-turbo [--compute-type float16]
        [--batch-sizes 8,16,32] [--copies 16] [--join 8] [--workers 8] [--engine batch|service] [--out FILE]
    python benchmarks/bench_gpu.py --device cpu --copies 1 --join 1 --batch-sizes 4 --out /tmp/gpu.md  # smoke

The table goes to benchmarks/results/gpu_<gpu-name>_<date>.md (appended), or to ``--out``; a CPU run writes no
file unless ``--out`` is given. Without a CUDA device the script refuses to run unless ``--device cpu``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_FILES = [ROOT / "tests" / "data" / "call_zh_stereo.flac", ROOT / "tests" / "data" / "call_en_stereo.flac"]
SYSTEMS = ("qa-engine", "faster-whisper")
TARGET = 2.0


@dataclass(frozen=True)
class Call:
    path: str
    language: str
    duration: float


@dataclass
class Run:
    """What one child measured."""

    system: str
    batch_size: int
    wall_s: float
    chars: int
    startup_s: float = 0.0
    base_mib: float | None = None
    loaded_mib: float | None = None
    peak_mib: float | None = None
    failed: int = 0


# --- GPU facts (nvidia-smi; no torch) --------------------------------------------------------


def _smi(query: str) -> str | None:
    index = (os.environ.get("CUDA_VISIBLE_DEVICES") or "0").split(",")[0].strip() or "0"
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, f"--query-gpu={query}", "--format=csv,noheader,nounits", "-i", index],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip().splitlines()[0].strip() if out.returncode == 0 and out.stdout.strip() else None


def _memory_mib() -> float | None:
    value = _smi("memory.used")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class MemoryPoller:
    """Highest ``memory.used`` seen while the block runs."""

    def __init__(self, every_s: float = 0.1) -> None:
        self.every_s = every_s
        self.peak: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemoryPoller:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sample()

    def _sample(self) -> None:
        value = _memory_mib()
        if value is not None:
            self.peak = value if self.peak is None else max(self.peak, value)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.every_s)


def cuda_devices() -> int:
    import ctranslate2

    return int(ctranslate2.get_cuda_device_count())


# --- the calls ----------------------------------------------------------------------------------


def _language(path: Path, given: str | None) -> str:
    if given:
        return given
    tokens = set(re.split(r"[^a-z]+", path.stem.lower()))
    for language in ("zh", "en"):
        if language in tokens:
            return language
    raise SystemExit(f"bench_gpu: cannot tell the language of {path.name} from its name; pass --language zh|en")


def make_calls(files: list[Path], copies: int, join: int, work: Path, language: str | None) -> list[Call]:
    """``copies`` calls per file, each the file ``join`` times back to back (other bytes per copy)."""
    import numpy as np
    import soundfile as sf

    calls = []
    for path in files:
        audio, rate = sf.read(path, dtype="float32", always_2d=True)
        if audio.shape[1] != 2:
            raise SystemExit(f"bench_gpu: {path} has {audio.shape[1]} channel(s); this benchmark takes stereo calls")
        long = np.concatenate([audio] * join)
        for k in range(copies):
            out = work / f"{path.stem}_x{join}_{k:03d}.flac"
            sf.write(out, long * (1.0 - 1e-4 * (k + 1)), rate, subtype="PCM_16")
            calls.append(Call(str(out), _language(path, language), long.shape[0] / rate))
    return calls


# --- the two systems (child side) --------------------------------------------------------------------


def _asr_options(args: argparse.Namespace, batch_size: int) -> Any:
    from qa_engine.asr import AsrOptions

    return AsrOptions(model=args.model, device=args.device, compute_type=args.compute_type,
                      batch_size=batch_size, beam_size=args.beam_size)


def run_qa_engine(args: argparse.Namespace, calls: list[Call], batch_size: int, run: Run) -> None:
    """Full pipeline, calls batched together (the batch engine, or the service's threads)."""
    from qa_engine.asr import Recognizer
    from qa_engine.pipeline import CallInput, Pipeline, PipelineOptions

    options = PipelineOptions(asr=_asr_options(args, batch_size))
    recognizer = Recognizer(options.asr)
    run.loaded_mib = _memory_mib()
    Pipeline(options, recognizer=recognizer).score(CallInput(calls[0].path, language=calls[0].language))  # warm-up
    if args.engine == "service":
        _service_threads(options, recognizer, calls, args.workers, run)
    else:
        _batch_engine(options, recognizer, calls, args.workers, run)


def _batch_engine(options: Any, recognizer: Any, calls: list[Call], workers: int, run: Run) -> None:
    from qa_engine.app.batch.local import LocalExecutor
    from qa_engine.app.batch.tasks import ScoreTask
    from qa_engine.rules import load_pack

    packs = {c.language: load_pack(None, language=c.language) for c in calls}
    tasks = [ScoreTask(pk=str(i), path=c.path, call_id=f"call-{i}", pack=packs[c.language], language=c.language)
             for i, c in enumerate(calls)]
    t0 = time.perf_counter()
    list(LocalExecutor(options, workers, recognizer=recognizer).run(iter([])))  # worker start-up alone
    run.startup_s = time.perf_counter() - t0
    with MemoryPoller() as memory:
        t0 = time.perf_counter()
        results = list(LocalExecutor(options, workers, recognizer=recognizer).run(iter(tasks)))
        run.wall_s = time.perf_counter() - t0
    run.peak_mib = memory.peak
    run.failed = sum(1 for r in results if r.report is None)
    run.chars = sum(len(u.text.replace(" ", "")) for r in results if r.report is not None
                    for u in r.report.transcript.utterances)
    for r in results:
        if r.error:
            print(f"bench_gpu: qa-engine failed on {r.pk}: {r.error}", file=sys.stderr)


def _service_threads(options: Any, recognizer: Any, calls: list[Call], workers: int, run: Run) -> None:
    import queue
    from dataclasses import replace

    from qa_engine.asr_batching import AsrBatcher, BatchedRecognizer
    from qa_engine.pipeline import CallInput, Pipeline

    todo: queue.Queue[Call] = queue.Queue()
    for c in calls:
        todo.put(c)
    chars = [0] * workers
    failed = [0] * workers
    with MemoryPoller() as memory:
        t0 = time.perf_counter()
        batcher = AsrBatcher(recognizer, max_wait_s=0.05)
        shared = BatchedRecognizer(batcher)

        def work(w: int) -> None:
            pipelines: dict[str, Pipeline] = {}
            while True:
                try:
                    c = todo.get_nowait()
                except queue.Empty:
                    return
                if c.language not in pipelines:
                    pipelines[c.language] = Pipeline(replace(options, language=c.language), recognizer=shared)
                try:
                    report = pipelines[c.language].score(CallInput(c.path, language=c.language))
                except Exception as exc:  # noqa: BLE001 - counted and reported, the run goes on
                    print(f"bench_gpu: qa-engine failed on {c.path}: {exc}", file=sys.stderr)
                    failed[w] += 1
                    continue
                chars[w] += sum(len(u.text.replace(" ", "")) for u in report.transcript.utterances)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        run.wall_s = time.perf_counter() - t0
        batcher.close()
    run.peak_mib = memory.peak
    run.chars, run.failed = sum(chars), sum(failed)


def run_faster_whisper(args: argparse.Namespace, calls: list[Call], batch_size: int, run: Run) -> None:
    """faster-whisper's own batched pipeline on each file and each channel, one model for all."""
    from faster_whisper import BatchedInferencePipeline, decode_audio

    from qa_engine.asr import load_whisper

    model = load_whisper(_asr_options(args, batch_size))
    run.loaded_mib = _memory_mib()
    pipeline = BatchedInferencePipeline(model)

    def transcribe(call: Call) -> int:
        chars = 0
        for channel in decode_audio(call.path, split_stereo=True):
            segments, _ = pipeline.transcribe(channel, language=call.language, batch_size=batch_size,
                                              beam_size=args.beam_size, word_timestamps=args.baseline_words)
            chars += sum(len(s.text.replace(" ", "")) for s in segments)  # a generator: this runs the decoding
        return chars

    transcribe(calls[0])  # warm-up
    with MemoryPoller() as memory:
        t0 = time.perf_counter()
        run.chars = sum(transcribe(c) for c in calls)
        run.wall_s = time.perf_counter() - t0
    run.peak_mib = memory.peak


def child(args: argparse.Namespace) -> None:
    calls = [Call(**c) for c in json.loads(Path(args.calls_json).read_text(encoding="utf-8"))]
    run = Run(system=args.child, batch_size=args.child_batch_size, wall_s=0.0, chars=0, base_mib=_memory_mib())
    if args.child == "qa-engine":
        run_qa_engine(args, calls, args.child_batch_size, run)
    else:
        run_faster_whisper(args, calls, args.child_batch_size, run)
    print("BENCH_GPU_RESULT " + json.dumps(asdict(run)), flush=True)


# --- the parent: one child per system and batch size, then the table --------------------------------


def _child_argv(args: argparse.Namespace, system: str, batch_size: int, calls_json: Path) -> list[str]:
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", system, "--child-batch-size", str(batch_size),
            "--calls-json", str(calls_json), "--device", args.device, "--compute-type", args.compute_type,
            "--beam-size", str(args.beam_size), "--workers", str(args.workers), "--engine", args.engine,
            "--baseline-words" if args.baseline_words else "--no-baseline-words"]
    if args.model:
        argv += ["--model", args.model]
    return argv


def measure(args: argparse.Namespace, system: str, batch_size: int, calls_json: Path) -> Run:
    print(f"bench_gpu: {system}, batch size {batch_size} ...", file=sys.stderr, flush=True)
    out = subprocess.run(_child_argv(args, system, batch_size, calls_json), stdout=subprocess.PIPE, text=True,
                         cwd=ROOT)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("BENCH_GPU_RESULT ")]
    if out.returncode != 0 or not lines:
        raise SystemExit(f"bench_gpu: the {system} run (batch size {batch_size}) failed (exit code {out.returncode})")
    return Run(**json.loads(lines[-1].removeprefix("BENCH_GPU_RESULT ")))


def _mib(run: Run) -> str:
    if run.peak_mib is None or run.base_mib is None:
        return "n/a"
    loaded = f" ({run.loaded_mib - run.base_mib:.0f})" if run.loaded_mib is not None else ""
    return f"{run.peak_mib - run.base_mib:.0f}{loaded}"


def table(args: argparse.Namespace, calls: list[Call], runs: list[Run], device_name: str) -> str:
    import ctranslate2
    import faster_whisper

    from qa_engine import __version__

    audio_s = sum(c.duration for c in calls)
    unit = "GPU" if args.device == "cuda" else "device"
    model = args.model or "whisper-base (bundled)"
    names = {"qa-engine": f"qa-engine, full pipeline, cross-call batching ({args.engine} engine, {args.workers} "
                          "worker(s))",
             "faster-whisper": "faster-whisper BatchedInferencePipeline, per file and channel"}
    lines = [
        f"## GPU throughput, {date.today()}: {device_name}",
        "",
        f"{len(calls)} stereo calls, {audio_s / 3600:.2f} audio hours (call durations, not doubled per channel; "
        f"each call {args.join}x a test call back to back, {args.copies} copies per file); model {model}, device "
        f"{args.device}, compute type {args.compute_type}, beam {args.beam_size}; faster-whisper word timestamps "
        f"{'on' if args.baseline_words else 'off'} (qa-engine: on). qa-engine {__version__}, faster-whisper "
        f"{faster_whisper.__version__}, ctranslate2 {ctranslate2.__version__}; {os.cpu_count()} CPUs"
        + (f", driver {_smi('driver_version')}" if args.device == "cuda" else "") + ".",
        "Wall time after model load and warm-up; qa-engine's includes decode, VAD, ASR, rules and starting its "
        "workers. Peak GPU memory: nvidia-smi memory.used during the run minus before the model was loaded "
        "(in brackets: after loading).",
        "",
        f"| batch size | system | wall s | audio-h per {unit}-h | peak GPU MiB (model) | text chars | failed |",
        "|---|---|---|---|---|---|---|",
    ]
    by_size: dict[int, dict[str, Run]] = {}
    for r in runs:
        by_size.setdefault(r.batch_size, {})[r.system] = r
        lines.append(f"| {r.batch_size} | {names[r.system]} | {r.wall_s:.1f} | {audio_s / r.wall_s:.1f} | {_mib(r)} "
                     f"| {r.chars} | {r.failed} |")
    lines.append("")
    for size, pair in by_size.items():
        if len(pair) == 2:
            ratio = pair["faster-whisper"].wall_s / pair["qa-engine"].wall_s
            lines.append(f"- batch size {size}: qa-engine / faster-whisper = **{ratio:.2f}x**")
    if not all(any(r.system == s for r in runs) for s in SYSTEMS):
        return "\n".join(lines) + "\n"
    best = {s: min((r for r in runs if r.system == s), key=lambda r: r.wall_s) for s in SYSTEMS}
    ratio = best["faster-whisper"].wall_s / best["qa-engine"].wall_s
    lines.append(f"- best of each (qa-engine batch {best['qa-engine'].batch_size}: "
                 f"{audio_s / best['qa-engine'].wall_s:.1f}, faster-whisper batch {best['faster-whisper'].batch_size}: "
                 f"{audio_s / best['faster-whisper'].wall_s:.1f} audio-h per {unit}-h): **{ratio:.2f}x** "
                 f"(target >= {TARGET:.0f}x: {'met' if ratio >= TARGET else 'not met'})")
    startup = [r.startup_s for r in runs if r.system == "qa-engine" and r.startup_s]
    if startup:
        lines.append(f"- qa-engine worker start-up (inside its wall time): {max(startup):.1f} s at most")
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="CTranslate2 Whisper model directory (default: bundled base)")
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"],
                    help="cuda (default); cpu only to smoke-test this script")
    ap.add_argument("--compute-type", default="auto", help="float16, int8_float16, ... (default: auto)")
    ap.add_argument("--batch-sizes", default="8,16,32", help="comma-separated (default: 8,16,32)")
    ap.add_argument("--beam-size", type=int, default=1, help="both systems (default: 1, qa-engine's default)")
    ap.add_argument("--files", type=Path, nargs="+", default=None, help="stereo calls (default: the test calls)")
    ap.add_argument("--language", default=None, choices=["zh", "en"],
                    help="language of --files (default: from the file name)")
    ap.add_argument("--copies", type=int, default=16, help="calls per file (default: 16)")
    ap.add_argument("--join", type=int, default=8, help="copies of a file back to back in one call (default: 8)")
    ap.add_argument("--workers", type=int, default=max(1, min(8, (os.cpu_count() or 2) - 2)),
                    help="qa-engine CPU workers (processes or threads; default: CPUs - 2, at most 8)")
    ap.add_argument("--engine", default="batch", choices=["batch", "service"],
                    help="qa-engine side: the batch engine (processes) or the service's worker threads")
    ap.add_argument("--baseline-words", action=argparse.BooleanOptionalAction, default=True,
                    help="word timestamps for faster-whisper too (qa-engine always makes them; default: on)")
    ap.add_argument("--systems", default=",".join(SYSTEMS), help="which systems to run (default: both)")
    ap.add_argument("--out", type=Path, default=None, help="results file (appended; default: "
                                                           "benchmarks/results/gpu_<gpu>_<date>.md on CUDA)")
    ap.add_argument("--child", choices=SYSTEMS, help=argparse.SUPPRESS)
    ap.add_argument("--child-batch-size", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--calls-json", help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child:
        child(args)
        return
    if args.device == "cuda" and cuda_devices() == 0:
        raise SystemExit("bench_gpu: no CUDA device is visible (CTranslate2 sees 0 GPUs: check the NVIDIA driver, "
                         "`nvidia-smi` and `docker run --gpus all`). --device cpu runs the script on CPU, only to "
                         "smoke-test it.")
    sizes = [int(s) for s in args.batch_sizes.split(",") if s.strip()]
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    if not sizes or min(sizes) < 1 or args.copies < 1 or args.join < 1 or args.workers < 1:
        raise SystemExit("bench_gpu: --batch-sizes, --copies, --join and --workers must be 1 or more")
    if not systems or set(systems) - set(SYSTEMS):
        raise SystemExit(f"bench_gpu: --systems takes {', '.join(SYSTEMS)}")
    device_name = (_smi("name") or "unknown GPU") if args.device == "cuda" else "CPU (smoke test)"
    with tempfile.TemporaryDirectory(prefix="bench_gpu_") as tmp:
        work = Path(tmp)
        calls = make_calls(args.files or DEFAULT_FILES, args.copies, args.join, work, args.language)
        calls_json = work / "calls.json"
        calls_json.write_text(json.dumps([asdict(c) for c in calls]), encoding="utf-8")
        runs = [measure(args, system, size, calls_json) for size in sizes for system in systems]
    text = table(args, calls, runs, device_name)
    print(text)
    out = args.out
    if out is None and args.device == "cuda":
        slug = re.sub(r"[^a-z0-9]+", "-", device_name.lower()).strip("-")
        out = ROOT / "benchmarks" / "results" / f"gpu_{slug}_{date.today()}.md"
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("a", encoding="utf-8") as fh:
            fh.write(text + "\n")
        print(f"saved to {out}")


if __name__ == "__main__":
    main()
