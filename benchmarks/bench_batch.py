"""Throughput of ``qa-engine batch`` against the naive loop (one call after another through one Pipeline).

Both run on the same files in the same run; both include loading the model. Files: the real English stereo
calls in ../shared/eval (read in place, never copied) when present, else tests/data; ``--copies N`` adds
re-encoded copies (other bytes, same audio) in a temporary folder to get a longer queue.

    .venv/bin/python benchmarks/bench_batch.py [--workers 2] [--copies 0] [--device auto] [--save]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "eval" / "audio_en" / "spokenwoz_stereo_calls" / "audio"
AUDIO = (".wav", ".flac")


def _files(copies: int, work: Path) -> tuple[Path, list[Path], str]:
    if REAL.is_dir() and any(REAL.iterdir()):
        originals, what = sorted(p for p in REAL.iterdir() if p.suffix in AUDIO), "real calls (shared/eval)"
    else:
        originals = [ROOT / "tests" / "data" / n for n in ("call_en_stereo.flac", "call_en_mono.wav")]
        what = "tests/data calls"
    src = work / "src"
    src.mkdir()
    files = []
    for p in originals:
        link = src / p.name
        link.symlink_to(p)
        files.append(link)
    for k in range(copies):
        for p in originals:
            audio, sr = sf.read(p, dtype="float32")
            out = src / f"{p.stem}_copy{k}.wav"
            sf.write(out, audio * (1.0 - 1e-4 * (k + 1)), sr, subtype="PCM_16")
            files.append(out)
    return src, files, what


def _naive(files: list[Path], device: str) -> float:
    """One Pipeline, one call after another (model load included)."""
    code = (
        "import sys, time\n"
        "t=time.perf_counter()\n"
        "from qa_engine.asr import AsrOptions\n"
        "from qa_engine.pipeline import CallInput, Pipeline, PipelineOptions\n"
        f"p = Pipeline(PipelineOptions(asr=AsrOptions(device={device!r}), language='en'))\n"
        "for f in sys.argv[1:]:\n"
        "    p.score(CallInput(f))\n"
        "print(time.perf_counter()-t)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, *map(str, files)], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _batch(src: Path, work: Path, workers: int, device: str) -> float:
    """The real command, start to end (startup and model load included)."""
    t = time.perf_counter()
    cmd = [str(ROOT / ".venv" / "bin" / "qa-engine"), "batch", str(src), "--data-dir", str(work / "data"),
           "--workers", str(workers), "--language", "en", "--no-audio-copy", "--device", device]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"batch failed: {run.stderr}")
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--copies", type=int, default=0)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--save", action="store_true", help="write benchmarks/results/batch_<date>.md")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        src, files, what = _files(args.copies, work)
        audio_s = sum(sf.info(f).duration for f in files)
        naive_s = _naive(files, args.device)
        batch_s = _batch(src, work, args.workers, args.device)
        shutil.rmtree(work / "data", ignore_errors=True)
    hours = audio_s / 3600
    rows = [("naive loop (one Pipeline, call after call)", naive_s), (f"qa-engine batch --workers {args.workers}",
                                                                       batch_s)]
    lines = [f"Batch throughput, {date.today()}: {len(files)} files ({what}, {args.copies} re-encoded copies each), "
             f"{audio_s:.0f} s of audio; {platform.machine()}, {os.cpu_count()} CPU(s), device {args.device}; "
             "wall time includes start-up and model load.", "",
             "| run | wall s | files/hour | audio-hours/hour |", "|---|---|---|---|"]
    for name, secs in rows:
        lines.append(f"| {name} | {secs:.1f} | {len(files) / secs * 3600:.0f} | {hours / secs * 3600:.1f} |")
    lines += ["", f"ratio batch / naive: {naive_s / batch_s:.2f}x"]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.save:
        out = ROOT / "benchmarks" / "results" / f"batch_{date.today()}.md"
        with out.open("a", encoding="utf-8") as fh:
            fh.write(text + "\n")
        print(f"saved to {out}")


if __name__ == "__main__":
    main()
