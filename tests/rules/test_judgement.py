"""Agreement with human QA labels on our hard judgement set must be at least 95%."""

from __future__ import annotations

import json

from qa_engine.rules import load_pack
from qa_engine.scoring import score_transcript
from qa_engine.transcript import transcript_from_dict

from .conftest import REPO

RULES = ("greeting", "confirm_repeat", "apology_on_complaint", "closing", "offer_further_help",
         "forbidden_phrases", "hold_etiquette")


def test_judgement_set_agreement() -> None:
    files = sorted((REPO / "benchmarks/data/qa_judgement").glob("*.json"))
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in files]
    assert sum(d["language"] == "zh" for d in docs) >= 18 and sum(d["language"] == "en" for d in docs) >= 12
    agree = total = 0
    misses = []
    for doc in docs:
        t = transcript_from_dict(doc, doc["call_id"])
        got = {f.rule_id: f.status for f in score_transcript(t, load_pack(language=t.language)).findings}
        for rule in RULES:
            total += 1
            if got[rule] == doc["labels"][rule]:
                agree += 1
            else:
                misses.append(f"{doc['call_id']}:{rule} human={doc['labels'][rule]} engine={got[rule]}")
    assert agree / total >= 0.95, misses
