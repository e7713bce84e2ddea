"""Speed and accuracy of the full pipeline vs the naive faster-whisper baseline, in one run.

Baseline (issue #2): plain ``WhisperModel.transcribe`` on each channel, same model and device,
beam 1, vad_filter=True, word_timestamps=True. Both start from the same decoded 16 kHz audio.
Data: the six real SpokenWOZ stereo calls in ../shared/eval (agent on channel 1), read in place.

    .venv/bin/python benchmarks/bench_pipeline.py [--calls DIR] [--repeat N] [--out FILE]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wer import wer, word_errors  # noqa: E402

from qa_engine.asr import AsrOptions, Recognizer  # noqa: E402
from qa_engine.audio import load_audio  # noqa: E402
from qa_engine.pipeline import CallInput, Pipeline, PipelineOptions  # noqa: E402

DEFAULT_CALLS = Path(__file__).resolve().parents[1] / ".." / "shared" / "eval" / "audio_en" / "spokenwoz_stereo_calls"


def baseline(model, audio) -> tuple[dict[int, str], float]:
    t = time.perf_counter()
    texts = {}
    for ch in range(audio.channels):
        segments, _ = model.transcribe(audio.samples[ch], language="en", beam_size=1, vad_filter=True,
                                       word_timestamps=True)
        texts[ch] = " ".join(s.text.strip() for s in segments)
    return texts, time.perf_counter() - t


def ours(pipeline: Pipeline, audio) -> tuple[dict[str, str], int | None, float]:
    t = time.perf_counter()
    transcript, _ = pipeline.transcribe(CallInput(audio, language="en"))
    elapsed = time.perf_counter() - t
    by_role = {r: " ".join(u.text for u in transcript.by_role(r)) for r in ("agent", "customer")}  # type: ignore[arg-type]
    return by_role, transcript.agent_channel, elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=Path, default=DEFAULT_CALLS)
    ap.add_argument("--repeat", type=int, default=1, help="timing repeats (best of N)")
    ap.add_argument("--out", type=Path, default=None, help="also write the table to this file")
    args = ap.parse_args()
    audio_dir = args.calls / "audio"
    if not audio_dir.is_dir():
        print(f"no evaluation calls at {audio_dir}; nothing to measure")
        return 0
    pipeline = Pipeline(PipelineOptions(asr=AsrOptions(), language="en"))
    recognizer: Recognizer = pipeline.recognizer
    model = recognizer.model
    opts = pipeline.recognizer.options
    rows = []
    files = sorted(audio_dir.glob("*.wav"))
    warm = load_audio(files[0])
    baseline(model, warm)
    ours(pipeline, warm)
    for f in files:
        audio = load_audio(f)
        ref_agent = (args.calls / "derived" / f"{f.stem}.ch1.agent.txt").read_text()
        ref_cust = (args.calls / "derived" / f"{f.stem}.ch0.customer.txt").read_text()
        tb = to = float("inf")
        for _ in range(args.repeat):
            btexts, t1 = baseline(model, audio)
            otexts, agent_ch, t2 = ours(pipeline, audio)
            tb, to = min(tb, t1), min(to, t2)
        rows.append(dict(call=f.stem, dur=audio.duration, tb=tb, to=to,
                         wb_a=wer(ref_agent, btexts[1]), wb_c=wer(ref_cust, btexts[0]),
                         wo_a=wer(ref_agent, otexts["agent"]), wo_c=wer(ref_cust, otexts["customer"]),
                         eb_a=word_errors(ref_agent, btexts[1]), eb_c=word_errors(ref_cust, btexts[0]),
                         eo_a=word_errors(ref_agent, otexts["agent"]), eo_c=word_errors(ref_cust, otexts["customer"]),
                         agent_ok=agent_ch == 1))
    lines = [
        f"# pipeline vs baseline — {dt.date.today()} — {platform.node()} — {os.cpu_count()} CPU(s)",
        f"model: {opts.model or 'whisper-base (bundled)'}, device {opts.device}; ours beam {opts.beam_size}, "
        "baseline beam 1; RTF = processing seconds / call seconds (both channels); "
        f"best of {args.repeat} timing run(s)",
        f"ours: window {opts.window_s} s, lead {opts.lead_s} s, gap {opts.gap_s} s, batch {opts.batch_size}; "
        f"VAD pad {pipeline.options.vad.speech_pad_ms} ms, min silence {pipeline.options.vad.min_silence_ms} ms",
        "",
        "| call | dur s | baseline RTF | ours RTF | speed-up | agent WER base/ours | customer WER base/ours "
        "| agent ch detected |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['call']} | {r['dur']:.0f} | {r['tb'] / r['dur']:.4f} | {r['to'] / r['dur']:.4f} | "
            f"{r['tb'] / r['to']:.2f}x | {r['wb_a']:.3f} / {r['wo_a']:.3f} | "
            f"{r['wb_c']:.3f} / {r['wo_c']:.3f} | {'yes' if r['agent_ok'] else 'NO'} |")
    n = len(rows)
    tot_d = sum(r["dur"] for r in rows)
    tot_b = sum(r["tb"] for r in rows)
    tot_o = sum(r["to"] for r in rows)
    mean = lambda k: sum(r[k] for r in rows) / n  # noqa: E731
    lines.append(f"| **all** | {tot_d:.0f} | {tot_b / tot_d:.4f} | {tot_o / tot_d:.4f} | **{tot_b / tot_o:.2f}x** | "
                 f"{mean('wb_a'):.3f} / {mean('wo_a'):.3f} | {mean('wb_c'):.3f} / {mean('wo_c'):.3f} | "
                 f"{sum(r['agent_ok'] for r in rows)}/{n} |")
    pooled = lambda k: sum(r[k][0] for r in rows) / max(1, sum(r[k][1] for r in rows))  # noqa: E731
    lines.append(f"| pooled WER (all words) | | | | | {pooled('eb_a'):.3f} / {pooled('eo_a'):.3f} | "
                 f"{pooled('eb_c'):.3f} / {pooled('eo_c'):.3f} | |")
    lines.append("")
    lines.append("WER per role: mean of the per-call WERs (the target's measure); the pooled line divides all word "
                 "errors by all reference words.")
    lines.append("Target (issue #2): speed-up >= 1.5x with per-role WER no worse than the baseline.")
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.write_text(table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
