"""Mono calls in the pipeline: diarize, split utterances by speaker, decide who is the agent."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..errors import QaEngineError
from ..types import Role, Transcript, Utterance
from .assign import speaker_label, split_by_speaker
from .roles import detect_agent_speaker
from .types import Diarization, DiarizationOptions

logger = logging.getLogger(__name__)

Diarizer = Callable[..., Diarization]
_diarizers: dict[tuple[str, str | None, DiarizationOptions], Diarizer] = {}


@dataclass(frozen=True)
class MonoOptions:
    """Pipeline settings for mono calls: which diarizer, its config, the speaker count."""

    diarizer: str = "builtin"  # builtin | pyannote | none (role unknown, as before diarization)
    config: str | None = None
    speakers: int | None = 2


def get_diarizer(options: MonoOptions) -> Diarizer:
    """The diarizer for these options, built once per process (the embedder or pyannote load once)."""
    diar_opts = DiarizationOptions(speakers=options.speakers)
    key = (options.diarizer, options.config, diar_opts)
    if key not in _diarizers:
        if options.diarizer == "builtin":
            from .builtin import BuiltinDiarizer

            _diarizers[key] = BuiltinDiarizer(diar_opts)
        elif options.diarizer == "pyannote":
            if not options.config:
                raise QaEngineError("--diarizer pyannote needs --diarizer-config PATH (a local pipeline config)")
            from .pyannote_backend import PyannoteDiarizer

            _diarizers[key] = PyannoteDiarizer(options.config, diar_opts)
        else:
            raise QaEngineError(f"unknown diarizer {options.diarizer!r}: use builtin, pyannote or none")
    return _diarizers[key]


def label_mono_call(samples: np.ndarray, utterances: Sequence[Utterance], *, call_id: str, language: str,
                    duration: float, options: MonoOptions, pack: Any | None = None,
                    agent_speaker: int | None = None, name: str = "audio") -> tuple[Transcript, Diarization | None]:
    """Role-labelled transcript of a mono call (``samples``: 16 kHz, one channel)."""
    if options.diarizer == "none" or options.speakers == 1:
        return Transcript(call_id, language, duration, tuple(utterances)), None
    diarization = get_diarizer(options)(samples, name=name)
    parts = split_by_speaker(utterances, diarization.turns, join="" if language == "zh" else " ")
    if agent_speaker is not None:
        if not 0 <= agent_speaker < diarization.speakers:
            raise QaEngineError(f"{name}: --agent-speaker {agent_speaker} does not exist: "
                                f"{diarization.speakers} speaker(s) found, numbered from 0 in order of speaking")
        agent, confidence, reason = speaker_label(agent_speaker), 1.0, "given (--agent-speaker)"
    elif not any(u.speaker for u in parts):
        return Transcript(call_id, language, duration, tuple(parts)), diarization
    else:
        decision = detect_agent_speaker(parts, language, pack)
        agent, confidence, reason = decision.agent, decision.confidence, decision.reason
    labelled = []
    for u in parts:
        role: Role = "agent" if u.speaker == agent else "customer"
        labelled.append(replace(u, role=role))
    logger.info("%s: %d speakers (%s), agent %s (confidence %.2f)", name, diarization.speakers,
                diarization.backend, agent, confidence)
    return Transcript(call_id, language, duration, tuple(labelled), agent_channel_reason=reason,
                      agent_speaker=agent, agent_confidence=confidence), diarization
