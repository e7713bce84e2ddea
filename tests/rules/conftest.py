"""Helpers for rule-engine tests: compact transcripts ("A: text", "~12" for a silence)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from qa_engine.rules import load_pack
from qa_engine.types import Transcript, Utterance

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "rules" / "fixtures"
ROLES = {"A": "agent", "C": "customer", "U": "unknown"}


def build_transcript(lines: list[Any], language: str, call_id: str = "test") -> Transcript:
    """Lines are "A: text" / "C: text" (timed from their length), "~N" (N s of silence before
    the next line) or explicit [role, start, end, text]."""
    utts: list[Utterance] = []
    t, gap = 0.5, 0.6
    for line in lines:
        if isinstance(line, list):
            role, start, end, text = line
            utts.append(Utterance(float(start), float(end), role, str(text)))
            t = float(end) + 0.6
            continue
        if line.startswith("~"):
            t += float(line[1:]) - 0.6
            continue
        role, text = ROLES[line[0]], line[2:].strip()
        dur = max(0.8, len(text) * 0.22) if language.startswith("zh") else max(0.8, len(text.split()) * 0.35)
        utts.append(Utterance(t, t + dur, role, text))  # type: ignore[arg-type]
        t += dur + gap
    end = max((u.end for u in utts), default=0.0)
    return Transcript(call_id=call_id, language=language, duration=end, utterances=tuple(utts))


@pytest.fixture
def make_transcript():  # type: ignore[no-untyped-def]
    return build_transcript


def pack_strings(lang: str) -> list[str]:
    """Every string of the standard pack's rules (phrases, pattern sources, allow lists): near-misses to test
    fast paths against the plain ones."""
    source = load_pack(language=lang).source
    assert source is not None
    out: list[str] = []

    def walk(v: object) -> None:
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(yaml.safe_load(source.read_text(encoding="utf-8"))["rules"])
    return out
