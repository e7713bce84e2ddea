"""Parity: every caller scores a call the same way (issue 14, "One core").

The same recording through the CLI (``qa-engine score``), the service (upload, then the worker) and the local
batch (``qa-engine batch``) gives the same report: score, grade, pack, each finding's status, the utterances
(role and text). The same transcript through ``qa-engine check`` and through the upload gives the same report.

Each path is the real one, built from its own settings; they share the Whisper model only because
:func:`qa_engine.asr.load_whisper` loads it once per process and settings (the ``recognizer`` fixture loads it
first). The agent channel and the language are given on every path, so role detection is not a variable.
The batch and the service use one database, so both reports are read back through the same API.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from api.background import make_worker
from api.main import create_app
from qa_engine.app.settings import Settings
from qa_engine.app.users import create_user
from qa_engine.cli import main

DATA = Path(__file__).parent / "data"
GOOD_ZH = DATA / "transcript_zh_good.json"


@dataclass(frozen=True)
class Recording:
    name: str
    language: str
    agent_channel: int


RECORDINGS = {
    "en": Recording("call_en_stereo", "en", 1),  # ch0 customer, ch1 agent
    "zh": Recording("call_zh_stereo", "zh", 0),  # ch0 agent, ch1 customer
}


def essentials(report: dict[str, Any]) -> dict[str, Any]:
    """What must not depend on the caller."""
    return {
        "score": report["score"],
        "grade": report["grade"],
        "pack": (report["pack"]["id"], report["pack"]["version"]),
        "findings": [(f["rule_id"], f["status"]) for f in report["findings"]],
        "utterances": [(u["role"], u["text"]) for u in report["utterances"]],
    }


def assert_same(reference: dict[str, Any], other: dict[str, Any], names: tuple[str, str]) -> None:
    """Field by field, so a failure says which field differs and how."""
    a, b = essentials(reference), essentials(other)
    differences = []
    for key in a:
        if a[key] == b[key]:
            continue
        if isinstance(a[key], list):
            rows = [f"    #{i}: {x!r} != {y!r}" for i, (x, y) in enumerate(zip(a[key], b[key], strict=False))
                    if x != y]
            if len(a[key]) != len(b[key]):
                rows.append(f"    length {len(a[key])} != {len(b[key])}")
            differences.append(f"  {key} ({names[0]} != {names[1]}):\n" + "\n".join(rows))
        else:
            differences.append(f"  {key}: {names[0]} {a[key]!r} != {names[1]} {b[key]!r}")
    assert not differences, f"{names[0]} and {names[1]} reports differ:\n" + "\n".join(differences)


@dataclass
class AudioReports:
    cli: dict[str, Any]
    service: dict[str, Any]
    service_call: dict[str, Any]
    batch: dict[str, Any]
    batch_call: dict[str, Any]


@pytest.fixture(scope="module", params=sorted(RECORDINGS))
def audio_reports(request: pytest.FixtureRequest, recognizer: Any,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[AudioReports]:
    """One recording scored by the CLI, the local batch and the service worker (the batch and the service on
    one database)."""
    rec = RECORDINGS[request.param]
    audio = DATA / f"{rec.name}.flac"
    tmp = tmp_path_factory.mktemp(f"parity-{rec.name}")

    # CLI: qa-engine score
    out = tmp / "cli.json"
    assert main(["score", str(audio), "--agent-channel", str(rec.agent_channel), "--language", rec.language,
                 "--json", "-o", str(out)]) == 0
    cli = json.loads(out.read_text(encoding="utf-8"))

    # local batch: qa-engine batch over a folder with the file and its sidecar
    data_dir, db_url = tmp / "data", f"sqlite:///{tmp / 'data' / 'qa-engine.db'}"
    source = tmp / "src"
    source.mkdir()
    shutil.copy(audio, source / audio.name)
    batch_id = f"batch-{rec.name}"
    (source / f"{rec.name}.json").write_text(json.dumps({
        "call_id": batch_id, "agent": "alice", "team": "t1", "language": rec.language,
        "agent_channel": rec.agent_channel}), encoding="utf-8")
    summary_path = tmp / "batch-summary"
    assert main(["batch", str(source), "--data-dir", str(data_dir), "--db", db_url, "--workers", "1",
                 "--report-dir", str(summary_path)]) == 0
    summary = json.loads((summary_path / "calls.json").read_text(encoding="utf-8"))["summary"]
    assert summary["scored"] == 1 and summary["failed"] == 0, summary

    # service: upload a re-encoded copy (WAV, so not a duplicate of the batch's file), then the worker
    samples, rate = sf.read(audio, dtype="int16", always_2d=True)
    wav = io.BytesIO()
    sf.write(wav, samples, rate, format="WAV", subtype="PCM_16")
    settings = Settings(data_dir=data_dir, db_url=db_url, workers=0)
    app = create_app(settings)
    with TestClient(app) as client:
        with app.state.session_factory() as session:
            _user, key = create_user(session, "alice", "agent", "t1")
            _admin, admin_key = create_user(session, "root", "admin")
        alice, root = {"Authorization": f"Bearer {key}"}, {"Authorization": f"Bearer {admin_key}"}
        created = client.post("/api/v1/calls", headers=alice, files={"file": (f"{rec.name}.wav", wav.getvalue(),
                                                                             "audio/wav")},
                              data={"agent_channel": str(rec.agent_channel), "language": rec.language,
                                    "call_id": f"service-{rec.name}"})
        assert created.status_code == 202 and not created.json()["duplicate"], created.text
        assert make_worker(app).drain() == 1
        service_call = client.get(f"/api/v1/calls/{created.json()['id']}", headers=alice).json()
        assert service_call["status"] == "done", service_call
        listed = client.get("/api/v1/calls", headers=root).json()["items"]
        batch_pk = next(c["id"] for c in listed if c["call_id"] == batch_id)
        batch_call = client.get(f"/api/v1/calls/{batch_pk}", headers=root).json()
        assert batch_call["status"] == "done", batch_call
    yield AudioReports(cli=cli, service=service_call["report"], service_call=service_call,
                       batch=batch_call["report"], batch_call=batch_call)


def test_the_cli_scored_what_was_asked(audio_reports: AudioReports) -> None:
    cli = audio_reports.cli
    assert cli["agent_channel"] in (0, 1) and {u["role"] for u in cli["utterances"]} == {"agent", "customer"}
    assert cli["findings"] and cli["utterances"]


def test_service_worker_report_equals_cli(audio_reports: AudioReports) -> None:
    assert_same(audio_reports.cli, audio_reports.service, ("CLI score", "service worker"))
    call = audio_reports.service_call
    assert (call["score"], call["grade"]) == (audio_reports.service["score"], audio_reports.service["grade"])


def test_local_batch_report_equals_cli(audio_reports: AudioReports) -> None:
    assert_same(audio_reports.cli, audio_reports.batch, ("CLI score", "local batch"))
    call = audio_reports.batch_call
    assert (call["score"], call["grade"]) == (audio_reports.batch["score"], audio_reports.batch["grade"])


def test_check_and_upload_of_one_transcript_give_the_same_report(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(GOOD_ZH), "--json"]) == 0
    checked = json.loads(capsys.readouterr().out)

    settings = Settings(data_dir=tmp_path / "data", db_url=f"sqlite:///{tmp_path / 'data' / 'qa-engine.db'}",
                        workers=0)
    app = create_app(settings)
    with TestClient(app) as client:
        with app.state.session_factory() as session:
            _user, key = create_user(session, "alice", "agent", "t1")
        headers = {"Authorization": f"Bearer {key}"}
        body = {"call_id": "zh-parity", **json.loads(GOOD_ZH.read_text(encoding="utf-8"))}
        created = client.post("/api/v1/calls", json=body, headers=headers)
        assert created.status_code == 201, created.text
        call = client.get(f"/api/v1/calls/{created.json()['id']}", headers=headers).json()
    assert call["status"] == "done", call
    assert_same(checked, call["report"], ("qa-engine check", "upload"))
    assert (call["score"], call["grade"]) == (call["report"]["score"], call["report"]["grade"])

