"""Throughput of rules + scoring on synthetic five-minute calls, one core.

Prints calls/s per language against the 1,000 calls/s target, beside the baseline measured before the
rule-engine throughput work (2026-12-05, same script, one core of this machine).  Calls are generated with a
fixed seed from sentence pools with random numbers, names and filler so that no two calls
are the same text (no cache can make the benchmark look better than real traffic).  Each
timed call is the full ``score_transcript`` path (rules, scoring, PII masking of the report).

The machine may be shared, so every language is timed ``--repeats`` times, each time on
freshly generated calls, and the median is reported (wall clock, with the range of the
repeats) next to the median CPU-time rate (``time.process_time``: what the process itself
spent, less sensitive to other jobs on the core).  The verdict uses the wall-clock median.

The native modules (``qa_engine/native``) are used when built, as in the service; ``QA_ENGINE_NATIVE=0`` measures the
pure-Python reference. The header says which are in use.

Three packs per language: the standard pack as it is now (``pack``), the standard pack with only the rule types
it had at the baseline (``baseline types``: what the baseline measured), and the standard pack plus two
``type: condition`` rules (``+conditions``).

    .venv/bin/python benchmarks/bench_rules.py [--calls 300] [--utterances 80] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from pathlib import Path

import yaml

from qa_engine import native
from qa_engine.rules import Pack, load_pack, parse_pack
from qa_engine.scoring import score_transcript
from qa_engine.text import language_family
from qa_engine.types import Transcript, Utterance

TARGET = 1000.0
#: calls/s before the throughput work (2026-12-05, this script with the then target 500, median of 5 runs)
BASELINE = {"zh": 409.0, "en": 370.0}
#: the rule types the standard packs had when the baseline was measured
BASELINE_TYPES = frozenset({"classify", "confirm_repeat", "forbidden", "hold_etiquette", "metric",
                            "phrase_in_window", "response_after"})
CONDITION_RULES = {
    "zh": [
        {"id": "bench_promise_after_complaint", "type": "condition", "summary": "投诉后不做无依据的承诺",
         "expect": "absent", "define": {"complaint": {"all": [{"role": "customer"},
                                                               {"phrase": ["太差了", "又断了", "投诉"]}]}},
         "when": {"all": [{"role": "agent"}, {"regex": "(保证|一定)(退|赔|修好)", "unless": "不能保证"},
                          {"after": {"ref": "complaint", "within_turns": 4}}]}},
        {"id": "bench_repeated_complaint", "type": "condition", "summary": "客户反复抱怨", "expect": "absent",
         "when": {"repeated": {"of": {"all": [{"role": "customer"}, {"phrase": ["太差了", "又断了"]}]},
                               "min": 3, "within_turns": 20}}},
    ],
    "en": [
        {"id": "bench_promise_after_complaint", "type": "condition", "summary": "No promises after a complaint",
         "expect": "absent", "define": {"complaint": {"all": [{"role": "customer"},
                                                               {"phrase": ["this is ridiculous", "down again"]}]}},
         "when": {"all": [{"role": "agent"}, {"regex": r"\b(guarantee|promise)\b", "unless": r"\bcannot\b"},
                          {"after": {"ref": "complaint", "within_turns": 4}}]}},
        {"id": "bench_repeated_complaint", "type": "condition", "summary": "Customer complains again and again",
         "expect": "absent",
         "when": {"repeated": {"of": {"all": [{"role": "customer"}, {"phrase": ["this is ridiculous"]}]},
                               "min": 3, "within_turns": 20}}},
    ],
}

ZH_AGENT = [
    "您好，很高兴为您服务，请问有什么可以帮您？",
    "好的，我帮您查一下，请稍等。",
    "感谢您的耐心等待。",
    "您的套餐是每月{n}元，包含{m}G流量。",
    "跟您确认一下，您的号码是{phone}对吗？",
    "这个问题我们会尽快处理。",
    "给您添麻烦了，实在抱歉。",
    "您可以通过营业厅APP查询{n}月的账单。",
    "嗯嗯，是的。",
    "好的，明白了。",
    "我这边已经给您提交了工单，工单号是{order}。",
    "请问还有其他可以帮您的吗？",
    "感谢您的来电，祝您生活愉快，再见。",
    "您说的这个情况我了解了，{name}先生。",
    "目前系统显示您的宽带在{n}号已经恢复了。",
    "稍后会有短信通知您。",
]
ZH_CUSTOMER = [
    "喂，你好。",
    "我想问一下我这个月的话费怎么这么多？",
    "我的手机号是{phone}。",
    "对，没错。",
    "嗯。",
    "我的宽带又断了，这已经是第{k}回了。",
    "我找一下订单号。",
    "订单号是{order}。",
    "那什么时候能修好？",
    "好的，谢谢。",
    "我叫{name}，住在朝阳区建国路{n}号。",
    "没有了。",
    "行吧，那就这样。",
    "你们这个服务太差了。",
]
EN_AGENT = [
    "Thank you for calling Acme, this is {name}, how can I help you today?",
    "Let me pull that up, one moment.",
    "Thanks for holding.",
    "Your plan is {n} dollars a month with {m} gigabytes of data.",
    "Just to confirm, your number is {phone}, correct?",
    "I'm sorry you've had to call again.",
    "Okay.",
    "Right.",
    "I've opened a ticket, the reference is {order}.",
    "Is there anything else I can help with?",
    "Thanks for calling, have a great day.",
    "I can see the outage in your area started on the {n}th.",
    "You should get a text message shortly.",
    "I understand, {name}.",
]
EN_CUSTOMER = [
    "Hi.",
    "I'm calling about my bill, it's way higher than usual.",
    "My number is {phone}.",
    "Yes.",
    "Uh huh.",
    "My internet is down again, this is the {k} time I'm calling.",
    "Let me grab my card.",
    "The order number is {order}.",
    "When will it be fixed?",
    "Okay, thanks.",
    "No, that's all.",
    "My name is {name} and I live at {n} Elm Street.",
    "This is ridiculous.",
]
NAMES = ["王小明", "李静", "张伟", "刘洋"], ["John", "Maria", "Ahmed", "Priya"]


def fill(template: str, rng: random.Random, lang: str) -> str:
    phone = "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))
    nth = rng.choice(["三", "四"]) if lang == "zh" else rng.choice(["third", "fourth"])
    name = rng.choice(NAMES[0] if lang == "zh" else NAMES[1])
    return template.format(n=rng.randint(1, 300), m=rng.randint(1, 50), k=nth, phone=phone,
                           order=rng.randint(10**7, 10**9), name=name)


def synthetic_call(rng: random.Random, lang: str, n_utts: int) -> Transcript:
    agent, customer = (ZH_AGENT, ZH_CUSTOMER) if lang == "zh" else (EN_AGENT, EN_CUSTOMER)
    utts: list[Utterance] = []
    t = rng.uniform(0.3, 3.0)
    for i in range(n_utts):
        role = "agent" if i % 2 == 0 else "customer"
        if i == 0:
            text = fill(agent[0], rng, lang)
        elif i >= n_utts - 2 and role == "agent":
            text = fill(agent[-6 if lang == "zh" else 10], rng, lang)
        else:
            text = fill(rng.choice(agent if role == "agent" else customer), rng, lang)
        dur = (len(text) * 0.22) if lang == "zh" else (len(text.split()) * 0.35)
        dur = max(0.8, dur)
        utts.append(Utterance(t, t + dur, role, text))  # type: ignore[arg-type]
        t += dur + (rng.uniform(10, 14) if rng.random() < 0.03 else rng.uniform(0.2, 1.5))
    return Transcript(call_id=f"synthetic-{lang}-{rng.random():.6f}", language=lang, duration=t,
                      utterances=tuple(utts))


def variant_pack(lang: str, variant: str) -> Pack:
    """The standard pack, restricted to the baseline's rule types or extended with condition rules."""
    pack = load_pack(language=lang)
    if variant == "pack":
        return pack
    assert pack.source is not None
    doc = yaml.safe_load(pack.source.read_text(encoding="utf-8"))
    if variant == "baseline types":
        doc["rules"] = [r for r in doc["rules"] if r.get("type") in BASELINE_TYPES]
    else:
        doc["rules"] = doc["rules"] + CONDITION_RULES[language_family(lang)]
    return parse_pack(doc, f"{pack.source} ({variant})")


def bench(lang: str, calls: int, n_utts: int, seed: int = 7, variant: str = "pack") -> tuple[float, float, float]:
    """(wall calls/s, CPU calls/s, mean call minutes) for ``calls`` fresh calls."""
    rng = random.Random(seed)
    pack = variant_pack(lang, variant)
    transcripts = [synthetic_call(rng, lang, n_utts) for _ in range(calls)]
    score_transcript(synthetic_call(rng, lang, n_utts), pack)  # warm caches (pinyin, opencc) like a service
    c0 = time.process_time()
    t0 = time.perf_counter()
    for tr in transcripts:
        score_transcript(tr, pack)
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - c0
    minutes = sum(tr.duration for tr in transcripts) / len(transcripts) / 60
    return calls / elapsed, calls / max(cpu, 1e-9), minutes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--utterances", type=int, default=80)
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per language (median reported)")
    ap.add_argument("--variants", default="pack,baseline types,+conditions",
                    help="comma-separated: pack, baseline types, +conditions")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    print(f"rules + scoring + PII masking, {args.calls} synthetic calls x {args.utterances} utterances, "
          f"one core, median of {args.repeats} runs (fresh calls each run)")
    sources = sorted(p.stem for p in Path(native.__file__).parent.glob("_*.c"))
    built = [name for name in sources if native.load(name) is not None]
    print(f"native modules: {len(built)} of {len(sources)} in use ({' '.join(built) or 'none'}; "
          "QA_ENGINE_NATIVE=0 measures the Python reference)")
    print(f"{'language':<10}{'pack':<16}{'call min':>9}{'baseline':>9}{'calls/s':>9}{'range':>12}{'cpu c/s':>9}"
          f"{'target':>8}  verdict")
    for lang in ("zh", "en"):
        for variant in args.variants.split(","):
            runs = [bench(lang, args.calls, args.utterances, seed=7 + 1000 * i, variant=variant)
                    for i in range(args.repeats)]
            walls = [r[0] for r in runs]
            rate = statistics.median(walls)
            cpu_rate = statistics.median(r[1] for r in runs)
            minutes = statistics.mean(r[2] for r in runs)
            verdict = "ok" if rate >= TARGET else "BELOW TARGET"
            span = f"{min(walls):.0f}-{max(walls):.0f}"
            print(f"{lang:<10}{variant:<16}{minutes:>9.1f}{BASELINE[lang]:>9.0f}{rate:>9.0f}{span:>12}"
                  f"{cpu_rate:>9.0f}{TARGET:>8.0f}  {verdict}")


if __name__ == "__main__":
    main()
