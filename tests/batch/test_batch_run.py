"""A batch over real short clips plus bad files, in-process with the session's model: DB rows, report, API."""

from __future__ import annotations

import csv
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.main import create_app
from qa_engine.app.batch import BatchOptions, run_batch
from qa_engine.app.batch.report import format_summary
from qa_engine.app.models import Call, FindingRow, Job
from qa_engine.app.settings import Settings
from qa_engine.app.users import create_user
from qa_engine.asr_batching import recognise_many
from qa_engine.pipeline import CallInput, Pipeline, PipelineOptions


def _run(source: Path, sessions: Any, tmp_path: Path, recognizer: Any, **kw: Any) -> dict[str, Any]:
    # the source clips are one voice each (one party's side): no diarization (--speakers 1)
    kw.setdefault("pipeline", PipelineOptions(speakers=1))
    options = BatchOptions(source=source, workers=1, report_dir=tmp_path / "report", lease_s=5.0, **kw)
    return run_batch(options, sessions, data_dir=tmp_path / "data", recognizer=recognizer)


def test_batch_scores_good_files_records_bad_ones_and_resumes(source: Path, sessions: Any, tmp_path: Path,
                                                               recognizer: Any) -> None:
    dry = _run(source, sessions, tmp_path, recognizer, dry_run=True)
    assert (dry["to_score"], dry["scored"], dry["failed"]) == (4, 0, 0)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Call)) == 0  # a dry run writes nothing

    summary = _run(source, sessions, tmp_path, recognizer)
    assert (summary["scored"], summary["skipped"], summary["failed"]) == (2, 0, 2)
    reasons = sorted(f["error"] for f in summary["failures"])
    assert "corrupt.wav" in reasons[0] and "not audio" in reasons[0]
    assert "empty.flac" in reasons[1] and "empty" in reasons[1]
    with sessions() as s:
        rows = {c.call_id: c for c in s.scalars(select(Call))}
        assert set(rows) == {"EN-1", "zh1", "corrupt", "empty"}
        en, zh = rows["EN-1"], rows["zh1"]
        assert (en.status, en.source, en.agent, en.team, en.pack, en.language) == ("done", "audio", "alice", "t1",
                                                                                    "en", "en")
        assert en.started_at is not None and en.content_hash and en.pack_version
        assert zh.pack == "zh-CN" and zh.report and zh.report["utterances"]
        assert en.score is not None and en.grade and en.audio_path and Path(en.audio_path).is_file()
        assert s.scalar(select(func.count()).select_from(FindingRow).where(FindingRow.call_pk == en.id)) > 0
        assert rows["corrupt"].status == "failed" and "not audio" in (rows["corrupt"].error or "")
        job = s.scalar(select(Job).where(Job.kind == "batch"))
        assert job is not None and job.status == "failed" and job.result and job.result["scored"] == 2

    # the report next to the run
    report = tmp_path / "report"
    with (report / "calls.csv").open(encoding="utf-8") as fh:
        lines = list(csv.DictReader(fh))
    assert sorted(r["status"] for r in lines) == ["failed", "failed", "scored", "scored"]
    doc = json.loads((report / "calls.json").read_text(encoding="utf-8"))
    assert doc["summary"]["scored"] == 2 and len(doc["calls"]) == 4
    assert (report / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "2 scored" in format_summary(summary)

    # again: nothing is scored twice; the bad files are retried (and fail again)
    again = _run(source, sessions, tmp_path, recognizer)
    assert (again["scored"], again["skipped"], again["failed"]) == (0, 2, 2)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Call)) == 4

    # the failed call is visible through the API with its reason
    settings = Settings(data_dir=tmp_path / "data", db_url=str(sessions.kw["bind"].url))
    with sessions() as s:
        _, key = create_user(s, "root", "admin")
        corrupt_pk = s.scalar(select(Call.id).where(Call.call_id == "corrupt"))
    with TestClient(create_app(settings)) as client:
        got = client.get(f"/api/v1/calls/{corrupt_pk}", headers={"Authorization": f"Bearer {key}"})
    assert got.status_code == 200
    assert got.json()["status"] == "failed" and "not audio" in got.json()["error"]


def test_since_scores_only_newer_files(source: Path, sessions: Any, tmp_path: Path, recognizer: Any) -> None:
    old = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    for name in ("corrupt.wav", "empty.flac", "day1/zh1.flac"):
        os.utime(source / name, (old, old))
    summary = _run(source, sessions, tmp_path, recognizer, since=datetime(2026, 11, 1, tzinfo=UTC))
    assert (summary["files"], summary["scored"], summary["failed"]) == (1, 1, 0)
    with sessions() as s:
        assert list(s.scalars(select(Call.call_id))) == ["EN-1"]


def test_cross_call_batching_gives_the_same_words(recognizer: Any, data_dir: Path) -> None:
    """Two calls' regions in one recognise() come back as each call alone would get them."""
    pipeline = Pipeline(PipelineOptions(language="en", speakers=1), recognizer=recognizer)
    captured: list[Any] = []

    class Capture:
        options = recognizer.options

        def recognise(self, regions: Any) -> Any:
            captured.append(list(regions))
            return recognizer.recognise(regions)

    capturing = Pipeline(PipelineOptions(language="en", speakers=1), recognizer=Capture())  # type: ignore[arg-type]
    clips = [data_dir / "clips" / "en_agent_greeting.flac", data_dir / "call_en_mono.wav"]
    alone = [capturing.transcribe(CallInput(c))[0] for c in clips]
    together = recognise_many(recognizer, captured)
    for transcript, words in zip(alone, together, strict=True):
        assert " ".join(w.word for ws in words for w in ws).split() == \
            " ".join(w.word for u in transcript.utterances for w in u.words).split()
    assert pipeline.recognizer is recognizer


@pytest.mark.parametrize("engine", ["local"])
def test_unknown_pack_is_refused_before_anything_runs(source: Path, sessions: Any, tmp_path: Path, recognizer: Any,
                                                      engine: str) -> None:
    from qa_engine.errors import QaEngineError

    with pytest.raises(QaEngineError, match="no-such-pack"):
        _run(source, sessions, tmp_path, recognizer, pack="no-such-pack", engine=engine)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Call)) == 0
