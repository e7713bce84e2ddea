"""Variants of the zh test transcript that fail known rules, and the library's own verdict on each.

Tests of reviews and scorecards compare what the service reports with what these give.
"""

from __future__ import annotations

import copy
from typing import Any

from qa_engine.rules import load_pack
from qa_engine.scoring import score_transcript
from qa_engine.transcript import transcript_from_dict
from qa_engine.types import CallReport

from .conftest import ZH_TRANSCRIPT


def _variant(call_id: str, **texts: str) -> dict[str, Any]:
    doc = copy.deepcopy(ZH_TRANSCRIPT)
    doc["call_id"] = call_id
    for key, text in texts.items():
        doc["utterances"][int(key[1:])]["text"] = text
    return doc


#: speech_rate fails (94.1, 优秀)
BASE = _variant("zh-base")
#: greeting fails (82.4, 良好)
NO_GREETING = _variant("zh-nogreet", u0="喂。")
#: greeting fails, curtly (76.5, 合格)
CURT = _variant("zh-curt", u0="喂，说吧。")
#: a complaint without an apology: apology_on_complaint fails, category 投诉 (80.0, 良好)
COMPLAINT = _variant("zh-complaint", u1="我要投诉，你们太差了，话费怎么回事？号码是13812345678。")
#: a forbidden phrase (critical, caps the score at 59: 不合格)
FORBIDDEN = _variant("zh-forbidden", u3="这是规定。您本月话费是八十元。还有什么可以帮您？")


def library_report(doc: dict[str, Any]) -> CallReport:
    """What qa_engine itself says about ``doc`` (the service must agree)."""
    return score_transcript(transcript_from_dict(doc), load_pack(None, language="zh"))


def statuses(doc: dict[str, Any]) -> dict[str, str]:
    return {f.rule_id: f.status for f in library_report(doc).findings}
