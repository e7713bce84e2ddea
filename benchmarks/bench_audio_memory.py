"""Peak memory of decoding a long, mostly silent recording: what an attacker's small file costs the server.

A FLAC of near-silence compresses to almost nothing (4 h of 8 kHz audio is well under 1 MB) but decodes to
float32 at 16 kHz: ``duration x channels x 64 kB/s``. Each case runs in a fresh child process that imports
everything and warms up the VAD model first, then runs :meth:`qa_engine.pipeline.Pipeline.transcribe` (decode,
crosstalk gate, VAD; the recognizer is a stub, a silent file has no speech to recognise) under the service's
limits (``max_audio_duration_s`` and ``max_decoded_mb``, as the worker applies them). The table gives the
growth of the child's peak RSS (``VmHWM`` in ``/proc/self/status``) over its warmed-up baseline, and the outcome:
``ok`` (processed) or ``refused`` (the header probe or the decoder refused it, with the reason).

    .venv/bin/python benchmarks/bench_audio_memory.py [--durations 600,3600,14400] [--channels 1,2]
        [--max-decoded-mb 256] [--max-duration-s 14400] [--no-limit]

``--no-limit`` runs without the decoded-size budget (the behaviour before it existed) for comparison.
Linux only (reads ``/proc``).

Measured (CPU box, 8 kHz FLAC, peak RSS growth in MB; "before": full-length float64 energy copy, gate copy with a
per-sample mask, VAD over the whole channel in parallel threads, no budget; mono "before" rows are with the energy
fix only, the first run could not measure them)::

    duration  ch  decoded MB   before   after (max_decoded_mb=256)
       10m     1        37        378      189
       10m     2        73        535      237
       34m     1       125          -      283
       34m     2       249          -      444   (the longest stereo call the default budget admits: 34:57)
       60m     1       220        952      378
       60m     2       439       2215        1   refused from the header (over the budget)
       69m     1       253          -      412   (the longest mono call the default budget admits: 69:54)
      240m     1       879          -        1   refused from the header
      240m     2      1758       7830        1   refused from the header
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

SOURCE_RATE = 8000  # telephone audio: the decoder resamples it to 16 kHz (2x the samples)
BLOCK_S = 600

CHILD = r"""
import json, sys, time
from qa_engine.audio import load_audio, probe_decoded_budget
from qa_engine.errors import AudioError, QaEngineError
from qa_engine.pipeline import Pipeline, CallInput
from qa_engine.vad import detect_speech
import numpy as np

def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0

class NoAsr:
    def recognise(self, regions, progress=None):
        return []

path, max_duration_s, max_decoded_mb = sys.argv[1], float(sys.argv[2]), sys.argv[3]
budget = None if max_decoded_mb == "none" else float(max_decoded_mb)
detect_speech(np.zeros(16000 * 2, dtype=np.float32))  # load the VAD model: part of the baseline
base = hwm()
t0 = time.perf_counter()
outcome = "ok"
try:
    if budget is not None:
        probe_decoded_budget(path, max_duration_s=max_duration_s, max_decoded_mb=budget)  # the upload check
    audio = load_audio(path, max_duration_s=max_duration_s, max_decoded_mb=budget)  # the worker's decode
    Pipeline(recognizer=NoAsr()).transcribe(CallInput(audio, call_id="bench", language="zh", scratch_samples=True))
except AudioError as exc:
    outcome = "refused: " + exc.reason
except QaEngineError as exc:  # decoded fine, then e.g. "no speech found": the memory was spent all the same
    outcome = "ok (" + str(exc).split(": ", 1)[-1] + ")"
print(json.dumps({"growth": hwm() - base, "seconds": time.perf_counter() - t0, "outcome": outcome}))
"""


def make_flac(path: Path, duration_s: float, channels: int) -> None:
    """Near-silence (one click per minute at -40 dBFS, else zeros): passes the silence check, compresses ~1000x."""
    with sf.SoundFile(str(path), "w", samplerate=SOURCE_RATE, channels=channels, format="FLAC",
                      subtype="PCM_16") as out:
        done = 0
        total = int(duration_s * SOURCE_RATE)
        while done < total:
            n = min(BLOCK_S * SOURCE_RATE, total - done)
            block = np.zeros((n, channels), dtype=np.int16)
            block[::SOURCE_RATE * 60] = 328
            out.write(block)
            done += n


def run_case(path: Path, max_duration_s: float, max_decoded_mb: float | None) -> dict[str, object]:
    budget = "none" if max_decoded_mb is None else str(max_decoded_mb)
    proc = subprocess.run([sys.executable, "-c", CHILD, str(path), str(max_duration_s), budget],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {"growth": -1, "seconds": 0.0, "outcome": f"child failed: {proc.stderr.strip().splitlines()[-1:]}"}
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--durations", default="600,3600,14400", help="seconds, comma-separated")
    parser.add_argument("--channels", default="1,2")
    parser.add_argument("--max-decoded-mb", type=float, default=256.0)
    parser.add_argument("--max-duration-s", type=float, default=4 * 3600.0)
    parser.add_argument("--no-limit", action="store_true", help="no decoded-size budget (the old behaviour)")
    args = parser.parse_args()
    budget = None if args.no_limit else args.max_decoded_mb
    print(f"peak RSS growth of decode + gate + VAD (Pipeline.transcribe, stub ASR), {SOURCE_RATE} Hz FLAC of "
          f"near-silence; max_audio_duration_s={args.max_duration_s:g}, "
          f"max_decoded_mb={'none' if budget is None else f'{budget:g}'}")
    print(f"{'duration':>9} {'ch':>3} {'file MB':>8} {'decoded MB':>11} {'peak growth MB':>15} {'s':>6}  outcome")
    with tempfile.TemporaryDirectory() as tmp:
        for duration in (float(d) for d in args.durations.split(",")):
            for channels in (int(c) for c in args.channels.split(",")):
                path = Path(tmp) / f"silent_{int(duration)}_{channels}.flac"
                make_flac(path, duration, channels)
                decoded_mb = duration * channels * 16000 * 4 / 2**20
                r = run_case(path, args.max_duration_s, budget)
                growth = float(r["growth"]) / 2**20  # type: ignore[arg-type]
                print(f"{duration / 60:>7.0f}m {channels:>3} {path.stat().st_size / 2**20:>8.2f} {decoded_mb:>11.0f} "
                      f"{growth:>15.0f} {float(r['seconds']):>6.1f}  {r['outcome']}")  # type: ignore[arg-type]
                path.unlink()


if __name__ == "__main__":
    main()
