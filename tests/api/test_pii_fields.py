"""No identifier digit leaves the service in a field a user typed: call ids, file names, comments, audit entries,
webhook payloads, CSV exports, log lines. Each is masked where it comes in (stored masked) or where it goes out."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from qa_engine.app.analysis_csv import safe_rows
from qa_engine.app.batch.report import FileRecord, summarise, write_report
from qa_engine.app.logging_config import configure_logging
from qa_engine.app.models import Call, Webhook, WebhookDelivery

from .leaks import PHONE, leak_pattern, leaks_in
from .zh_calls import COMPLAINT

API = "/api/v1"
LEAK = leak_pattern(PHONE)
Headers = dict[str, str]


def _leaks(text: str) -> list[str]:
    return leaks_in(LEAK, text)


def test_call_id_comments_audit_and_webhook_payloads_are_masked(client: TestClient,
                                                                 make_user: Callable[..., Headers]) -> None:
    alice, sue, root = make_user("alice", "agent", "t1"), make_user("sue", "supervisor", "t1"), make_user("r", "admin")
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        session.add(Webhook(url="https://hooks.example.com/qa", events=["call.scored", "finding.critical"],
                            secret="s" * 32, created_by="r"))
        session.commit()
    doc = {**COMPLAINT, "call_id": f"callback-{PHONE}", "agent": "alice"}
    created = client.post(f"{API}/calls", json=doc, headers=sue)
    assert created.status_code == 201, created.text
    call_pk = created.json()["id"]
    call = client.get(f"{API}/calls/{call_pk}", headers=sue).json()
    assert call["call_id"] == "callback-***********" and call["report"]["call_id"] == call["call_id"]
    rule = next(f["rule_id"] for f in call["report"]["findings"] if f["status"] == "fail")
    comment = f"the customer's number is {PHONE[:3]} {PHONE[3:7]} {PHONE[7:]}"
    over = client.post(f"{API}/calls/{call_pk}/findings/{rule}/override", headers=sue,
                       json={"status": "pass", "comment": comment})
    assert over.status_code in (200, 201), over.text
    disputed = client.post(f"{API}/calls/{call_pk}/findings/{rule}/dispute", headers=alice,
                           json={"comment": f"call me back on {PHONE}"})
    assert disputed.status_code in (200, 201), disputed.text
    review_id = disputed.json()["review"]["id"]
    decided = client.post(f"{API}/reviews/{review_id}/reject", headers=sue, json={"comment": f"rang {PHONE}: no"})
    assert decided.status_code == 200, decided.text
    answers = {
        "call": json.dumps(client.get(f"{API}/calls/{call_pk}", headers=sue).json(), ensure_ascii=False),
        "list": client.get(f"{API}/calls", headers=sue).text,
        "reviews": client.get(f"{API}/calls/{call_pk}/reviews", headers=sue).text,
        "review queue": client.get(f"{API}/reviews", headers=sue).text,
        "audit": client.get(f"{API}/calls/{call_pk}/audit", headers=root).text,
        "override": over.text, "dispute": disputed.text, "decision": decided.text,
        "scorecard csv": client.get(f"{API}/scorecards/agents/alice?format=csv", headers=sue).text,
    }
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        payloads = session.scalars(select(WebhookDelivery.payload)).all()
    assert payloads
    answers["webhook payloads"] = json.dumps(payloads, ensure_ascii=False)
    for name, text in answers.items():
        assert not _leaks(text), (name, _leaks(text))
    reviews = client.get(f"{API}/calls/{call_pk}/reviews", headers=sue).json()
    assert {r["comment"] for r in reviews} == {"the customer's number is *** **** ****", "call me back on ***********"}
    assert "***" in answers["audit"] and "***" in answers["webhook payloads"]


def test_uploaded_file_name_and_call_id_are_stored_masked_and_served_masked(
        client: TestClient, make_user: Callable[..., Headers], call_zh_stereo: Path) -> None:
    sue = make_user("sue", "supervisor", "t1")
    make_user("alice", "agent", "t1")
    created = client.post(f"{API}/calls", headers=sue, data={"agent": "alice", "agent_channel": "0"},
                          files={"file": (f"{PHONE}.flac", call_zh_stereo.read_bytes(), "audio/flac")})
    assert created.status_code == 202, created.text
    call_pk = created.json()["id"]
    listed = client.get(f"{API}/calls", headers=sue).text
    assert not _leaks(listed) and "***********" in listed  # the call id defaults to the file name: masked
    audio = client.get(f"{API}/calls/{call_pk}/audio", headers=sue)
    assert audio.status_code == 409  # not scored yet: nothing is known about what to silence
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        row = session.get(Call, call_pk)
        assert row is not None and row.audio_filename == "***********.flac" and row.call_id == "***********"
        row.report, row.status = {"utterances": []}, "done"  # as if scored (nothing found to redact)
        session.commit()
    audio = client.get(f"{API}/calls/{call_pk}/audio", headers=sue)
    assert audio.status_code == 200 and not _leaks(audio.headers["content-disposition"])
    original = client.get(f"{API}/calls/{call_pk}/audio/original", headers=sue)
    assert original.status_code == 403  # only admins fetch unredacted audio


def test_batch_report_csv_json_and_scorecard_csv_are_masked(tmp_path: Path) -> None:
    record = FileRecord(path=f"/calls/in/{PHONE}.wav", call_id=f"cb {PHONE}", agent="alice", team="t1")
    record.mark_failed(f"/calls/in/{PHONE}.wav: corrupt")

    class Planned:
        todo = False

    planned = Planned()
    planned.record = record  # type: ignore[attr-defined]
    summary = summarise([planned], wall_s=1.0, dry_run=False)  # type: ignore[list-item]
    folder = write_report(tmp_path / "report", [planned], summary)  # type: ignore[list-item]
    for name in ("calls.csv", "calls.json"):
        assert not _leaks((folder / name).read_text(encoding="utf-8")), name
    assert not _leaks(json.dumps(summary))
    assert not _leaks(str(safe_rows([["agent", f"note {PHONE}", 3]])))


def test_log_lines_carry_no_identifier(tmp_path: Path) -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    handler = configure_logging("json", "INFO", stream)
    try:
        log = logging.getLogger("qa_engine.test")
        log.info("call %s from %s", "c1", PHONE, extra={"caller": PHONE, "numbers": [PHONE]})
        try:
            raise ValueError(f"bad number {PHONE}")
        except ValueError:
            log.exception("failed for %s", f"{PHONE[:3]}-{PHONE[3:7]}-{PHONE[7:]}")
        text_stream = io.StringIO()
        configure_logging("text", "INFO", text_stream)
        log.warning("text line %s", PHONE, extra={"x": {"phone": PHONE}})
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        handler.close()
    lines: list[Any] = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["message"] == "call c1 from ***********" and lines[0]["caller"] == "***********"
    assert not _leaks(stream.getvalue()) and not _leaks(text_stream.getvalue())
    assert "ValueError: bad number ***********" in lines[1]["exception"]
