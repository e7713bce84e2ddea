"""The sentiment lexicon model against human satisfaction labels, and its speed.

* USS MultiWOZ (``../shared/eval/text_en/uss_multiwoz_satisfaction``, read at run time, never copied): every user
  turn has satisfaction ratings 1-5 from several annotators; a turn is *dissatisfied* when their mean is <= 2.
  The decision threshold on our score is chosen on dialogues 0-499 (best balanced accuracy) and reported on
  500-999, with Spearman's rho between our score and the mean rating, per turn and per dialogue (the dialogue's
  last user turns vs its OVERALL rating).
* The JDDC example (``../shared/eval/text_zh/uss_jddc_example``): per customer turn, our score vs the rating.
* Speed: microseconds for the sentiment of a synthetic 80-utterance call (``score_texts`` and ``annotate``) and
  for each of the rules ``customer_repeat`` and ``customer_negative_end`` on it (the call's rule context built
  beforehand, as the pack does once for all rules), one core, best of five runs of CPU time.

    .venv/bin/python benchmarks/bench_sentiment.py [--eval-dir ../shared/eval]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

from qa_engine.rules import load_pack
from qa_engine.sentiment import annotate, score_texts

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_rules import synthetic_call  # noqa: E402

SPLIT = 500


def _mean_rating(raw: str) -> float | None:
    values = [float(x) for x in raw.split(",") if x.strip()]
    return sum(values) / len(values) if values else None


def _ranks(xs: list[float]) -> list[float]:
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    ranks = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(xs: list[float], ys: list[float]) -> float:
    rx, ry = _ranks(xs), _ranks(ys)
    n = len(xs)
    mx, my = sum(rx) / n, sum(ry) / n
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx) ** 0.5
    vy = sum((b - my) ** 2 for b in ry) ** 0.5
    return cov / (vx * vy) if vx and vy else 0.0


def balanced_accuracy(scores: list[float], bad: list[bool], threshold: float) -> float:
    tp = sum(1 for s, b in zip(scores, bad, strict=True) if b and s < threshold)
    tn = sum(1 for s, b in zip(scores, bad, strict=True) if not b and s >= threshold)
    pos = sum(bad)
    neg = len(bad) - pos
    return 0.5 * ((tp / pos if pos else 0.0) + (tn / neg if neg else 0.0))


def multiwoz(path: Path) -> None:
    dialogues: dict[str, list[dict]] = defaultdict(list)
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        dialogues[row["dialog_id"]].append(row)
    ids = sorted(dialogues)
    turns: dict[str, list[tuple[float, float, int]]] = {"tune": [], "report": []}
    calls: dict[str, list[tuple[float, float]]] = {"tune": [], "report": []}
    for n, did in enumerate(ids):
        part = "tune" if n < SPLIT else "report"
        rows = dialogues[did]
        users = [r for r in rows if r["speaker"] == "customer"]
        scores = score_texts([r["text"] for r in users], "en")
        rated = []
        for r, s in zip(users, scores, strict=True):
            rating = _mean_rating(r["labels"].get("satisfaction", ""))
            if rating is not None:
                rated.append((s, rating))
                turns[part].append((s, rating, n))
        overall = [r for r in rows if r["speaker"] == "overall"]
        overall_rating = _mean_rating(overall[0]["labels"].get("satisfaction", "")) if overall else None
        if overall_rating is None and rated:
            overall_rating = rated[-1][1]
        if overall_rating is not None and scores:
            end = scores[-2:]
            calls[part].append((sum(end) / len(end), overall_rating))
    tune = turns["tune"]
    grid = [x / 100 for x in range(-90, 91, 5)]
    best = max(grid, key=lambda t: balanced_accuracy([s for s, _, _ in tune], [r <= 2 for _, r, _ in tune], t))
    print(f"USS MultiWOZ: {len(ids)} dialogues; threshold tuned on 0-{SPLIT - 1}: score < {best:+.2f} = dissatisfied")
    print(f"{'part':8} {'turns':>6} {'dissat':>6} {'bal.acc':>8} {'recall':>7} {'prec':>6} {'rho turn':>9} "
          f"{'calls':>6} {'rho call':>9}")
    for part in ("tune", "report"):
        rows_ = turns[part]
        scores = [s for s, _, _ in rows_]
        bad = [r <= 2 for _, r, _ in rows_]
        flagged = [s < best for s in scores]
        tp = sum(1 for f, b in zip(flagged, bad, strict=True) if f and b)
        recall = tp / sum(bad) if sum(bad) else 0.0
        prec = tp / sum(flagged) if sum(flagged) else 0.0
        rho = spearman(scores, [r for _, r, _ in rows_])
        crho = spearman([s for s, _ in calls[part]], [r for _, r in calls[part]])
        label = "0-499" if part == "tune" else "500-999"
        print(f"{label:8} {len(rows_):6d} {sum(bad):6d} {balanced_accuracy(scores, bad, best):8.3f} {recall:7.3f} "
              f"{prec:6.3f} {rho:9.3f} {len(calls[part]):6d} {crho:9.3f}")


def jddc(path: Path) -> None:
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    customer = [r for r in rows if r["speaker"] == "customer"]
    scores = score_texts([r["text"] for r in customer], "zh")
    print("JDDC example (zh): customer turn, rating (mean), our score")
    ratings = []
    for r, s in zip(customer, scores, strict=True):
        rating = _mean_rating(r["labels"].get("satisfaction", ""))
        ratings.append(rating or 0.0)
        print(f"  {rating:4.2f}  {s:+.3f}  {r['text'][:30]}")
    overall = [r for r in rows if r["speaker"] == "overall"]
    if overall:
        print(f"  overall rating {_mean_rating(overall[0]['labels']['satisfaction']):.2f}; our customer end "
              f"(last 2 turns) {sum(scores[-2:]) / len(scores[-2:]):+.3f}; rho per turn "
              f"{spearman(scores, ratings):+.3f}")


def speed() -> None:
    print("speed (one 80-utterance synthetic call, CPU time, best of 5):")
    for lang in ("zh", "en"):
        rng = random.Random(7)
        calls = [synthetic_call(rng, lang, 80) for _ in range(300)]
        texts = [[u.text for u in c.utterances] for c in calls]
        best_score = best_annotate = float("inf")
        for _ in range(5):
            t0 = time.process_time()
            for x in texts:
                score_texts(x, lang)
            t1 = time.process_time()
            for c in calls:
                annotate(c)
            t2 = time.process_time()
            best_score = min(best_score, (t1 - t0) / len(calls))
            best_annotate = min(best_annotate, (t2 - t1) / len(calls))
        print(f"  {lang}: score_texts {best_score * 1e6:6.1f} µs/call, annotate (scores + utterance copies) "
              f"{best_annotate * 1e6:6.1f} µs/call")
        pack = load_pack(language=lang)
        contexts = [pack.context(annotate(c), None) for c in calls]
        for rule in ("customer_repeat", "customer_negative_end"):
            check = next(k for k in pack.checks if k.rule.id == rule)
            best = float("inf")
            for _ in range(5):
                t0 = time.process_time()
                for ctx in contexts:
                    check.run(ctx)
                best = min(best, (time.process_time() - t0) / len(contexts))
            print(f"  {lang}: rule {rule:22} {best * 1e6:6.1f} µs/call")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=ROOT.parent / "shared" / "eval")
    args = parser.parse_args()
    mwoz = args.eval_dir / "text_en/uss_multiwoz_satisfaction/derived/turns.jsonl"
    if mwoz.exists():
        multiwoz(mwoz)
    else:
        print(f"(skipped USS MultiWOZ: {mwoz} not found)")
    example = args.eval_dir / "text_zh/uss_jddc_example/derived/turns.jsonl"
    if example.exists():
        jddc(example)
    else:
        print(f"(skipped JDDC: {example} not found)")
    speed()


if __name__ == "__main__":
    main()
