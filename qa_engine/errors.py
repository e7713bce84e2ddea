"""Errors that name the input and the fix; the CLI prints them as one line."""

from __future__ import annotations


class QaEngineError(Exception):
    """Base class: anything the user can act on."""


class AudioError(QaEngineError):
    """The audio file cannot be used (empty, silent, corrupt, unsupported, too long)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class ModelError(QaEngineError):
    """The ASR model cannot be found or loaded."""


class TranscriptError(QaEngineError):
    """A transcript document is malformed."""


class PackError(QaEngineError):
    """A rule pack is invalid; the message names file, rule id and field."""
