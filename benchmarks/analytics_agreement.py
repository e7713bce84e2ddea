"""Agreement of ``customer_repeat`` and ``customer_negative_end`` with human labels, per rule and language.

Calls: ``benchmarks/data/analytics_labels/*.json`` (transcript documents with a ``labels`` object), written as
realistic calls with the hard cases in mind: customers who repeat politely, different requests in the same polite
frame, numbers read back on request, complaints that end well, calm calls that end coldly, sarcastic endings.
The labels were written with the calls, before the rules were run on them; the rules' defaults were then tuned
on these same calls, so the agreement is optimistic (there is no held-out set yet).

    .venv/bin/python benchmarks/analytics_agreement.py [--verbose]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from qa_engine.rules import load_pack
from qa_engine.scoring import score_transcript
from qa_engine.transcript import transcript_from_dict

ROOT = Path(__file__).resolve().parents[1]
LABEL_DIR = ROOT / "benchmarks" / "data" / "analytics_labels"
RULES = ("customer_repeat", "customer_negative_end")
TARGET = 0.90


def rows(directory: Path = LABEL_DIR) -> list[tuple[str, str, str, str, str, str]]:
    """(language, call id, rule, human, engine, explanation) for every labelled call and rule."""
    out: list[tuple[str, str, str, str, str, str]] = []
    for path in sorted(directory.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        transcript = transcript_from_dict(doc, path.name)
        report = score_transcript(transcript, load_pack(language=transcript.language), mask_pii=False)
        got = {f.rule_id: f for f in report.findings}
        for rule in RULES:
            out.append((transcript.language, doc["call_id"], rule, doc["labels"][rule], got[rule].status,
                        got[rule].explanation))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="print every disagreement")
    args = parser.parse_args()
    table = rows()
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for lang, _cid, rule, human, engine, _ in table:
        counts[(rule, lang)][0] += human == engine
        counts[(rule, lang)][1] += 1
    print(f"{'rule':24} {'lang':4} {'agree':>7} {'calls':>5} {'rate':>6}  target {TARGET:.0%}")
    worst = 1.0
    for (rule, lang), (ok, n) in sorted(counts.items()):
        worst = min(worst, ok / n)
        print(f"{rule:24} {lang:4} {ok:7d} {n:5d} {ok / n:6.1%}  {'ok' if ok / n >= TARGET else 'BELOW'}")
    total_ok = sum(v[0] for v in counts.values())
    total = sum(v[1] for v in counts.values())
    print(f"{'all':24} {'':4} {total_ok:7d} {total:5d} {total_ok / total:6.1%}")
    if args.verbose:
        for lang, cid, rule, human, engine, why in table:
            if human != engine:
                print(f"  {lang} {cid} {rule}: human {human}, engine {engine}: {why}")
    print("verdict:", "meets target" if worst >= TARGET else "BELOW TARGET")


if __name__ == "__main__":
    main()
