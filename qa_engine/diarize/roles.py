"""Which speaker of a mono call is the agent, from what each one says.

Evidence: the active pack's agent-side phrases (greeting, offers of help, closing, apologies,
confirmations: rules whose ``role`` is agent, forbidden phrases excluded), counted three times
in a speaker's first two turns (agents open the call), plus the generic agent/customer cues
of the stereo detector. Confidence is the winner's share of the positive evidence, 0.5 when
nothing tells the speakers apart (then whoever speaks first is taken: the agent answers).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..channels import AGENT_CUES, CUSTOMER_CUES
from ..types import Utterance

logger = logging.getLogger(__name__)

OPENING_TURNS = 2
OPENING_WEIGHT = 3.0


@dataclass(frozen=True)
class RoleDecision:
    """The agent's speaker label, how sure we are (0.5-1.0) and why, in words."""

    agent: str
    confidence: float
    reason: str


def _agent_matchers(pack: Any) -> list[Any]:
    """Matchers of the pack's agent-side rules (``Pack`` from qa_engine.rules)."""
    from ..rules.matching import Matcher
    from ..rules.schema import MatchSpec

    matchers = []
    default = getattr(pack.spec, "threshold", None) or 85
    for rule in pack.rules:
        params = rule.params()
        if not rule.enabled or rule.type == "forbidden":
            continue
        specs = []
        if params.get("role") == "agent" or rule.type == "confirm_repeat":
            specs.append(params.get("match"))
        response = params.get("response")
        if isinstance(response, dict) and response.get("role") == "agent":
            specs.append(response.get("match"))
        for spec in specs:
            if isinstance(spec, dict):
                matchers.append(Matcher(MatchSpec.model_validate(spec), pack.book, default))
    return matchers


def _cue_score(texts: Sequence[str], lang: str) -> float:
    joined = " ".join(t.lower() for t in texts)
    return float(sum(joined.count(c) for c in AGENT_CUES[lang]) - sum(joined.count(c) for c in CUSTOMER_CUES[lang]))


def detect_agent_speaker(utterances: Sequence[Utterance], language: str, pack: Any | None = None) -> RoleDecision:
    """Score every speaker's wording; the highest is the agent."""
    from ..rules.matching import prepare_all

    lang = "zh" if language.startswith("zh") else "en"
    speakers: list[str] = []
    for u in utterances:
        if u.speaker is not None and u.speaker not in speakers:
            speakers.append(u.speaker)
    if not speakers:
        raise ValueError("no speaker labels to choose the agent from")
    matchers = _agent_matchers(pack) if pack is not None else []
    family = pack.book.family if pack is not None else lang
    scores: dict[str, float] = {}
    notes: list[str] = []
    for spk in speakers:
        utts = [u for u in utterances if u.speaker == spk]
        hits = 0.0
        if matchers:
            for i, p in enumerate(prepare_all(utts, family)):
                n = sum(1 for m in matchers if m.find(p) is not None)
                hits += n * (OPENING_WEIGHT if i < OPENING_TURNS else 1.0)
        cues = _cue_score([u.text for u in utts], lang) + OPENING_WEIGHT * max(
            0.0, _cue_score([u.text for u in utts[:OPENING_TURNS]], lang))
        scores[spk] = hits + 0.5 * cues
        notes.append(f"{spk}: {hits:g} agent phrase hit(s), cue score {cues:g}")
    ranked = sorted(speakers, key=lambda s: scores[s], reverse=True)
    if len(ranked) == 1 or scores[ranked[0]] <= scores[ranked[1]]:
        first = speakers[0]
        return RoleDecision(first, 0.5, "no wording difference between speakers; chose the one who speaks first ("
                            + "; ".join(notes) + ")")
    top, second = scores[ranked[0]], scores[ranked[1]]
    positive = max(top, 0.0) + max(second, 0.0)
    confidence = 0.5 + 0.5 * min(1.0, (top - second) / max(positive, top - second, 1e-9))
    confidence = min(0.99, max(0.5, confidence))
    return RoleDecision(ranked[0], round(confidence, 3), "detected from wording: " + "; ".join(notes))
