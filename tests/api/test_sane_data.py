"""Sane data: no agent speech is not scorable (not 100), a rescore keeps human review, CSV cells carry no formulas,
the same audio with other metadata is a new call that reuses the transcript (no second ASR)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from qa_engine.app.analysis_csv import _text, safe_cell
from qa_engine.app.models import Call, FindingRow, Job, Review, WebhookDelivery
from qa_engine.app.rescore import run_rescore_job
from qa_engine.rules import load_pack
from qa_engine.scoring import NO_AGENT_SPEECH, score_findings, score_transcript
from qa_engine.transcript import transcript_from_dict
from qa_engine.types import Finding

from .conftest import ZH_TRANSCRIPT
from .test_processing import AUDIO, Service, service, service_factory  # noqa: F401 - fixtures
from .zh_calls import FORBIDDEN

Headers = dict[str, str]
API = "/api/v1"
CUSTOMER_ONLY = {**ZH_TRANSCRIPT, "call_id": "customer-only",
                 "utterances": [u for u in ZH_TRANSCRIPT["utterances"] if u["role"] == "customer"]}


def test_no_agent_speech_is_not_scorable_anywhere(client: TestClient, make_user: Callable[..., Headers],
                                                  tmp_path: Path) -> None:
    pack = load_pack(None, language="zh")
    for doc in ({**ZH_TRANSCRIPT, "utterances": []}, CUSTOMER_ONLY):
        report = score_transcript(transcript_from_dict(doc), pack)
        assert (report.status, report.score, report.grade, report.findings) == ("unscorable", None, None, ())
        assert report.reason == NO_AGENT_SPEECH
    root = make_user("root", "admin")
    make_user("alice", "agent", "t1")
    client.post(f"{API}/webhooks", json={"url": "https://93.184.215.14/h", "events": ["call.scored"]}, headers=root)
    created = client.post(f"{API}/calls", json={**ZH_TRANSCRIPT, "utterances": [], "agent": "alice"}, headers=root)
    assert created.status_code == 201, created.text
    call = client.get(f"{API}/calls/{created.json()['id']}", headers=root).json()
    assert call["status"] == "failed" and call["score"] is None and call["grade"] is None
    assert call["error"] == f"not scorable: {NO_AGENT_SPEECH}"
    assert call["report"]["status"] == "unscorable" and call["report"]["findings"] == []
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        assert session.scalar(select(WebhookDelivery)) is None  # nothing was scored: no call.scored event
    path = tmp_path / "empty.json"
    path.write_text(json.dumps({**ZH_TRANSCRIPT, "utterances": []}), encoding="utf-8")
    checked = subprocess.run([sys.executable, "-m", "qa_engine.cli", "check", str(path)], capture_output=True,
                             text=True, timeout=60, check=False)
    assert checked.returncode == 1 and f"not scorable: {NO_AGENT_SPEECH}" in checked.stderr
    lines = checked.stdout.splitlines()
    assert "not scorable" in checked.stdout and not any(line.startswith("score ") for line in lines)


def test_a_rescore_keeps_the_supervisors_override(client: TestClient, make_user: Callable[..., Headers]) -> None:
    root, sue = make_user("root", "admin"), make_user("sue", "supervisor", "t1")
    make_user("alice", "agent", "t1")
    created = client.post(f"{API}/calls", json={**FORBIDDEN, "agent": "alice"}, headers=sue).json()
    call_id = created["id"]
    overridden = client.post(f"{API}/calls/{call_id}/findings/forbidden_phrases/override",
                             json={"status": "pass", "comment": "规定 was about the tariff"}, headers=sue)
    assert overridden.status_code == 201, overridden.text
    after_review = client.get(f"{API}/calls/{call_id}", headers=sue).json()
    assert after_review["score"] > 59.0
    queued = client.post(f"{API}/packs/zh-CN/rescore", json={}, headers=root)
    assert queued.status_code == 202, queued.text
    app: Any = client.app
    with app.state.session_factory() as session:
        job = session.get(Job, queued.json()["job_id"])
        assert run_rescore_job(session, app.state.pack_cache, job)["rescored"] == 1
        session.commit()
        row = session.scalar(select(FindingRow).where(FindingRow.call_pk == call_id,
                                                      FindingRow.rule_id == "forbidden_phrases"))
        assert row is not None and (row.status, row.auto_status, row.reviewed) == ("pass", "fail", True)
        assert session.scalar(select(Review.kind).where(Review.call_pk == call_id)) == "override"
        stored = session.get(Call, call_id)
        assert stored is not None and stored.auto_score is not None and stored.auto_score < 60  # the engine: capped
    rescored = client.get(f"{API}/calls/{call_id}", headers=sue).json()
    finding = next(f for f in rescored["report"]["findings"] if f["rule_id"] == "forbidden_phrases")
    assert finding["status"] == "pass" and finding["reviewed"] is True
    # the score is recomputed with the reviewed status: the critical rule's cap (59) no longer applies
    findings = [Finding(rule_id=f["rule_id"], status=f["status"], weight=f["weight"], severity=f["severity"])
                for f in rescored["report"]["findings"]]
    assert rescored["score"] == score_findings(findings, load_pack(None, language="zh")) > 59.0
    assert rescored["report"]["score"] == rescored["score"]


def test_csv_cells_are_neutralised() -> None:
    for value in ("=HYPERLINK(\"http://x\",\"y\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "＝1+1", "  =1"):
        assert safe_cell(value) == "'" + value
    assert [safe_cell(v) for v in ("t1", "", None, -3.5, 0)] == ["t1", "", "", -3.5, 0]

    text = _text([["team", "=HYPERLINK(\"http://evil\")"], ["score", -1.0]])
    assert text.splitlines() == ["team,\"'=HYPERLINK(\"\"http://evil\"\")\"", "score,-1.0"]


def test_the_same_audio_for_another_agent_is_their_call_without_asr(service: Service) -> None:  # noqa: F811
    root = service.user("root", "admin")
    service.user("alice", "agent", "t1")
    service.user("bob", "agent", "t2")
    data = AUDIO.read_bytes()
    first = service.upload(root, data, "call.flac", agent="alice", agent_channel=0, language="zh", call_id="c1",
                           started_at="2025-02-03T10:00:00+08:00")
    assert first.status_code == 202
    assert service.worker().run_once()
    same = service.upload(root, data, "call.flac", agent="alice", agent_channel=0, language="zh", call_id="c1",
                          started_at="2025-02-03T10:00:00+08:00")
    assert same.status_code == 200 and same.json()["id"] == first.json()["id"]  # the same call: that call
    for fields in ({"agent": "bob"}, {"agent": "alice", "started_at": "2025-02-04T10:00:00+08:00"},
                   {"agent": "alice", "call_id": "c1-corrected"}):
        doc = {"agent_channel": 0, "language": "zh", "call_id": "c1", "started_at": "2025-02-03T10:00:00+08:00",
               **fields}
        other = service.upload(root, data, "call.flac", **doc)
        assert other.status_code == 201 and other.json()["duplicate"], other.text
        call = service.call(root, other.json()["id"])
        assert call["status"] == "done" and call["agent"] == doc["agent"] and call["call_id"] == doc["call_id"]
        assert call["started_at"].startswith(str(doc["started_at"])[:10])
        assert call["team"] == ("t2" if doc["agent"] == "bob" else "t1")
    assert service.count(Job) == 1  # one ASR for four calls
    assert service.count(Call) == 4
