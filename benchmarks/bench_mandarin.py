"""Mandarin accuracy and speed: the pipeline vs plain faster-whisper, in one run (issue #17).

Plain = ``WhisperModel.transcribe(path, language="zh", beam_size=1, vad_filter=True, word_timestamps=True)``
per file, with the model loaded by :func:`qa_engine.asr.load_whisper` (the same bundled weights, device and
threads as the pipeline). Pipeline = ``Pipeline(pipeline_options({"speakers": 1, "language": "zh"}))`` over
every file, one call at a time, as ``qa-engine score FILES --speakers 1 --language zh`` does (transcription
only: the rules take milliseconds and do not change the text).

Both outputs are compared with the same normalisation:
- raw CER: Traditional -> Simplified (:func:`qa_engine.text.to_simplified`), lower case, punctuation and spaces
  removed; every remaining character (Chinese character, Latin letter, digit) is one token.
- normalised CER: :func:`qa_engine.text.normalize` on both sides as well (full/half width, Chinese numerals ->
  digits: 四千九百八 = 4980), so "四千九百八" vs "4980" or "ＶＩＰ" vs "vip" is not an error.
CER = all character edits / all reference characters (pooled over the set).

Timing: the systems are run interleaved, file by file (plain, then each pipeline configuration), so a busy
machine slows all of them alike; RTF = processing seconds / audio seconds.

Ablations: ``--config NAME`` (repeatable) picks configurations from :data:`CONFIGS` (or ``key=value,...`` with
keys ``asr.<AsrOptions field>``, ``vad.<VadOptions field>``, ``pipe.<PipelineOptions field>``).

    .venv/bin/python benchmarks/bench_mandarin.py [--sets magicdata_cs_8k,...] [--config default ...]
        [--no-plain] [--limit N] [--out FILE]

Data (read in place, never copied): ../shared/eval/audio_zh/{magicdata_cs_8k,aishell_wenet,firered_examples,
ramc_conversation_clips}; internal evaluation only.
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import json
import os
import platform
import re
import sys
import time
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wer import edit_distance  # noqa: E402

from qa_engine.asr import AsrOptions, Recognizer, load_whisper  # noqa: E402
from qa_engine.pipeline import CallInput, Pipeline, PipelineOptions, pipeline_options  # noqa: E402
from qa_engine.text import normalize, to_simplified  # noqa: E402
from qa_engine.vad import VadOptions  # noqa: E402

EVAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "eval" / "audio_zh"
SETS = ("magicdata_cs_8k", "aishell_wenet", "firered_examples", "ramc_conversation_clips")

#: Named pipeline configurations (changes from the defaults) for ablations.
CONFIGS: dict[str, dict[str, Any]] = {
    "default": {},
}

_STRIP = re.compile(r"[\W_]+", re.UNICODE)


def raw_chars(text: str) -> list[str]:
    return list(_STRIP.sub("", to_simplified(text).lower()))


def norm_chars(text: str) -> list[str]:
    return list(_STRIP.sub("", normalize(text, "zh")))


def load_set(name: str) -> list[tuple[str, Path, str]]:
    """(id, wav path, reference) for one evaluation folder (Kaldi ``text``: ``ID transcript``)."""
    folder = EVAL / name
    if not (folder / "text").is_file():
        return []
    items = []
    for line in (folder / "text").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        uid, _, ref = line.strip().partition(" ") if " " in line.split("\t")[0] else line.strip().partition("\t")
        uid = uid.strip()
        wav = folder / f"{uid}.wav"
        if wav.is_file():
            items.append((uid, wav, ref.strip()))
    return items


def parse_config(spec: str) -> tuple[str, dict[str, Any]]:
    if spec in CONFIGS:
        return spec, CONFIGS[spec]
    changes: dict[str, Any] = {}
    for part in spec.split(","):
        key, _, value = part.partition("=")
        try:
            changes[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            changes[key.strip()] = value.strip()
    return spec, changes


def build_options(changes: dict[str, Any]) -> PipelineOptions:
    base = pipeline_options({"speakers": 1, "language": "zh"})
    asr_fields = {f.name for f in fields(AsrOptions)}
    vad_fields = {f.name for f in fields(VadOptions)}
    asr: dict[str, Any] = {}
    vad: dict[str, Any] = {}
    pipe: dict[str, Any] = {}
    for key, value in changes.items():
        scope, _, name = key.partition(".")
        if scope == "asr" and name in asr_fields:
            asr[name] = value
        elif scope == "vad" and name in vad_fields:
            vad[name] = value
        elif scope == "pipe":
            pipe[name] = value
        else:
            raise SystemExit(f"unknown setting {key!r}")
    return replace(base, asr=replace(base.asr, **asr), vad=replace(base.vad, **vad), **pipe)


def plain(model: Any, path: Path, beam: int = 1) -> tuple[str, float]:
    t = time.perf_counter()
    segments, _ = model.transcribe(str(path), language="zh", beam_size=beam, vad_filter=True, word_timestamps=True)
    text = "".join(s.text for s in segments)
    return text, time.perf_counter() - t


def ours(pipeline: Pipeline, path: Path) -> tuple[str, float]:
    t = time.perf_counter()
    transcript, _ = pipeline.transcribe(CallInput(str(path), language="zh"))
    text = "".join(u.text for u in transcript.utterances)
    return text, time.perf_counter() - t


def duration(path: Path) -> float:
    import soundfile as sf

    return float(sf.info(str(path)).duration)


def score(refs: list[str], hyps: list[str], chars: Any) -> tuple[float, int, int]:
    errors = total = 0
    for r, h in zip(refs, hyps, strict=True):
        rc = chars(r)
        errors += edit_distance(rc, chars(h))
        total += len(rc)
    return errors / max(1, total), errors, total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--config", action="append", default=None, help="named config or key=value,... (repeatable)")
    ap.add_argument("--no-plain", action="store_true", help="skip plain faster-whisper (ablations)")
    ap.add_argument("--plain-beam", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0, help="first N files per set (0: all)")
    ap.add_argument("--out", type=Path, default=None, help="also write the table (markdown) to this file")
    ap.add_argument("--dump", type=Path, default=None, help="write every hypothesis to this JSON file")
    ap.add_argument("--title", default="")
    args = ap.parse_args()
    items: list[tuple[str, str, Path, str]] = []
    for name in args.sets.split(","):
        found = load_set(name)
        items += [(name, uid, wav, ref) for uid, wav, ref in (found[: args.limit] if args.limit else found)]
    if not items:
        print(f"no Mandarin evaluation audio under {EVAL}; nothing to measure")
        return 0
    configs = [parse_config(c) for c in (args.config or ["default"])]
    pipelines = []
    model = None
    for name, changes in configs:
        options = build_options(changes)
        if model is None:
            model = load_whisper(options.asr)
        pipelines.append((name, Pipeline(options, recognizer=Recognizer(options.asr, model))))
    assert model is not None
    systems = ([] if args.no_plain else ["plain"]) + [name for name, _ in pipelines]
    hyps: dict[str, list[str]] = {s: [] for s in systems}
    secs: dict[str, dict[str, float]] = {s: {} for s in systems}
    # warm-up (model, VAD session, opencc) outside the timings
    plain(model, items[0][2])
    for _, p in pipelines:
        ours(p, items[0][2])
    for k, (_, _, wav, _) in enumerate(items):
        order = list(range(len(pipelines)))
        if k % 2:  # alternate the order as well as interleaving
            order.reverse()
        if not args.no_plain and k % 2 == 0:
            text, t = plain(model, wav, args.plain_beam)
            hyps["plain"].append(text)
            secs["plain"][items[k][0]] = secs["plain"].get(items[k][0], 0.0) + t
        for i in order:
            name, p = pipelines[i]
            text, t = ours(p, wav)
            hyps[name].append(text)
            secs[name][items[k][0]] = secs[name].get(items[k][0], 0.0) + t
        if not args.no_plain and k % 2 == 1:
            text, t = plain(model, wav, args.plain_beam)
            hyps["plain"].append(text)
            secs["plain"][items[k][0]] = secs["plain"].get(items[k][0], 0.0) + t
    durs = [duration(wav) for _, _, wav, _ in items]
    set_names = list(dict.fromkeys(s for s, _, _, _ in items))
    lines = [
        f"# Mandarin CER: pipeline vs plain faster-whisper — {dt.date.today()} — {platform.node()} — "
        f"{os.cpu_count()} CPU(s) {args.title}",
        "",
        f"model: {pipelines[0][1].options.asr.model or 'whisper-base (bundled)'}, "
        f"{type(model.model).__name__} on {model.model.device}; plain beam {args.plain_beam}; "
        "systems interleaved file by file (machine shared: compare RTF within this table only).",
        "CER pooled (all edits / all reference characters); raw = t2s + no punctuation/space; "
        "norm = also qa_engine.text.normalize (width, Chinese numerals -> digits).",
        "",
        "| set | files | audio s | system | CER raw | CER norm | RTF | vs plain (CER norm) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    summary: dict[str, dict[str, float]] = {}
    for set_name in [*set_names, "ALL"]:
        idx = [i for i, it in enumerate(items) if set_name in ("ALL", it[0])]
        refs = [items[i][3] for i in idx]
        audio_s = sum(durs[i] for i in idx)
        base = None
        for s in systems:
            hs = [hyps[s][i] for i in idx]
            raw = score(refs, hs, raw_chars)[0]
            nrm = score(refs, hs, norm_chars)[0]
            t = sum(v for k, v in secs[s].items() if set_name in ("ALL", k))
            if s == "plain":
                base = nrm
            rel = f"{nrm / base:.2f}x" if base else "—"
            lines.append(f"| {set_name} | {len(idx)} | {audio_s:.0f} | {s} | {raw:.4f} | {nrm:.4f} | "
                         f"{t / audio_s:.4f} | {rel} |")
            if set_name == "ALL":
                summary[s] = {"cer_raw": raw, "cer_norm": nrm, "rtf": t / audio_s}
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("a", encoding="utf-8") as fh:
            fh.write(table + "\n\n")
    if args.dump:
        args.dump.write_text(json.dumps({"items": [(s, u, r) for s, u, _, r in items], "hyps": hyps,
                                         "summary": summary}, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
