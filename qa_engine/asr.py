"""Whisper ASR over speech regions: pack regions into 30 s windows, decode windows in batches.

Why not ``WhisperModel.transcribe`` per channel: the encoder cost is per 30 s window, so the
fewer (fuller) windows the better. We pack the VAD regions of one channel tightly (with short
gaps so Whisper sees the turn breaks), batch windows from any number of channels and calls
(one ``generate`` per batch: the GPU path's cross-call batching), and map every word back to
its region, its channel and its time in the call.
"""

from __future__ import annotations

import copy
import logging
import os
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .errors import ModelError
from .models import resolve_model
from .types import Span, Word

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000

# Whisper's well-known silence hallucinations (subtitle credits, outros), compared after
# lower-casing and stripping punctuation/space.
HALLUCINATION_PHRASES = (
    "字幕由amara.org社群提供", "字幕由amaraorg社群提供", "请不吝点赞订阅转发打赏支持明镜与点点栏目",
    "请不吝点赞订阅转发打赏", "点赞订阅转发打赏", "谢谢观看", "感谢观看", "明镜与点点栏目",
    "字幕志愿者", "中文字幕", "thanksforwatching", "thankyouforwatching", "pleasesubscribe",
    "subtitlesbytheamaraorgcommunity", "likeandsubscribe",
)


@dataclass(frozen=True)
class AsrOptions:
    """faster-whisper settings. ``device``/``compute_type`` 'auto' picks CUDA float16 or CPU int8."""

    model: str | None = None
    device: str = "auto"
    compute_type: str = "auto"
    cpu_threads: int = 0
    beam_size: int = 1
    batch_size: int = 16
    bucket_s: float = 5.0
    retry_min_s: float = 1.0
    window_s: float = 20.0
    pad_to_30s: bool = False
    # Pad a short window with silent audio before the log-mel (openai/whisper's way) instead of with zero-valued
    # features after it (faster-whisper's): zero features are not silence to the encoder.
    pad_silence: bool = False
    # Decode the rest of a window again when Whisper ended its text this many seconds before the window's end
    # (0: never). Plain sequential decoding does this by seeking; one batched pass does not.
    resume_s: float = 0.0
    gap_s: float = 0.1
    # 0.15 s lead-in silence: on the six real calls 0.3 s gave no lower WER and costs encoder time.
    lead_s: float = 0.15
    word_timestamps: bool = True
    without_timestamps: bool = False
    # Redo a window whose greedy decoding failed (loop, very unsure) with temperature fallback.
    # Sequential and slow; live transcription turns it off (the final scoring at close keeps it).
    fallback: bool = True
    initial_prompt: str | None = None
    no_speech_threshold: float = 0.6
    logprob_threshold: float = -1.0
    compression_ratio_threshold: float = 2.4
    # Per-language decoding settings, e.g. {"zh": {"beam_size": 5}}: fields of LANGUAGE_FIELDS, applied on top of
    # the model's own per-language settings (see :func:`language_options`). Stored frozen (hashable).
    decoding: Any = None
    # Fields set explicitly through ``Recognizer.with_options``: they win over every per-language value.
    pinned: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "decoding", freeze_decoding(self.decoding))


#: The AsrOptions fields a per-language ``decoding`` block may set (how a window is decoded, not where the model
#: runs: model, device, compute type and threads are per process).
LANGUAGE_FIELDS: dict[str, type | tuple[type, ...]] = {
    "beam_size": int, "batch_size": int, "bucket_s": (int, float), "retry_min_s": (int, float),
    "window_s": (int, float), "pad_to_30s": bool, "pad_silence": bool, "resume_s": (int, float),
    "gap_s": (int, float),
    "lead_s": (int, float), "without_timestamps": bool, "fallback": bool, "initial_prompt": (str, type(None)),
    "no_speech_threshold": (int, float), "logprob_threshold": (int, float),
    "compression_ratio_threshold": (int, float),
}

#: Per-language decoding of the bundled Whisper base, chosen by measurement (benchmarks/bench_mandarin.py,
#: benchmarks/results/mandarin_*.md). ``models/whisper-base.yaml`` carries the same block (a test keeps them equal).
#: English keeps the global defaults (bench_pipeline.py: faster than plain faster-whisper at the same WER).
BUILTIN_DECODING: dict[str, dict[str, Any]] = {
    "zh": {"beam_size": 5, "pad_to_30s": True, "pad_silence": True, "resume_s": 2.0, "lead_s": 0.5},
}

#: A user model directory may hold this file with a ``decoding:`` block (same form as the manifest's).
MODEL_SETTINGS_FILE = "qa-engine.yaml"

FrozenDecoding = tuple[tuple[str, tuple[tuple[str, Any], ...]], ...]


def freeze_decoding(decoding: Any) -> FrozenDecoding:
    """Check a ``{language: {field: value}}`` mapping and freeze it (sorted tuples).

    Raises:
        ModelError: not a mapping of mappings, a field that is not in :data:`LANGUAGE_FIELDS`, or a value of the
            wrong type (a typo would otherwise be ignored silently).
    """
    if decoding is None:
        return ()
    if isinstance(decoding, tuple):
        decoding = {lang: dict(block) for lang, block in decoding}
    if not isinstance(decoding, dict):
        raise ModelError("decoding settings must map a language to its settings, e.g. {zh: {beam_size: 5}}")
    frozen = []
    for language, block in sorted(decoding.items()):
        if not isinstance(language, str) or not isinstance(block, dict):
            raise ModelError(f"decoding settings for {language!r} must be a mapping of settings")
        unknown = sorted(set(block) - set(LANGUAGE_FIELDS))
        if unknown:
            raise ModelError(f"unknown decoding setting(s) for {language!r}: {', '.join(map(str, unknown))} "
                             f"(allowed: {', '.join(sorted(LANGUAGE_FIELDS))})")
        for key, value in block.items():
            kind = LANGUAGE_FIELDS[key]
            if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
                raise ModelError(f"decoding setting {language}.{key}: {value!r} is not of the right type")
        frozen.append((language, tuple(sorted(block.items()))))
    return tuple(frozen)


def merge_decoding(*layers: FrozenDecoding) -> dict[str, dict[str, Any]]:
    """Field-by-field merge, later layers winning."""
    merged: dict[str, dict[str, Any]] = {}
    for layer in layers:
        for language, block in layer:
            merged.setdefault(language, {}).update(block)
    return merged


_model_decoding_cache: dict[str, FrozenDecoding] = {}


def model_decoding(model: str | None) -> FrozenDecoding:
    """The model's per-language settings: :data:`BUILTIN_DECODING`, with a user model directory's
    ``qa-engine.yaml`` ``decoding:`` block (when there is one) merged on top."""
    key = str(model or "")
    if key not in _model_decoding_cache:
        layers = [freeze_decoding(BUILTIN_DECODING)]
        path = os.path.join(os.path.expanduser(key), MODEL_SETTINGS_FILE) if key else ""
        if path and os.path.isfile(path):
            import yaml

            try:
                with open(path, encoding="utf-8") as fh:
                    doc = yaml.safe_load(fh) or {}
            except (OSError, yaml.YAMLError) as exc:
                raise ModelError(f"{path}: cannot read the model settings: {exc}") from None
            if not isinstance(doc, dict) or not set(doc) <= {"name", "decoding"}:
                raise ModelError(f"{path}: expected a mapping with a 'decoding:' block (and optionally 'name')")
            layers.append(freeze_decoding(doc.get("decoding")))
        _model_decoding_cache[key] = tuple((lang, tuple(sorted(b.items())))
                                           for lang, b in sorted(merge_decoding(*layers).items()))
    return _model_decoding_cache[key]


def language_options(options: AsrOptions, language: str) -> AsrOptions:
    """The settings ``language`` is decoded with: the global ones, then the model's per-language block, then the
    options' own ``decoding`` block; fields pinned by ``with_options`` keep their global value."""
    block = merge_decoding(model_decoding(options.model), options.decoding).get(language)
    changes = {k: v for k, v in (block or {}).items() if k not in options.pinned and getattr(options, k) != v}
    return replace(options, **changes) if changes else options


@dataclass(frozen=True)
class SpeechRegion:
    """A stretch of speech to recognise. ``key`` groups regions (e.g. one channel of one call)."""

    key: Hashable
    start: float
    audio: np.ndarray = field(repr=False)
    language: str
    channel: int = 0

    @property
    def end(self) -> float:
        return self.start + self.audio.shape[0] / SAMPLE_RATE


@dataclass(frozen=True)
class RecognisedRegion:
    """The words Whisper heard in one region, with times in the call."""

    region: SpeechRegion
    words: tuple[Word, ...]


def resolve_device(device: str, compute_type: str) -> tuple[str, str]:
    """'auto' -> CUDA with float16 when a GPU is visible, else CPU with int8."""
    import ctranslate2

    cuda = ctranslate2.get_cuda_device_count() > 0
    if device == "auto":
        device = "cuda" if cuda else "cpu"
    elif device == "cuda" and not cuda:
        raise ModelError("--device cuda was requested but no CUDA device is available "
                         "(check the NVIDIA driver and CUDA libraries, or use --device cpu)")
    elif device not in ("cpu", "cuda"):
        raise ModelError(f"unknown device {device!r}: use auto, cpu or cuda")
    if compute_type == "auto":
        compute_type = "float16" if device == "cuda" else "int8"
    return device, compute_type


_model_cache: dict[tuple[Any, ...], Any] = {}
_model_lock = threading.Lock()


def load_whisper(options: AsrOptions) -> Any:
    """Load (once per process and settings) the faster-whisper model named by ``options``."""
    from faster_whisper import WhisperModel

    device, compute_type = resolve_device(options.device, options.compute_type)
    threads = options.cpu_threads or (os.cpu_count() or 1)
    key = (options.model, device, compute_type, threads)
    with _model_lock:
        if key not in _model_cache:
            source = resolve_model(options.model)
            logger.info("loading ASR model %s on %s (%s)", source.name, device, compute_type)
            try:
                _model_cache[key] = WhisperModel(
                    source.path_or_name, device=device, compute_type=compute_type,
                    cpu_threads=threads, files=dict(source.files) if source.files else None,
                )
            except (RuntimeError, ValueError, OSError) as exc:
                raise ModelError(f"cannot load ASR model {source.name!r} on {device}/{compute_type}: {exc}") from None
        return _model_cache[key]


@dataclass
class _Window:
    key: Hashable
    language: str
    parts: list[tuple[int, float, float]] = field(default_factory=list)  # (region index, w_start, w_end)
    chunks: list[np.ndarray] = field(default_factory=list)
    length: float = 0.0


def pack_windows(regions: Sequence[SpeechRegion], window_s: float = 30.0, gap_s: float = 0.3,
                 lead_s: float = 0.0) -> list[_Window]:
    """Time-ordered packing of each key's regions into windows of at most ``window_s``.

    The windows of one key are balanced (about equal length) rather than filled greedily:
    a short last window gives Whisper too little context and decodes worst. A region longer
    than a window (less its lead-in silence) is truncated: split long speech first with
    :func:`split_long_spans`.
    """
    by_key: dict[tuple[Hashable, str], list[int]] = defaultdict(list)
    for i, r in enumerate(regions):
        by_key[(r.key, r.language)].append(i)
    windows: list[_Window] = []
    gap = np.zeros(int(gap_s * SAMPLE_RATE), dtype=np.float32)
    for (key, language), idxs in by_key.items():
        idxs.sort(key=lambda i: regions[i].start)
        limit = max(window_s - lead_s, 0.0)
        durations = [min(regions[i].audio.shape[0] / SAMPLE_RATE, limit) for i in idxs]
        total = sum(durations) + gap_s * max(len(idxs) - 1, 0)
        n_windows = max(1, int(np.ceil(total / max(window_s - 0.5 - lead_s, 1e-3))))
        target = lead_s + total / n_windows
        win = _Window(key, language)
        for i in idxs:
            audio = regions[i].audio[: int(limit * SAMPLE_RATE)]
            dur = audio.shape[0] / SAMPLE_RATE
            over_target = win.length + gap_s + dur / 2 > target and len(windows) < n_windows - 1
            if win.parts and (win.length + gap_s + dur > window_s - 0.5 or over_target):
                windows.append(win)
                win = _Window(key, language)
            if win.parts:
                win.chunks.append(gap)
                win.length += gap_s
            elif lead_s > 0:
                win.chunks.append(np.zeros(int(lead_s * SAMPLE_RATE), dtype=np.float32))
                win.length += lead_s
            win.parts.append((i, win.length, win.length + dur))
            win.chunks.append(audio.astype(np.float32, copy=False))
            win.length += dur
        if win.parts:
            windows.append(win)
    return windows


def split_long_spans(spans: Sequence[Span], energy_db: np.ndarray, frame_s: float, max_s: float) -> list[Span]:
    """Cut spans longer than ``max_s`` at their quietest frame, so that no speech is truncated.

    Each cut falls in the second half of the next ``max_s`` stretch (pieces of ``max_s / 2`` to
    ``max_s``); ``energy_db`` is the channel's per-frame level (one value per ``frame_s``).
    """
    max_s = max(max_s, frame_s)  # each piece advances by at least one frame
    out: list[Span] = []
    for span in spans:
        start = span.start
        while span.end - start > max_s:
            f0 = int((start + max_s / 2) / frame_s)
            f1 = int((start + max_s) / frame_s)
            level = energy_db[f0:f1]
            cut = (f0 + int(np.argmin(level))) * frame_s if level.size else start + max_s
            cut = min(max(cut, start + frame_s), start + max_s)
            out.append(Span(start, cut))
            start = cut
        out.append(Span(start, span.end))
    return out


def batch_windows(windows: Sequence[_Window], batch_size: int,
                  bucket_s: float = 5.0) -> list[tuple[str, list[_Window]]]:
    """Batches of one language and similar length (a batch is padded to its longest window, and
    the encoder's cost grows faster than linearly with length: a short window padded to a long
    one wastes most of its compute)."""
    groups: dict[tuple[str, int], list[_Window]] = defaultdict(list)
    for w in windows:
        bucket = int(np.ceil(w.length / bucket_s)) if bucket_s > 0 else 0
        groups[(w.language, bucket)].append(w)
    size = max(1, batch_size)
    return [(language, wins[b: b + size]) for (language, _), wins in groups.items() for b in range(0, len(wins), size)]


# A unit of 2-6 characters (not only digits) repeated three times or more in a row.
_STUTTER = re.compile(r"(\D.{1,5}?)\1{2,}")


def _squash(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum() or ch == ".").replace(".", "")


def is_hallucination(text: str) -> bool:
    """True for Whisper's stock silence phrases (subtitle credits, 'thanks for watching')."""
    s = _squash(text)
    return bool(s) and any(_squash(p) == s or (len(s) >= 6 and _squash(p) in s) for p in HALLUCINATION_PHRASES)


class Recognizer:
    """Batched Whisper decoding of speech regions (one loaded model, many calls)."""

    def __init__(self, options: AsrOptions | None = None, model: Any = None) -> None:
        self.options = options or AsrOptions()
        self.model = model if model is not None else load_whisper(self.options)

    def with_options(self, **changes: Any) -> Recognizer:
        """Same model, other decoding settings, used for every language as they are: the per-language blocks
        (model and options) no longer apply, unless ``decoding=`` is passed again (then only the fields named in
        ``changes`` win over it). Why: the live tap asks for greedy, low-latency decoding of every language, while
        the final scoring of the call keeps each language's own settings."""
        if "decoding" in changes:
            pinned = self.options.pinned | (set(changes) - {"decoding", "pinned"})
        else:
            pinned = frozenset(LANGUAGE_FIELDS)
        return Recognizer(replace(self.options, **changes, pinned=frozenset(pinned)), self.model)

    def for_language(self, language: str) -> Recognizer:
        """Same model, with ``language``'s decoding settings (:func:`language_options`)."""
        options = language_options(self.options, language)
        if options is self.options:
            return self
        clone = copy.copy(self)  # same class (wrappers that record or proxy keep working), same model
        clone.options = options
        return clone

    def recognise(self, regions: Sequence[SpeechRegion],
                  progress: Callable[[float, float], None] | None = None) -> list[RecognisedRegion]:
        """Words for every region, in the input order (each language with its own decoding settings).

        ``progress(done_s, total_s)`` is called after each decoded batch with the seconds of speech windows done,
        so a long call can show how far ASR has got.
        """
        languages = list(dict.fromkeys(r.language for r in regions))
        if len(languages) <= 1:
            return self.for_language(languages[0] if languages else "")._recognise(regions, progress)
        out: list[RecognisedRegion | None] = [None] * len(regions)
        for language in languages:
            idx = [i for i, r in enumerate(regions) if r.language == language]
            part = self.for_language(language)._recognise([regions[i] for i in idx], progress)
            for i, rr in zip(idx, part, strict=True):
                out[i] = rr
        return [rr for rr in out if rr is not None]

    def _recognise(self, regions: Sequence[SpeechRegion],
                   progress: Callable[[float, float], None] | None = None) -> list[RecognisedRegion]:
        """:meth:`recognise` for regions of one language, with this recognizer's options."""
        opts = self.options
        words: list[list[Word]] = [[] for _ in regions]
        windows = pack_windows(regions, opts.window_s, opts.gap_s, opts.lead_s)
        self._decode_windows(windows, regions, words, fallback=opts.fallback, progress=progress)
        # Whisper sometimes skips a turn in the middle of a packed window. A VAD region of
        # some length that got no words is decoded once more on its own (all such regions in
        # one batch). A region that was already alone in its window would only decode the same again.
        shared = {i for w in windows if len(w.parts) > 1 for i, _, _ in w.parts}
        skipped = [i for i in sorted(shared) if not words[i] and regions[i].end - regions[i].start >= opts.retry_min_s]
        if skipped:
            logger.info("%d speech region(s) got no words; decoding them on their own", len(skipped))
            alone = [replace(regions[i], key=("alone", i)) for i in skipped]
            retry_words: list[list[Word]] = [[] for _ in alone]
            self._decode_windows(pack_windows(alone, opts.window_s, opts.gap_s, opts.lead_s), alone, retry_words,
                                 fallback=False)
            for i, ws in zip(skipped, retry_words, strict=True):
                words[i] = ws
        return [RecognisedRegion(r, tuple(ws)) for r, ws in zip(regions, words, strict=True)]

    def _decode_windows(self, windows: list[_Window], regions: Sequence[SpeechRegion],
                        words: list[list[Word]], fallback: bool = True,
                        progress: Callable[[float, float], None] | None = None) -> None:
        """Decode windows in batches; a failed window is redone with temperature fallback, or,
        when ``fallback`` is off (a lone retried region: often a cough or noise), dropped."""
        opts = self.options
        total_s, done_s = sum(w.length for w in windows), 0.0
        tails: list[_Window] = []
        for language, batch in batch_windows(windows, opts.batch_size, opts.bucket_s):
            for win, segments in zip(batch, self._decode(batch, language), strict=True):
                if self._needs_fallback(segments, win.length):
                    segments = self._decode_with_fallback(win, language) if fallback else []
                self._assign_words(win, segments, regions, words)
                tail = self._undecoded_tail(win, segments) if opts.resume_s > 0 else None
                if tail is not None:
                    tails.append(tail)
            done_s += sum(w.length for w in batch)
            if progress is not None:
                progress(done_s, total_s)
        if tails:
            # Whisper ended some windows early (end of text well before the end of the speech): what plain
            # sequential decoding does on its next seek, decode the rest once more (no further continuation).
            logger.info("%d window(s) ended early; decoding their last %.1f s again", len(tails),
                        sum(t.length for t in tails))
            for language, batch in batch_windows(tails, opts.batch_size, opts.bucket_s):
                for win, segments in zip(batch, self._decode(batch, language), strict=True):
                    if self._needs_fallback(segments, win.length):
                        continue
                    self._assign_words(win, segments, regions, words)

    def _undecoded_tail(self, win: _Window, segments: list[dict[str, Any]]) -> _Window | None:
        """The speech after the last decoded segment of ``win`` as a window of its own, when at least ``resume_s``
        of it is left (None otherwise, or when nothing was decoded: the lone-region retry handles that)."""
        if not segments:
            return None
        t0 = max(float(seg["end"]) for seg in segments)
        if win.length - t0 < self.options.resume_s:
            return None
        audio = np.concatenate(win.chunks)[int(t0 * SAMPLE_RATE):]
        lead = self.options.lead_s
        shift = lead - t0
        parts = [(i, w0 + shift, w1 + shift) for i, w0, w1 in win.parts if w1 > t0 + 0.1]  # w0 may be < lead
        if not parts:
            return None
        chunks = [np.zeros(int(lead * SAMPLE_RATE), dtype=np.float32), audio] if lead > 0 else [audio]
        return _Window(win.key, win.language, parts, chunks, lead + audio.shape[0] / SAMPLE_RATE)

    def detect_language(self, audio: np.ndarray, allowed: Sequence[str] = ("zh", "en")) -> tuple[str, float]:
        """Whisper's language guess on up to 30 s of speech, restricted to ``allowed`` languages."""
        if audio.size == 0:
            return allowed[0], 0.0
        _, _, probs = self.model.detect_language(audio=np.ascontiguousarray(audio[: 30 * SAMPLE_RATE]))
        scores = {lang: p for lang, p in probs if lang in allowed}
        best = max(allowed, key=lambda lang: scores.get(lang, 0.0))
        return best, float(scores.get(best, 0.0))

    def _decode(self, batch: list[_Window], language: str) -> list[list[dict[str, Any]]]:
        from faster_whisper import BatchedInferencePipeline
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer

        model = self.model
        tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=language)
        longest = max(w.length for w in batch)
        frames = 3000 if self.options.pad_to_30s else int(np.ceil(longest + 0.5)) * 100
        if self.options.pad_silence:
            features = np.stack([self._silence_padded_features(w, frames) for w in batch])
        else:
            features = np.stack([
                pad_or_trim(model.feature_extractor(np.concatenate(w.chunks))[..., :-1], frames) for w in batch
            ])
        metadata = [{"offset": 0.0, "duration": w.length, "segments": []} for w in batch]
        pipeline = BatchedInferencePipeline(model)
        # Even fast talkers stay under ~8 tokens/s (timestamps included); a cap stops a
        # repetition loop from running to Whisper's 448-token limit on a short window.
        max_new_tokens = min(int(10 * longest) + 16, 400)
        return pipeline.forward(features, tokenizer, metadata, self._transcription_options(tokenizer, max_new_tokens))

    def _silence_padded_features(self, win: _Window, frames: int) -> np.ndarray:
        audio = np.concatenate(win.chunks)[: frames * 160]
        padded = np.zeros(frames * 160, dtype=np.float32)
        padded[: audio.shape[0]] = audio
        return np.asarray(self.model.feature_extractor(padded)[..., :frames])

    def _transcription_options(self, tokenizer: Any, max_new_tokens: int | None = None) -> Any:
        from faster_whisper.transcribe import TranscriptionOptions, get_suppressed_tokens

        o = self.options
        return TranscriptionOptions(
            beam_size=o.beam_size, best_of=1, patience=1.0, length_penalty=1.0, repetition_penalty=1.0,
            no_repeat_ngram_size=0, log_prob_threshold=o.logprob_threshold,
            no_speech_threshold=o.no_speech_threshold,
            compression_ratio_threshold=o.compression_ratio_threshold, condition_on_previous_text=False,
            prompt_reset_on_temperature=0.5, temperatures=[0.0], initial_prompt=o.initial_prompt,
            prefix=None, suppress_blank=True, suppress_tokens=get_suppressed_tokens(tokenizer, [-1]),
            without_timestamps=o.without_timestamps, max_initial_timestamp=0.0, word_timestamps=o.word_timestamps,
            prepend_punctuations="\"'“¿([{-", append_punctuations="\"'.。,，!！?？:：”)]}、",
            multilingual=False, max_new_tokens=max_new_tokens, clip_timestamps="0",
            hallucination_silence_threshold=None, hotwords=None,
        )

    def _needs_fallback(self, segments: list[dict[str, Any]], length_s: float = 30.0) -> bool:
        """Greedy batch decoding failed (repetition loop or very unsure): redo the window."""
        from faster_whisper.transcribe import get_compression_ratio

        o = self.options
        window_text = " ".join(seg.get("text", "").strip() for seg in segments)
        if window_text and get_compression_ratio(window_text) > o.compression_ratio_threshold:
            return True
        if _STUTTER.search(_squash(window_text)):  # 按键按键按键: a loop inside one segment
            return True
        texts = [_squash(seg.get("text", "")) for seg in segments]
        if any(t and texts.count(t) >= 3 for t in texts):  # a short repetition loop
            return True
        for seg in segments:
            if seg.get("compression_ratio", 0.0) > o.compression_ratio_threshold:
                return True
            # An unsure short window ("Um...") is not worth a second, sequential decoding.
            unsure = seg.get("avg_logprob", 0.0) < o.logprob_threshold and length_s >= 4.0
            if unsure and seg.get("no_speech_prob", 0.0) <= o.no_speech_threshold:
                return True
        return False

    def _decode_with_fallback(self, win: _Window, language: str) -> list[dict[str, Any]]:
        """Sequential decoding for the rare failed window: first greedy with a repetition penalty (deterministic:
        the same audio gives the same text on every run), then Whisper's temperature fallback (sampling)."""
        logger.info("window of %.1f s on %s: greedy decoding failed, retrying with a repetition penalty",
                    win.length, win.key)
        audio = np.concatenate(win.chunks)
        segments = self._transcribe(audio, language, (0.0,), repetition_penalty=1.3)
        if self._needs_fallback(segments, win.length):
            logger.info("window of %.1f s on %s: still failing, retrying with temperature fallback",
                        win.length, win.key)
            segments = self._transcribe(audio, language, (0.2, 0.4, 0.6, 0.8, 1.0))
        return segments

    def _transcribe(self, audio: np.ndarray, language: str, temperatures: tuple[float, ...],
                    repetition_penalty: float = 1.0) -> list[dict[str, Any]]:
        o = self.options
        segments, _ = self.model.transcribe(
            audio, language=language, beam_size=o.beam_size, temperature=temperatures,
            repetition_penalty=repetition_penalty, word_timestamps=o.word_timestamps, vad_filter=False,
            condition_on_previous_text=False, compression_ratio_threshold=o.compression_ratio_threshold,
            log_prob_threshold=o.logprob_threshold, no_speech_threshold=o.no_speech_threshold,
            initial_prompt=o.initial_prompt,
        )
        return [
            {"text": s.text, "start": s.start, "end": s.end, "avg_logprob": s.avg_logprob,
             "no_speech_prob": s.no_speech_prob, "compression_ratio": s.compression_ratio,
             "words": [{"word": w.word, "start": w.start, "end": w.end, "probability": w.probability}
                       for w in (s.words or [])]}
            for s in segments
        ]

    def _keep_segment(self, seg: dict[str, Any]) -> bool:
        o = self.options
        if seg.get("no_speech_prob", 0.0) > o.no_speech_threshold and seg.get("avg_logprob", 0.0) < o.logprob_threshold:
            return False
        if seg.get("compression_ratio", 0.0) > o.compression_ratio_threshold:
            return False
        return not is_hallucination(seg.get("text", ""))

    def _assign_words(self, win: _Window, segments: list[dict[str, Any]], regions: Sequence[SpeechRegion],
                      out: list[list[Word]]) -> None:
        kept: list[dict[str, Any]] = []
        for seg in segments:
            # A zero-length segment at the end of a window is Whisper repeating itself, not speech.
            if seg["end"] - seg["start"] < 0.05 and len(_squash(seg.get("text", ""))) > 3:
                logger.info("dropped zero-length repeated segment: %r", seg.get("text", ""))
                continue
            if not self._keep_segment(seg):
                logger.info("dropped likely hallucination: %r", seg.get("text", ""))
                continue
            kept.extend(seg.get("words") or [
                {"start": seg["start"], "end": seg["end"], "word": seg["text"], "probability": 1.0}])
        half_gap = self.options.gap_s / 2
        for w in drop_repeated_runs(kept, n=8 if win.language == "zh" else 6):
            mid = (w["start"] + w["end"]) / 2
            idx, w0, w1 = min(win.parts, key=lambda p: 0.0 if p[1] - half_gap <= mid < p[2] + half_gap
                              else min(abs(mid - p[1]), abs(mid - p[2])))
            region = regions[idx]
            dur = w1 - w0
            start = region.start + min(max(w["start"] - w0, 0.0), dur)
            end = region.start + min(max(w["end"] - w0, 0.0), dur)
            if w["word"].strip():
                out[idx].append(Word(round(float(start), 3), round(float(max(end, start)), 3), w["word"],
                                     float(w["probability"])))


_NUMBER_TOKENS = frozenset(
    "zero oh one two three four five six seven eight nine ten double triple".split()
    + list("零〇一幺二两三四五六七八九十"))


def _is_number(token: str) -> bool:
    return token.isdigit() or token in _NUMBER_TOKENS


def drop_repeated_runs(words: list[dict[str, Any]], n: int = 6) -> list[dict[str, Any]]:
    """Remove word runs of length >= ``n`` that repeat an earlier run in the same window.

    Whisper sometimes re-reads the start of a window at its end; real speech almost never
    repeats a run of six English words (eight Mandarin tokens, mostly single characters)
    within a few seconds. Shorter runs do recur ("thank you for calling" opens and closes a call).
    """
    keys = [_squash(w["word"]) for w in words]
    seen: set[tuple[str, ...]] = set()
    drop = [False] * len(words)
    for i in range(len(words) - n + 1):
        gram = tuple(keys[i: i + n])
        if all(_is_number(k) for k in gram):  # people do repeat numbers back ("4 7 3 9 1, 4 7 3 9 1")
            continue
        if gram in seen:
            for j in range(i, i + n):
                drop[j] = True
        else:
            seen.add(gram)
    return [w for w, d in zip(words, drop, strict=True) if not d]
