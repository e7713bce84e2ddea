"""Calibration sessions: blind answers, close, results (Fleiss' kappa, score spread, AI vs human per rule),
checks on calls, reviewers and form, role scoping (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .zh_calls import BASE, NO_GREETING

Headers = dict[str, str]
API = "/api/v1"
FORM: dict[str, Any] = {"team": "t1", "name": "校准表", "auto_weight": 0.5, "items": [
    {"id": "attitude", "label": "服务态度", "weight": 1, "max": 2},
    {"id": "accuracy", "label": "业务准确性", "weight": 1, "allow_na": True},
]}


@pytest.fixture()
def team(team: dict[str, Headers], make_user: Callable[..., Headers]) -> dict[str, Headers]:
    """The usual cast (tests/api/conftest.py) and sam (supervisor, t1)."""
    return {**team, "sam": make_user("sam", "supervisor", "t1")}


@pytest.fixture()
def setup(client: TestClient, team: dict[str, Headers], upload: Callable[..., str]) -> dict[str, Any]:
    form = client.post(f"{API}/evaluation-forms", json=FORM, headers=team["root"]).json()
    calls = [upload(team["sue"], agent="alice", **BASE), upload(team["sue"], agent="alice", **NO_GREETING)]
    return {"form": form["id"], "calls": calls}


def _answer(call: str, attitude: int, accuracy: int | None, verdicts: dict[str, str] | None = None) -> dict[str, Any]:
    return {"call": call, "answers": [{"item": "attitude", "value": attitude}, {"item": "accuracy", "value": accuracy}],
            "rule_verdicts": verdicts}


def _create(client: TestClient, headers: Headers, setup: dict[str, Any], **changes: Any) -> Any:
    body = {"name": "十二月校准", "team": "t1", "form": setup["form"], "calls": setup["calls"],
            "reviewers": ["sue", "sam", "root"], **changes}
    return client.post(f"{API}/calibration-sessions", json=body, headers=headers)


def test_blind_session_then_results(client: TestClient, team: dict[str, Headers], setup: dict[str, Any]) -> None:
    sue, sam, root = team["sue"], team["sam"], team["root"]
    created = _create(client, sue, setup)
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    assert created.json()["state"] == "open" and created.json()["my_pending"] == setup["calls"]
    c1, c2 = setup["calls"]

    # c1: all three give attitude 2 / accuracy 1; c2: attitude 2, 1, 0 and accuracy 1, 1, N/A
    plan: dict[str, list[tuple[str, int, int | None, dict[str, str]]]] = {
        "sue": [(c1, 2, 1, {"greeting": "pass", "speech_rate": "fail"}), (c2, 2, 1, {"greeting": "fail"})],
        "sam": [(c1, 2, 1, {"greeting": "pass", "speech_rate": "pass"}), (c2, 1, 1, {"greeting": "fail"})],
        "root": [(c1, 2, 1, {"greeting": "pass"}), (c2, 0, None, {"greeting": "pass"})]}
    for name, rows in plan.items():
        for call, attitude, accuracy, verdicts in rows:
            response = client.post(f"{API}/calibration-sessions/{sid}/evaluations", headers=team[name],
                                   json=_answer(call, 0, 0) if name == "sue" and call == c1 else
                                   _answer(call, attitude, accuracy, verdicts))
            assert response.status_code == 201, response.text
    # sue corrects her first answer while the session is open (replaces it)
    fixed = client.post(f"{API}/calibration-sessions/{sid}/evaluations", headers=sue,
                        json=_answer(c1, 2, 1, {"greeting": "pass", "speech_rate": "fail"}))
    assert fixed.status_code == 201

    # blind: each reviewer sees only their own answers, nobody sees results, progress shows ids only
    own = client.get(f"{API}/calibration-sessions/{sid}/evaluations", headers=sam).json()
    assert {e["reviewer"] for e in own} == {"sam"} and len(own) == 2
    assert {e["reviewer"] for e in client.get(f"{API}/calibration-sessions/{sid}/evaluations",
                                              headers=root).json()} == {"root"}
    assert client.get(f"{API}/calibration-sessions/{sid}/results", headers=root).status_code == 409
    progress = client.get(f"{API}/calibration-sessions/{sid}", headers=sam).json()
    assert {k: sorted(v) for k, v in progress["progress"].items()} == {n: sorted(setup["calls"]) for n in plan}
    assert progress["my_pending"] == []
    # calibration answers are not the call's evaluations
    assert client.get(f"{API}/calls/{c1}/evaluations", headers=sue).json() == []

    assert client.post(f"{API}/calibration-sessions/{sid}/close", headers=sam).status_code == 200
    assert client.post(f"{API}/calibration-sessions/{sid}/close", headers=sue).status_code == 409
    late = client.post(f"{API}/calibration-sessions/{sid}/evaluations", headers=sue, json=_answer(c1, 1, 1))
    assert late.status_code == 409
    assert len(client.get(f"{API}/calibration-sessions/{sid}/evaluations", headers=sam).json()) == 6

    results = client.get(f"{API}/calibration-sessions/{sid}/results", headers=sue)
    assert results.status_code == 200, results.text
    body = results.json()
    assert body["answers"] == 6 and body["session"]["state"] == "closed"
    items = {i["item"]: i for i in body["items"]}
    # attitude: c1 [2,2,2] P=1; c2 [2,1,0] P=0 -> observed 0.5; p = (4/6, 1/6, 1/6) -> expected 0.5 -> kappa 0
    assert items["attitude"]["observed"] == 0.5 and items["attitude"]["expected"] == 0.5
    assert items["attitude"]["kappa"] == 0.0 and items["attitude"]["unanimous"] == 0.5
    # accuracy: c1 [1,1,1] P=1; c2 [1,1,na] P=1/3 -> observed 2/3; p = (5/6, 1/6) -> expected 26/36
    assert items["accuracy"]["observed"] == pytest.approx(0.667, abs=1e-3)
    assert items["accuracy"]["kappa"] == pytest.approx((2 / 3 - 26 / 36) / (1 - 26 / 36), abs=1e-3)
    assert body["overall"]["subjects"] == 4 and body["overall"]["kappa"] is not None
    spreads = {c["call"]: c for c in body["calls"]}
    assert spreads[c1]["stdev"] == 0.0 and spreads[c1]["min"] == spreads[c1]["max"]
    assert spreads[c2]["count"] == 3 and spreads[c2]["max"] > spreads[c2]["min"]
    assert set(spreads[c2]["scores"]) == {"sue", "sam", "root"}
    rules = {r["rule_id"]: r for r in body["rules"]}
    # greeting: engine pass on c1 (3/3 agree), fail on c2 (sue, sam agree; root not): 5 of 6
    assert (rules["greeting"]["verdicts"], rules["greeting"]["agreed"]) == (6, 5)
    assert rules["greeting"]["rate"] == pytest.approx(0.833, abs=1e-3)
    # speech_rate fails in the BASE call: sue agrees, sam does not
    assert (rules["speech_rate"]["verdicts"], rules["speech_rate"]["agreed"]) == (2, 1)


def test_session_checks_and_scoping(client: TestClient, team: dict[str, Headers], setup: dict[str, Any],
                                    upload: Callable[..., str], make_user: Callable[..., Headers]) -> None:
    make_user("tina", "agent", "t2")
    sue, tom, alice = team["sue"], team["tom"], team["alice"]
    assert _create(client, alice, setup).status_code == 403
    assert _create(client, tom, setup).status_code == 404  # not tom's team
    assert _create(client, sue, setup, reviewers=["sue"]).status_code == 422
    bad_reviewer = _create(client, sue, setup, reviewers=["sue", "tom"])
    assert bad_reviewer.status_code == 422 and "'tom'" in bad_reviewer.json()["detail"]
    assert _create(client, sue, setup, reviewers=["sue", "alice"]).status_code == 422
    assert _create(client, sue, setup, reviewers=["sue", "sue", "sam"]).status_code == 422
    assert _create(client, sue, setup, calls=["nope"]).status_code == 422
    assert _create(client, sue, setup, form=999).status_code == 422
    other = upload(team["root"], agent="tina", **BASE)
    assert _create(client, sue, setup, calls=[other]).status_code == 422
    assert _create(client, sue, setup, calls=[]).status_code == 422

    sid = _create(client, sue, setup, reviewers=["sue", "sam"]).json()["id"]
    assert client.get(f"{API}/calibration-sessions/{sid}", headers=tom).status_code == 404
    assert client.get(f"{API}/calibration-sessions", headers=tom).json() == []
    assert client.get(f"{API}/calibration-sessions", headers=alice).status_code == 403
    assert [s["id"] for s in client.get(f"{API}/calibration-sessions", headers=team["root"]).json()] == [sid]
    # root may see it, but is not a reviewer
    answer = _answer(setup["calls"][0], 1, 1)
    assert client.post(f"{API}/calibration-sessions/{sid}/evaluations", headers=team["root"],
                       json=answer).status_code == 403
    assert client.post(f"{API}/calibration-sessions/{sid}/evaluations", headers=sue,
                       json={**answer, "call": other}).status_code == 404
    assert client.post(f"{API}/calibration-sessions/{sid}/evaluations", headers=sue,
                       json={**answer, "answers": []}).status_code == 422
    assert client.get(f"{API}/calibration-sessions/999", headers=sue).status_code == 404
