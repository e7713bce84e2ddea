"""Helpers for rule-engine tests: compact transcripts ("A: text", "~12" for a silence)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

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
