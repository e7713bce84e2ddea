"""Cross-call batching (the GPU path) checked on CPU: chunk packing across calls, words back to their call.

On a GPU the service's workers and ``qa-engine batch`` hand the speech of every call in flight to one
:class:`AsrBatcher`; these tests run that machinery with the bundled model on CPU, so CI guards it without
a GPU. Window packing of one call is covered in test_asr_units.py; here the regions come from several calls.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rapidfuzz import fuzz

from qa_engine.app.settings import Settings
from qa_engine.app.worker import PipelineProvider
from qa_engine.asr import SAMPLE_RATE, Recognizer, SpeechRegion, batch_windows, pack_windows
from qa_engine.asr_batching import AsrBatcher, BatchedRecognizer, on_gpu
from qa_engine.audio import load_audio

EN_OFFSET_S = 100.0  # the second English call: the first one's turns, channels swapped, 100 s later


def _region(key: Hashable, start: float, dur: float, language: str, channel: int = 0) -> SpeechRegion:
    return SpeechRegion(key, start, np.full(int(dur * SAMPLE_RATE), 0.1, dtype=np.float32), language, channel)


# --- packing and batching, no model -----------------------------------------------------------


def test_windows_never_mix_calls_but_batches_do() -> None:
    """Regions of 4 calls x 2 channels, two languages, merged the way ``recognise_many`` merges them."""
    calls = []
    for call in range(4):
        language = "zh" if call == 3 else "en"
        calls.append([_region((ch,), t, 2.0 + 0.5 * ch, language, ch) for ch in (0, 1) for t in (0.0, 5.0, 10.0)])
    merged = [SpeechRegion((n, r.key), r.start, r.audio, r.language, r.channel)
              for n, regions in enumerate(calls) for r in regions]
    windows = pack_windows(merged, window_s=20.0, gap_s=0.1, lead_s=0.15)
    for w in windows:  # one window: one call, one channel, one language
        assert {(merged[i].key, merged[i].language) for i, _, _ in w.parts} == {(w.key, w.language)}
    assert sorted(i for w in windows for i, _, _ in w.parts) == list(range(len(merged)))  # each region once
    assert len(windows) == 8  # one window per call and channel

    batches = batch_windows(windows, batch_size=3, bucket_s=5.0)
    assert all(1 <= len(batch) <= 3 for _, batch in batches)
    assert sorted(id(w) for _, batch in batches for w in batch) == sorted(id(w) for w in windows)
    for language, batch in batches:
        assert {w.language for w in batch} == {language}  # a batch decodes one language
    en = [{call_of(w.key) for w in batch} for language, batch in batches if language == "en"]
    zh = [{call_of(w.key) for w in batch} for language, batch in batches if language == "zh"]
    assert len(en) == 2 and all(len(calls) >= 2 for calls in en)  # windows of different calls share a batch
    assert zh == [{3}]


def call_of(key: Hashable) -> Any:
    """The call index in a merged key ``(call, channel key)``."""
    assert isinstance(key, tuple)
    return key[0]


# --- one decoding pass of three calls through the service path (threads -> batcher -> model) ---------


class RecordingRecognizer(Recognizer):
    """The real recognizer (same model), noting what each batch and window held before decoding it."""

    def __init__(self, base: Recognizer) -> None:
        super().__init__(base.options, base.model)
        self.batches: list[tuple[str, list[Hashable]]] = []
        self.windows: list[tuple[Hashable, set[Hashable], set[str]]] = []

    def _decode_windows(self, windows: Any, regions: Sequence[SpeechRegion], *args: Any, **kwargs: Any) -> None:
        for w in windows:
            self.windows.append((w.key, {regions[i].key for i, _, _ in w.parts},
                                 {regions[i].language for i, _, _ in w.parts}))
        super()._decode_windows(windows, regions, *args, **kwargs)

    def _decode(self, batch: Any, language: str) -> Any:
        self.batches.append((language, [w.key for w in batch]))
        return super()._decode(batch, language)


def _turn_regions(data_dir: Path, name: str, offset: float = 0.0,
                  swap: bool = False) -> tuple[list[dict[str, Any]], list[SpeechRegion]]:
    """One region per scripted turn (its channel's audio, 0.1 s margin), as the pipeline builds them."""
    script = json.loads((data_dir / f"{name}.expected.json").read_text(encoding="utf-8"))
    samples = load_audio(data_dir / f"{name}.flac").samples
    regions = []
    for turn in script["turns"]:
        t0, t1 = turn["start"] - 0.1, turn["end"] + 0.1
        audio = samples[turn["channel"], int(t0 * SAMPLE_RATE): int(t1 * SAMPLE_RATE)]
        channel = 1 - turn["channel"] if swap else turn["channel"]
        regions.append(SpeechRegion((channel,), t0 + offset, audio, script["language"], channel))
    return script["turns"], regions


@pytest.fixture(scope="module")
def three_calls(recognizer: Recognizer, data_dir: Path) -> dict[str, Any]:
    """Three calls recognised at the same time from three threads through one batcher (the service's GPU path)."""
    calls = [_turn_regions(data_dir, "call_en_stereo"),
             _turn_regions(data_dir, "call_en_stereo", offset=EN_OFFSET_S, swap=True),
             _turn_regions(data_dir, "call_zh_stereo")]
    recording = RecordingRecognizer(recognizer)
    speech_s = sum(r.audio.shape[0] for _, regions in calls for r in regions) / SAMPLE_RATE
    # the batcher waits (up to 5 s) for the three calls' speech, and not a moment longer
    batcher = AsrBatcher(recording, target_s=speech_s - 0.5, max_wait_s=5.0)
    shared = BatchedRecognizer(batcher)
    start = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def score(n: int) -> None:
        start.wait()
        results[n] = shared.recognise(calls[n][1])

    threads = [threading.Thread(target=score, args=(n,)) for n in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    batcher.close()
    return {"calls": calls, "results": results, "batcher": batcher, "recording": recording}


def test_calls_in_flight_are_decoded_in_shared_batches(three_calls: dict[str, Any]) -> None:
    batcher, recording = three_calls["batcher"], three_calls["recording"]
    assert (batcher.requests, batcher.batches) == (3, 1)  # three calls, one recognise()
    for key, region_keys, languages in recording.windows:
        assert region_keys == {key} and len(languages) == 1  # a window holds one call's channel
    # keys are (request, channel): requests are numbered in the order the threads' calls reached the batcher
    en = [{k[0] for k in keys if k[0] != "alone"} for lang, keys in recording.batches if lang == "en"]
    zh = [{k[0] for k in keys if k[0] != "alone"} for lang, keys in recording.batches if lang == "zh"]
    assert any(len(calls) == 2 for calls in en)  # the two English calls' windows in one batch
    assert zh and len(set().union(*zh)) == 1 and not set().union(*zh) & set().union(*en)


def _norm(text: str) -> str:
    return re.sub(r"[^\w ]", "", text.lower()).strip()


def test_words_come_back_to_their_call_channel_and_time(three_calls: dict[str, Any]) -> None:
    for (_, regions), recognised in zip(three_calls["calls"], three_calls["results"], strict=True):
        assert [rr.region for rr in recognised] == regions  # in the order given, one result per region
        for rr in recognised:
            assert rr.words, f"no words for the region at {rr.region.start:.2f} s"
            for w in rr.words:  # times are in the call, inside the region the words were heard in
                assert rr.region.start - 1e-3 <= w.start <= w.end <= rr.region.end + 1e-3

    turns, _ = three_calls["calls"][0]
    first, second = three_calls["results"][0], three_calls["results"][1]
    for n, (turn, a, b) in enumerate(zip(turns, first, second, strict=True)):
        assert b.region.channel == 1 - turn["channel"] == 1 - a.region.channel
        # each region got its own turn's words (not a neighbour's, nor the other call's)
        said = [_norm(t["text"]) for t in turns]
        heard = _norm(" ".join(w.word for w in a.words))
        assert max(range(len(turns)), key=lambda k: fuzz.ratio(heard, said[k])) == n, (heard, said[n])
        # the same audio in the other call: the same words, on the other channel, 100 s later
        assert [w.word for w in b.words] == [w.word for w in a.words]
        assert [w.start for w in b.words] == pytest.approx([w.start + EN_OFFSET_S for w in a.words], abs=0.02)

    zh = three_calls["results"][2]
    assert all(re.search(r"[\u4e00-\u9fff]", "".join(w.word for w in rr.words)) for rr in zh)


# --- the service: when do workers share batches -------------------------------------------------


def test_service_workers_share_a_batcher_only_on_gpu_or_when_asked(pipeline_en: Any, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, workers=4)
    assert not on_gpu(pipeline_en.recognizer)
    auto = PipelineProvider(settings, pipeline_en)
    assert auto.get() is pipeline_en and auto.batcher is None  # CPU: unchanged

    off = PipelineProvider(settings.model_copy(update={"asr_batching": "off"}), pipeline_en)
    assert off.get() is pipeline_en

    forced = PipelineProvider(settings.model_copy(update={"asr_batching": "on", "asr_batch_wait_ms": 10.0}),
                              pipeline_en)
    try:
        batched = forced.get()
        assert batched is forced.get() and batched is not pipeline_en  # built once, the caller's left alone
        assert isinstance(batched.recognizer, BatchedRecognizer)
        assert batched.recognizer.model is pipeline_en.recognizer.model  # one model per process
        assert batched.options == pipeline_en.options and forced.batcher is not None
        assert forced.batcher.max_wait_s == pytest.approx(0.01)
        assert batched.recognizer.recognise([]) == []
        # other decoding settings (the live tap's): a plain recognizer over the same model
        live = batched.recognizer.with_options(word_timestamps=False)
        assert type(live) is Recognizer and live.model is pipeline_en.recognizer.model
        assert live.options.word_timestamps is False and batched.recognizer.options.word_timestamps is True
    finally:
        forced.close()
    assert forced.batcher is None and not forced.loaded

    one = PipelineProvider(settings.model_copy(update={"asr_batching": "on"}), pipeline_en, concurrency=1)
    try:
        assert isinstance(one.get().recognizer, BatchedRecognizer)  # "on" means on, even for one worker
    finally:
        one.close()


def test_settings_accept_gpu_compute_types_and_refuse_typos(tmp_path: Path) -> None:
    from pydantic import ValidationError

    for compute_type in ("int8_float16", "float16", "int8", "auto"):
        assert Settings(data_dir=tmp_path, compute_type=compute_type).compute_type == compute_type
    assert Settings(data_dir=tmp_path, compute_type="").compute_type is None
    with pytest.raises(ValidationError, match="unknown compute_type 'fp16'.*int8_float16"):
        Settings(data_dir=tmp_path, compute_type="fp16")
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path, batch_size=0)


def test_service_refuses_to_start_on_cuda_without_a_gpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    import ctranslate2

    from qa_engine.cli import main

    if ctranslate2.get_cuda_device_count() > 0:
        pytest.skip("a CUDA device is visible: the no-GPU error cannot be checked here")
    monkeypatch.setenv("QA_ENGINE_DEVICE", "cuda")
    for argv in (["worker", "--once", "--concurrency", "2"], ["serve", "--port", "0"]):
        assert main([*argv, "--data-dir", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert "QA_ENGINE_DEVICE=cuda, but no CUDA device is available" in err and "--gpus all" in err


def test_worker_command_takes_concurrency_and_batch_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``qa-engine worker --concurrency 2 --once`` on an empty queue: two threads start, find nothing, exit 0."""
    from qa_engine.cli import main

    monkeypatch.setenv("QA_ENGINE_DEVICE", "cpu")
    assert main(["worker", "--once", "--concurrency", "2", "--batch-size", "8", "--data-dir", str(tmp_path)]) == 0
    assert main(["worker", "--once", "--concurrency", "0", "--data-dir", str(tmp_path)]) == 2


def test_service_workers_score_calls_through_one_batcher(pipeline_en: Any, data_dir: Path, tmp_path: Path) -> None:
    """Two uploaded calls, two worker threads, one model: both calls' speech goes through the shared batcher."""
    from fastapi.testclient import TestClient

    from api.background import make_worker
    from api.main import create_app
    from qa_engine.app.users import create_user

    settings = Settings(data_dir=tmp_path / "data", workers=0, asr_batching="on", asr_batch_wait_ms=2000.0)
    app = create_app(settings, pipeline=pipeline_en)
    with TestClient(app) as client:
        with app.state.session_factory() as session:
            _, key = create_user(session, "alice", "agent", "t1")
        headers = {"Authorization": f"Bearer {key}"}
        ids = []
        for name, language in (("call_en_stereo.flac", "en"), ("call_zh_stereo.flac", "zh")):
            response = client.post("/api/v1/calls", headers=headers, data={"language": language},
                                   files={"file": (name, (data_dir / name).read_bytes(), "audio/flac")})
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])
        workers = [make_worker(app, i) for i in range(2)]
        threads = [threading.Thread(target=w.run_once) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        try:
            batcher = app.state.pipelines.batcher
            assert batcher is not None and batcher.requests == 2  # both calls' ASR went through it
            calls = [client.get(f"/api/v1/calls/{i}", headers=headers).json() for i in ids]
        finally:
            app.state.pipelines.close()
    for call, language in zip(calls, ("en", "zh"), strict=True):
        assert call["status"] == "done", call.get("error")
        utterances = call["report"]["utterances"]
        assert call["report"]["language"] == language and {u["channel"] for u in utterances} == {0, 1}
        assert all(u["start"] < call["report"]["duration"] for u in utterances)
