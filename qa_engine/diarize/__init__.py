"""Speaker diarization for mono calls and agent/customer role detection (issue 8).

``BuiltinDiarizer`` (offline, CPU, onnxruntime) and the optional ``PyannoteDiarizer`` return
:class:`Diarization` turns; :func:`label_mono_call` turns a mono call's ASR utterances into
role-labelled ones. ``diarization_error`` scores turns against RTTM references.
"""

from .assign import split_by_speaker, word_speakers
from .der import DerResult, diarization_error, read_rttm
from .mono import MonoOptions, get_diarizer, label_mono_call
from .roles import RoleDecision, detect_agent_speaker
from .types import Diarization, DiarizationError, DiarizationOptions, OneSpeakerError, SpeakerTurn

__all__ = [
    "DerResult", "Diarization", "DiarizationError", "DiarizationOptions", "MonoOptions", "OneSpeakerError",
    "RoleDecision", "SpeakerTurn", "detect_agent_speaker", "diarization_error", "get_diarizer", "label_mono_call",
    "read_rttm", "split_by_speaker", "word_speakers",
]
