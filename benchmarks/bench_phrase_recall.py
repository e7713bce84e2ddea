"""Do the zh-CN pack's matchers still catch the stock phrases after ASR? Recall on ASR output vs on the reference.

For each stock phrase of the Mandarin standards (您好 / 欢迎致电 / 很高兴为您服务 → ``greeting``; 请稍等 →
``hold_etiquette`` announce; 久等了 → ``hold_etiquette`` thank; 还有什么需要 → ``offer_further_help``;
对吗 / 对吧 / 是吗 → ``confirm_repeat``; 抱歉 → ``apology_on_complaint`` response) the matcher that is meant to
catch it runs on one utterance at a time, once on the reference text and once on what the pipeline heard.
Per phrase group it prints:

* ``ref``: utterances whose reference the matcher accepts; ``asr``: of those, how many it still accepts on the ASR text
  (recall after ASR = asr / ref);
* ``false``: utterances whose reference the matcher rejects but whose ASR text it accepts (a new false pass).

Material (read at run time, never copied into the repository):

1. **Real speech**: every utterance of ``../shared/eval/audio_zh`` (magicdata_cs_8k: real customer-service lines in the
   telephone band; aishell, firered, RAMC). Few of them hold a stock phrase; all of them count for false passes.
2. **Synthetic call lines**: call-style sentences written for this benchmark (``LINES``: stock phrases in context,
   plus lines with none), spoken by espeak-ng Mandarin (two voices, two speeds), put in the telephone band
   (300–3400 Hz, 8 kHz μ-law, -45 dBFS noise). Robotic speech: a proxy for ASR errors on the phrases, not for real
   accuracy. Skipped with a note when espeak-ng is missing (``apt-get install espeak-ng``).
3. **Real confusions** (text only): what Whisper base made of the phrases on the hidden real set, quoted in issue #17
   (请稍等 → 情烧的, 欢迎致电 → 欢迎支点, …).

    .venv/bin/python benchmarks/bench_phrase_recall.py [--no-tts] [--no-real] [--limit N] [--dump hyps.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_mandarin import SETS, build_options, load_set  # noqa: E402

from qa_engine.pipeline import CallInput, Pipeline  # noqa: E402
from qa_engine.rules import load_pack  # noqa: E402
from qa_engine.types import Transcript, Utterance  # noqa: E402

#: phrase group -> (rule id, attribute of the compiled check holding the matcher, substrings that mark the group
#: in a reference line)
GROUPS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "greeting 您好/欢迎致电/很高兴为您服务": ("greeting", "matcher", ("您好", "欢迎致电", "很高兴为您服务")),
    "hold 请稍等": ("hold_etiquette", "announce", ("稍等",)),
    "thanks 久等了": ("hold_etiquette", "thank", ("久等",)),
    "further help 还有什么需要": ("offer_further_help", "matcher", ("还有什么需要", "还有其他", "还有什么")),
    "confirm 对吗/对吧/是吗": ("confirm_repeat", "matcher", ("对吗", "对吧", "是吗")),
    "apology 抱歉": ("apology_on_complaint", "response", ("抱歉",)),
}

#: Call-style lines written for this benchmark: stock phrases in context, then lines with none of them.
LINES = [
    "您好，欢迎致电中国移动客服中心，很高兴为您服务。",
    "您好，很高兴为您服务，请问有什么可以帮您？",
    "欢迎致电平安银行信用卡中心，请问有什么可以帮您。",
    "您好，这里是京东客服，很高兴为您服务。",
    "早上好，欢迎致电顺丰速运，请问您要寄件还是查件？",
    "您好，工号一零八为您服务。",
    "好的，请稍等，我帮您查一下订单。",
    "请您稍等一下，我这边核实一下您的信息。",
    "麻烦您稍等，系统正在查询。",
    "请稍等，不要挂机。",
    "让您久等了，您的订单已经发货了。",
    "不好意思让您久等了，已经查到了。",
    "先生让您久等了，退款已经处理好了。",
    "请问您还有什么需要帮助的吗？",
    "请问还有其他问题需要我帮您处理吗？",
    "您看还有什么需要我这边为您办理的吗？",
    "您是要把套餐改成五十八元的，对吗？",
    "您的手机尾号是六七八九，对吧？",
    "您说的是昨天下午买的那台洗衣机，是吗？",
    "您是想办理退货，对吗？",
    "非常抱歉给您带来不便。",
    "真是抱歉，这个问题我们马上帮您处理。",
    "很抱歉让您失望了，我们一定改进。",
    "实在抱歉，快递延误了两天。",
    "我的快递三天了还没到。",
    "这个套餐每个月多少钱？",
    "你们的网点在哪里？",
    "我想查一下话费余额。",
    "我们明天上午会安排师傅上门。",
    "这个价格已经是最低的了。",
    "您可以在手机应用里面自己操作。",
    "我们的营业时间是早上九点到晚上六点。",
    "新办的宽带要三个工作日才能开通。",
    "积分可以兑换话费或者流量。",
]

#: What Whisper base heard for a stock phrase on the hidden real set (issue #17), as whole lines.
CONFUSIONS = [
    ("好的请稍等我帮您查一下", "好的情烧的我帮您查一下"),
    ("您好欢迎致电客服中心", "您好欢迎支点客服中心"),
    ("请问有什么可以帮您的吗", "请问有什么可以8年的吗"),
    ("毕先生您好很高兴为您服务", "例行审宁可很高兴为您服务"),
]

VOICES = (("cmn-latn-pinyin+f3", 70, 150), ("cmn-latn-pinyin+f3", 70, 175),
          ("cmn-latn-pinyin+m7", 50, 150), ("cmn-latn-pinyin+m7", 50, 175))
SR = 8000


@dataclass
class Counts:
    ref: int = 0
    asr: int = 0
    false: int = 0
    misses: list[tuple[str, str]] = field(default_factory=list)
    false_hits: list[tuple[str, str]] = field(default_factory=list)


def matchers() -> dict[str, Callable[[str], bool]]:
    """One predicate per phrase group: does the pack's matcher accept this single utterance?"""
    pack = load_pack("zh-CN")
    by_id = {c.rule.id: c for c in pack.checks}
    out: dict[str, Callable[[str], bool]] = {}
    for group, (rule_id, attr, _) in GROUPS.items():
        matcher = getattr(by_id[rule_id], attr)

        def accepts(text: str, matcher: Any = matcher, role: str = "agent") -> bool:
            utt = Utterance(start=0.0, end=max(1.0, len(text) / 4), role=role, text=text)  # type: ignore[arg-type]
            ctx = pack.context(Transcript(call_id="x", language="zh", duration=utt.end, utterances=(utt,)))
            return ctx.find(matcher, ctx.by_role(role)[0]) is not None

        out[group] = accepts
    return out


def tally(pairs: list[tuple[str, str, str]], accept: dict[str, Callable[[str], bool]]) -> dict[str, Counts]:
    """(id, reference, hypothesis) -> counts per phrase group."""
    result = {g: Counts() for g in GROUPS}
    for uid, ref, hyp in pairs:
        for group, check in accept.items():
            on_ref, on_hyp = check(ref), check(hyp)
            c = result[group]
            if on_ref:
                c.ref += 1
                c.asr += on_hyp
                if not on_hyp:
                    c.misses.append((uid, f"{ref} → {hyp}"))
            elif on_hyp:
                c.false += 1
                c.false_hits.append((uid, f"{ref} → {hyp}"))
    return result


def telephone(x: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """8 kHz, 300–3400 Hz, peak 0.5, light noise: the band the magicdata set was converted to."""
    y = soxr.resample(x.astype(np.float64), sr, SR)
    spec = np.fft.rfft(y)
    freqs = np.fft.rfftfreq(len(y), 1 / SR)
    spec[(freqs < 300) | (freqs > 3400)] = 0
    y = np.fft.irfft(spec, n=len(y))
    y = 0.5 * y / max(1e-9, float(np.abs(y).max()))
    y = np.concatenate([np.zeros(int(0.3 * SR)), y, np.zeros(int(0.3 * SR))])
    return (y + rng.normal(0, 10 ** (-45 / 20), len(y))).astype(np.float32)


def synth_set(folder: Path) -> list[tuple[str, Path, str]]:
    from pypinyin import Style, pinyin

    rng = np.random.default_rng(17)
    items = []
    for i, line in enumerate(LINES):
        spoken = " ".join(s[0] for s in pinyin(line, style=Style.TONE3, neutral_tone_with_five=True) if s[0].strip())
        for v, (voice, pitch, speed) in enumerate(VOICES):
            wav = subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed), "--stdout", spoken],
                                 capture_output=True, check=True).stdout
            x, sr = sf.read(io.BytesIO(wav), dtype="float32")
            path = folder / f"line{i:02d}_v{v}.wav"
            sf.write(path, telephone(x, sr, rng), SR, subtype="ULAW")
            items.append((path.stem, path, line))
    return items


def transcribe(pipeline: Pipeline, items: list[tuple[str, Path, str]]) -> list[tuple[str, str, str]]:
    out = []
    for uid, path, ref in items:
        transcript, _ = pipeline.transcribe(CallInput(str(path), language="zh"))
        out.append((uid, ref, "".join(u.text for u in transcript.utterances)))
    return out


def table(title: str, counts: dict[str, Counts], n: int) -> str:
    lines = [f"### {title} ({n} utterances)", "",
             "| phrase group | matcher accepts reference | still accepts after ASR | recall after ASR"
             " | new false passes |",
             "|---|---:|---:|---:|---:|"]
    for group, c in counts.items():
        recall = f"{c.asr / c.ref:.2f}" if c.ref else "–"
        lines.append(f"| {group} | {c.ref} | {c.asr} | {recall} | {c.false} |")
    tot_ref = sum(c.ref for c in counts.values())
    tot_asr = sum(c.asr for c in counts.values())
    lines.append(f"| **all** | {tot_ref} | {tot_asr} | {tot_asr / max(1, tot_ref):.2f} | "
                 f"{sum(c.false for c in counts.values())} |")
    return "\n".join(lines)


def details(counts: dict[str, Counts]) -> str:
    out = []
    for group, c in counts.items():
        for uid, text in c.misses:
            out.append(f"- miss  [{group}] {uid}: {text}")
        for uid, text in c.false_hits:
            out.append(f"- false [{group}] {uid}: {text}")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-tts", action="store_true")
    ap.add_argument("--no-real", action="store_true")
    ap.add_argument("--limit", type=int, default=0, help="first N files per real set (0: all)")
    ap.add_argument("--dump", type=Path, default=None, help="write (id, reference, hypothesis) triples here")
    ap.add_argument("--load", type=Path, default=None, help="reuse triples from an earlier --dump (no ASR)")
    ap.add_argument("--out", type=Path, default=None, help="also write the tables (markdown) to this file")
    args = ap.parse_args()
    accept = matchers()
    sections = [f"# Stock-phrase recall after ASR ({dt.date.today()})", ""]
    triples: dict[str, list[tuple[str, str, str]]] = {}
    if args.load:
        triples = {k: [tuple(t) for t in v] for k, v in json.loads(args.load.read_text("utf-8")).items()}  # type: ignore[misc]
    else:
        pipeline = Pipeline(build_options({}))
        t0 = time.perf_counter()
        if not args.no_real:
            real = [item for name in SETS for item in (load_set(name)[: args.limit] if args.limit else load_set(name))]
            if real:
                triples["real"] = transcribe(pipeline, real)
            else:
                sections.append("_real speech: ../shared/eval/audio_zh not found, skipped_\n")
        if not args.no_tts:
            if shutil.which("espeak-ng"):
                with tempfile.TemporaryDirectory() as tmp:
                    triples["synthetic"] = transcribe(pipeline, synth_set(Path(tmp)))
            else:
                sections.append("_synthetic lines: espeak-ng not installed, skipped_\n")
        sections.append(f"ASR time: {time.perf_counter() - t0:.0f} s (pipeline defaults, language zh, one speaker)\n")
        if args.dump:
            args.dump.write_text(json.dumps(triples, ensure_ascii=False, indent=1), "utf-8")
    triples["confusions"] = [(f"issue17-{i}", r, h) for i, (r, h) in enumerate(CONFUSIONS)]
    names = {"real": "Real speech (audio_zh, telephone band and 16 kHz)",
             "synthetic": "Synthetic call lines (espeak-ng, telephone band)",
             "confusions": "Real ASR confusions quoted in issue #17 (text)"}
    for key, pairs in triples.items():
        counts = tally(pairs, accept)
        sections += [table(names.get(key, key), counts, len(pairs)), "", details(counts), ""]
    text = "\n".join(sections)
    sys.stdout.write(text + "\n")
    if args.out:
        args.out.write_text(text, "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
