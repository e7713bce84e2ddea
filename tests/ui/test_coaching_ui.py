"""Coaching end to end in headless Chromium: a supervisor comments at the player's current moment, the agent
sees it, jumps there and replies; the author edits and deletes comments; the supervisor's drill-down on the agent;
the calls page's CSV export link; the agent's coaching history, paged, on /ui/me and on the drill-down; call lists
that name the canonical category in the UI language."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import httpx
import pytest

from .browser import csp_checked_context, shot, sign_in
from .conftest import UiServer

PHONE = "13812345678"


def open_call(page: Any, server: UiServer, call: str) -> None:
    page.goto(f"{server.url}/ui/calls/{call}")
    page.wait_for_selector("#coaching:not(.hidden)")
    page.wait_for_function("() => document.querySelector('#player').readyState >= 1")


def player_time(page: Any) -> float:
    return float(page.evaluate("document.querySelector('#player').currentTime"))


def test_supervisor_coaches_at_a_moment_and_the_agent_replies(browser: Any, ui_server: UiServer,
                                                              screenshots: Path) -> None:
    call = ui_server.calls["alice-audio"]
    with csp_checked_context(browser, locale=None) as sue_ctx:
        page = sign_in(sue_ctx, ui_server, "sue")
        open_call(page, ui_server, call)
        page.evaluate("document.querySelector('#player').currentTime = 3.2")
        page.wait_for_function("() => document.querySelector('#coaching-now').textContent === '0:03'")
        page.get_by_label("新点评").fill(f"这里要复述客户的号码 {PHONE} 并确认。")
        page.get_by_role("button", name="发表点评").click()
        page.wait_for_selector("#coaching-threads .coaching-thread")
        thread = page.locator("#coaching-threads .coaching-thread").first
        assert PHONE not in thread.inner_text() and "***********" in thread.inner_text()  # masked before storing
        assert thread.locator(".coaching-at").inner_text() == "0:03"

    with csp_checked_context(browser, locale=None) as agent_ctx:
        page = sign_in(agent_ctx, ui_server, "alice")
        open_call(page, ui_server, call)
        assert page.locator("#coaching-form").count() == 0  # agents reply; they do not start threads
        thread = page.locator("#coaching-threads .coaching-thread").first
        thread.locator(".coaching-at").click()
        page.wait_for_function("() => Math.abs(document.querySelector('#player').currentTime - 3.2) < 0.6")
        page.evaluate("document.querySelector('#player').pause()")
        thread.get_by_text("回复", exact=True).click()
        thread.get_by_label("回复内容").fill("收到，下次先复述再确认。")
        thread.get_by_role("button", name="发送回复").click()
        page.wait_for_selector("#coaching-threads .coaching-reply-item")
        assert "收到，下次先复述再确认。" in page.locator(".coaching-reply-item").inner_text()
        page.evaluate("window.scrollTo(0, 0)")  # full-page shots start at the top (the player bar is sticky)
        page.screenshot(path=str(screenshots / "coaching-agent-zh.png"), full_page=True)
        page.goto(f"{ui_server.url}/ui/agents/alice")
        page.wait_for_url(lambda url: url.endswith("/ui/me"))  # an agent's own drill-down is their workbench
        response = page.goto(f"{ui_server.url}/ui/agents/bob")
        assert response is not None and response.status == 404


def test_the_author_edits_and_deletes_comments(browser: Any, ui_server: UiServer) -> None:
    call = ui_server.calls["alice-good"]  # a transcript: comments on the whole call
    with csp_checked_context(browser, locale=None) as sue_ctx:
        page = sign_in(sue_ctx, ui_server, "sue")
        page.goto(f"{ui_server.url}/ui/calls/{call}")
        page.wait_for_selector("#coaching:not(.hidden)")
        for text in ("写错了：客户号码不对", "这条写错了电话"):
            page.get_by_label("新点评").fill(text)
            page.get_by_role("button", name="发表点评").click()
            page.wait_for_function(f"() => document.body.innerText.includes({text!r})")
        first = page.locator("#coaching-threads .coaching-thread").first

        first.get_by_text("编辑", exact=True).click()
        first.get_by_label("修改点评").fill(f"请先复述客户号码 {PHONE} 再确认。")
        first.get_by_role("button", name="保存").click()
        page.wait_for_selector("#coaching-threads .coaching-thread .coaching-edited")
        assert first.locator(".coaching-edited").inner_text() == "（已编辑）"
        text = first.locator(".coaching-text").first.inner_text()
        assert text.startswith("请先复述客户号码 ***") and PHONE not in text  # masked like a new comment

        with httpx.Client(base_url=ui_server.url) as http:  # alice replies, so the first comment has a thread
            thread_id = str(first.get_attribute("id")).removeprefix("comment-")
            reply = http.post(f"/api/v1/calls/{call}/comments", headers=ui_server.headers("alice"),
                              json={"text": "收到", "parent": int(thread_id)})
            assert reply.status_code == 201, reply.text
        page.reload()
        page.wait_for_selector("#coaching-threads .coaching-reply-item")
        reply_item = page.locator(".coaching-reply-item").first
        assert reply_item.locator(".coaching-delete").count() == 0  # not sue's reply: no edit, no delete
        assert reply_item.get_by_text("编辑", exact=True).count() == 0

        assert first.locator("form.coaching-reply").count() == 1
        page.once("dialog", lambda dialog: dialog.accept())
        first.locator(".coaching-delete").first.click()
        page.wait_for_selector(".coaching-tombstone")
        assert "此点评已被 sue 删除" in first.locator(".coaching-tombstone").inner_text()
        assert "收到" in first.locator(".coaching-reply-item").inner_text()  # the reply keeps its thread
        assert first.locator(".coaching-delete").count() == 0
        assert first.locator("form.coaching-reply").count() == 0  # a deleted thread takes no replies (409)
        assert first.get_by_text("回复", exact=True).count() == 0

        page.once("dialog", lambda dialog: dialog.accept())
        page.locator("#coaching-threads .coaching-thread").nth(1).locator(".coaching-delete").click()
        page.wait_for_function("() => document.querySelectorAll('#coaching-threads .coaching-thread').length === 1")
        assert "这条写错了电话" not in page.locator("#coaching-threads").inner_text()


def test_supervisor_drills_down_on_an_agent(context: Any, ui_server: UiServer, screenshots: Path) -> None:
    page = sign_in(context, ui_server, "sue")
    page.goto(f"{ui_server.url}/ui/agents/alice")
    page.wait_for_selector("#ag-rules table")
    page.wait_for_selector("#ag-recent table")
    assert int(page.locator("#ag-calls").inner_text()) >= 3
    assert "组平均" in page.locator("#ag-team-avg").inner_text()
    recent = page.locator("#ag-recent").inner_text()
    assert "alice-good" in recent and "bob" not in recent
    assert page.locator("#ag-rule-trend table").count() == 1
    page.get_by_role("button", name="按月").click()
    page.wait_for_selector("[data-period=month][aria-pressed=true]")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(screenshots / "agent-drilldown-zh.png"), full_page=True)
    response = page.goto(f"{ui_server.url}/ui/agents/carol")  # team t2 is not sue's
    assert response is not None and response.status == 404


def test_calls_page_exports_the_filtered_list(context: Any, ui_server: UiServer) -> None:
    page = sign_in(context, ui_server, "sue")
    page.goto(f"{ui_server.url}/ui/calls")
    page.wait_for_selector("#calls-table table")
    page.locator("#f-agent").fill("bob")
    page.get_by_role("button", name="应用").click()
    page.wait_for_function("() => document.querySelectorAll('#calls-table .call-link').length === 2")
    with page.expect_download() as download_info:
        page.locator("#calls-export").click()
    download = download_info.value
    assert "agent=bob" in download.url and "format=csv" in download.url
    text = Path(download.path()).read_text("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 2 and {r["agent"] for r in rows} == {"bob"}


HISTORY_PAGE = 20  # threads per page of the coaching history (coaching_history.js)


def _comment(http: httpx.Client, server: UiServer, user: str, call: str, body: dict[str, Any]) -> int:
    response = http.post(f"/api/v1/calls/{call}/comments", headers=server.headers(user), json=body)
    assert response.status_code == 201, response.text
    comment_id: int = response.json()["id"]
    return comment_id


@pytest.fixture(scope="module")
def coached(ui_server: UiServer) -> dict[str, Any]:
    """More threads on alice's calls than one page holds: one at 0:04 of her recording (a number in it, one reply
    of hers), then whole-call notes on an older call; and one on bob's call that alice must never see."""
    with httpx.Client(base_url=ui_server.url, timeout=30) as http:
        anchored = _comment(http, ui_server, "sue", ui_server.calls["alice-audio"],
                            {"text": f"历史记录：先复述号码 {PHONE}", "at": 4.0})
        _comment(http, ui_server, "alice", ui_server.calls["alice-audio"], {"text": "好的", "parent": anchored})
        for n in range(HISTORY_PAGE + 1):
            _comment(http, ui_server, "sue", ui_server.calls["alice-old"], {"text": f"整通点评 {n}"})
        _comment(http, ui_server, "sue", ui_server.calls["bob-bad"], {"text": "只给 bob 的点评"})
        history = http.get("/api/v1/coaching", params={"agent": "alice", "limit": 200},
                           headers=ui_server.headers("sue")).json()
    return {"anchored": anchored, "total": history["total"]}


def _history_rows(page: Any) -> Any:
    page.wait_for_selector("#coaching-history tbody tr")
    return page.locator("#coaching-history tbody tr")


def _check_history(page: Any, server: UiServer, coached: dict[str, Any]) -> None:
    """The first page is full and newest first; the next one holds the anchored thread, masked, with its reply
    count; its time opens the call at that moment; bob's thread is on no page."""
    rows = _history_rows(page)
    assert rows.count() == HISTORY_PAGE
    assert "整通点评 20" in rows.first.inner_text()  # newest first
    pages = -(-coached["total"] // HISTORY_PAGE)
    assert page.locator("#coaching-history .pager span").inner_text() == f"第 1 / {pages} 页"
    assert "只给 bob" not in page.locator("#coaching-history").inner_text()
    assert page.locator("#coaching-history").get_by_role("button", name="上一页").is_disabled()
    page.locator("#coaching-history").get_by_role("button", name="下一页").click()
    page.wait_for_selector("#coaching-history .pager span:text('第 2 / ')")
    row = page.locator(f"#coaching-history tr[data-comment='{coached['anchored']}']")
    text = row.inner_text()
    assert "历史记录：先复述号码 ***" in text and PHONE not in text and "sue" in text
    assert row.locator("td.coaching-replies-n").inner_text() == "1"
    assert "只给 bob" not in page.locator("#coaching-history").inner_text()
    link = row.get_by_role("link", name="0:04")
    assert link.get_attribute("href") == f"/ui/calls/{server.calls['alice-audio']}#comment-{coached['anchored']}"
    link.click()
    page.wait_for_selector(f"#comment-{coached['anchored']}")
    page.wait_for_function("() => Math.abs(document.querySelector('#player').currentTime - 4.0) < 0.6")
    page.evaluate("document.querySelector('#player').pause()")


def test_agent_sees_their_coaching_history_a_page_at_a_time(context: Any, ui_server: UiServer,
                                                            coached: dict[str, Any], screenshots: Path) -> None:
    page = sign_in(context, ui_server, "alice")
    assert page.url.endswith("/ui/me")
    _history_rows(page)
    shot(page, screenshots, "me-coaching-zh")
    _check_history(page, ui_server, coached)


def test_supervisor_sees_the_agents_coaching_history_on_the_drill_down(context: Any, ui_server: UiServer,
                                                                       coached: dict[str, Any]) -> None:
    page = sign_in(context, ui_server, "sue")
    page.goto(f"{ui_server.url}/ui/agents/alice")
    _check_history(page, ui_server, coached)


CATEGORY_NAMES = {"Inquiry", "Complaint", "Suggestion", "After-sales", "Unclassified", "–"}


def _category_cells(page: Any, table: str) -> list[str]:
    page.wait_for_selector(f"{table} tbody tr")
    heads = page.locator(f"{table} thead th").all_text_contents()
    column = heads.index("Category") + 1
    cells: list[str] = page.locator(f"{table} tbody td:nth-child({column})").all_inner_texts()
    return cells


@pytest.mark.parametrize(("user", "path", "table"), [("sue", "/ui/agents/alice", "#ag-recent"),
                                                     ("alice", "/ui/me", "#me-call-list")])
def test_calls_show_the_canonical_category_in_the_ui_language(context: Any, ui_server: UiServer, user: str,
                                                              path: str, table: str) -> None:
    """The pack's labels are Chinese (投诉); in the English UI every call list says Complaint, via category_id."""
    page = sign_in(context, ui_server, user, lang="en")
    page.goto(f"{ui_server.url}{path}")
    cells = _category_cells(page, table)
    assert "Complaint" in cells and set(cells) <= CATEGORY_NAMES, cells
