"""qa-engine: score call-centre calls against rule packs (diarize, transcribe, check)."""

from .log_masking import install as _mask_log_records
from .types import CallReport, Evidence, Finding, Span, Transcript, Utterance, Word

_mask_log_records()  # PII never reaches a log handler, whoever installed it (see qa_engine.log_masking)

__version__ = "0.1.0"

__all__ = [
    "CallReport",
    "Evidence",
    "Finding",
    "Span",
    "Transcript",
    "Utterance",
    "Word",
    "__version__",
]
