"""Reviews: disputes from agent to supervisor, overrides, recomputed scores, the audit trail, calibration."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from .zh_calls import BASE, FORBIDDEN, library_report

Headers = dict[str, str]
API = "/api/v1"


def _dispute(client: TestClient, headers: Headers, call: str, rule: str, comment: str = "I did that") -> Any:
    return client.post(f"{API}/calls/{call}/findings/{rule}/dispute", json={"comment": comment}, headers=headers)


def _override(client: TestClient, headers: Headers, call: str, rule: str, new_status: str) -> Any:
    return client.post(f"{API}/calls/{call}/findings/{rule}/override",
                       json={"status": new_status, "comment": "listened to it"}, headers=headers)


def _finding(client: TestClient, headers: Headers, call: str, rule: str) -> dict[str, Any]:
    report = client.get(f"{API}/calls/{call}", headers=headers).json()["report"]
    found: dict[str, Any] = next(f for f in report["findings"] if f["rule_id"] == rule)
    return found


def test_accepted_dispute_changes_score_and_grade_with_audit(client: TestClient, team: dict[str, Headers],
                                                            upload: Callable[..., str]) -> None:
    alice, sue = team["alice"], team["sue"]
    call = upload(alice, **FORBIDDEN)
    before = client.get(f"{API}/calls/{call}", headers=alice).json()
    assert (before["score"], before["grade"]) == (59.0, "不合格")  # forbidden_phrases caps the score
    opened = _dispute(client, alice, call, "forbidden_phrases", "规定 was said about the tariff, not to refuse")
    assert opened.status_code == 201, opened.text
    review = opened.json()["review"]
    assert review["state"] == "open" and review["kind"] == "dispute" and review["requested_status"] == "pass"
    assert review["author"] == "alice" and review["call"] == call
    assert opened.json()["score"] == 59.0  # nothing changes until a supervisor decides

    queue = client.get(f"{API}/reviews", params={"state": "open"}, headers=sue).json()
    assert [r["id"] for r in queue["items"]] == [review["id"]] and queue["total"] == 1
    assert client.get(f"{API}/reviews", params={"state": "open"}, headers=team["tom"]).json()["items"] == []
    assert client.get(f"{API}/reviews", params={"state": "open"}, headers=team["bob"]).json()["items"] == []
    assert [r["id"] for r in client.get(f"{API}/reviews", headers=alice).json()["items"]] == [review["id"]]

    accepted = client.post(f"{API}/reviews/{review['id']}/accept", json={"comment": "agreed"}, headers=sue)
    assert accepted.status_code == 200, accepted.text
    # without the forbidden_phrases failure only speech_rate (5 of 85 points) fails
    assert accepted.json()["score"] == round(100 * 80 / 85, 1) == 94.1
    assert accepted.json()["grade"] == "优秀" and accepted.json()["auto_score"] == 59.0
    assert accepted.json()["review"]["state"] == "accepted" and accepted.json()["review"]["resolved_by"] == "sue"

    after = client.get(f"{API}/calls/{call}", headers=alice).json()
    assert (after["score"], after["grade"]) == (94.1, "优秀")
    assert after["report"]["score"] == 94.1 and after["report"]["grade"] == "优秀"
    finding = _finding(client, alice, call, "forbidden_phrases")
    assert finding["status"] == "pass" and finding["reviewed"] is True and finding["auto_status"] == "fail"
    assert "reviewed" not in _finding(client, alice, call, "speech_rate")
    listed = client.get(f"{API}/calls", headers=sue).json()["items"][0]
    assert listed["score"] == 94.1

    audit = client.get(f"{API}/calls/{call}/audit", headers=alice).json()
    assert [(e["action"], e["actor"]) for e in audit] == [("dispute.opened", "alice"), ("dispute.accepted", "sue")]
    assert audit[1]["before"] == {"status": "fail", "score": 59.0, "grade": "不合格"}
    assert audit[1]["after"] == {"status": "pass", "score": 94.1, "grade": "优秀"}
    assert audit[1]["rule_id"] == "forbidden_phrases" and audit[1]["detail"] == "agreed" and audit[1]["at"]
    assert client.get(f"{API}/reviews", params={"state": "open"}, headers=sue).json()["total"] == 0
    again = client.post(f"{API}/reviews/{review['id']}/reject", json={}, headers=sue)
    assert again.status_code == 409 and "not an open dispute" in again.json()["detail"]


def test_rejected_dispute_leaves_the_score(client: TestClient, team: dict[str, Headers],
                                           upload: Callable[..., str]) -> None:
    alice, sue = team["alice"], team["sue"]
    call = upload(alice, **BASE)
    review = _dispute(client, alice, call, "speech_rate").json()["review"]
    duplicate = _dispute(client, alice, call, "speech_rate")
    assert duplicate.status_code == 409 and "open dispute" in duplicate.json()["detail"]
    rejected = client.post(f"{API}/reviews/{review['id']}/reject", json={"comment": "too fast"}, headers=sue)
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["score"] == library_report(BASE).score == 94.1
    assert rejected.json()["review"]["state"] == "rejected"
    assert rejected.json()["review"]["resolution_comment"] == "too fast"
    assert client.get(f"{API}/calls/{call}", headers=alice).json()["score"] == 94.1
    entry = client.get(f"{API}/calls/{call}/audit", headers=sue).json()[-1]
    assert entry["action"] == "dispute.rejected" and entry["before"] == entry["after"]
    assert entry["after"] == {"status": "fail", "score": 94.1, "grade": "优秀"}
    assert _dispute(client, alice, call, "speech_rate").status_code == 201  # a new dispute once the last is closed
    history = client.get(f"{API}/calls/{call}/reviews", headers=alice).json()
    assert [r["state"] for r in history] == ["rejected", "open"]


def test_overrides_recompute_the_score(client: TestClient, team: dict[str, Headers],
                                       upload: Callable[..., str]) -> None:
    sue, root = team["sue"], team["root"]
    call = upload(team["alice"], **BASE)
    failed = _override(client, sue, call, "greeting", "fail")
    assert failed.status_code == 201, failed.text
    assert failed.json()["review"]["state"] == "applied" and failed.json()["review"]["kind"] == "override"
    # greeting (15) and speech_rate (5) fail out of 85 applicable points
    assert failed.json()["score"] == round(100 * 65 / 85, 1) == 76.5 and failed.json()["grade"] == "合格"
    # a rule that did not apply can be judged too: it joins the denominator (80 of 100)
    complaint = _override(client, root, call, "apology_on_complaint", "pass")
    assert complaint.json()["score"] == round(100 * 80 / 100, 1) == 80.0 and complaint.json()["grade"] == "良好"
    restored = _override(client, sue, call, "greeting", "pass")
    assert restored.json()["score"] == round(100 * 95 / 100, 1)
    assert restored.json()["finding"] == {"rule_id": "greeting", "auto_status": "pass", "status": "pass",
                                          "reviewed": True}
    audit = client.get(f"{API}/calls/{call}/audit", headers=sue).json()
    assert [(e["action"], e["actor"], e["rule_id"]) for e in audit] == [
        ("finding.override", "sue", "greeting"), ("finding.override", "root", "apology_on_complaint"),
        ("finding.override", "sue", "greeting")]
    assert audit[0]["before"] == {"status": "pass", "score": 94.1, "grade": "优秀"}
    assert audit[0]["after"] == {"status": "fail", "score": 76.5, "grade": "合格"}
    assert audit[1]["before"]["status"] == "not_applicable"
    assert client.get(f"{API}/calls/{call}", headers=sue).json()["score"] == 95.0


def test_roles_and_scoping(client: TestClient, team: dict[str, Headers], upload: Callable[..., str]) -> None:
    alice, bob, sue, tom, root = (team[n] for n in ("alice", "bob", "sue", "tom", "root"))
    call = upload(alice, **BASE)
    # visible call, wrong role: 403
    assert _override(client, alice, call, "greeting", "fail").status_code == 403
    assert _dispute(client, sue, call, "speech_rate").status_code == 403
    assert _dispute(client, root, call, "speech_rate").status_code == 403
    # another agent's call or another team's call: 404, like a call that does not exist
    for headers in (bob, tom):
        assert _dispute(client, headers, call, "speech_rate").status_code == 404
        assert _override(client, headers, call, "speech_rate", "pass").status_code == 404
        assert client.get(f"{API}/calls/{call}/audit", headers=headers).status_code == 404
        assert client.get(f"{API}/calls/{call}/reviews", headers=headers).status_code == 404
    assert _override(client, sue, "no-such-call", "greeting", "pass").status_code == 404
    missing_rule = _override(client, sue, call, "no_such_rule", "pass")
    assert missing_rule.status_code == 404 and "no_such_rule" in missing_rule.json()["detail"]
    not_applicable = _dispute(client, alice, call, "hold_etiquette")
    assert not_applicable.status_code == 409 and "not_applicable" in not_applicable.json()["detail"]
    bad_status = client.post(f"{API}/calls/{call}/findings/greeting/override",
                             json={"status": "maybe", "comment": "x"}, headers=sue)
    assert bad_status.status_code == 422 and "status" in bad_status.text
    assert _dispute(client, alice, call, "speech_rate", comment="").status_code == 422

    review = _dispute(client, alice, call, "speech_rate").json()["review"]["id"]
    assert client.post(f"{API}/reviews/{review}/accept", json={}, headers=alice).status_code == 403
    assert client.post(f"{API}/reviews/{review}/accept", json={}, headers=tom).status_code == 404
    assert client.post(f"{API}/reviews/{review}/accept", json={}, headers=bob).status_code == 404
    assert client.get(f"{API}/reviews/{review}", headers=tom).status_code == 404
    assert client.get(f"{API}/reviews/{review}", headers=alice).json()["state"] == "open"
    assert client.post(f"{API}/reviews/99999/accept", json={}, headers=root).status_code == 404
    assert client.post(f"{API}/reviews/{2**70}/accept", json={}, headers=root).status_code == 422
    assert client.post(f"{API}/reviews/{review}/accept", json={}, headers=root).json()["score"] == 100.0
    # nothing changed by the refused attempts: one dispute, one audit entry per real action
    assert [e["action"] for e in client.get(f"{API}/calls/{call}/audit", headers=alice).json()] == [
        "dispute.opened", "dispute.accepted"]


def test_calibration_agreement_per_rule(client: TestClient, team: dict[str, Headers],
                                        upload: Callable[..., str], make_user: Callable[..., Headers]) -> None:
    alice, sue, root = team["alice"], team["sue"], team["root"]
    carol = make_user("carol", "agent", "t2")
    first = upload(alice, **BASE, started_at="2026-11-16T10:00:00Z")
    second = upload(alice, **BASE, started_at="2026-11-18T10:00:00Z")
    third = upload(alice, **BASE, started_at="2026-11-20T10:00:00Z")
    other = upload(carol, **BASE, started_at="2026-11-20T11:00:00Z")
    _override(client, sue, first, "greeting", "fail")  # disagrees with the engine
    _override(client, sue, first, "closing", "pass")  # confirms it
    accepted = _dispute(client, alice, second, "speech_rate").json()["review"]["id"]
    client.post(f"{API}/reviews/{accepted}/accept", json={}, headers=sue)  # disagrees
    rejected = _dispute(client, alice, third, "speech_rate").json()["review"]["id"]
    client.post(f"{API}/reviews/{rejected}/reject", json={}, headers=sue)  # agrees
    _override(client, root, other, "greeting", "fail")  # team t2

    body = client.get(f"{API}/calibration", params={"team": "t1"}, headers=sue).json()
    rules = {r["rule_id"]: (r["reviewed"], r["agreed"], r["agreement_rate"]) for r in body["rules"]}
    assert rules == {"closing": (1, 1, 1.0), "greeting": (1, 0, 0.0), "speech_rate": (2, 1, 0.5)}
    assert (body["reviewed"], body["agreed"], body["agreement_rate"]) == (4, 2, 0.5)
    everything = client.get(f"{API}/calibration", headers=root).json()
    assert {r["rule_id"]: r["reviewed"] for r in everything["rules"]}["greeting"] == 2
    assert client.get(f"{API}/calibration", headers=sue).json()["reviewed"] == 4  # sue sees t1 only
    later = client.get(f"{API}/calibration", params={"team": "t1", "from": "2026-11-17", "to": "2026-11-20"},
                       headers=sue).json()
    assert [(r["rule_id"], r["reviewed"], r["agreed"]) for r in later["rules"]] == [("speech_rate", 2, 1)]
    assert client.get(f"{API}/calibration", headers=alice).status_code == 403
    assert client.get(f"{API}/calibration", params={"team": "t2"}, headers=sue).status_code == 404
    bad = client.get(f"{API}/calibration", params={"from": "2026-11-31"}, headers=sue)
    assert bad.status_code == 422 and "from" in bad.text
    reversed_range = client.get(f"{API}/calibration", params={"from": "2026-11-20", "to": "2026-11-01"},
                                headers=sue)
    assert reversed_range.status_code == 422 and "from" in reversed_range.json()["detail"]
