"""Packs API: catalogue, validation, uploads, team packs, pack resolution and re-scoring jobs (real SQLite)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from qa_engine.app.models import AuditEntry, Call, FindingRow, Job, WebhookDelivery
from qa_engine.app.packs import resolve_pack, version_key
from qa_engine.app.rescore import run_rescore_job
from qa_engine.app.settings import Settings
from qa_engine.errors import PackError

from .conftest import ZH_TRANSCRIPT

MAGIC_PACK = """\
pack: zh-CN
version: "{version}"
language: zh
grades: {{好: 90, 差: 0}}
rules:
  - id: says_magic
    type: phrase_in_window
    summary: 坐席说出口令
    weight: 10
    severity: critical
    role: agent
    window: {{anchor: whole_call}}
    match: {{phrases: [芝麻开门]}}
"""
EN_PACK = """\
pack: acme-en
version: 3
language: en
grades: {good: 80, poor: 0}
rules:
  - id: greeting
    type: phrase_in_window
    summary: The agent greets the customer
    weight: 10
    role: agent
    window: {anchor: first_agent_turns, turns: 2}
    match: {phrases: [thank you for calling]}
"""
YAML = {"Content-Type": "application/yaml"}


def _post_pack(client: TestClient, headers: dict[str, str], text: str, path: str = "/api/v1/packs") -> Any:
    return client.post(path, content=text.encode("utf-8"), headers={**headers, **YAML})


@pytest.fixture()
def settings(settings: Settings) -> Settings:
    """No background workers: the tests run rescore jobs themselves, when they choose."""
    return settings.model_copy(update={"workers": 0})


@pytest.fixture()
def admin(make_user: Callable[..., dict[str, str]]) -> dict[str, str]:
    return make_user("root", "admin")


def test_list_and_show_bundled_packs(client: TestClient, admin: dict[str, str]) -> None:
    listing = client.get("/api/v1/packs", headers=admin)
    assert listing.status_code == 200
    packs = {p["id"]: p for p in listing.json()["items"]}
    assert {"zh-CN", "en"} <= set(packs)
    assert packs["zh-CN"]["versions"][0]["origin"] == "bundled"
    shown = client.get("/api/v1/packs/zh-CN", headers=admin)
    assert shown.status_code == 200
    body = shown.json()
    assert body["language"] == "zh"
    assert "greeting" in [r["id"] for r in body["rules"]]
    greeting = next(r for r in body["rules"] if r["id"] == "greeting")
    assert "phrases" in greeting["match"] and greeting["severity"] == "major" and greeting["weight"] == 15
    docs = client.get("/api/v1/packs/zh-CN/docs", headers=admin)
    assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/markdown")
    assert "greeting" in docs.text
    assert client.get("/api/v1/packs", headers={}).status_code == 401


@pytest.mark.parametrize("path", ["/api/v1/packs/nope", "/api/v1/packs/zh-CN?version=9.9",
                                  "/api/v1/packs/zh-CN.yaml", "/api/v1/packs/..%2F..%2Fetc%2Fpasswd"])
def test_unknown_packs_are_404(client: TestClient, admin: dict[str, str], path: str) -> None:
    response = client.get(path, headers=admin)
    assert response.status_code == 404, response.text


def test_validate_names_rule_and_field(client: TestClient, make_user: Callable[..., dict[str, str]]) -> None:
    sue = make_user("sue", "supervisor", "t1")
    ok = _post_pack(client, sue, EN_PACK, "/api/v1/packs/validate")
    assert ok.status_code == 200, ok.text
    assert ok.json()["valid"] is True and ok.json()["version"] == "3"
    assert [r["id"] for r in ok.json()["rules"]] == ["greeting"]
    bad = _post_pack(client, sue, EN_PACK.replace("weight: 10", "weight: 10\n    wieght: 3"), "/api/v1/packs/validate")
    assert bad.status_code == 422
    assert "rule 'greeting'" in bad.json()["detail"] and "wieght" in bad.json()["detail"]
    bad_type = _post_pack(client, sue, EN_PACK.replace("phrase_in_window", "telepathy"), "/api/v1/packs/validate")
    assert bad_type.status_code == 422 and "field 'type'" in bad_type.json()["detail"]
    broken = _post_pack(client, sue, "pack: [unclosed\n", "/api/v1/packs/validate")
    assert broken.status_code == 422 and "invalid YAML at line" in broken.json()["detail"]
    aliases = _post_pack(client, sue, "a: &x [1, 2]\nb: *x\n", "/api/v1/packs/validate")
    assert aliases.status_code == 422 and "aliases" in aliases.json()["detail"]
    not_yaml = client.post("/api/v1/packs/validate", content=b"x", headers={**sue, "Content-Type": "image/png"})
    assert not_yaml.status_code == 415
    no_rules = _post_pack(client, sue, EN_PACK.split("rules:")[0] + "rules: []\n", "/api/v1/packs/validate")
    assert no_rules.status_code == 422 and "at least one rule" in no_rules.json()["detail"]
    path_id = _post_pack(client, sue, EN_PACK.replace("acme-en", "../../etc"), "/api/v1/packs/validate")
    assert path_id.status_code == 422 and "field 'pack'" in path_id.json()["detail"]


def test_upload_is_admin_only_versioned_and_audited(client: TestClient, admin: dict[str, str],
                                                   make_user: Callable[..., dict[str, str]]) -> None:
    sue = make_user("sue", "supervisor", "t1")
    assert _post_pack(client, sue, EN_PACK).status_code == 403
    created = _post_pack(client, admin, EN_PACK)
    assert created.status_code == 201, created.text
    assert created.json() == {"id": "acme-en", "version": "3", "language": "en", "rules": 1}
    assert _post_pack(client, admin, EN_PACK).status_code == 409
    assert _post_pack(client, admin, MAGIC_PACK.format(version="1.0.0")).status_code == 409  # the bundled version
    assert _post_pack(client, admin, EN_PACK.replace("summary: ", "wrong: ")).status_code == 422
    assert _post_pack(client, admin, EN_PACK.replace("version: 3", "version: 10")).status_code == 201
    shown = client.get("/api/v1/packs/acme-en", headers=sue).json()
    assert shown["version"] == "10"  # newest by version number, not by text
    assert [v["version"] for v in shown["versions"]] == ["10", "3"]
    assert client.get("/api/v1/packs/acme-en?version=3", headers=sue).json()["version"] == "3"
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "pack.upload")).all()
    assert [(e.actor, e.after["version"]) for e in entries] == [("root", "3"), ("root", "10")]


def test_team_pack_choice_and_resolution(client: TestClient, admin: dict[str, str],
                                         make_user: Callable[..., dict[str, str]]) -> None:
    sue = make_user("sue", "supervisor", "t1")
    alice = make_user("alice", "agent", "t1")
    bob = make_user("bob", "agent", "t2")
    assert client.get("/api/v1/teams/t1/pack", headers=alice).json()["pack_id"] is None
    assert client.put("/api/v1/teams/t1/pack", json={"pack_id": "zh-CN"}, headers=sue).status_code == 403
    missing = client.put("/api/v1/teams/t1/pack", json={"pack_id": "zh-CN", "version": "7"}, headers=admin)
    assert missing.status_code == 422 and "version" in missing.json()["detail"]
    assert _post_pack(client, admin, MAGIC_PACK.format(version="2.0.0")).status_code == 201
    chosen = client.put("/api/v1/teams/t1/pack", json={"pack_id": "zh-CN", "version": None}, headers=admin)
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["set_by"] == "root"
    assert client.get("/api/v1/teams/t1/pack", headers=sue).json()["pack_id"] == "zh-CN"
    assert client.get("/api/v1/teams/t1/pack", headers=bob).status_code == 404
    engine = client.app.state.pack_cache  # type: ignore[attr-defined]
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        assert resolve_pack(session, engine, pack_id=None, team="t1", language="zh").version == "2.0.0"
        # an English call of the same team keeps the English default; other teams keep the default
        assert resolve_pack(session, engine, pack_id=None, team="t1", language="en").id == "en"
        assert resolve_pack(session, engine, pack_id=None, team="t2", language="zh").version == "1.0.0"
        assert resolve_pack(session, engine, pack_id="zh-CN", team=None, language="zh", version="1.0.0").version \
            == "1.0.0"
        with pytest.raises(PackError):
            resolve_pack(session, engine, pack_id="nope", team=None, language="zh")
        assert session.scalar(select(AuditEntry.action).where(AuditEntry.action == "team_pack.set"))
    assert client.delete("/api/v1/teams/t1/pack", headers=admin).status_code == 204
    assert client.get("/api/v1/teams/t1/pack", headers=sue).json()["pack_id"] is None


def _run_job(client: TestClient, job_id: int) -> dict[str, Any]:
    app = client.app
    with app.state.session_factory() as session:  # type: ignore[attr-defined]
        job = session.get(Job, job_id)
        assert job is not None and job.kind == "rescore" and job.status == "queued"
        result = run_rescore_job(session, app.state.pack_cache, job)  # type: ignore[attr-defined]
        session.commit()
    return result


def test_rescore_job_uses_new_version_without_asr(client: TestClient, admin: dict[str, str],
                                                  make_user: Callable[..., dict[str, str]],
                                                  upload: Callable[..., str]) -> None:
    sue = make_user("sue", "supervisor", "t1")
    make_user("alice", "agent", "t1")
    make_user("bob", "agent", "t2")
    t1_call = upload(sue, agent="alice")
    t2_call = upload(admin, agent="bob")
    assert _post_pack(client, admin, MAGIC_PACK.format(version="2.0.0")).status_code == 201
    assert client.post("/api/v1/packs/zh-CN/rescore", json={"team": "t2"}, headers=sue).status_code == 403
    bad = client.post("/api/v1/packs/zh-CN/rescore", json={"from": "yesterday"}, headers=sue)
    assert bad.status_code == 422
    assert client.post("/api/v1/packs/nope/rescore", json={}, headers=sue).status_code == 404
    queued = client.post("/api/v1/packs/zh-CN/rescore", json={}, headers=sue)  # a supervisor: their teams only
    assert queued.status_code == 202, queued.text
    job_id = queued.json()["job_id"]
    assert client.get(f"/api/v1/jobs/{job_id}", headers=sue).json()["status"] == "queued"
    assert client.get(f"/api/v1/jobs/{job_id}", headers=make_user("tom", "supervisor", "t2")).status_code == 404
    result = _run_job(client, job_id)
    assert result["selected"] == 1 and result["rescored"] == 1 and result["changed"] == 1
    assert result["pack"] == {"id": "zh-CN", "version": "2.0.0"}
    rescored = client.get(f"/api/v1/calls/{t1_call}", headers=sue).json()
    assert rescored["report"]["pack"] == {"id": "zh-CN", "version": "2.0.0"}
    assert rescored["score"] == 0.0 and rescored["grade"] == "差"
    assert [f["rule_id"] for f in rescored["report"]["findings"]] == ["says_magic"]
    assert "***********" in str(rescored["report"]["utterances"])  # still masked
    untouched = client.get(f"/api/v1/calls/{t2_call}", headers=admin).json()
    assert untouched["report"]["pack"]["version"] == "1.0.0" and untouched["score"] > 0
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        rows = session.scalars(select(FindingRow).where(FindingRow.call_pk == t1_call)).all()
        assert [(r.rule_id, r.status) for r in rows] == [("says_magic", "fail")]


def test_rescore_prefers_the_raw_transcript_and_filters_by_time(client: TestClient, admin: dict[str, str],
                                                                 make_user: Callable[..., dict[str, str]],
                                                                 upload: Callable[..., str]) -> None:
    make_user("alice", "agent", "t1")
    early = upload(admin, agent="alice", started_at="2025-01-01T09:00:00+00:00")
    late = upload(admin, agent="alice", started_at="2025-03-01T09:00:00+00:00")
    raw = {**ZH_TRANSCRIPT, "utterances": [*ZH_TRANSCRIPT["utterances"],
                                           {"role": "agent", "start": 20.0, "end": 21.0, "text": "芝麻开门"}]}
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        call = session.get(Call, late)
        assert call is not None
        call.raw_transcript = raw
        session.commit()
    assert _post_pack(client, admin, MAGIC_PACK.format(version="2.0.0")).status_code == 201
    queued = client.post("/api/v1/packs/zh-CN/rescore", json={"from": "2025-02-01T00:00:00Z", "version": "2.0.0"},
                         headers=admin)
    assert queued.status_code == 202, queued.text
    result = _run_job(client, queued.json()["job_id"])
    assert result["selected"] == 1 and result["rescored"] == 1
    late_doc = client.get(f"/api/v1/calls/{late}", headers=admin).json()
    assert late_doc["score"] == 100.0 and late_doc["report"]["findings"][0]["status"] == "pass"
    assert client.get(f"/api/v1/calls/{early}", headers=admin).json()["report"]["pack"]["version"] == "1.0.0"
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        call = session.get(Call, late)
        assert call is not None and call.raw_transcript is not None  # kept, not dropped by the re-score
        assert session.scalar(select(WebhookDelivery.id)) is None  # no webhook configured: nothing queued


def test_rescore_skips_calls_in_another_language(client: TestClient, admin: dict[str, str],
                                                 make_user: Callable[..., dict[str, str]],
                                                 upload: Callable[..., str]) -> None:
    make_user("alice", "agent", "t1")
    upload(admin, agent="alice")
    assert _post_pack(client, admin, EN_PACK).status_code == 201
    queued = client.post("/api/v1/packs/acme-en/rescore", json={}, headers=admin)
    result = _run_job(client, queued.json()["job_id"])
    assert result["selected"] == 1 and result["skipped_language"] == 1 and result["rescored"] == 0


def test_rescore_through_the_worker(client: TestClient, admin: dict[str, str],
                                    make_user: Callable[..., dict[str, str]], upload: Callable[..., str]) -> None:
    from qa_engine.app.worker import Worker

    make_user("alice", "agent", "t1")
    call_id = upload(admin, agent="alice")
    assert _post_pack(client, admin, MAGIC_PACK.format(version="2.0.0")).status_code == 201
    job_id = client.post("/api/v1/packs/zh-CN/rescore", json={"team": "t1"}, headers=admin).json()["job_id"]
    app = client.app
    worker = Worker(app.state.session_factory, app.state.settings, app.state.pack_cache,  # type: ignore[attr-defined]
                    app.state.pipelines)  # type: ignore[attr-defined]
    assert worker.drain() == 1
    job = client.get(f"/api/v1/jobs/{job_id}", headers=admin).json()
    assert job["status"] == "done" and job["result"]["rescored"] == 1 and job["finished_at"] is not None
    assert client.get(f"/api/v1/calls/{call_id}", headers=admin).json()["report"]["pack"]["version"] == "2.0.0"


def test_version_key_orders_numerically() -> None:
    assert sorted(["1.10", "1.9", "2", "1.9.1"], key=version_key) == ["1.9", "1.9.1", "1.10", "2"]
