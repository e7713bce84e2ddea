"""In headless Chromium: one grade per id whatever the call's language, charts that open their calls, a language
switch that keeps the filters, reviewed findings that show the human and the engine verdicts, rule titles instead
of ids, review controls only where the score can change, and a player fit for reviewing (sticky, follows playback,
lanes seek, Space and arrow keys, overtalk and silenced spans on the timeline)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from .browser import VIEWPORT, shot, sign_in
from .conftest import UiServer

API = "/api/v1"

#: an English call of alice's that fails (a forbidden phrase caps it), a complaint, with the customer talking over
#: the agent at 6.5-7.5 s
EN_FAILING: dict[str, Any] = {"call_id": "alice-en-fail", "agent": "alice", "language": "en", "utterances": [
    {"role": "agent", "start": 0.0, "end": 3.0, "text": "Yeah what."},
    {"role": "customer", "start": 3.5, "end": 7.5, "text": "I want to complain, this is the third time."},
    {"role": "agent", "start": 6.5, "end": 9.0, "text": "That's not my problem, calm down."},
    {"role": "customer", "start": 9.5, "end": 11.0, "text": "My number is 13812345678."},
    {"role": "agent", "start": 11.5, "end": 13.0, "text": "Bye."}]}


@pytest.fixture(scope="module")
def seeded(ui_server: UiServer) -> UiServer:
    """The English failing call, and an override of bob's failed greeting (a human decision)."""
    with httpx.Client(base_url=ui_server.url, timeout=60, headers=ui_server.headers("sue")) as http:
        started = (datetime.now(UTC) - timedelta(hours=4)).replace(microsecond=0).isoformat()
        response = http.post(f"{API}/calls", json={**EN_FAILING, "started_at": started})
        assert response.status_code == 201, response.text
        ui_server.calls["alice-en-fail"] = response.json()["id"]
        response = http.post(f"{API}/calls/{ui_server.calls['bob-bad']}/findings/greeting/override",
                             json={"status": "pass", "comment": "开头有问候，录音被截断。"})
        assert response.status_code == 201, response.text
    return ui_server


def _api(server: UiServer, user: str, path: str, **params: str) -> Any:
    response = httpx.get(f"{server.url}{API}{path}", params=params, headers=server.headers(user), timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_grades_count_by_id_and_charts_open_their_calls(context: Any, seeded: UiServer, screenshots: Path) -> None:
    server = seeded
    failing = _api(server, "sue", "/calls", grade="fail", status="done")["items"]
    assert {c["grade"] for c in failing} == {"不合格", "fail"}  # the Mandarin and the English failing calls
    page = sign_in(context, server, "sue")
    page.wait_for_selector("#grades .legend-list")
    legend = page.locator("#grades .legend-list li").all_inner_texts()
    assert len(legend) <= 4 and not any("fail" in item for item in legend), legend  # one slice per grade id
    this_week = _api(server, "sue", "/calls", grade="fail", status="done",
                     **{"from": (datetime.now(UTC) - timedelta(days=datetime.now(UTC).weekday())).date().isoformat()})
    assert page.locator("#kpi-failing").inner_text() == str(this_week["total"]) and this_week["total"] >= 2
    shot(page, screenshots, "dashboard-grades-zh")

    page.locator("#grades .legend-link", has_text="不合格").click()  # the grade donut opens its calls
    page.wait_for_url(lambda url: "grade=fail" in url)
    page.wait_for_selector("#calls-table table")
    assert page.locator("#f-grade").input_value() == "fail"
    listed = page.locator("#calls-table .call-link").all_inner_texts()
    assert any(text.startswith("alice-en-fail") for text in listed) and any(t.startswith("bob-bad") for t in listed)
    assert set(page.locator("#calls-table .badge.g-d").all_inner_texts()) == {"不合格"}
    assert page.locator("#calls-table a.agent-link").first.get_attribute("href", timeout=5000).startswith("/ui/agents/")
    shot(page, screenshots, "calls-fail-zh")

    page.locator("a.lang").click()  # the language switch keeps the filters
    page.wait_for_selector("html[lang=en] #calls-table table")
    assert "grade=fail" in page.url
    assert page.locator("#f-grade").input_value() == "fail"
    assert set(page.locator("#calls-table .badge.g-d").all_inner_texts()) == {"Fail"}
    assert "Complaint" in page.locator("#calls-table").inner_text()

    page.goto(f"{server.url}/ui/")
    page.locator("#failed-rules .bar-row").first.click()  # a failed-rule bar opens the calls where it failed
    page.wait_for_url(lambda url: "failed_rule=" in url)
    page.wait_for_selector("#calls-table table")
    assert page.locator("#f-rule").input_value()
    page.goto(f"{server.url}/ui/analysis?lang=zh")
    page.wait_for_selector("#an-problems .bars")
    labels = page.locator("#an-problems .bar-label").all_inner_texts()
    assert labels and not any(label.isascii() and "_" in label for label in labels), labels  # titles, not ids
    page.locator("#an-categories .legend-link", has_text="投诉").click()
    page.wait_for_url(lambda url: "category=complaint" in url)
    page.wait_for_selector("#calls-table table")
    assert page.locator("#f-category").input_value() == "complaint"


def test_reviewed_finding_shows_human_and_engine_verdicts(context: Any, seeded: UiServer,
                                                          screenshots: Path) -> None:
    server = seeded
    call = server.calls["bob-bad"]
    body = _api(server, "sue", f"/calls/{call}")
    assert body["auto_score"] is not None and body["auto_score"] != body["score"]
    page = sign_in(context, server, "sue")
    page.goto(f"{server.url}/ui/calls/{call}")
    finding = page.locator("#finding-greeting")
    finding.wait_for()
    assert finding.locator(".badge.fs-pass").first.inner_text() == "通过"
    assert finding.locator(".badge.human").inner_text() == "人工判定"
    engine = finding.locator(".engine-verdict")
    assert engine.locator(".badge.fs-fail").inner_text() == "未通过" and engine.locator(".explanation").inner_text()
    assert "开头有问候" in finding.locator(".human-note").inner_text()
    assert page.locator("#scorebox .auto-score").inner_text().endswith(f"{body['auto_score']:.1f}")
    assert finding.locator("h3").inner_text() == "坐席在开场白中使用标准问候语"  # the pack's summary, not the id

    # review controls only where a decision changes the score: weighted, applicable findings
    reviewable = [f["rule_id"] for f in body["report"]["findings"]
                  if f["weight"] > 0 and f["status"] != "not_applicable"]
    with_controls = page.locator(".finding:has(details.action)").evaluate_all("els => els.map(e => e.id)")
    assert sorted(with_controls) == sorted(f"finding-{r}" for r in reviewable)
    assert page.locator("#finding-category details.action").count() == 0
    shot(page, screenshots, "call-reviewed-zh")

    page.goto(f"{server.url}/ui/calls/{server.calls['alice-en-fail']}")  # an English call in the Chinese UI
    page.wait_for_selector(".finding h3")
    titles = page.locator(".finding h3").all_inner_texts()
    assert titles and not any(title.isascii() and "_" in title for title in titles), titles
    assert "投诉" in page.locator("#call-meta").inner_text()
    assert page.locator("#scorebox .badge.g-d").inner_text() == "不合格"


def test_player_is_sticky_follows_playback_and_takes_keys(context: Any, seeded: UiServer,
                                                          screenshots: Path) -> None:
    server = seeded
    page = sign_in(context, server, "sue")
    page.goto(f"{server.url}/ui/calls/{server.calls['alice-en-fail']}")
    page.wait_for_selector("#timeline .seg.agent")
    assert page.locator("#timeline .seg.overtalk").count() == 1  # 6.5-7.5 s, from the utterance times
    assert page.locator("#timeline .seg.redacted").count() >= 1  # the spoken number
    assert page.locator("#timeline .marker").count() >= 1

    page.goto(f"{server.url}/ui/calls/{server.calls['alice-audio']}")
    page.wait_for_selector(".finding")
    page.wait_for_function("() => document.querySelector('#player').readyState >= 1")
    player = "document.querySelector('#player')"
    assert page.evaluate("getComputedStyle(document.querySelector('.player-card')).position") == "sticky"
    duration = page.evaluate(f"{player}.duration")

    page.locator(".evidence").last.click()  # far down the page: the player stays in view
    page.wait_for_function(f"() => !{player}.paused")
    box = page.locator(".player-card").bounding_box()
    assert box is not None and 0 <= box["y"] < VIEWPORT["height"] / 2, box
    page.evaluate(f"{player}.pause()")

    # the transcript follows playback
    utts = page.locator(".utt").evaluate_all("els => els.map(e => [Number(e.dataset.start), Number(e.dataset.end)])")
    start, end = utts[-1]
    page.evaluate(f"(p => {{ p.currentTime = {(start + end) / 2}; }})({player})")
    page.wait_for_function(f"() => document.querySelector('.utt.playing')?.dataset.start === '{start}'"
                           f" || Number(document.querySelector('.utt.playing')?.dataset.start) === {start}")

    # a click on a lane seeks to that moment
    track = page.locator("#timeline .lane").first.locator(".track")
    tbox = track.bounding_box()
    assert tbox is not None
    page.mouse.click(tbox["x"] + tbox["width"] / 2, tbox["y"] + tbox["height"] / 2)
    page.wait_for_function(f"() => Math.abs({player}.currentTime - {duration / 2}) < 1.0")
    page.evaluate(f"{player}.pause()")

    # keys: Space plays and pauses, the arrows jump 5 s; not while typing
    page.locator("h1").click()
    page.keyboard.press("Space")
    page.wait_for_function(f"() => !{player}.paused")
    page.keyboard.press("Space")
    page.wait_for_function(f"() => {player}.paused")
    before = page.evaluate(f"{player}.currentTime")
    page.keyboard.press("ArrowLeft")
    page.wait_for_function(f"() => Math.abs({player}.currentTime - {max(0.0, before - 5)}) < 0.6")
    page.evaluate(f"{player}.pause()")
    page.locator("#finding-greeting details.action summary, .finding details.action summary").first.click()
    page.locator(".finding textarea").first.focus()
    paused_at = page.evaluate(f"{player}.currentTime")
    page.keyboard.press("Space")
    assert page.evaluate(f"{player}.paused") and page.evaluate(f"{player}.currentTime") == paused_at
    assert page.locator("#player-keys").is_visible()
    shot(page, screenshots, "call-player-zh")


def test_packs_page_opens_the_pack_in_the_ui_language(context: Any, seeded: UiServer) -> None:
    page = sign_in(context, seeded, "sue")
    page.goto(f"{seeded.url}/ui/packs")
    page.wait_for_selector("#pack-rules details")
    assert page.locator(".pack-item.active").get_attribute("data-pack") == "zh-CN"
    page.goto(f"{seeded.url}/ui/packs?lang=en")
    page.wait_for_selector("#pack-rules details")
    page.wait_for_function("() => document.querySelector('.pack-item.active')?.dataset.pack === 'en'")
