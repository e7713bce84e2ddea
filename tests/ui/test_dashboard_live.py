"""The dashboard's live alerts panel in headless Chromium, fed by the server's own live hub.

Alerts are raised by the live rules (the zh-CN pack's checks, as on a tapped call) and published into the running
server's hub, the object the AudioHook sessions publish into: the test drives the feed end to end (hub →
Server-Sent Events → browser) without a speech model. A light server of its own (no seeded recordings) keeps it fast.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.audiohook.hub import LiveCallInfo, LiveHub, get_hub
from qa_engine.live import LiveRules
from qa_engine.rules.pack import load_pack
from qa_engine.types import Utterance

from .browser import VIEWPORT, sign_in
from .conftest import UiServer, light_server

GOOD = Path(__file__).parents[1] / "data" / "transcript_zh_good.json"


@pytest.fixture(scope="module")
def live_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    users = [("sue", "supervisor", "t1"), ("alice", "agent", "t1"), ("carl", "supervisor", "t2"),
             ("carol", "agent", "t2"), ("root", "admin", None)]
    with light_server(tmp_path_factory, "ui-live", users) as ui:  # the feed needs no speech model
        yield ui


def _utt(start: float, role: str, text: str) -> Utterance:
    return Utterance(start, start + 2.0, role, text, channel=0 if role == "agent" else 1)  # type: ignore[arg-type]


def _live_call(hub: LiveHub, agent: str, team: str) -> LiveCallInfo:
    info = LiveCallInfo(f"sess-{agent}-{uuid.uuid4().hex[:6]}", str(uuid.uuid4()), agent, team, "zh",
                        started_at=time.time() - 60)
    hub.add(info)
    return info


def _publish_alerts(hub: LiveHub, info: LiveCallInfo, utterances: list[Utterance], settled_s: float,
                    rules: LiveRules) -> list[dict[str, Any]]:
    """What a live session does: the pack's live checks on the transcript so far, each alert into the feed."""
    alerts = [asdict(a) for a in rules.evaluate(info.session_id, utterances, settled_s)]
    for alert in alerts:
        hub.publish(info, {"type": "alert", "call": info.session_id, "alert": alert, "latency_s": 0.1})
    return alerts


def _dashboard(browser: Any, server: UiServer, name: str, errors: list[str]) -> tuple[Any, Any]:
    ctx = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    page = sign_in(ctx, server, name)
    page.on("pageerror", lambda exc: errors.append(f"{name}: {exc}"))
    page.goto(f"{server.url}/ui/")
    page.wait_for_selector("#dash-live[data-feed=open]")  # the snapshot came: events from now on are pushed
    return ctx, page


def test_live_alerts_reach_the_teams_supervisor_dashboard_only(browser: Any, live_ui: UiServer) -> None:
    errors: list[str] = []
    pages = {name: _dashboard(browser, live_ui, name, errors) for name in ("sue", "carl", "carol")}
    try:
        sue, carl, carol = (pages[n][1] for n in ("sue", "carl", "carol"))
        for page in (sue, carl, carol):  # the honest empty state, and a polite live region for what comes
            assert page.locator("#dash-live .empty p").inner_text() == "暂无实时告警"
            assert page.locator("#dash-alerts").get_attribute("aria-live") == "polite"
            assert page.locator("#dash-alerts li").count() == 0
            assert "上线后" not in page.content()
        sue.wait_for_load_state("networkidle", timeout=10_000)  # the open feed does not block screenshots

        hub, rules = get_hub(live_ui.app), LiveRules(load_pack("zh-CN"))
        alice = _live_call(hub, "alice", "t1")
        utts = [_utt(0.5, "agent", "您好，很高兴为您服务，请问有什么可以帮您？"),
                _utt(5.0, "customer", "你们这服务太差了，我要投诉"), _utt(9.0, "agent", "这个不归我管，你去问别人吧")]
        first = _publish_alerts(hub, alice, utts, 21.0, rules)  # the forbidden phrase at 9 s
        assert [a["kind"] for a in first] == ["forbidden_phrase"]
        sue.wait_for_selector(f"#dash-alerts li[data-call='{alice.session_id}']")
        assert sue.locator("#dash-live .empty").is_hidden()
        later = _publish_alerts(hub, alice, utts, 40.0, rules)  # no apology 30 s after the complaint at 5 s
        assert [a["kind"] for a in later] == ["complaint_without_apology"]
        carol_call = _live_call(hub, "carol", "t2")
        _publish_alerts(hub, carol_call, [_utt(1.0, "agent", "您好，请问有什么可以帮您？"),
                                          _utt(6.0, "agent", "这是规定，我也没办法")], 10.0, rules)
        with httpx.Client(base_url=live_ui.url, timeout=30) as http:  # the call as stored when it ends
            doc = {**json.loads(GOOD.read_text("utf-8")), "call_id": alice.conversation_id, "agent": "alice"}
            stored = http.post("/api/v1/calls", headers=live_ui.headers("sue"), json=doc)
            assert stored.status_code == 201, stored.text
        alice_pk = stored.json()["id"]
        hub.publish(alice, {"type": "call_ended", "call": alice.session_id, "call_id": alice_pk, "reason": "end"})

        # sue (t1): both of alice's alerts, the latest moment first, with agent, time and a link to the report
        report_links = sue.locator(f"#dash-alerts li[data-call='{alice.session_id}'] a[href='/ui/calls/{alice_pk}']")
        report_links.nth(1).wait_for()
        items = sue.locator("#dash-alerts li")
        assert [items.nth(i).get_attribute("data-rule") for i in range(items.count())] == [
            "forbidden_phrases", "apology_on_complaint"]  # carol's call (team t2), published before the end: absent
        top = items.first.inner_text()
        assert "alice 的通话 · t1" in top and "通话第 0:09" in top and "不归我管" in top
        assert items.first.locator("time").get_attribute("datetime")
        assert items.first.locator("a").inner_text() == "查看评分"

        # carl (t2's supervisor) and carol (t2's agent): carol's alert, never alice's (published before it)
        for page, link in ((carl, "/ui/live"), (carol, None)):
            page.wait_for_selector(f"#dash-alerts li[data-call='{carol_call.session_id}']")
            assert page.locator(f"#dash-alerts li[data-call='{alice.session_id}']").count() == 0
            assert page.locator("#dash-alerts li").count() == 1
            anchor = page.locator("#dash-alerts li a")
            assert (anchor.get_attribute("href") if anchor.count() else None) == link  # agents have no live page
        assert "carol 的通话 · t2" in carl.locator("#dash-alerts li").inner_text()

        # a dashboard opened now gets the live call's alerts from the snapshot, each once
        carl.reload()
        carl.wait_for_selector("#dash-live[data-feed=open]")
        assert carl.locator("#dash-alerts li").count() == 1
        hub.remove(alice.session_id)  # as the session does once the call is stored
        hub.remove(carol_call.session_id)
        assert not errors, errors
    finally:
        for ctx, _page in pages.values():
            ctx.close()


def test_live_page_uses_the_same_alert_items(browser: Any, live_ui: UiServer) -> None:
    ctx = browser.new_context(viewport=VIEWPORT)
    try:
        page = sign_in(ctx, live_ui, "root", lang="en")
        page.goto(f"{live_ui.url}/ui/live")
        page.wait_for_selector("#live-alerts[aria-live=polite]", state="attached")
        hub = get_hub(live_ui.app)
        info = _live_call(hub, "dave", "t3")
        hub.publish(info, {"type": "transcript", "call": info.session_id,
                           "utterance": {"start": 1.0, "end": 2.0, "role": "customer", "text": "I want to complain",
                                         "channel": 1}})
        _publish_alerts(hub, info, [_utt(6.0, "agent", "这是规定，我也没办法")], 10.0, LiveRules(load_pack("zh-CN")))
        item = page.locator(f"#live-alerts li[data-call='{info.session_id}']")
        item.wait_for()
        assert "dave's call · t3" in item.inner_text() and "0:06 into the call" in item.inner_text()
        assert item.locator("a").count() == 0  # already on the live page: no link to itself before the call ends
        assert "0:01 Customer I want to complain" in page.locator(".live-call", has_text="dave · t3").inner_text()
        hub.publish(info, {"type": "call_ended", "call": info.session_id, "call_id": "c-123", "reason": "end"})
        item.locator("a[href='/ui/calls/c-123']").wait_for()
        head = page.locator(".live-call-head", has_text="dave · t3")
        assert "ended" in head.inner_text() and head.locator("a").get_attribute("href") == "/ui/calls/c-123"
    finally:
        ctx.close()
