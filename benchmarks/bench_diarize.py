"""Diarization of mono calls: DER (0.25 s collar) of the built-in diarizer vs an MFCC baseline, and roles.

Data (read in place from ../shared/eval, never copied): the six real SpokenWOZ stereo calls mixed
down to mono (references: derived/*.rttm), the pyannote 2-speaker telephone sample, the AMI clips
(4 speakers, overlap). Both systems share VAD, windows, clustering and smoothing; only the window
embedding differs (d-vector ONNX vs MFCC mean/std). With ``--roles`` each mixed-down call is also
scored through the pipeline: agent speaker right?, share of reference agent words labelled agent,
and greeting/closing findings compared with the stereo original's.

    .venv/bin/python benchmarks/bench_diarize.py [--eval DIR] [--roles] [--out FILE]
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from qa_engine.diarize import DiarizationError, DiarizationOptions, diarization_error, read_rttm
from qa_engine.diarize.builtin import BuiltinDiarizer
from qa_engine.diarize.embedder import MfccEmbedder

DEFAULT_EVAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "eval"
CALLS = ("MUL1423", "SNG0072", "SNG0480", "SNG0696", "SNG1263", "SNG1640")


def mono_16k(path: Path) -> np.ndarray:
    x, sr = sf.read(path, dtype="float32", always_2d=True)
    return soxr.resample(x.mean(axis=1), sr, 16000).astype(np.float32)


def items(root: Path) -> list[tuple[str, str, Path, list, int | None]]:
    """(group, id, audio, reference segments, speakers given to the diarizer)."""
    out = []
    calls = root / "audio_en" / "spokenwoz_stereo_calls"
    for c in CALLS:
        ref = read_rttm(calls / "derived" / f"{c}.rttm")[c]
        out.append(("spokenwoz mono", c, calls / "audio" / f"{c}.wav", ref, 2))
    s = root / "audio_en" / "pyannote_sample_2spk"
    out.append(("pyannote 2spk", "sample", s / "sample.wav", read_rttm(s / "sample.rttm")["sample"], 2))
    m = root / "audio_en" / "ami_mixture_4spk"
    out.append(("AMI 4spk", "mixture", m / "mixture.wav", read_rttm(m / "mixture.rttm")["mixture"], 4))
    a = root / "audio_en" / "ami_debug_30s"
    refs = {**read_rttm(a / "debug.development.rttm"), **read_rttm(a / "debug.test.rttm")}
    for f in ("dev00", "dev01", "tst00", "tst01"):
        if f in refs:
            out.append(("AMI 30s", f, a / f"{f}.wav", refs[f], len({seg[2] for seg in refs[f]})))
    return out


def run_der(root: Path) -> tuple[list[str], dict[str, list[float]]]:
    systems = {"dvector": BuiltinDiarizer(), "mfcc": BuiltinDiarizer(embedder=MfccEmbedder())}
    rows = ["| set | file | ref spk | dvector DER % (miss/fa/conf) | spk | mfcc DER % | spk | dvector s |",
            "|---|---|---:|---:|---:|---:|---:|---:|"]
    per_group: dict[str, list[float]] = {}
    for group, name, path, ref, speakers in items(root):
        x = mono_16k(path)
        cells: list[str] = []
        dv_time = 0.0
        for sys_name, base in systems.items():
            d = BuiltinDiarizer(DiarizationOptions(speakers=speakers), embedder=base.embedder)
            t0 = time.perf_counter()
            try:
                res = d(x, name)
            except DiarizationError as exc:
                cells += [f"error: {exc}", "-"]
                continue
            took = time.perf_counter() - t0
            der = diarization_error(ref, [(t.start, t.end, t.speaker) for t in res.turns], collar=0.25)
            per_group.setdefault(f"{group} {sys_name}", []).append(der.der)
            detail = f" ({100 * der.missed / der.total:.1f}/{100 * der.false_alarm / der.total:.1f}/" \
                     f"{100 * der.confusion / der.total:.1f})" if sys_name == "dvector" else ""
            cells += [f"{100 * der.der:.1f}{detail}", str(res.speakers)]
            if sys_name == "dvector":
                dv_time = took
        rows.append(f"| {group} | {name} | {len({s[2] for s in ref})} | " + " | ".join(cells) + f" | {dv_time:.1f} |")
    return rows, per_group


def run_roles(root: Path) -> list[str]:
    from qa_engine.pipeline import CallInput, Pipeline, PipelineOptions

    pipe = Pipeline(PipelineOptions(language="en"))
    calls = root / "audio_en" / "spokenwoz_stereo_calls"
    rows = ["| call | agent speaker | confidence | role right | agent words labelled agent | all words right role |"
            " greeting mono/stereo | closing mono/stereo |", "|---|---|---:|---|---:|---:|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for c in CALLS:
            wav = calls / "audio" / f"{c}.wav"
            x, sr = sf.read(wav, dtype="float32", always_2d=True)
            mono = Path(tmp) / f"{c}.wav"
            sf.write(mono, x.mean(axis=1), sr, subtype="PCM_16")
            ref = read_rttm(calls / "derived" / f"{c}.rttm")[c]
            m_rep, s_rep = pipe.score(CallInput(mono, call_id=c)), pipe.score(CallInput(wav, call_id=c))
            words = [(w, u.role) for u in m_rep.transcript.utterances for w in u.words]
            right = agent_total = agent_right = total = customer_total = customer_right = 0
            for w, role in words:
                mid = (w.start + w.end) / 2
                truth = {s[2] for s in ref if s[0] <= mid <= s[1]}
                if len(truth) != 1:
                    continue
                total += 1
                right += role in truth
                if "agent" in truth:
                    agent_total += 1
                    agent_right += role == "agent"
                else:
                    customer_total += 1
                    customer_right += role == "customer"
            # the agent speaker is right when most of each party's words carry that party's role
            role_right = agent_right > agent_total / 2 and customer_right > customer_total / 2
            mono_status = {f.rule_id: f.status for f in m_rep.findings}
            stereo_status = {f.rule_id: f.status for f in s_rep.findings}
            rows.append(f"| {c} | {m_rep.transcript.agent_speaker} | {m_rep.transcript.agent_confidence} | "
                        f"{'yes' if role_right else 'NO'} | "
                        f"{100 * agent_right / max(agent_total, 1):.1f}% | {100 * right / max(total, 1):.1f}% | "
                        f"{mono_status.get('greeting')}/{stereo_status.get('greeting')} | "
                        f"{mono_status.get('closing')}/{stereo_status.get('closing')} |")
            print(rows[-1], file=sys.stderr)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eval", type=Path, default=DEFAULT_EVAL)
    ap.add_argument("--roles", action="store_true", help="also transcribe and score (Whisper base; minutes on CPU)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    if not (args.eval / "MANIFEST.md").exists():
        sys.exit(f"no evaluation data at {args.eval}")
    der_rows, groups = run_der(args.eval)
    summary = ["| set + system | mean DER % |", "|---|---:|"]
    summary += [f"| {g} | {100 * float(np.mean(v)):.1f} |" for g, v in groups.items()]
    lines = [f"# Diarization benchmark {dt.date.today()}", "",
             f"Machine: {platform.machine()}, {platform.processor() or platform.system()}; CPU, onnxruntime 1 thread.",
             "DER with a 0.25 s collar, overlap scored (a single-speaker system misses overlapped speech); "
             "the reference speaker count is given to both systems (the built-in estimate is weak on AMI).",
             "", *summary, "", *der_rows]
    if args.roles:
        lines += ["", "## Roles on the mixed-down SpokenWOZ calls (pipeline, Whisper base, CPU)", "",
                  *run_roles(args.eval)]
    text = "\n".join(lines) + "\n"
    print(text)
    out = args.out or Path(__file__).parent / "results" / f"diarize_{dt.date.today()}.md"
    out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
