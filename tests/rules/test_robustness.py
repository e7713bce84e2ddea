"""The engine never crashes on arbitrary text and timings."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa_engine.rules import load_pack
from qa_engine.scoring import score_transcript
from qa_engine.types import Transcript, Utterance

PACKS = {"zh": load_pack("zh-CN"), "en": load_pack("en")}
SEEDS = ["您好很高兴为您服务", "请稍等", "不知道", "thank you for calling", "sorry",
         "一三八一二三四五六七八", ""]
ANY_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
text = ANY_TEXT | st.sampled_from(SEEDS)
utterance = st.builds(
    lambda start, dur, role, t: Utterance(start, start + dur, role, t),
    st.floats(0, 600, allow_nan=False), st.floats(0, 60, allow_nan=False),
    st.sampled_from(["agent", "customer", "unknown"]), text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(utts=st.lists(utterance, max_size=12), lang=st.sampled_from(["zh", "en"]))
def test_never_crashes(utts: list[Utterance], lang: str) -> None:
    utts.sort(key=lambda u: u.start)
    transcript = Transcript("h", lang, max((u.end for u in utts), default=0.0), tuple(utts))
    report = score_transcript(transcript, PACKS[lang])
    agent_speech = any(u.role != "customer" and u.text.strip() for u in utts)
    assert (report.status == "unscorable") == (not agent_speech)
    if not agent_speech:  # nothing the agent said: no score rather than a perfect one
        assert report.score is None and report.reason and not report.findings
        return
    assert report.score is not None and 0 <= report.score <= 100
    assert all(f.status in ("pass", "fail", "not_applicable") for f in report.findings)
    assert all(f.explanation for f in report.findings)
