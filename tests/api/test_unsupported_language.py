"""A call in a language no rule pack is written for, with no pack named, is ``unscorable`` (real database:
SQLite, and PostgreSQL when configured): never a score from a pack written for another language."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from ..one_rule_pack import one_rule_pack
from .conftest import ZH_TRANSCRIPT
from .test_processing import AUDIO, Service, service, service_factory  # noqa: F401 - fixtures

Headers = dict[str, str]
YAML = {"Content-Type": "application/yaml"}
FR_PACK = one_rule_pack("acme-fr", language="fr", grades="{bon: 80, faible: 0}", summary="L'agent salue le client",
                        phrase="bonjour")
EN_PACK = FR_PACK.replace("acme-fr", "acme-en").replace("language: fr", "language: en")


def _post(client: TestClient, headers: Headers, **extra: Any) -> dict[str, Any]:
    created = client.post("/api/v1/calls", json={**ZH_TRANSCRIPT, **extra}, headers=headers)
    assert created.status_code == 201, created.text
    call = client.get(f"/api/v1/calls/{created.json()['id']}", headers=headers)
    assert call.status_code == 200, call.text
    body: dict[str, Any] = {**call.json(), "upload_status": created.json()["status"]}
    return body


def test_a_french_transcript_without_a_pack_is_unscorable(client: TestClient,
                                                          make_user: Callable[..., Headers]) -> None:
    alice = make_user("alice", "agent", "t1")
    call = _post(client, alice, language="fr")
    assert call["upload_status"] == "failed" and call["status"] == "failed"
    assert call["score"] is None and call["grade"] is None and call["pack"] is None
    report = call["report"]
    assert report["status"] == "unscorable" and report["score"] is None and report["findings"] == []
    reason = report["reason"]
    assert "'fr'" in reason and "en, zh" in reason and "pack" in reason
    assert reason in call["error"]


def test_a_named_pack_is_used_as_asked(client: TestClient, make_user: Callable[..., Headers]) -> None:
    alice = make_user("alice", "agent", "t1")
    call = _post(client, alice, language="fr", pack="zh-CN")
    assert call["status"] == "done" and call["pack"] == "zh-CN" and call["score"] is not None


@pytest.mark.parametrize(("language", "pack"), [("en-US", "en"), ("en-GB", "en"), ("zh-TW", "zh-CN"),
                                                ("cmn", "zh-CN"), ("yue", "zh-CN")])
def test_english_and_chinese_variants_keep_their_packs(client: TestClient, make_user: Callable[..., Headers],
                                                       language: str, pack: str) -> None:
    alice = make_user("alice", "agent", "t1")
    call = _post(client, alice, language=language)
    assert call["status"] == "done" and call["pack"] == pack


def test_an_uploaded_pack_for_the_language_scores_it(client: TestClient, make_user: Callable[..., Headers]) -> None:
    root, alice = make_user("root", "admin"), make_user("alice", "agent", "t1")
    assert client.post("/api/v1/packs", content=FR_PACK.encode(), headers={**root, **YAML}).status_code == 201
    assert _post(client, alice, language="fr-CA")["pack"] == "acme-fr"
    german = _post(client, alice, language="de", call_id="de-1")
    assert german["status"] == "failed" and "en, fr, zh" in german["report"]["reason"]


def test_a_team_pack_of_another_language_does_not_score_the_call(client: TestClient,
                                                                   make_user: Callable[..., Headers]) -> None:
    root, alice = make_user("root", "admin"), make_user("alice", "agent", "t1")
    assert client.post("/api/v1/packs", content=EN_PACK.encode(), headers={**root, **YAML}).status_code == 201
    assert client.put("/api/v1/teams/t1/pack", json={"pack_id": "acme-en"}, headers=root).status_code == 200
    assert _post(client, alice, language="en")["pack"] == "acme-en"
    french = _post(client, alice, language="fr", call_id="fr-1")
    assert french["status"] == "failed" and french["report"]["status"] == "unscorable"


def test_a_recording_in_french_is_transcribed_then_unscorable(service: Service, tmp_path: Path) -> None:  # noqa: F811
    alice = service.user("alice", "agent", "t1")
    # the first turns of an English call declared French (Whisper decodes as asked): decoding Mandarin as French
    # makes Whisper retry at higher temperatures, a minute on the whole call
    samples, rate = sf.read(AUDIO.with_name("call_en_stereo.flac"))
    sf.write(tmp_path / "call.flac", samples[: 10 * rate], rate)
    created = service.upload(alice, (tmp_path / "call.flac").read_bytes(), "call.flac", agent_channel=0,
                             language="fr")
    assert created.status_code == 202, created.text
    assert service.worker().run_once()
    call = service.call(alice, created.json()["id"])
    assert call["status"] == "failed" and call["score"] is None and call["pack"] is None
    assert call["report"]["status"] == "unscorable" and "'fr'" in call["report"]["reason"]
    assert call["report"]["utterances"]  # transcribed: a supervisor can read it and name a pack
