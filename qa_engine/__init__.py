"""qa-engine: score call-centre calls against rule packs (diarize, transcribe, check)."""

from .types import CallReport, Evidence, Finding, Span, Transcript, Utterance, Word

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
