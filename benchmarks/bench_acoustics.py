"""Acoustic cues: detection agreement on labelled test audio, plausibility on real stereo calls, cost.

1. Labelled calls: turns cut from the repo's own synthetic stereo calls (tests/data/call_{en,zh}_stereo.flac,
   their scripts give each turn's channel and times) are laid out anew with known agent-started overtalk
   (an agent turn starts 0.8-2.5 s before the customer's ends) and known raised voice (+9..14 dB on 2.5-4 s of
   an agent turn), random channel levels and -26 dB echo. Speech times come from the pipeline's own VAD path
   (gate -> Silero VAD -> bleed), not from the labels. Agreement = per call, the standard packs' decisions
   (``agent_overtalk``, ``raised_voice``) equal the labels; span recall/precision too.
2. Real calls (``--real DIR``, e.g. ../shared/eval/audio_en/spokenwoz_stereo_calls): their reference turn times
   as utterances; prints overtalk counts, raised-voice spans and the cost per audio minute.
3. Rule cost: both rules on an 80-utterance five-minute call, with and without acoustics.

    .venv/bin/python benchmarks/bench_acoustics.py [--calls 60] [--real DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import time
import timeit
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from qa_engine.acoustics import measure_acoustics, raised_spans
from qa_engine.audio import channel_energy_db, load_audio
from qa_engine.channels import drop_bleed, gate_crosstalk
from qa_engine.rules import load_pack
from qa_engine.rules.checks.overtalk import OvertalkParams
from qa_engine.rules.checks.raised_voice import RaisedVoiceParams
from qa_engine.rules.context import CallContext
from qa_engine.types import Transcript, Utterance
from qa_engine.vad import SAMPLE_RATE, detect_speech_channels

REPO = Path(__file__).resolve().parents[1]
FRAME_S = 0.03


def _turns(name: str) -> tuple[np.ndarray, list[dict[str, Any]]]:
    audio = load_audio(REPO / "tests" / "data" / f"{name}.flac")
    expected = json.loads((REPO / "tests" / "data" / f"{name}.expected.json").read_text(encoding="utf-8"))
    return audio.samples, expected["turns"]


def _trim(audio: np.ndarray, floor_db: float = -45.0) -> np.ndarray:
    """The turn without its leading/trailing silence, so labelled overlaps are overlapping *speech*."""
    loud = np.flatnonzero(np.abs(audio) > 10 ** (floor_db / 20))
    return audio[loud[0]:loud[-1] + 1] if loud.size else audio


def _db(rows: np.ndarray) -> np.ndarray:
    return 10 * np.log10(np.maximum(np.mean(rows.astype(np.float64) ** 2, axis=1), 1e-12))


def labelled_call(rng: random.Random, source: tuple[np.ndarray, list[dict[str, Any]]]) -> dict[str, Any]:
    """One generated stereo call (agent on channel 1) with its labels."""
    samples, turns = source
    pieces = [(t["role"], _trim(samples[t["channel"], int(t["start"] * SAMPLE_RATE):int(t["end"] * SAMPLE_RATE)]))
              for t in turns]
    rng.shuffle(pieces)
    pieces += [p for p in pieces if p[0] == "agent"][:2]  # longer calls, more agent turns
    overtalk_wanted = rng.random() < 0.5
    raised_wanted = rng.random() < 0.5
    layout, t, prev = [], 0.5, None
    for role, audio in pieces:
        start = t
        cut = rng.uniform(0.8, 2.0)
        if (overtalk_wanted and role == "agent" and prev is not None and prev[0] == "customer"
                and prev[2] - prev[1] > cut + 0.5 and rng.random() < 0.9):
            start = prev[2] - cut  # the agent cuts in before the customer is done
        layout.append((role, start, audio))
        end = start + audio.size / SAMPLE_RATE
        prev, t = (role, start, end), max(t, end) + rng.uniform(0.3, 1.2)
    length = int((t + 1.0) * SAMPLE_RATE)
    x = np.zeros((2, length), dtype=np.float32)
    for role, start, audio in layout:
        i = int(start * SAMPLE_RATE)
        x[1 if role == "agent" else 0, i:i + audio.size] += audio
    raised: list[tuple[float, float]] = []
    agent_long = [(s, s + a.size / SAMPLE_RATE) for r, s, a in layout if r == "agent" and a.size > 5 * SAMPLE_RATE]
    if raised_wanted and agent_long:
        s, e = rng.choice(agent_long)
        r0 = rng.uniform(s + 0.2, max(s + 0.2, e - 5.0))
        r1 = min(e - 0.1, r0 + rng.uniform(3.0, 5.0))
        # the label's own measure: the stretch's RMS ends up 10-14 dB above the median 0.5 s RMS of the agent's turns
        agent_turns = np.concatenate([a for r, _, a in layout if r == "agent"])
        steps = agent_turns[:agent_turns.size // 4000 * 4000].reshape(-1, 4000)
        median_db = float(np.median(_db(steps)))
        segment = x[1, int(r0 * SAMPLE_RATE):int(r1 * SAMPLE_RATE)]
        gain = rng.uniform(10.0, 14.0) - (float(_db(segment[None, :])[0]) - median_db)
        segment *= 10 ** (gain / 20)
        raised.append((r0, r1))
    for ch in (0, 1):
        x[ch] *= 10 ** (rng.uniform(-10, 5) / 20)
    x += x[::-1] * 10 ** (-26 / 20)
    x += np.random.default_rng(rng.randrange(1 << 30)).standard_normal(x.shape).astype(np.float32) * 3e-4
    peak = float(np.abs(x).max())
    if peak > 0.99:
        x *= 0.99 / peak
    overtalk = []
    ordered = sorted(layout, key=lambda p: p[1])
    for k, (role, start, audio) in enumerate(ordered):
        for other_role, other_start, other_audio in ordered[:k]:
            other_end = other_start + other_audio.size / SAMPLE_RATE
            if role == "agent" and other_role == "customer" and start < other_end - 0.5:
                overtalk.append((start, min(other_end, start + audio.size / SAMPLE_RATE)))
    return {"samples": x, "overtalk": overtalk, "raised": raised}


def transcript_from_vad(samples: np.ndarray, language: str) -> tuple[Transcript, np.ndarray]:
    """Utterances where the pipeline's VAD path finds speech (gate -> VAD -> bleed), agent on channel 1."""
    energy = channel_energy_db(samples, SAMPLE_RATE, FRAME_S)
    gated = gate_crosstalk(samples, energy, FRAME_S, SAMPLE_RATE, below_db=20.0)
    spans = drop_bleed(detect_speech_channels(gated), energy, FRAME_S).kept
    utts = sorted((Utterance(s.start, s.end, "agent" if ch == 1 else "customer", "x", channel=ch)
                   for ch, ss in spans.items() for s in ss), key=lambda u: u.start)
    return Transcript("bench", language, samples.shape[1] / SAMPLE_RATE, tuple(utts), agent_channel=1), energy


def _hit(span: tuple[float, float], found: list[tuple[float, float]]) -> bool:
    return any(min(span[1], e) - max(span[0], s) > 0.3 * (span[1] - span[0]) for s, e in found)


def run_labelled(n_calls: int) -> None:
    rng = random.Random(7)
    sources = {"en": _turns("call_en_stereo"), "zh": _turns("call_zh_stereo")}
    packs = {"en": load_pack("en"), "zh": load_pack("zh-CN")}
    agree = {"agent_overtalk": 0, "raised_voice": 0}
    recall = {"overtalk": [0, 0], "raised": [0, 0]}
    false_pos = {"overtalk": [0, 0], "raised": [0, 0]}
    cost, minutes = 0.0, 0.0
    for k in range(n_calls):
        language = "en" if k % 2 == 0 else "zh"
        call = labelled_call(rng, sources[language])
        transcript, energy = transcript_from_vad(call["samples"], language)
        t0 = time.perf_counter()
        energy = channel_energy_db(call["samples"], SAMPLE_RATE, FRAME_S)
        ac = measure_acoustics(energy, FRAME_S, transcript)
        cost += time.perf_counter() - t0
        minutes += transcript.duration / 60
        transcript = replace(transcript, acoustics=ac)
        findings = {f.rule_id: f for f in packs[language].run(transcript)}
        over = findings["agent_overtalk"]
        checks = {c.rule.id: c.params for c in packs[language].checks}
        over_p, raised_p = checks["agent_overtalk"], checks["raised_voice"]
        assert isinstance(over_p, OvertalkParams) and isinstance(raised_p, RaisedVoiceParams)
        limit_count, limit_total = over_p.max_count, over_p.max_total_s
        total = sum(e - s for s, e in call["overtalk"])
        expect_over = "fail" if len(call["overtalk"]) > limit_count or total > limit_total else "pass"
        agree["agent_overtalk"] += over.status == expect_over
        expect_raised = "fail" if call["raised"] else "pass"
        agree["raised_voice"] += findings["raised_voice"].status == expect_raised
        found_over = [(s.start, s.end) for s in ac.overtalk if s.started_by == "agent" and s.duration >= 0.5]
        track = ac.track("agent")
        found_raised = [(s.start, s.end) for s in raised_spans(track, raised_p.min_db_above,
                                                               raised_p.min_duration_s)] if track else []
        pairs = (("overtalk", call["overtalk"], found_over), ("raised", call["raised"], found_raised))
        for key, labels, found in pairs:
            recall[key][0] += sum(_hit(s, found) for s in labels)
            recall[key][1] += len(labels)
            false_pos[key][0] += sum(not _hit(s, labels) for s in found)
            false_pos[key][1] += len(found)
    print(f"## Labelled test audio ({n_calls} calls, {minutes:.1f} audio min, en+zh)\n")
    print("| measure | value |\n|---|---|")
    for rule_id, n in agree.items():
        print(f"| `{rule_id}` decision agrees with the label | {n}/{n_calls} = {100 * n / n_calls:.1f}% |")
    for key in ("overtalk", "raised"):
        hit, total = recall[key]
        extra, detected = false_pos[key]
        print(f"| {key} spans found (recall) | {hit}/{total} |")
        print(f"| {key} spans detected but not labelled | {extra}/{detected} |")
    print(f"| measure_acoustics (energy + cues) per audio minute | {1000 * cost / minutes:.1f} ms |\n")


def _speaker_turns(path: Path) -> list[Utterance]:
    utts = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        utts.append(Utterance(row["start"], row["end"], row["speaker"], row["text"], channel=row["channel"]))
    return sorted(utts, key=lambda u: u.start)


def run_real(folder: Path) -> None:
    print(f"## Real stereo calls ({folder.name}; reference turn times as utterances)\n")
    print("| call | min | overtalk (agent/customer started) | agent overtalk s | raised agent spans (6 dB, 2 s) "
          "| raised customer | agent median dBFS | non-talk s | ms per audio min |")
    print("|---|---|---|---|---|---|---|---|---|")
    for wav in sorted((folder / "audio").glob("*.wav")):
        turns = folder / "derived" / f"{wav.stem}.turns.jsonl"
        if not turns.exists():
            continue
        audio = load_audio(wav)
        utts = _speaker_turns(turns)
        agent_ch = next(u.channel for u in utts if u.role == "agent")
        transcript = Transcript(wav.stem, "en", audio.duration, tuple(utts), agent_channel=agent_ch)
        t0 = time.perf_counter()
        energy = channel_energy_db(audio.samples, audio.sample_rate, FRAME_S)
        ac = measure_acoustics(energy, FRAME_S, transcript)
        ms = 1000 * (time.perf_counter() - t0) / (audio.duration / 60)
        by_agent = [s for s in ac.overtalk if s.started_by == "agent"]
        agent, customer = ac.track("agent"), ac.track("customer")
        ra = raised_spans(agent) if agent else []
        rc = raised_spans(customer) if customer else []
        print(f"| {wav.stem} | {audio.duration / 60:.1f} | {len(by_agent)}/{len(ac.overtalk) - len(by_agent)} | "
              f"{sum(s.duration for s in by_agent):.1f} | {len(ra)} {[(s.start, s.end, s.db_above_median) for s in ra]}"
              f" | {len(rc)} | {agent.median_dbfs if agent else '-'} | {ac.non_talk_s} | {ms:.1f} |")
    print()


def run_rule_cost() -> None:
    """Both rules on an 80-utterance five-minute call (the throughput target's call), per call."""
    rng = random.Random(3)
    utts, t = [], 0.5
    for k in range(80):
        dur = rng.uniform(1.0, 5.0)
        role = "agent" if k % 2 == 0 else "customer"
        start = t - (rng.uniform(0.2, 1.5) if rng.random() < 0.15 else 0.0)
        utts.append(Utterance(start, start + dur, role, "hello there"))  # type: ignore[arg-type]
        t = start + dur + rng.uniform(0.2, 1.0)
    transcript = Transcript("bench", "en", 300.0, tuple(sorted(utts, key=lambda u: u.start)), agent_channel=1)
    energy = np.random.default_rng(1).normal(-30, 6, size=(int(300 / FRAME_S), 2)).astype(np.float32)
    with_audio = replace(transcript, acoustics=measure_acoustics(energy, FRAME_S, transcript))
    pack = load_pack("en")
    checks = {c.rule.id: c for c in pack.checks if c.rule.id in ("agent_overtalk", "raised_voice")}
    print("## Rule cost (80-utterance five-minute call, one core; best of 7 x 1000 runs)\n")
    print("| rule | transcript only | with acoustics |\n|---|---|---|")
    for rule_id, check in checks.items():
        row = []
        for tr in (transcript, with_audio):
            ctx = CallContext(tr, pack.book, tr.language)
            best = min(timeit.repeat(lambda c=check, x=ctx: c.run(x), number=1000, repeat=7)) / 1000  # type: ignore[misc]
            row.append(f"{1e6 * best:.1f} µs")
        print(f"| `{rule_id}` | {row[0]} | {row[1]} |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--real", type=Path, default=None)
    args = parser.parse_args()
    run_labelled(args.calls)
    if args.real is not None:
        run_real(args.real)
    run_rule_cost()


if __name__ == "__main__":
    main()
