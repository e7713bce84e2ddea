"""Free texts people type or the service writes are stored masked by whoever writes them, so no place that serves
them (API, UI, webhooks, CLI) shows the number: evaluation form names and item labels, calibration session names,
the folder a batch run reads, webhook delivery errors; ``qa-engine remask`` masks the rows stored before.
Each runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from api.main import create_app
from qa_engine.app.audio_redaction import AudioRedaction
from qa_engine.app.batch import BatchOptions, run_batch
from qa_engine.app.database import make_engine, make_session_factory
from qa_engine.app.migrate import upgrade
from qa_engine.app.models import (
    CalibrationSession,
    Call,
    Evaluation,
    EvaluationForm,
    Job,
    Webhook,
    WebhookDelivery,
)
from qa_engine.app.remask import remask_stored
from qa_engine.app.settings import Settings
from qa_engine.app.users import create_user
from qa_engine.app.webhooks import WebhookDispatcher
from qa_engine.pii import mask_text
from qa_engine.pipeline import PipelineOptions

from .leaks import PHONE, leak_pattern, leaks_in
from .zh_calls import BASE, NO_GREETING

API = "/api/v1"
Headers = dict[str, str]
EMAIL = "li.lei@example.com"
TYPED = f"tel {PHONE} mail {EMAIL}"
MASKED = "tel *********** mail **.***@*******.***"
#: any 4 digits of the phone number in a row (whatever stands between them), or a part of the address
LEAK = leak_pattern(PHONE, r"li\.lei", r"example\.com")


def _leaks(text: str) -> list[str]:
    return leaks_in(LEAK, text)


def _no_leak(served: dict[str, str]) -> None:
    for name, text in served.items():
        assert not _leaks(text), (name, _leaks(text))


def test_the_masked_text_is_what_the_masker_gives() -> None:
    assert mask_text(TYPED) == MASKED


def _form(name: str, label: str = "服务态度") -> dict[str, Any]:
    return {"team": "t1", "name": name, "auto_weight": 0.5,
            "items": [{"id": "attitude", "label": label, "weight": 1, "max": 2}]}


def test_form_names_and_labels_are_stored_masked_and_served_masked(
        client: TestClient, team: dict[str, Headers], upload: Callable[..., str]) -> None:
    sue, alice, root = team["sue"], team["alice"], team["root"]
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        session.add(Webhook(url="https://hooks.example.com/qa", events=["evaluation.submitted"], secret="s" * 32,
                            created_by="root"))
        session.commit()
    created = client.post(f"{API}/evaluation-forms", json=_form(f"回访表 {TYPED}", f"核实 {TYPED}"), headers=root)
    assert created.status_code == 201, created.text
    form = created.json()
    assert form["name"] == f"回访表 {MASKED}" and form["items"][0]["label"] == f"核实 {MASKED}"
    assert form["items"][0]["id"] == "attitude" and form["version"] == 1
    # saved again under the same name (spaces around it too): found by its stored (masked) name, a new version
    again = client.post(f"{API}/evaluation-forms", json=_form(f"  回访表 {TYPED} ", f"核实 {TYPED}"), headers=root)
    assert again.status_code == 201, again.text
    assert again.json()["name"] == form["name"] and again.json()["version"] == 2
    other = client.post(f"{API}/evaluation-forms", json=_form("回访表"), headers=root).json()
    assert other["version"] == 1  # another name: its own versions

    call = upload(sue, agent="alice", **BASE)
    answered = client.post(f"{API}/calls/{call}/evaluations", headers=sue,
                           json={"form": again.json()["id"], "answers": [{"item": "attitude", "value": 2}]})
    assert answered.status_code == 201, answered.text
    released = client.post(f"{API}/evaluations/{answered.json()['id']}/release", headers=sue)
    assert released.status_code == 200, released.text
    assert client.get(f"{API}/calls/{call}", headers=alice).json()["evaluation"]["form"] == form["name"]

    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        stored = session.get(EvaluationForm, form["id"])
        assert stored is not None and stored.name == f"回访表 {MASKED}"
        assert stored.items[0]["label"] == f"核实 {MASKED}"
        payloads = session.scalars(select(WebhookDelivery.payload)).all()
        hook = session.scalars(select(Webhook.id)).one()
    assert payloads and payloads[0]["evaluation"]["form"]["name"] == form["name"]
    served = {"created": created.text, "again": again.text, "answered": answered.text, "released": released.text,
              "forms": client.get(f"{API}/evaluation-forms", headers=sue).text,
              "team forms": client.get(f"{API}/evaluation-forms", params={"team": "t1"}, headers=alice).text,
              "form": client.get(f"{API}/evaluation-forms/{form['id']}", headers=sue).text,
              "call": client.get(f"{API}/calls/{call}", headers=alice).text,
              "evaluations": client.get(f"{API}/calls/{call}/evaluations", headers=alice).text,
              "delivery log": client.get(f"{API}/webhooks/{hook}/deliveries", params={"payload": "true"},
                                         headers=root).text,
              "webhook payloads": json.dumps(payloads, ensure_ascii=False)}
    _no_leak(served)


def test_calibration_session_names_are_stored_masked_and_served_masked(
        client: TestClient, team: dict[str, Headers], make_user: Callable[..., Headers],
        upload: Callable[..., str]) -> None:
    sue, root = team["sue"], team["root"]
    sam = make_user("sam", "supervisor", "t1")
    form = client.post(f"{API}/evaluation-forms", json=_form("校准表"), headers=root).json()
    calls = [upload(sue, agent="alice", **BASE), upload(sue, agent="alice", **NO_GREETING)]
    created = client.post(f"{API}/calibration-sessions", headers=sue,
                          json={"name": f"十二月校准 {TYPED}", "team": "t1", "form": form["id"], "calls": calls,
                                "reviewers": ["sue", "sam", "root"]})
    assert created.status_code == 201, created.text
    session_id = created.json()["id"]
    assert created.json()["name"] == f"十二月校准 {MASKED}"
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        stored = session.get(CalibrationSession, session_id)
        assert stored is not None and stored.name == f"十二月校准 {MASKED}"
    served = {"created": created.text,
              "list": client.get(f"{API}/calibration-sessions", headers=sam).text,
              "one": client.get(f"{API}/calibration-sessions/{session_id}", headers=root).text}
    closed = client.post(f"{API}/calibration-sessions/{session_id}/close", headers=sue)
    assert closed.status_code == 200, closed.text
    served["closed"] = closed.text
    results = client.get(f"{API}/calibration-sessions/{session_id}/results", headers=root)
    assert results.status_code == 200, results.text
    assert results.json()["session"]["name"] == f"十二月校准 {MASKED}"
    served["results"] = results.text
    assert "十二月校准 " in served["one"]
    _no_leak(served)


def test_a_batch_runs_folder_is_stored_masked_and_served_masked(db_url: str, tmp_path: Path, recognizer: Any) -> None:
    source = tmp_path / f"in {TYPED}"
    source.mkdir()
    (source / "a.wav").write_text("this is not a recording\n")
    (source / "a.json").write_text(json.dumps({"agent": "alice"}))
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    try:
        with sessions() as s:
            create_user(s, "alice", "agent", "t1")
        options = BatchOptions(source=source, workers=1, report_dir=tmp_path / "report", lease_s=5.0,
                               pipeline=PipelineOptions(speakers=1))
        run_batch(options, sessions, data_dir=tmp_path / "data", recognizer=recognizer)
        with sessions() as s:
            run = s.scalars(select(Job).where(Job.kind == "batch")).one()
        assert run.payload is not None and run.payload["source"] == str(tmp_path / f"in {MASKED}")
        settings = Settings(data_dir=tmp_path / "data", db_url=db_url, workers=0)
        with TestClient(create_app(settings)) as client:
            app: Any = client.app
            with app.state.session_factory() as session:
                root = {"Authorization": f"Bearer {create_user(session, 'root', 'admin')[1]}"}
            listed = client.get(f"{API}/jobs", params={"kind": "batch"}, headers=root)
        assert listed.status_code == 200, listed.text
        assert f"in {MASKED}" in listed.text
        _no_leak({"jobs": listed.text, "row": json.dumps(run.payload, ensure_ascii=False)})
    finally:
        engine.dispose()


def test_delivery_errors_are_stored_masked_and_served_masked(
        client: TestClient, settings: Settings, make_user: Callable[..., Headers], upload: Callable[..., str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_user("root", "admin")
    make_user("alice", "agent", "t1")
    client.app.state.webhook_dispatcher.stop()  # type: ignore[attr-defined]
    host = f"cb-{PHONE}.example"
    looked_up: list[str] = []
    real = socket.getaddrinfo

    def dns(name: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        """``host`` resolves to a public address when subscribed, and no longer when the event is delivered."""
        if name != host:
            return real(name, port, *args, **kwargs)
        looked_up.append(name)
        if len(looked_up) > 1:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]

    monkeypatch.setattr(socket, "getaddrinfo", dns)
    hook = client.post(f"{API}/webhooks", json={"url": f"http://{host}/h", "events": ["call.scored"]}, headers=root)
    assert hook.status_code == 201, hook.text
    hook_id = hook.json()["id"]
    upload(root, agent="alice")
    assert WebhookDispatcher(client.app.state.session_factory, settings).run_once() == 1  # type: ignore[attr-defined]
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert delivery.status == "failed" and delivery.last_error is not None
        assert delivery.last_error.startswith("refused: cannot resolve the webhook host 'cb-***********.example'")
        served = {"refused": client.get(f"{API}/webhooks/{hook_id}/deliveries", headers=root).text}
        # any other writer of the error too
        delivery.last_error = f"connection failed: {TYPED}"
        session.commit()
        session.expire_all()
        assert session.get(WebhookDelivery, delivery.id).last_error == f"connection failed: {MASKED}"  # type: ignore[union-attr]
    listed = client.get(f"{API}/webhooks/{hook_id}/deliveries", params={"status": "failed"}, headers=root)
    assert listed.json()["items"][0]["last_error"] == f"connection failed: {MASKED}"
    served["written"] = listed.text
    _no_leak(served)


def test_remask_masks_the_names_folders_and_errors_stored_before(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    try:
        with make_session_factory(engine)() as session:
            ids = _old_rows(session)
            summary = remask_stored(session, AudioRedaction())
            assert summary.tables["evaluation_forms"].changed == 3
            assert summary.tables["calibration_sessions"].changed == 1
            session.expire_all()
            forms = {f.id: f for f in session.scalars(select(EvaluationForm))}
            first, second, third = (forms[i] for i in ids["forms"])
            assert first.name == f"表 {MASKED}" and first.items[0]["label"] == f"核实 {MASKED}"
            # 13912345678 masks like 13812345678 and the name is taken at version 1: the id keeps them apart
            assert second.name == f"表 {mask_text(TYPED.replace(PHONE, '13912345678'))} #{second.id}"
            assert third.name == f"表 {MASKED}" and third.version == 2  # a later version of the first one: kept so
            assert session.get(CalibrationSession, ids["calibration"]).name == f"校准 {MASKED}"  # type: ignore[union-attr]
            job = session.get(Job, ids["job"])
            assert job is not None and job.payload == {"source": f"/in/{MASKED}", "files": 1}
            delivery = session.get(WebhookDelivery, ids["delivery"])
            assert delivery is not None and delivery.last_error == f"refused: {MASKED}"
            assert delivery.payload["evaluation"]["form"] == {"id": first.id, "name": f"表 {MASKED}", "version": 1}
            assert delivery.payload["evaluation"]["answers"][0]["label"] == f"核实 {MASKED}"
            evaluation = session.get(Evaluation, ids["evaluation"])
            assert evaluation is not None and evaluation.answers[0]["label"] == f"核实 {MASKED}"
            texts = [f.name + json.dumps(f.items, ensure_ascii=False) for f in forms.values()]
            texts += [json.dumps([job.payload, delivery.payload, delivery.last_error, evaluation.answers],
                                 ensure_ascii=False)]
            _no_leak(dict(enumerate(texts)))  # type: ignore[arg-type]
            again = remask_stored(session, AudioRedaction())
            assert all(count.changed == 0 for count in again.tables.values()), again.tables
    finally:
        engine.dispose()


def _old_rows(session: Session) -> dict[str, Any]:
    """Rows as an older version stored them (inserted as they are: the model masks what is written today)."""
    items = [{"id": "attitude", "label": f"核实 {TYPED}", "weight": 1.0, "max": 2, "allow_na": False,
              "critical": False}]
    other = TYPED.replace(PHONE, "13912345678")
    form_ids = [session.execute(insert(EvaluationForm).values(
        team="t1", name=name, version=version, items=items, auto_weight=0.5, created_by="root")
        .returning(EvaluationForm.id)).scalar_one()
        for name, version in ((f"表 {TYPED}", 1), (f"表 {other}", 1), (f"表 {TYPED}", 2))]
    call = Call(call_id="c1", agent="alice", team="t1", status="done", source="transcript")
    session.add(call)
    session.flush()
    calibration = session.execute(insert(CalibrationSession).values(
        name=f"校准 {TYPED}", team="t1", form_id=form_ids[0], calls=[call.id], reviewers=["sue", "root"],
        created_by="sue").returning(CalibrationSession.id)).scalar_one()
    answers = [{"item": "attitude", "label": f"核实 {TYPED}", "value": 2, "max": 2, "comment": None}]
    evaluation = session.execute(insert(Evaluation).values(
        call_pk=call.id, form_id=form_ids[0], reviewer="sue", answers=answers).returning(Evaluation.id)).scalar_one()
    job = session.execute(insert(Job).values(kind="batch", status="done", attempts=1,
                                             payload={"source": f"/in/{TYPED}", "files": 1})
                          .returning(Job.id)).scalar_one()
    hook = Webhook(url="https://hooks.example.com/qa", events=["evaluation.submitted"], secret="s" * 32,
                   created_by="root")
    session.add(hook)
    session.flush()
    payload = {"event": "evaluation.submitted", "id": call.id,
               "evaluation": {"form": {"id": form_ids[0], "name": f"表 {TYPED}", "version": 1}, "answers": answers}}
    delivery = session.execute(insert(WebhookDelivery).values(
        webhook_id=hook.id, event="evaluation.submitted", call_pk=call.id, payload=payload, status="failed",
        attempts=1, last_error=f"refused: {TYPED}").returning(WebhookDelivery.id)).scalar_one()
    session.commit()
    return {"forms": form_ids, "calibration": calibration, "evaluation": evaluation, "job": job,
            "delivery": delivery}
