"""The supervisor's drill-down on one agent: trend per rule, team benchmark, recent calls, disputes, coaching."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from fastapi.testclient import TestClient

from qa_engine.app.agent_overview import DEFAULT_DAYS, default_dates

from .zh_calls import BASE, COMPLAINT, FORBIDDEN, statuses

Headers = dict[str, str]
API = "/api/v1"


def test_overview_puts_the_agent_next_to_the_team(client: TestClient, team: dict[str, Headers],
                                                  upload: Callable[..., str]) -> None:
    sue = team["sue"]
    mine = [upload(sue, agent="alice", **BASE, started_at="2026-11-02T09:00:00Z"),
            upload(sue, agent="alice", **COMPLAINT, started_at="2026-11-10T09:00:00Z")]
    upload(sue, agent="bob", **FORBIDDEN, started_at="2026-11-11T09:00:00Z")
    dispute = client.post(f"{API}/calls/{mine[1]}/findings/apology_on_complaint/dispute",
                          json={"comment": "我道歉了"}, headers=team["alice"])
    assert dispute.status_code == 201, dispute.text
    note = client.post(f"{API}/calls/{mine[1]}/comments", json={"text": "投诉时先道歉", "at": 5}, headers=sue)
    assert note.status_code == 201

    response = client.get(f"{API}/agents/alice/overview",
                          params={"from": "2026-11-01", "to": "2026-11-30", "period": "week"}, headers=sue)
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["agent"] == "alice" and view["team"] == "t1" and view["period"] == "week"
    assert view["scorecard"]["total"]["calls"] == 2 and len(view["scorecard"]["trend"]) == 2  # two ISO weeks
    assert view["team_total"]["calls"] == 3  # alice's two and bob's one
    rules = {r["rule_id"]: r for r in view["rules"]}
    forbidden_rule = next(r for r, s in statuses(FORBIDDEN).items() if s == "fail" and statuses(BASE)[r] == "pass"
                          and r in rules)
    assert rules[forbidden_rule]["agent_pass_rate"] == 1.0 and rules[forbidden_rule]["team_pass_rate"] < 1.0
    assert rules["apology_on_complaint"]["agent_applied"] >= 1
    assert [c["id"] for c in view["recent_calls"]] == [mine[1], mine[0]]  # newest first
    assert [(d["rule_id"], d["about"]["id"]) for d in view["open_disputes"]] == [("apology_on_complaint", mine[1])]
    assert view["coaching_total"] == 1 and view["coaching"][0]["text"] == "投诉时先道歉"
    assert view["coaching"][0]["about"]["id"] == mine[1] and view["coaching"][0]["at"] == 5.0

    admin = client.get(f"{API}/agents/alice/overview", params={"from": "2026-11-01"}, headers=team["root"])
    assert admin.status_code == 200 and admin.json()["scorecard"]["total"]["calls"] == 2


def test_overview_is_for_the_agents_supervisors_and_admins(client: TestClient, team: dict[str, Headers],
                                                           upload: Callable[..., str]) -> None:
    upload(team["sue"], agent="alice", **BASE)
    assert client.get(f"{API}/agents/alice/overview", headers=team["alice"]).status_code == 403
    assert client.get(f"{API}/agents/bob/overview", headers=team["alice"]).status_code == 403
    assert client.get(f"{API}/agents/alice/overview", headers=team["tom"]).status_code == 404  # not tom's team
    assert client.get(f"{API}/agents/nobody/overview", headers=team["sue"]).status_code == 404
    quiet = client.get(f"{API}/agents/bob/overview", headers=team["sue"])  # an agent of hers with no calls yet
    assert quiet.status_code == 200 and quiet.json()["scorecard"]["total"]["calls"] == 0
    assert quiet.json()["recent_calls"] == [] and quiet.json()["team_total"]["calls"] == 1


def test_overview_parameters_are_checked(client: TestClient, team: dict[str, Headers]) -> None:
    for params in ({"period": "year"}, {"from": "2026-11-30", "to": "2026-11-01"}, {"from": "someday"}):
        response = client.get(f"{API}/agents/alice/overview", params=params, headers=team["sue"])
        assert response.status_code == 422, (params, response.text)


def test_default_range_is_the_last_13_weeks() -> None:
    assert default_dates(None, None, today=date(2026, 12, 5)) == (date(2026, 9, 6), None)  # 91 days, today included
    assert DEFAULT_DAYS == 91
    assert default_dates(date(2026, 1, 1), None, today=date(2026, 12, 5)) == (date(2026, 1, 1), None)
