"""Evaluation forms and evaluations: forms per team, answers checked against the form, the combined final score,
critical items, release to the agent and the call's JSON, role scoping and audit (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .zh_calls import BASE

Headers = dict[str, str]
API = "/api/v1"

#: 服务态度 (0..5, weight 2), 业务准确性 (yes/no, weight 3, may be N/A), 信息安全 (critical yes/no, weight 1)
FORM: dict[str, Any] = {
    "team": "t1", "name": "服务质量", "auto_weight": 0.4,
    "items": [
        {"id": "attitude", "label": "服务态度", "weight": 2, "max": 5},
        {"id": "accuracy", "label": "业务准确性", "weight": 3, "allow_na": True},
        {"id": "security", "label": "信息安全（致命项）", "weight": 1, "critical": True},
    ],
}


def answers(attitude: int | None, accuracy: int | None, security: int | None) -> list[dict[str, Any]]:
    return [{"item": "attitude", "value": attitude, "comment": "语气友好"}, {"item": "accuracy", "value": accuracy},
            {"item": "security", "value": security}]


def make_form(client: TestClient, root: Headers, **changes: Any) -> dict[str, Any]:
    response = client.post(f"{API}/evaluation-forms", json={**FORM, **changes}, headers=root)
    assert response.status_code == 201, response.text
    form: dict[str, Any] = response.json()
    return form


def test_evaluation_combines_scores_and_is_released_to_the_agent(client: TestClient, team: dict[str, Headers],
                                                                upload: Callable[..., str]) -> None:
    sue, alice, root = team["sue"], team["alice"], team["root"]
    form = make_form(client, root)
    assert form["version"] == 1 and form["current"] is True and form["items"][1]["allow_na"] is True
    call = upload(sue, agent="alice", **BASE)
    auto = client.get(f"{API}/calls/{call}", headers=sue).json()["score"]

    created = client.post(f"{API}/calls/{call}/evaluations", headers=sue,
                          json={"answers": answers(4, 1, 1), "comment": "客户电话 13812345678 已核实"})
    assert created.status_code == 201, created.text
    ev = created.json()
    # manual = 100 * (2*4/5 + 3*1 + 1*1) / 6 = 93.3; final = 0.4 * auto + 0.6 * manual
    assert ev["manual_score"] == 93.3 and ev["auto_score"] == auto
    assert ev["final_score"] == round(0.4 * auto + 0.6 * 100 * 5.6 / 6, 1)
    assert ev["reviewer"] == "sue" and ev["form"] == form["id"] and ev["released_at"] is None
    assert ev["answers"][0] == {"item": "attitude", "label": "服务态度", "value": 4, "max": 5, "comment": "语气友好"}
    assert "13812345678" not in ev["comment"]  # PII masked when stored

    # not released yet: the agent sees nothing, the call carries no evaluation
    assert client.get(f"{API}/calls/{call}/evaluations", headers=alice).json() == []
    assert client.get(f"{API}/calls/{call}", headers=alice).json()["evaluation"] is None
    assert client.post(f"{API}/evaluations/{ev['id']}/release", headers=alice).status_code == 404
    assert client.post(f"{API}/evaluations/{ev['id']}/release", headers=team["tom"]).status_code == 404

    released = client.post(f"{API}/evaluations/{ev['id']}/release", headers=sue)
    assert released.status_code == 200, released.text
    assert released.json()["released_by"] == "sue" and released.json()["released_at"]
    assert client.post(f"{API}/evaluations/{ev['id']}/release", headers=sue).status_code == 409
    seen = client.get(f"{API}/calls/{call}/evaluations", headers=alice).json()
    assert [e["id"] for e in seen] == [ev["id"]]
    summary = client.get(f"{API}/calls/{call}", headers=alice).json()["evaluation"]
    assert summary["score"] == ev["final_score"] and summary["form"] == "服务质量" and summary["reviewer"] == "sue"
    assert summary["released_at"] and summary["form_version"] == 1

    audit = [(e["action"], e["actor"]) for e in client.get(f"{API}/calls/{call}/audit", headers=sue).json()]
    assert ("evaluation.created", "sue") in audit and ("evaluation.released", "sue") in audit


def test_na_items_are_left_out_and_a_failed_critical_item_zeroes(client: TestClient, team: dict[str, Headers],
                                                               upload: Callable[..., str]) -> None:
    sue, root = team["sue"], team["root"]
    make_form(client, root)
    call = upload(sue, agent="alice", **BASE)
    auto = client.get(f"{API}/calls/{call}", headers=sue).json()["score"]
    na = client.post(f"{API}/calls/{call}/evaluations", headers=sue, json={"answers": answers(5, None, 1)}).json()
    assert na["manual_score"] == 100.0  # (2*1 + 1*1) / 3: accuracy (N/A) is out of the weights
    assert na["final_score"] == round(0.4 * auto + 60.0, 1)
    fatal = client.post(f"{API}/calls/{call}/evaluations", headers=sue, json={"answers": answers(5, 1, 0)}).json()
    assert fatal["critical_failed"] is True and fatal["final_score"] == 0.0 and fatal["manual_score"] > 80
    # auto_weight 1: only the rules count; 0: only the form
    only_form = make_form(client, root, name="只看人工", auto_weight=0.0)
    mine = client.post(f"{API}/calls/{call}/evaluations", headers=sue,
                       json={"form": only_form["id"], "answers": answers(0, 1, 1)}).json()
    assert mine["final_score"] == mine["manual_score"] == round(100 * 4 / 6, 1)


@pytest.mark.parametrize(("body", "message"), [
    ({"answers": answers(6, 1, 1)}, "takes 0..5"),
    ({"answers": answers(4, 1, None)}, "cannot be N/A"),
    ({"answers": answers(4, 1, 1)[:2]}, "not answered: security"),
    ({"answers": [*answers(4, 1, 1), {"item": "smile", "value": 1}]}, "no item 'smile'"),
    ({"answers": [*answers(4, 1, 1), {"item": "attitude", "value": 1}]}, "answered twice"),
    ({"answers": answers(4, 1, 1), "rule_verdicts": {"no_such_rule": "pass"}}, "no finding for rule"),
    ({"answers": answers(4, 1, 1), "form": 999}, "not an evaluation form of team"),
])
def test_answers_are_checked_against_the_form(client: TestClient, team: dict[str, Headers],
                                              upload: Callable[..., str], body: dict[str, Any], message: str) -> None:
    make_form(client, team["root"])
    call = upload(team["sue"], agent="alice", **BASE)
    response = client.post(f"{API}/calls/{call}/evaluations", headers=team["sue"], json=body)
    assert response.status_code == 422 and message in response.json()["detail"], response.text


@pytest.mark.parametrize(("change", "status"), [
    ({"items": []}, 422),
    ({"items": [FORM["items"][0], FORM["items"][0]]}, 422),
    ({"items": [{"id": "a b", "label": "x"}]}, 422),
    ({"items": [{"id": "a", "label": "x", "weight": 0}]}, 422),
    ({"items": [{"id": "a", "label": "x", "max": 0}]}, 422),
    ({"auto_weight": 1.5}, 422),
    ({"items": [{"id": f"i{n}", "label": "x"} for n in range(51)]}, 422),
    ({"team": ""}, 422),
])
def test_bad_forms_are_refused(client: TestClient, team: dict[str, Headers], change: dict[str, Any],
                               status: int) -> None:
    response = client.post(f"{API}/evaluation-forms", json={**FORM, **change}, headers=team["root"])
    assert response.status_code == status, response.text


def test_forms_are_versioned_and_scoped(client: TestClient, team: dict[str, Headers],
                                        upload: Callable[..., str]) -> None:
    root, sue, tom, alice = team["root"], team["sue"], team["tom"], team["alice"]
    assert client.post(f"{API}/evaluation-forms", json=FORM, headers=sue).status_code == 403
    first = make_form(client, root)
    second = make_form(client, root, auto_weight=0.7)
    assert (first["version"], second["version"]) == (1, 2)
    listed = client.get(f"{API}/evaluation-forms", params={"team": "t1"}, headers=sue).json()
    assert [(f["id"], f["current"]) for f in listed] == [(second["id"], True), (first["id"], False)]
    assert client.get(f"{API}/evaluation-forms", headers=tom).json() == []
    assert client.get(f"{API}/evaluation-forms", params={"team": "t1"}, headers=tom).status_code == 404
    assert client.get(f"{API}/evaluation-forms/{first['id']}", headers=tom).status_code == 404
    assert client.get(f"{API}/evaluation-forms/{first['id']}", headers=alice).status_code == 200

    call = upload(sue, agent="alice", **BASE)
    ev = client.post(f"{API}/calls/{call}/evaluations", headers=sue, json={"answers": answers(5, 1, 1)}).json()
    assert ev["form"] == second["id"]  # the current form by default
    assert client.post(f"{API}/calls/{call}/evaluations", headers=alice,
                       json={"answers": answers(5, 1, 1)}).status_code == 403
    assert client.post(f"{API}/calls/{call}/evaluations", headers=tom,
                       json={"answers": answers(5, 1, 1)}).status_code == 404


def test_a_team_without_a_form_answers_409(client: TestClient, team: dict[str, Headers],
                                           upload: Callable[..., str]) -> None:
    call = upload(team["sue"], agent="alice", **BASE)
    response = client.post(f"{API}/calls/{call}/evaluations", headers=team["sue"], json={"answers": []})
    assert response.status_code == 409 and "no evaluation form" in response.json()["detail"]


def test_deleting_a_call_deletes_its_evaluations(client: TestClient, team: dict[str, Headers],
                                                 upload: Callable[..., str]) -> None:
    make_form(client, team["root"])
    call = upload(team["sue"], agent="alice", **BASE)
    ev = client.post(f"{API}/calls/{call}/evaluations", headers=team["sue"],
                     json={"answers": answers(5, 1, 1)}).json()
    assert client.delete(f"{API}/calls/{call}", headers=team["root"]).status_code == 204
    assert client.post(f"{API}/evaluations/{ev['id']}/release", headers=team["root"]).status_code == 404
