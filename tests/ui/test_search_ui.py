"""The search page in headless Chromium, as a supervisor and as agents: hits in context, scoped like the API, and a
hit that opens the call at its moment (``#t=``, deeplink.js). A light server of its own (transcripts only) keeps it
fast: no speech model is loaded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .browser import VIEWPORT, sign_in, watch_csp
from .conftest import UiServer, light_server, post_transcript

GOOD = Path(__file__).parents[1] / "data" / "transcript_zh_good.json"
EN_WORDS: dict[str, Any] = {
    "call_id": "en-search-1", "agent": "alice", "language": "en", "started_at": "2026-12-02T09:00:00+00:00",
    "utterances": [
        {"role": "agent", "start": 0.0, "end": 3.0, "text": "Hi, I will hold while you check this."},
        {"role": "customer", "start": 3.5, "end": 6.0, "text": 'My son said "HI" and hung up.'},
        {"role": "agent", "start": 6.5, "end": 9.0, "text": "Anything else? Which one?"},
    ],
}


@pytest.fixture(scope="module")
def search_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    users = [("sue", "supervisor", "t1"), ("alice", "agent", "t1"), ("bob", "agent", "t1"), ("root", "admin", None)]
    with light_server(tmp_path_factory, "ui-search", users) as ui:
        with httpx.Client(base_url=ui.url, timeout=30) as http:
            doc = {**json.loads(GOOD.read_text("utf-8")), "call_id": "zh-search-1", "agent": "alice",
                   "started_at": "2026-12-01T09:00:00+08:00"}
            ui.calls["alice"] = post_transcript(http, ui, "sue", doc)
            ui.calls["alice-en"] = post_transcript(http, ui, "sue", EN_WORDS)
        yield ui


def _watch(page: Any, errors: list[str]) -> None:
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    watch_csp(page, errors)


def test_supervisor_finds_the_agent_turn_and_opens_the_call_there(browser: Any, search_ui: UiServer,
                                                                   screenshots: Path) -> None:
    ctx = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    errors: list[str] = []
    try:
        page = sign_in(ctx, search_ui, "sue")
        _watch(page, errors)
        page.wait_for_load_state("networkidle")  # the dashboard's requests done before the click
        with page.expect_navigation(url="**/ui/search"):
            page.locator("nav a[href='/ui/search']").click()
        assert page.locator("#search-results .empty p").inner_text() == "输入关键词开始搜索"
        page.locator("#s-q").fill("稍等")
        page.locator("#s-role").select_option("agent")
        page.locator("#s-submit").click()
        hit = page.locator("#search-results .search-hit")
        hit.first.wait_for()
        assert hit.count() == 1 and page.locator("#search-total").inner_text() == "共 1 处"
        assert hit.locator("mark").inner_text() == "稍等"
        text = hit.locator(".utt-text").inner_text()
        assert "请稍等" in text and "13812345678" not in text and "*" in text  # masked, in context
        assert "坐席" in hit.inner_text() and "alice" in hit.inner_text() and "zh-search-1" in hit.inner_text()
        assert "q=%E7%A8%8D%E7%AD%89" in page.url and "role=agent" in page.url  # a search is a link to share
        page.screenshot(path=str(screenshots / "search_zh.png"), full_page=True)
        link = hit.locator("a.utt-time")
        assert link.get_attribute("href") == f"/ui/calls/{search_ui.calls['alice']}#t=6.5"
        link.click()
        page.wait_for_url(f"**/ui/calls/{search_ui.calls['alice']}#t=6.5")
        playing = page.locator("#transcript .utt.playing")
        playing.wait_for()
        assert playing.get_attribute("data-start") == "6.5" and "请稍等" in playing.inner_text()

        page.goto(f"{search_ui.url}/ui/search?q=%E7%A8%8D%E7%AD%89&role=customer")  # 稍等, said by the agent only
        page.locator("#search-results .empty").wait_for()
        assert page.locator("#search-results .empty p").inner_text() == "没有找到包含该内容的通话"
        assert not errors, errors
    finally:
        ctx.close()


def test_agents_search_their_own_calls_only(browser: Any, search_ui: UiServer, screenshots: Path) -> None:
    errors: list[str] = []
    for name, hits in (("bob", 0), ("alice", 1)):
        ctx = browser.new_context(viewport=VIEWPORT)
        try:
            page = sign_in(ctx, search_ui, name, lang="en")
            _watch(page, errors)
            assert page.locator("nav a[href='/ui/search']").inner_text() == "Search"
            page.goto(f"{search_ui.url}/ui/search?q=%E7%A8%8D%E7%AD%89&role=agent")
            page.locator("#search-total").filter(has_text="hits").wait_for()
            assert page.locator("#search-results .search-hit").count() == hits
            assert page.locator("#search-total").inner_text() == f"{hits} hits"
            assert page.locator("#s-agent").count() == 0  # no agent picker for agents
            if hits:
                page.screenshot(path=str(screenshots / "search_en_agent.png"), full_page=True)
            else:
                assert page.locator("#search-results .empty p").inner_text() == "No call says that"
        finally:
            ctx.close()
    assert not errors, errors


def test_english_words_are_found_and_marked_at_word_starts(browser: Any, search_ui: UiServer) -> None:
    """``hi`` finds and marks "Hi," and '"HI"', never the "hi" inside "while", "this", "Anything" or "Which"."""
    ctx = browser.new_context(viewport=VIEWPORT)
    errors: list[str] = []
    try:
        page = sign_in(ctx, search_ui, "sue", lang="en")
        _watch(page, errors)
        page.goto(f"{search_ui.url}/ui/search?q=hi")
        page.locator("#search-total").filter(has_text="hits").wait_for()
        assert page.locator("#search-total").inner_text() == "2 hits"
        hits = page.locator("#search-results .search-hit")
        assert [hits.nth(i).locator(".utt-text").inner_text() for i in range(2)] == [
            "Hi, I will hold while you check this.", 'My son said "HI" and hung up.']
        assert page.locator("#search-results mark").all_inner_texts() == ["Hi", "HI"]
        page.locator("#s-q").fill("hold   YOU")
        page.locator("#s-submit").click()
        page.locator("#search-total").filter(has_text="0 hits").wait_for()  # not one word after the other
        page.locator("#s-q").fill("will hold")
        page.locator("#s-submit").click()
        page.locator("#search-total").filter(has_text="1 hits").wait_for()
        assert page.locator("#search-results mark").all_inner_texts() == ["will hold"]
        assert not errors, errors
    finally:
        ctx.close()
