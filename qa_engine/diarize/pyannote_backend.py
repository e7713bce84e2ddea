"""Optional pyannote.audio backend (``pip install qa-engine[pyannote]``), loaded from local files only.

``--diarizer-config PATH`` names a pyannote pipeline config (``config.yaml``) whose model entries
point at local checkpoint files or directories; nothing is fetched from a hub (``HF_HUB_OFFLINE``
is set before pyannote is imported). Its ``Annotation`` is converted into our speaker turns.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError
from ..vad import SAMPLE_RATE
from .types import Diarization, DiarizationError, DiarizationOptions, SpeakerTurn, relabel_by_first_appearance


def annotation_to_turns(annotation: Any) -> tuple[SpeakerTurn, ...]:
    """pyannote.core ``Annotation`` -> speaker turns (speakers numbered by first appearance)."""
    labels: dict[Any, int] = {}
    turns = []
    for segment, _track, label in annotation.itertracks(yield_label=True):
        labels.setdefault(label, len(labels))
        if segment.end > segment.start:
            turns.append(SpeakerTurn(float(segment.start), float(segment.end), labels[label]))
    return relabel_by_first_appearance(turns)


class PyannoteDiarizer:
    """A pyannote.audio ``Pipeline`` built from a local config file."""

    backend = "pyannote"

    def __init__(self, config: str | Path, options: DiarizationOptions | None = None) -> None:
        self.options = options or DiarizationOptions()
        path = Path(config)
        if not path.is_file():
            raise ModelError(f"{path}: pyannote pipeline config not found (--diarizer-config wants a local "
                             "config.yaml whose checkpoints are local files)")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from pyannote.audio import Pipeline as _PyannotePipeline
        except ImportError:
            raise ModelError("--diarizer pyannote needs pyannote.audio: pip install 'qa-engine[pyannote]'") from None
        try:
            self.pipeline = _PyannotePipeline.from_pretrained(str(path))
        except Exception as exc:  # pyannote raises many kinds; name the file and the cause
            raise ModelError(f"{path}: cannot load the pyannote pipeline ({exc})") from exc
        if self.pipeline is None:
            raise ModelError(f"{path}: pyannote returned no pipeline; check the checkpoint paths in it")

    def __call__(self, samples: np.ndarray, name: str = "audio", spans: Any = None) -> Diarization:
        import torch

        kwargs: dict[str, Any] = {}
        if self.options.speakers is not None:
            kwargs["num_speakers"] = self.options.speakers
        else:
            kwargs["max_speakers"] = self.options.max_speakers
        waveform = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32)[None, :])
        output = self.pipeline({"waveform": waveform, "sample_rate": SAMPLE_RATE}, **kwargs)
        annotation = getattr(output, "speaker_diarization", output)
        turns = annotation_to_turns(annotation)
        if not turns:
            raise DiarizationError(f"{name}: pyannote found no speech")
        speakers = len({t.speaker for t in turns})
        if speakers < 2 and self.options.speakers != 1:
            raise DiarizationError(f"{name}: only one speaker heard; check that the recording holds both parties, "
                                   "or use --speakers 1 to score it without agent/customer roles")
        return Diarization(turns, speakers, self.backend)
