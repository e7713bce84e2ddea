"""Scorecards per agent and team, the weekly analysis, their CSV forms and who may read them."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from qa_engine.rules.labels import canonical_grade

from .zh_calls import BASE, COMPLAINT, FORBIDDEN, NO_GREETING, library_report

Headers = dict[str, str]
API = "/api/v1"

#: alice's calls: (transcript, started_at); W47 has two calls, W48 and W49 one each
ALICE_CALLS = [(BASE, "2026-11-16T09:00:00+08:00"), (NO_GREETING, "2026-11-18T23:30:00Z"),
               (COMPLAINT, "2026-11-24T10:00:00Z"), (FORBIDDEN, "2026-12-01T10:00:00Z")]


@pytest.fixture()
def people(make_user: Callable[..., Headers]) -> dict[str, Headers]:
    return {"alice": make_user("alice", "agent", "t1"), "bob": make_user("bob", "agent", "t1"),
            "carol": make_user("carol", "agent", "t2"), "sue": make_user("sue", "supervisor", "t1"),
            "tom": make_user("tom", "supervisor", "t2"), "root": make_user("root", "admin")}


def expected_stats(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Count, mean score, grades and per-rule pass rates from the library's own reports."""
    reports = [library_report(d) for d in docs]
    passed: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for report in reports:
        for finding in report.findings:
            if finding.weight > 0:
                passed[finding.rule_id] += finding.status == "pass"
                failed[finding.rule_id] += finding.status == "fail"
    rates = {rule: (round(passed[rule] / (passed[rule] + failed[rule]), 4) if passed[rule] + failed[rule] else None)
             for rule in passed.keys() | failed.keys()}
    scores = [r.score for r in reports if r.score is not None]
    return {"calls": len(reports), "average_score": round(sum(scores) / len(scores), 2),
            "grades": dict(Counter(canonical_grade(r.grade) for r in reports)), "rates": rates}  # by canonical id


def _rates(stats: dict[str, Any]) -> dict[str, float | None]:
    return {r["rule_id"]: r["pass_rate"] for r in stats["rules"]}


def test_agent_scorecard_matches_the_library(client: TestClient, people: dict[str, Headers],
                                             upload: Callable[..., str]) -> None:
    for doc, started_at in ALICE_CALLS:
        upload(people["alice"], **doc, started_at=started_at)
    upload(people["bob"], **FORBIDDEN, started_at="2026-11-17T10:00:00Z")  # not alice's
    card = client.get(f"{API}/scorecards/agents/alice", params={"period": "week"}, headers=people["alice"])
    assert card.status_code == 200, card.text
    body = card.json()
    want = expected_stats([doc for doc, _ in ALICE_CALLS])
    total = body["total"]
    assert total["calls"] == 4 and total["average_score"] == want["average_score"]
    assert total["grades"] == want["grades"] and _rates(total) == want["rates"]
    assert _rates(total)["greeting"] == 0.75 and _rates(total)["forbidden_phrases"] == 0.75
    # 2026-11-16T09:00+08:00 is 01:00 UTC on Monday of W47; 2026-11-18T23:30Z stays in W47
    assert [(b["period"], b["start"], b["calls"]) for b in body["trend"]] == [
        ("2026-W47", "2026-11-16", 2), ("2026-W48", "2026-11-23", 1), ("2026-W49", "2026-11-30", 1)]
    first_week = expected_stats([BASE, NO_GREETING])
    assert body["trend"][0]["average_score"] == first_week["average_score"]
    assert _rates(body["trend"][0]) == first_week["rates"]

    months = client.get(f"{API}/scorecards/agents/alice", params={"period": "month"}, headers=people["sue"]).json()
    assert [(b["period"], b["calls"]) for b in months["trend"]] == [("2026-11", 3), ("2026-12", 1)]
    days = client.get(f"{API}/scorecards/agents/alice",
                      params={"period": "day", "from": "2026-11-18", "to": "2026-11-24"}, headers=people["root"])
    assert [(b["period"], b["calls"]) for b in days.json()["trend"]] == [("2026-11-18", 1), ("2026-11-24", 1)]
    assert days.json()["total"]["average_score"] == expected_stats([NO_GREETING, COMPLAINT])["average_score"]


def test_team_scorecard_follows_reviews(client: TestClient, people: dict[str, Headers],
                                        upload: Callable[..., str]) -> None:
    sue = people["sue"]
    calls = [upload(people["alice"], **BASE), upload(people["bob"], **NO_GREETING)]
    upload(people["carol"], **FORBIDDEN)  # team t2
    body = client.get(f"{API}/scorecards/teams/t1", headers=sue).json()
    assert body["total"]["calls"] == 2 and body["total"]["average_score"] == round((94.1 + 82.4) / 2, 2)
    assert _rates(body["total"])["greeting"] == 0.5
    client.post(f"{API}/calls/{calls[1]}/findings/greeting/override", json={"status": "pass", "comment": "ok"},
                headers=sue)
    after = client.get(f"{API}/scorecards/teams/t1", headers=sue).json()
    assert _rates(after["total"])["greeting"] == 1.0 and after["total"]["average_score"] == round((94.1 + 100) / 2, 2)


def test_scorecard_scoping(client: TestClient, people: dict[str, Headers], upload: Callable[..., str]) -> None:
    upload(people["alice"], **BASE)
    upload(people["carol"], **BASE)
    assert client.get(f"{API}/scorecards/agents/alice", headers=people["bob"]).status_code == 404
    assert client.get(f"{API}/scorecards/agents/nobody", headers=people["root"]).status_code == 404
    assert client.get(f"{API}/scorecards/agents/alice", headers=people["tom"]).status_code == 404
    assert client.get(f"{API}/scorecards/agents/carol", headers=people["tom"]).json()["total"]["calls"] == 1
    assert client.get(f"{API}/scorecards/agents/bob", headers=people["sue"]).json()["total"]["calls"] == 0
    assert client.get(f"{API}/scorecards/teams/t1", headers=people["alice"]).status_code == 403
    assert client.get(f"{API}/scorecards/teams/t2", headers=people["sue"]).status_code == 404
    assert client.get(f"{API}/scorecards/teams/t2", headers=people["root"]).json()["total"]["calls"] == 1


@pytest.mark.parametrize(("params", "name"), [({"period": "year"}, "period"), ({"from": "2026-13-01"}, "from"),
                                              ({"to": "soon"}, "to"), ({"format": "xml"}, "format"),
                                              ({"from": "2026-11-20", "to": "2026-11-01"}, "from")])
def test_invalid_parameters_are_422(client: TestClient, people: dict[str, Headers], params: dict[str, str],
                                    name: str) -> None:
    response = client.get(f"{API}/scorecards/agents/alice", params=params, headers=people["alice"])
    assert response.status_code == 422
    assert name in response.text


def test_scorecard_csv(client: TestClient, people: dict[str, Headers], upload: Callable[..., str]) -> None:
    for doc, started_at in ALICE_CALLS:
        upload(people["alice"], **doc, started_at=started_at)
    response = client.get(f"{API}/scorecards/agents/alice", params={"format": "csv", "period": "month"},
                          headers=people["alice"])
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    want = expected_stats([doc for doc, _ in ALICE_CALLS])
    assert [r["period"] for r in rows] == ["all", "2026-11", "2026-12"]
    assert int(rows[0]["calls"]) == 4 and float(rows[0]["average_score"]) == want["average_score"]
    assert float(rows[0]["pass_rate:greeting"]) == want["rates"]["greeting"]
    assert int(rows[0]["grade:fail"]) == 1 and int(rows[2]["grade:fail"]) == 1 and rows[1]["grade:fail"] == "0"


def _week_of_calls(people: dict[str, Headers], upload: Callable[..., str]) -> None:
    """W47: alice BASE (60 s) + NO_GREETING (120 s), bob COMPLAINT (90 s) + FORBIDDEN; W46: one for carol."""
    upload(people["alice"], **BASE, started_at="2026-11-16T09:00:00Z", duration=60.0)
    upload(people["alice"], **NO_GREETING, started_at="2026-11-17T09:00:00Z", duration=120.0)
    upload(people["bob"], **COMPLAINT, started_at="2026-11-19T09:00:00Z", duration=90.0)
    upload(people["bob"], **FORBIDDEN, started_at="2026-11-22T23:59:00Z")
    upload(people["carol"], **COMPLAINT, started_at="2026-11-10T09:00:00Z")
    upload(people["carol"], **BASE, started_at="2026-11-23T00:00:00Z")  # W48: not counted


def test_weekly_analysis(client: TestClient, people: dict[str, Headers], upload: Callable[..., str]) -> None:
    _week_of_calls(people, upload)
    response = client.get(f"{API}/analysis/weekly", params={"week": "2026-W47"}, headers=people["root"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["week"], body["start"], body["end"], body["calls"]) == ("2026-W47", "2026-11-16", "2026-11-22", 4)
    forbidden_duration = library_report(FORBIDDEN).transcript.duration
    assert body["average_handle_time_s"] == round((60 + 120 + 90 + forbidden_duration) / 4, 2)
    problems = [(p["rule_id"], p["failures"], p["share_of_calls"]) for p in body["problems"]]
    # speech_rate fails in BASE, COMPLAINT and FORBIDDEN; the rest once each (ties by rule id)
    assert problems == [("speech_rate", 3, 0.75), ("apology_on_complaint", 1, 0.25),
                        ("forbidden_phrases", 1, 0.25), ("greeting", 1, 0.25)]
    assert body["problems"][0]["summary"] == "坐席语速适中" and body["problems"][0]["previous_failures"] == 1
    assert body["problems"][1]["fail_rate"] == 1.0  # the one complaint went unanswered
    assert [(c["label"], c["calls"], c["share"]) for c in body["categories"]] == [("inquiry", 3, 0.75),
                                                                                  ("complaint", 1, 0.25)]
    spots = body["hotspots"]
    assert (spots["complaint_calls"], spots["apology_missed"], spots["apology_applicable"]) == (1, 1, 1)
    assert [p["rule_id"] for p in spots["critical_failures"]] == ["forbidden_phrases"]
    assert [(g["name"], g["calls"], g["average_score"]) for g in spots["lowest_agents"]] == [
        ("bob", 2, round((80.0 + 59.0) / 2, 2)), ("alice", 2, round((94.1 + 82.4) / 2, 2))]
    assert spots["lowest_rules"][0] == {"rule_id": "apology_on_complaint", "passed": 0, "failed": 1,
                                        "pass_rate": 0.0}
    assert body["previous"] == {"week": "2026-W46", "calls": 1, "average_score": 80.0,
                                "average_handle_time_s": library_report(COMPLAINT).transcript.duration}


def test_weekly_analysis_scoping_and_csv(client: TestClient, people: dict[str, Headers],
                                         upload: Callable[..., str]) -> None:
    _week_of_calls(people, upload)
    mine = client.get(f"{API}/analysis/weekly", params={"week": "2026-W47"}, headers=people["sue"]).json()
    assert mine["calls"] == 4 and mine["previous"]["calls"] == 0  # carol's W46 call is team t2
    t2 = client.get(f"{API}/analysis/weekly", params={"week": "2026-W46", "team": "t2"}, headers=people["root"])
    assert t2.json()["calls"] == 1 and t2.json()["hotspots"]["complaint_calls"] == 1
    assert client.get(f"{API}/analysis/weekly", params={"team": "t2"}, headers=people["sue"]).status_code == 404
    assert client.get(f"{API}/analysis/weekly", headers=people["alice"]).status_code == 403
    for week in ("2026-W54", "2026-47", "W47"):
        bad = client.get(f"{API}/analysis/weekly", params={"week": week}, headers=people["sue"])
        assert bad.status_code == 422 and "week" in bad.json()["detail"]
    assert client.get(f"{API}/analysis/weekly", params={"week": "2026-W53"}, headers=people["sue"]).status_code == 200

    response = client.get(f"{API}/analysis/weekly", params={"week": "2026-W47", "format": "csv"},
                          headers=people["root"])
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "weekly-2026-W47.csv" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == ["section", "item", "count", "share", "value", "previous", "note"]
    by_key = {(r["section"], r["item"]): r for r in rows}
    assert by_key[("summary", "calls")]["count"] == "4" and by_key[("summary", "calls")]["previous"] == "1"
    assert by_key[("problem", "speech_rate")]["count"] == "3" and by_key[("problem", "speech_rate")]["share"] == "0.75"
    assert by_key[("category", "complaint")]["count"] == "1"
    assert by_key[("hotspot", "apology_missed")]["count"] == "1"
    assert by_key[("hotspot_agent", "bob")]["value"] == str(round((80.0 + 59.0) / 2, 2))


UPLOADED_PACK = """\
pack: zh-team-t2
version: "2.0.0"
language: zh
name: 二组质检包
grades: {合格: 60, 不合格: 0}
rules:
  - id: say_thanks_first
    type: phrase_in_window
    summary: 坐席开场先致谢（上传包的规则）
    weight: 100
    severity: major
    role: agent
    window: {anchor: first_agent_turns, turns: 1, within_s: 5}
    match:
      threshold: 90
      phrases: [感谢您的耐心等待非常荣幸]
"""


def test_weekly_analysis_names_rules_of_uploaded_packs(client: TestClient, people: dict[str, Headers],
                                                       upload: Callable[..., str]) -> None:
    created = client.post(f"{API}/packs", content=UPLOADED_PACK.encode("utf-8"),
                          headers={**people["root"], "Content-Type": "application/yaml"})
    assert created.status_code == 201, created.text
    chosen = client.put(f"{API}/teams/t2/pack", json={"pack_id": "zh-team-t2", "version": None},
                        headers=people["root"])
    assert chosen.status_code == 200, chosen.text
    upload(people["tom"], agent="carol", started_at="2026-11-18T10:00:00+00:00")
    body = client.get(f"{API}/analysis/weekly", params={"week": "2026-W47", "team": "t2"},
                      headers=people["root"]).json()
    assert [(p["rule_id"], p["summary"]) for p in body["problems"]] == [
        ("say_thanks_first", "坐席开场先致谢（上传包的规则）")]
