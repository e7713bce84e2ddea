"""Diarization of mono calls: DER (0.25 s collar) of the built-in diarizer vs an MFCC baseline, and roles.

Data (read in place from ../shared/eval, never copied): the six real SpokenWOZ stereo calls mixed
down to mono (references: derived/*.rttm), the pyannote 2-speaker telephone sample, the AMI clips
(4 speakers, overlap). Both systems share VAD, windows, clustering and smoothing; only the window
embedding differs (d-vector ONNX vs MFCC mean/std). With ``--roles`` each mixed-down call is also
scored through the pipeline: agent speaker right?, share of reference agent words labelled agent,
and greeting/closing findings compared with the stereo original's. The one-speaker table runs the
default diarizer (2 speakers, checks on) on two-voice files (which must pass) and one-voice files
(which must raise OneSpeakerError): each SpokenWOZ channel alone, one TTS voice reading both parties
of the test calls, and short single-speaker clips from the evaluation set.

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

from qa_engine.diarize import DiarizationError, DiarizationOptions, OneSpeakerError, diarization_error, read_rttm
from qa_engine.diarize.builtin import BuiltinDiarizer
from qa_engine.diarize.embedder import MfccEmbedder

DEFAULT_EVAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "eval"
CALLS = ("MUL1423", "SNG0072", "SNG0480", "SNG0696", "SNG1263", "SNG1640")


def mono_16k(path: Path) -> np.ndarray:
    x, sr = sf.read(path, dtype="float32", always_2d=True)
    return soxr.resample(x.mean(axis=1), sr, 16000).astype(np.float32)


def items(root: Path) -> list[tuple[str, str, Path, list, int | None]]:
    """(group, id, audio, reference segments, speakers given to the diarizer)."""
    out: list[tuple[str, str, Path, list, int | None]] = []
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
    # the one-speaker check is off here (it has its own table): DER of every file, meetings included
    off = DiarizationOptions(min_voice_evidence=None)
    systems = {"dvector": BuiltinDiarizer(off), "mfcc": BuiltinDiarizer(off, embedder=MfccEmbedder())}
    rows = ["| set | file | ref spk | dvector DER % (miss/fa/conf) | spk | mfcc DER % | spk | dvector s |",
            "|---|---|---:|---:|---:|---:|---:|---:|"]
    per_group: dict[str, list[float]] = {}
    for group, name, path, ref, speakers in items(root):
        x = mono_16k(path)
        cells: list[str] = []
        dv_time = 0.0
        for sys_name, base in systems.items():
            d = BuiltinDiarizer(DiarizationOptions(speakers=speakers, min_voice_evidence=None), embedder=base.embedder)
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


def _one_voice_tts() -> list[tuple[str, np.ndarray]]:
    """The shipped test calls' scripts read by one voice each (scripts/make_test_audio.py), 16 kHz."""
    import dataclasses
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "scripts" / "make_test_audio.py"
    spec = importlib.util.spec_from_file_location("make_test_audio", path)
    assert spec and spec.loader
    mta = importlib.util.module_from_spec(spec)
    sys.modules["make_test_audio"] = mta
    spec.loader.exec_module(mta)
    out = []
    for call in (mta.EN, mta.ZH):
        for role, voice in call.voices.items():
            one = dataclasses.replace(call, voices={r: voice for r in call.voices}, turns=tuple(
                dataclasses.replace(t, gap_s=max(t.gap_s, 0.45)) for t in call.turns))
            _, mono, _ = mta.build(one)
            out.append((f"{call.language} script, {role} voice ({voice.label}) reads both",
                        soxr.resample(mono, mta.SR, 16000).astype(np.float32)))
    return out


def run_one_speaker(root: Path) -> list[str]:
    """Decision of the default diarizer (2 speakers asked) on files with two voices and with one."""
    calls = root / "audio_en" / "spokenwoz_stereo_calls" / "audio"
    tests = Path(__file__).resolve().parents[1] / "tests" / "data"
    cases: list[tuple[str, str, int, np.ndarray]] = []
    for c in CALLS:
        cases.append(("spokenwoz mono", c, 2, mono_16k(calls / f"{c}.wav")))
    cases.append(("pyannote 2spk", "sample", 2, mono_16k(root / "audio_en" / "pyannote_sample_2spk" / "sample.wav")))
    cases.append(("test call", "call_en_mono", 2, mono_16k(tests / "call_en_mono.wav")))
    cases.append(("test call", "call_zh_stereo mixed", 2, mono_16k(tests / "call_zh_stereo.flac")))
    for f in ("dev00", "dev01"):
        cases.append(("AMI 30s (meeting)", f, 2, mono_16k(root / "audio_en" / "ami_debug_30s" / f"{f}.wav")))
    for c in CALLS:
        x, sr = sf.read(calls / f"{c}.wav", dtype="float32", always_2d=True)
        for ch, who in ((0, "customer"), (1, "agent")):
            cases.append(("spokenwoz one channel", f"{c} ch{ch} ({who})", 1,
                          soxr.resample(x[:, ch], sr, 16000).astype(np.float32)))
    for name, x in _one_voice_tts():
        cases.append(("one TTS voice", name, 1, x))
    clips = [root / "audio_en" / "librispeech_wenet" / "librispeech-1995-1837-0001.wav",
             root / "audio_en" / "faster_whisper" / "jfk.flac",
             root / "audio_zh" / "aishell_wenet" / "aishell-BAC009S0724W0121.wav",
             *sorted((root / "audio_zh" / "firered_examples").glob("*.wav")),
             *sorted((root / "audio_zh" / "ramc_conversation_clips").glob("*.wav"))]
    for clip in clips:
        cases.append(("short clip", clip.stem, 1, mono_16k(clip)))
    diarizer = BuiltinDiarizer()
    rows = ["| set | file | voices | audio s | two-voice evidence | decision | right |",
            "|---|---|---:|---:|---:|---|---|"]
    for group, name, voices, x in cases:
        evidence: float | None = None
        try:
            res = diarizer(x, name)
            decision, evidence = f"{res.speakers} speakers", res.voice_evidence
        except OneSpeakerError as exc:
            decision, evidence = "one speaker: " + str(exc).split(" heard (", 1)[-1].split(");", 1)[0], exc.evidence
        except DiarizationError as exc:
            decision = f"error: {exc}"
        right = (voices == 1) == decision.startswith("one speaker")
        score = "-" if evidence is None else f"{evidence:.2f}"
        rows.append(f"| {group} | {name} | {voices} | {len(x) / 16000:.1f} | {score} | {decision} | "
                    f"{'yes' if right else 'NO'} |")
    return rows


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
    ap.add_argument("--no-one-speaker", action="store_true", help="skip the one-speaker detection table")
    args = ap.parse_args()
    if not (args.eval / "MANIFEST.md").exists():
        sys.exit(f"no evaluation data at {args.eval}")
    der_rows, groups = run_der(args.eval)
    summary = ["| set + system | mean DER % |", "|---|---:|"]
    summary += [f"| {g} | {100 * float(np.mean(v)):.1f} |" for g, v in groups.items()]
    lines = [f"# Diarization benchmark {dt.date.today()}", "",
             f"Machine: {platform.machine()}, {platform.processor() or platform.system()}; CPU, onnxruntime 1 thread.",
             "DER with a 0.25 s collar, overlap scored (a single-speaker system misses overlapped speech); "
             "the reference speaker count is given to both systems (the built-in estimate is weak on AMI); "
             "the one-speaker check is off for this table.",
             "", *summary, "", *der_rows]
    if not args.no_one_speaker:
        lines += ["", "## One-speaker detection (default diarizer, 2 speakers asked; bar: evidence 0.80, drift 0.35)",
                  "", "Evidence = persistence of the split 1 s apart + silhouette (qa_engine/diarize/voices.py). "
                  "'-': not measured (fewer than two clusters).", "", *run_one_speaker(args.eval)]
    if args.roles:
        lines += ["", "## Roles on the mixed-down SpokenWOZ calls (pipeline, Whisper base, CPU)", "",
                  *run_roles(args.eval)]
    text = "\n".join(lines) + "\n"
    print(text)
    out = args.out or Path(__file__).parent / "results" / f"diarize_{dt.date.today()}.md"
    out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
